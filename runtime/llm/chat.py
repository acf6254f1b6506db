"""Gemma 3's chat format, with room for the radar's soft tokens and a text context.

Gemma 3 has two roles, ``user`` and ``model``, and no system role (instructions go at the start of
the first user turn). One turn is::

    <start_of_turn>user
    {content}<end_of_turn>
    <start_of_turn>model
    {answer}<end_of_turn>

(the GGUF carries no chat template, so it is written out here; ``<bos>`` is added by the engine as a
token, not as text). The mm-LLM's user turn is laid out as::

    <start_of_turn>user
    {instruction}\n                      # optional
    Radar: <soft tokens>\n               # when the radar window is given ([n, n_embd] array)
    Context: {context}\n                 # optional: facts the daemon logged (events, tracks, vitals)
    {question}<end_of_turn>
    <start_of_turn>model

:func:`chat_segments` returns that layout as engine segments (strings and the soft-token array in
order); training builds its inputs with the same function, so the two can never drift apart.
"""

from __future__ import annotations

import numpy as np

START_OF_TURN = "<start_of_turn>"
END_OF_TURN = "<end_of_turn>"
#: Text placed right before the soft tokens and the context in the user turn.
RADAR_PREFIX = "Radar: "
CONTEXT_PREFIX = "Context: "
#: Most characters in a question (longer ones are refused by the callers, one clear line).
MAX_QUESTION_CHARS = 500


def chat_segments(
    question: str,
    *,
    soft_tokens: np.ndarray | None = None,
    context: str | None = None,
    instruction: str | None = None,
) -> list[str | np.ndarray]:
    """Prompt segments of one Gemma 3 user turn asking ``question`` (ready for the model's answer).

    Args:
        question: the user's question (stripped; must not be empty).
        soft_tokens: float32 ``[n, n_embd]`` radar soft tokens in table units, or None.
        context: compact text facts to show beside the radar tokens, or None.
        instruction: a leading instruction line (Gemma has no system role), or None.

    Returns:
        ``[str, (array, str)...]``: text and soft-token segments for :meth:`LlamaEngine.feed`.
    """
    q = question.strip()
    if not q:
        raise ValueError("empty question")
    head = f"{START_OF_TURN}user\n"
    if instruction:
        head += instruction.strip() + "\n"
    segments: list[str | np.ndarray] = []
    if soft_tokens is not None:
        segments += [head + RADAR_PREFIX, soft_tokens]
        head = "\n"
    if context:
        head += f"{CONTEXT_PREFIX}{context.strip()}\n"
    segments.append(f"{head}{q}{END_OF_TURN}\n{START_OF_TURN}model\n")
    return segments


def chat_text(question: str, *, context: str | None = None, instruction: str | None = None) -> str:
    """The text-only prompt (no soft tokens) as one string."""
    (text,) = chat_segments(question, context=context, instruction=instruction)
    assert isinstance(text, str)
    return text
