"""Contrastive losses (small modules, open_clip style).

Both take L2-normalised radar and text embeddings ``[B, D]`` and an optional ``groups [B]`` (int ids of
the caption text): samples with the same caption are positives of each other, so a batch holding four
"a person is walking" windows does not push them apart (false negatives).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _positives(groups: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
    if groups is None:
        return torch.eye(n, device=device)
    return (groups.unsqueeze(0) == groups.unsqueeze(1)).float()  # [B, B]


class ClipLoss(nn.Module):
    """Symmetric InfoNCE with a learnable temperature (CLIP); soft targets over equal captions."""

    def forward(
        self,
        radar: torch.Tensor,
        text: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        groups: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = logit_scale * radar @ text.t()  # [B, B]
        pos = _positives(groups, len(radar), radar.device)
        target = pos / pos.sum(dim=1, keepdim=True)
        l_r2t = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
        l_t2r = -(target.t() * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
        return 0.5 * (l_r2t + l_t2r)


class SigLipLoss(nn.Module):
    """Pairwise sigmoid loss (SigLIP) with learnable temperature and bias."""

    def forward(
        self,
        radar: torch.Tensor,
        text: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        groups: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = logit_scale * radar @ text.t()
        if logit_bias is not None:
            logits = logits + logit_bias
        labels = 2.0 * _positives(groups, len(radar), radar.device) - 1.0  # +1 / -1
        return -F.logsigmoid(labels * logits).sum() / len(radar)


LOSSES = {"clip": ClipLoss, "siglip": SigLipLoss}


def make_loss(name: str) -> nn.Module:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]()
