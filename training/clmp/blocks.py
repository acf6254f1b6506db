"""Temporal blocks shared by the CLMP radar encoders (points: ``training.clmp.model``; raw ADC:
``training.clmp.adc_model``): plain ops only, so they export to ONNX and quantise to int8 cleanly."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvBlock", "TemporalBlock", "temporal_stack"]


class TemporalBlock(nn.Module):
    """Pre-norm self-attention + MLP over time slots ``[B, T, D]`` (plain ops, ONNX friendly)."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Linear(ff, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)  # [B, T, D] each
        q = q.reshape(b, t, self.heads, hd).transpose(1, 2)  # [B, H, T, hd]
        k = k.reshape(b, t, self.heads, hd).transpose(1, 2)
        v = v.reshape(b, t, self.heads, hd).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)  # [B, H, T, T]
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff(self.norm2(x)))


class ConvBlock(nn.Module):
    """Residual temporal convolution over ``[B, T, D]`` (kernel 3, same length)."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size=3, padding=1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(F.gelu(y))


def temporal_stack(cfg: dict, dim: int, dropout: float) -> nn.Sequential:
    """The config's temporal model over ``[B, T, dim]``: ``temporal`` = ``transformer`` (default;
    ``temporal_heads``, ``temporal_ff``) or ``conv``, ``temporal_layers`` blocks (default 2)."""
    kind = cfg.get("temporal", "transformer")
    n = int(cfg.get("temporal_layers", 2))
    if kind == "transformer":
        heads, ff = int(cfg["temporal_heads"]), int(cfg["temporal_ff"])
        return nn.Sequential(*(TemporalBlock(dim, heads, ff, dropout) for _ in range(n)))
    if kind == "conv":
        return nn.Sequential(*(ConvBlock(dim, dropout) for _ in range(n)))
    raise ValueError(f"unknown temporal model {kind!r} (transformer, conv)")
