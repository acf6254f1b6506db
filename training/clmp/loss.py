"""Contrastive losses (small modules, open_clip style).

Both take L2-normalised radar and text embeddings ``[B, D]`` and an optional positives matrix
``pos [B, B]`` (``pos[i, j] = 1`` when caption ``j`` is true of window ``i``; default: the identity), so a
batch holding four walking windows does not push "a person is walking" away from three of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _positives(pos: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
    if pos is None:
        return torch.eye(n, device=device)
    return pos.to(device).clamp(0.0, 1.0)  # [B, B]


class ClipLoss(nn.Module):
    """Symmetric InfoNCE with a learnable temperature (CLIP); soft targets over equal captions."""

    def forward(
        self,
        radar: torch.Tensor,
        text: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = logit_scale * radar @ text.t()  # [B, B]
        pos = _positives(pos, len(radar), radar.device)
        t_r2t = pos / pos.sum(dim=1, keepdim=True)  # rows: windows
        t_t2r = pos.t() / pos.t().sum(dim=1, keepdim=True)  # rows: captions
        l_r2t = -(t_r2t * F.log_softmax(logits, dim=1)).sum(1).mean()
        l_t2r = -(t_t2r * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
        return 0.5 * (l_r2t + l_t2r)


class SigLipLoss(nn.Module):
    """Pairwise sigmoid loss (SigLIP) with learnable temperature and bias."""

    def forward(
        self,
        radar: torch.Tensor,
        text: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = logit_scale * radar @ text.t()
        if logit_bias is not None:
            logits = logits + logit_bias
        labels = 2.0 * _positives(pos, len(radar), radar.device) - 1.0  # +1 / -1
        return -F.logsigmoid(labels * logits).sum() / len(radar)


LOSSES = {"clip": ClipLoss, "siglip": SigLipLoss}


def make_loss(name: str) -> nn.Module:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]()
