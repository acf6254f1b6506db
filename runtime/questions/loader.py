"""Loading the LLMs of the question service (llama.cpp via :mod:`runtime.llm.answer`; no torch).

Kept apart from :mod:`runtime.questions.service` so that the service imports no LLM: the app calls
:func:`load_answerers` only when ``questions:`` is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from runtime.questions.settings import QuestionSettings

__all__ = ["load_answerers", "text_query"]


def model_dir(settings: QuestionSettings) -> Path | None:
    """The mm-LLM folder the settings name (None = the base GGUF alone).

    Raises:
        ModelError: no such folder or model name.
    """
    if settings.model is None:
        return None
    from runtime.models import find_model

    return find_model(settings.model)[0]


def load_answerers(settings: QuestionSettings) -> tuple[list[Any], str]:
    """``settings.instances`` answerers (one per worker thread) and a one-line description.

    Raises:
        LLMError / BaseModelError / ModelError: llama.cpp, the base GGUF or the model is missing
            or wrong (one line saying what to do).
    """
    from runtime.llm.answer import Answerer  # llama.cpp: loaded only when questions are on

    folder = model_dir(settings)
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
