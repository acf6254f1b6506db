"""The raw-ADC radar encoder of CLMP (``adc_encoder`` in a config, e.g. ``clmp_adc_s``).

Input: a window of physical maps ``maps [B, T, C, R, K]`` (``C`` = range-Doppler, range-azimuth
moving, range-azimuth static, in dB above the noise floor on fixed range/velocity/azimuth grids; made
by ``runtime.inference.adc_window``, the code the hub runs) and ``mask [B, T]`` (1 = a time slot that
got a radar frame).

1. fixed affine normalisation (``map_offset``/``map_scale``: dB -> about unit range);
2. a small 2-D CNN per frame: ``conv_channels`` 3x3 convolutions with ``conv_strides`` (default: 1
   for the first, 2 for the others), GELU, then the flattened coarse map (where on the range/azimuth/velocity grid things are matters)
   through a linear layer -> one vector per slot ``[B, T, frame_dim]``;
3. the point encoder's temporal model (pre-norm transformer blocks with a learned position
   embedding, :class:`training.clmp.blocks.TemporalBlock`);
4. mean over the slots that got a frame, LayerNorm, linear projection, L2 normalisation.

Plain ops only (Conv2d, Linear, matmul, softmax, LayerNorm), so it exports to ONNX; int8 quantises
the MatMul/Gemm weights, the convolutions stay fp32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training.clmp.blocks import temporal_stack


def _conv_out(n: int, stride: int) -> int:
    return (n + 2 - 3) // stride + 1


class AdcFrameEncoder(nn.Module):
    """``[N, C, R, K]`` maps of single frames -> ``[N, frame_dim]``."""

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        channels: list[int],
        frame_dim: int,
        offset: float,
        scale: float,
        strides: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.offset, self.scale = float(offset), float(scale)
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        strides = strides or [1] + [2] * (len(channels) - 1)
        if len(strides) != len(channels):
            raise ValueError(
                f"conv_strides {strides} and conv_channels {channels} differ in length"
            )
        for out, stride in zip(channels, strides, strict=True):
            layers += [nn.Conv2d(c, out, kernel_size=3, stride=stride, padding=1), nn.GELU()]
            c, h, w = out, _conv_out(h, stride), _conv_out(w, stride)
        self.cnn = nn.Sequential(*layers)
        self.flat = c * h * w
        self.out = nn.Linear(self.flat, frame_dim)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        x = (maps - self.offset) * self.scale
        h = self.cnn(x)  # [N, c, h, w]
        return self.out(h.flatten(1))


class AdcSequenceEncoder(nn.Module):
    """``forward(maps [B, T, C, R, K], mask [B, T]) -> [B, embed_dim]`` L2-normalised (module doc)."""

    def __init__(self, cfg: dict[str, Any], contract: dict[str, Any], embed_dim: int) -> None:
        super().__init__()
        frames = int(contract["frames"])
        c = len(contract["maps"])
        r, k = int(contract["range_m"][2]), int(contract["velocity_mps"][2])
        d = int(cfg["frame_dim"])
        self.frames = AdcFrameEncoder(
            c,
            r,
            k,
            list(cfg["conv_channels"]),
            d,
            float(cfg.get("map_offset", 0.0)),
            float(cfg.get("map_scale", 0.05)),
            [int(x) for x in cfg["conv_strides"]] if "conv_strides" in cfg else None,
        )
        self.pos = nn.Parameter(torch.zeros(1, frames, d))
        nn.init.normal_(self.pos, std=0.02)
        drop = float(cfg.get("dropout", 0.0))
        self.temporal = temporal_stack(cfg, d, drop)
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, embed_dim)

    def features(self, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Un-normalised pooled features ``[B, frame_dim]`` (before the projection)."""
        b, t = maps.shape[:2]
        h = self.frames(maps.flatten(0, 1)).reshape(b, t, -1) + self.pos  # [B, T, D]
        h = self.temporal(h)
        m = mask.unsqueeze(-1)  # [B, T, 1]
        pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        return self.norm(pooled)

    def forward(self, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.features(maps, mask)), dim=-1)


def augment_adc(
    maps: torch.Tensor, mask: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment map windows ``[B, T, C, R, K]`` (dB above the noise floor) and slot masks ``[B, T]``.

    What the simulator does not vary enough: the SNR (transmit power, antenna gain, processing gain
    of other chirp configurations: a per-window offset of -6..+6 dB, cells stay >= 0), speckle (a
    little noise on the cells above the floor) and lost frames (each slot dropped with 10 %
    probability, at least one kept).
    """
    b, t = maps.shape[:2]
    offset = (torch.rand(b, 1, 1, 1, 1, generator=gen) * 12.0 - 6.0).to(maps)
    noise = torch.randn(maps.shape, generator=gen).to(maps) * 1.0
    lit = (maps > 0).to(maps.dtype)
    out = torch.clamp(maps + lit * (offset + noise), min=0.0)
    keep = (torch.rand(b, t, generator=gen) >= 0.1).to(mask)
    keep[torch.arange(b), torch.randint(0, t, (b,), generator=gen)] = 1.0
    new_mask = mask * keep
    return out * new_mask[:, :, None, None, None], new_mask
