"""Loading the LLMs of the question service (llama.cpp via :mod:`runtime.llm.answer`; no torch).

Kept apart from :mod:`runtime.questions.service` so that the service imports no LLM: the app calls
:func:`load_answerers` only when ``questions:`` is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from runtime.questions.settings import QuestionSettings

__all__ = ["AUTO", "load_answerers", "text_query"]

logger = logging.getLogger(__name__)


#: ``questions.model`` that picks the shipped mm-LLM when it is installed.
AUTO = "auto"


def model_dir(
    settings: QuestionSettings, encoder: str | Collection[str] | None = None
) -> Path | None:
    """The mm-LLM folder the settings name (None = the base GGUF alone).

    ``auto`` is :data:`runtime.models.DEFAULT_MMLLM` when it is installed, verifies, and reads the
    embeddings of ``encoder`` (the activity model's names, :attr:`runtime.models.ModelArtifact.names`,
    or one name; None = activities off, any mm-LLM goes), else None: a hub without the trained mm-LLM answers with the base LLM, and one that
    gains it (``models/mmllm-default`` or the user model folder) uses it on the next start.

    Raises:
        ModelError: no such folder or model name (a named model, not ``auto``).
    """
    if settings.model is None:
        return None
    from runtime.models import DEFAULT_MMLLM, ModelError, find_model, load_mmllm

    if settings.model != AUTO:
        return find_model(settings.model)[0]
    try:
        find_model(DEFAULT_MMLLM)
    except ModelError:
        return None  # not installed: the base LLM, quietly
    try:
        artifact = load_mmllm(DEFAULT_MMLLM)
    except ModelError as exc:  # installed but broken: say so
        logger.warning("questions.model auto: %s; answering with the base LLM", exc)
        return None
    wanted = str(artifact.card.get("encoder"))
    names = {encoder} if isinstance(encoder, str) else encoder
    if names is not None and wanted not in names:
        logger.warning(
            "questions.model auto: %s reads embeddings of %r, but activities.model is %r; "
            "answering with the base LLM (name the model to insist)",
            DEFAULT_MMLLM,
            wanted,
            encoder if isinstance(encoder, str) else sorted(encoder or ()),
        )
        return None
    return artifact.path


def load_answerers(
    settings: QuestionSettings, encoder: str | Collection[str] | None = None
) -> tuple[list[Any], str]:
    """``settings.instances`` answerers (one per worker thread) and a one-line description.

    Args:
        settings: the ``questions:`` section.
        encoder: the activity model's names (for ``model: auto``; None = activities off).

    Raises:
        LLMError / BaseModelError / ModelError: llama.cpp, the base GGUF or the model is missing
            or wrong (one line saying what to do).
    """
    from runtime.llm.answer import Answerer  # llama.cpp: loaded only when questions are on

    folder = model_dir(settings, encoder)
    gguf = None if settings.gguf is None else Path(settings.gguf).expanduser()
    answerers = [
        Answerer(folder, n_threads=settings.n_threads, gguf_path=gguf)
        for _ in range(settings.instances)
    ]
    what = f"mm-LLM {folder}" if folder is not None else "base LLM without radar tokens"
    return answerers, what


def text_query(model_name: str | None) -> Callable[[str], np.ndarray]:
    """The question text -> its CLMP query embedding ``[D]`` (the activity model's text tower, or a
    shipped label prototype); raises when the model has neither for that text."""
    from runtime.inference.stage import query_vector
    from runtime.models import load_model

    model = load_model(model_name)

    def embed(text: str) -> np.ndarray:
        return query_vector(model, text)

    return embed
