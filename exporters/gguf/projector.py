"""The mm-LLM projector (CLMP embedding -> soft tokens) -> ONNX with a dynamic batch.

The projector maps a CLMP window embedding ``[B, D]`` (D = 256, L2-normalised) to ``K`` soft tokens
``[B, K, E]`` (E = 640, Gemma 3 270M's width) **in table units** (the scale of the rows of Gemma's
``token_embd.weight``; the runtime multiplies by ``sqrt(E)`` like llama.cpp does for token
embeddings). The exported graph has one input ``embedding`` float32 ``[batch, D]`` and one output
``soft_tokens`` float32 ``[batch, K, E]``; ``batch`` is dynamic (traced with batch 3 so the exporter
cannot specialise it).

:class:`MLPProjector` is the checkpoint layout of ``projector.json`` ``{"type": "mlp", "in_dim",
"hidden", "num_tokens", "out_dim", "activation"}`` (the one ``training.llm`` writes):
``fc1 = Linear(D, H) -> GELU -> fc2 = Linear(H, K * E)``, reshaped to ``[B, K, E]`` (state-dict
keys ``fc1.weight/bias``, ``fc2.weight/bias``; ``activation`` ``"gelu"`` = exact erf GELU, the
default, or ``"gelu_tanh"``; optional ``input_scale``, default 1.0: the embedding is multiplied by
it first, so a unit-norm embedding reaches ``fc1`` with about unit-variance entries). Any other
``torch.nn.Module`` with that input/output contract can be exported with :func:`export_projector`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

INPUT_NAME = "embedding"
OUTPUT_NAME = "soft_tokens"
OPSET = 17
_TRACE_BATCH = 3
_CONFIG_KEYS = ("in_dim", "hidden", "num_tokens", "out_dim")
#: ``projector.json`` activation -> ``nn.GELU(approximate=...)``.
_ACTIVATIONS = {"gelu": "none", "gelu_tanh": "tanh"}


class ProjectorExportError(ValueError):
    """The projector checkpoint or its export is not usable (the message says what)."""


class MLPProjector(nn.Module):
    """``[B, in_dim] -> fc1 -> GELU -> fc2 -> [B, num_tokens, out_dim]``."""

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        num_tokens: int,
        out_dim: int,
        activation: str = "gelu",
        input_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_dim, self.num_tokens, self.out_dim = in_dim, num_tokens, out_dim
        self.input_scale = float(input_scale)
        self.fc1 = nn.Linear(in_dim, hidden)
        self.act = nn.GELU(approximate=_ACTIVATIONS[activation])
        self.fc2 = nn.Linear(hidden, num_tokens * out_dim)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        if self.input_scale != 1.0:
            embedding = embedding * self.input_scale
        x = self.fc2(self.act(self.fc1(embedding)))
        return x.reshape(embedding.shape[0], self.num_tokens, self.out_dim)


def check_projector_config(config: Mapping[str, Any], source: str = "projector.json") -> None:
    """``config`` is an ``mlp`` projector config with positive integer sizes (else raises)."""
    if config.get("type") != "mlp":
        raise ProjectorExportError(f"{source}: type {config.get('type')!r}, only 'mlp' is known")
    for key in _CONFIG_KEYS:
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ProjectorExportError(f"{source}: {key} is {value!r}, not a positive integer")
    if config.get("activation", "gelu") not in _ACTIVATIONS:
        raise ProjectorExportError(
            f"{source}: activation {config.get('activation')!r} (known: {', '.join(_ACTIVATIONS)})"
        )
    scale = config.get("input_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ProjectorExportError(f"{source}: input_scale is {scale!r}, not a positive number")


def build_projector(
    config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor], source: str = "projector"
) -> MLPProjector:
    """An :class:`MLPProjector` of ``config`` with ``state_dict`` loaded (strict), in eval mode."""
    check_projector_config(config, f"{source}.json")
    sizes = (int(config[k]) for k in _CONFIG_KEYS)
    model = MLPProjector(
        *sizes,
        activation=str(config.get("activation", "gelu")),
        input_scale=float(config.get("input_scale", 1.0)),
    )
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ProjectorExportError(
            f"{source}.pt: state dict does not fit the mlp projector of {source}.json ({first})"
        ) from None
    return model.eval()


def read_projector_config(checkpoint_dir: str | Path) -> dict[str, Any]:
    """``projector.json`` of a checkpoint directory, checked (:func:`check_projector_config`)."""
    import json

    d = Path(checkpoint_dir)
    cfg_path, pt_path = d / "projector.json", d / "projector.pt"
    for p in (cfg_path, pt_path):
        if not p.is_file():
            raise ProjectorExportError(f"{p}: missing (not an mm-LLM checkpoint directory)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectorExportError(f"{cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ProjectorExportError(f"{cfg_path}: a JSON object expected")
    check_projector_config(config, str(cfg_path))
    return config


def load_projector(checkpoint_dir: str | Path) -> tuple[MLPProjector, dict[str, Any]]:
    """``(projector, config)`` from ``projector.pt`` + ``projector.json`` in a checkpoint directory."""
    d = Path(checkpoint_dir)
    config = read_projector_config(d)
    pt_path = d / "projector.pt"
    state = torch.load(pt_path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ProjectorExportError(f"{pt_path}: not a state dict")
    return build_projector(config, state, str(d / "projector")), config


def export_projector(
    model: nn.Module, path: str | Path, *, in_dim: int, num_tokens: int, out_dim: int
) -> float:
    """Export ``model`` to ONNX at ``path`` and check it against torch with onnxruntime.

    Returns:
        The largest absolute difference between torch and onnxruntime on 16 random embeddings.

    Raises:
        ProjectorExportError: wrong output shape, or onnxruntime disagrees by more than 1e-4.
    """
    model = model.eval()
    gen = torch.Generator().manual_seed(0)
    example = torch.nn.functional.normalize(torch.randn(_TRACE_BATCH, in_dim, generator=gen), dim=1)
    with torch.no_grad():
        got = model(example)
    if tuple(got.shape) != (_TRACE_BATCH, num_tokens, out_dim):
        raise ProjectorExportError(
            f"projector output {list(got.shape)}, expected [batch, {num_tokens}, {out_dim}]"
        )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )
    err, _ = compare_with_torch(model, path, in_dim=in_dim)
    return err


def compare_with_torch(
    model: nn.Module, path: str | Path, *, in_dim: int, min_cosine: float | None = None
) -> tuple[float, float]:
    """Run the ONNX file and ``model`` on 16 random unit embeddings.

    Returns:
        ``(largest absolute difference, smallest cosine between matching soft tokens)``.

    Raises:
        ProjectorExportError: shapes differ, or (``min_cosine`` None) the difference exceeds 1e-4
            of the output scale, or the smallest cosine is under ``min_cosine``.
    """
    import onnxruntime as ort

    gen = torch.Generator().manual_seed(1)
    check = torch.nn.functional.normalize(torch.randn(16, in_dim, generator=gen), dim=1)
    with torch.no_grad():
        ref = model.eval()(check).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (out,) = session.run([OUTPUT_NAME], {INPUT_NAME: check.numpy().astype(np.float32)})
    if out.shape != ref.shape:
        raise ProjectorExportError(f"{path}: onnxruntime output {list(out.shape)} != {ref.shape}")
    err = float(np.max(np.abs(out - ref)))
    a, b = out.reshape(-1, out.shape[-1]), ref.reshape(-1, ref.shape[-1])
    cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)).clip(1e-12)
    worst = float(cos.min())
    if min_cosine is None and not err <= 1e-4 * max(1.0, float(np.max(np.abs(ref)))):
        raise ProjectorExportError(f"{path}: onnxruntime differs from torch by {err:.3g}")
    if min_cosine is not None and not worst >= min_cosine:
        raise ProjectorExportError(
            f"{path}: soft tokens differ from torch (smallest cosine {worst:.4f} < {min_cosine})"
        )
    return err, worst
