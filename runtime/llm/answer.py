"""Answer a question about what the radar saw: CLMP embedding -> soft tokens -> llama.cpp (no torch).

    answerer = Answerer(load_mmllm().path, n_threads=2)        # or Answerer(None): base model only
    for piece in answerer.answer("Is anyone here?", events=log, now=t, embedding=emb):
        print(piece, end="", flush=True)

An mm-LLM model directory (kind ``mmllm``, ``mmfm export llm``; verified by
:func:`runtime.models.load_mmllm`: card, sha256 of every file, projector shapes) holds:

- ``projector.onnx``: the CLMP window embedding float32 ``[batch, 256]`` -> soft tokens
  ``[batch, K, 640]`` in the units of Gemma's token-embedding table (run with onnxruntime here; the
  engine multiplies them by ``sqrt(640)``);
- ``adapter.gguf`` (optional): a LoRA adapter loaded by llama.cpp at scale 1.0 on the base GGUF;
- ``model.gguf`` (optional, card key ``merged``): the base GGUF with the LoRA merged in; when
  present it is run alone (no adapter, no base GGUF);
- ``card.json``: the base model's sha256, the CLMP encoder it expects (``encoder``), the context
  layout version and the instruction line the model was trained with.

The prompt is :func:`runtime.llm.chat.chat_segments` (the same function training uses) with the
card's instruction, the soft tokens of ``embedding`` and the context text
:func:`runtime.llm.context.format_context` makes of ``events`` at ``now``.

With ``model_dir=None`` there is no projector and no adapter: the base GGUF answers from the context
alone (the daemon's fallback, and the "no radar" baseline); an ``embedding`` passed then is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from runtime.events import Event
from runtime.llm.base_model import BASE_MODEL_FILE, BASE_MODEL_SHA256, base_model_path
from runtime.llm.chat import MAX_QUESTION_CHARS, chat_segments
from runtime.llm.context import CONTEXT_VERSION, format_context
from runtime.llm.engine import LlamaEngine, SamplingSettings, Segment
from runtime.models import ModelArtifact, ModelError, load_mmllm

#: Most tokens one answer may generate (callers ask for fewer; a larger request is refused).
MAX_ANSWER_TOKENS = 512


def check_question(question: str) -> str:
    """The question stripped, or ValueError (one line) when it is empty or over
    :data:`runtime.llm.chat.MAX_QUESTION_CHARS` characters."""
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, got {type(question).__name__}")
    q = question.strip()
    if not q:
        raise ValueError("empty question")
    if len(q) > MAX_QUESTION_CHARS:
        raise ValueError(f"question too long: {len(q)} characters (at most {MAX_QUESTION_CHARS})")
    return q


class Answerer:
    """The mm-LLM on the hub: projector (onnxruntime) + base GGUF (+ LoRA adapter) in llama.cpp.

    Args:
        model_dir: an mm-LLM model directory or name (verified), or None for the base model with
            the text context only.
        n_threads: llama.cpp threads (and the projector's onnxruntime threads).
        n_ctx: llama.cpp context length [tokens] (instruction + soft tokens + context + answer).
        gguf_path: the base GGUF (None: :func:`runtime.llm.base_model_path`, assembled on first use).
        sampling: how tokens are picked (default greedy); ``max_tokens`` comes from :meth:`answer`.
        instruction: the leading instruction line; None = the card's (none without a model).
        one_line: stop at the end of the first non-empty line. None = only without an mm-LLM model:
            the base model is pretrained, not chat-tuned, and never ends its turn by itself (it
            goes on with more questions and answers); a trained model ends with ``<end_of_turn>``.

    Raises:
        ModelError: the model directory is refused (card, sha256, shapes, another base model or an
            older context layout).
        runtime.llm.LLMError, runtime.llm.BaseModelError: llama.cpp or the base model missing.
    """

    def __init__(
        self,
        model_dir: str | Path | None,
        *,
        n_threads: int = 1,
        n_ctx: int = 1024,
        gguf_path: str | Path | None = None,
        sampling: SamplingSettings | None = None,
        instruction: str | None = None,
        one_line: bool | None = None,
    ) -> None:
        self.model: ModelArtifact | None = None
        self._projector: Any = None
        adapter: Path | None = None
        merged: Path | None = None
        card_instruction: str | None = None
        if model_dir is not None:
            self.model = load_mmllm(model_dir)
            card = self.model.card
            card_path = self.model.path / "card.json"
            base = card["base_model"]
            if base["sha256"] != BASE_MODEL_SHA256:
                raise ModelError(
                    f"{card_path}: made for base model {base.get('file')} ({base['sha256'][:12]}...), "
                    f"this runtime has {BASE_MODEL_FILE} ({BASE_MODEL_SHA256[:12]}...)"
                )
            if card["context_version"] != CONTEXT_VERSION:
                raise ModelError(
                    f"{card_path}: trained on context layout {card['context_version']!r}, this "
                    f"runtime writes layout {CONTEXT_VERSION!r} (re-train or update mmfm)"
                )
            self._projector = _projector_session(self.model.path / card["projector"], n_threads)
            if card.get("merged"):  # the base with the LoRA merged in: run it alone
                merged = self.model.path / card["merged"]
            elif card.get("adapter"):
                adapter = self.model.path / card["adapter"]
            card_instruction = card.get("instruction")
        self.instruction = instruction if instruction is not None else card_instruction
        self.sampling = sampling or SamplingSettings()
        self.one_line = (model_dir is None) if one_line is None else bool(one_line)
        gguf = merged if merged is not None else base_model_path(gguf_path)
        self.engine = LlamaEngine(gguf, n_threads=n_threads, n_ctx=n_ctx, lora_path=adapter)

    # ------------------------------------------------------------------ facts
    @property
    def uses_radar(self) -> bool:
        """Whether embeddings become soft tokens (an mm-LLM model is loaded)."""
        return self._projector is not None

    @property
    def num_soft_tokens(self) -> int:
        """K, the soft tokens per embedding (0 without a model)."""
        return int(self.model.card["num_soft_tokens"]) if self.model else 0

    @property
    def encoder_name(self) -> str | None:
        """The CLMP model whose embeddings the projector expects (None without a model)."""
        return str(self.model.card["encoder"]) if self.model else None

    # ------------------------------------------------------------------ pieces
    def soft_tokens(self, embedding: np.ndarray) -> np.ndarray:
        """Soft tokens of one CLMP window embedding: float ``[D]`` -> float32 ``[K, 640]``.

        Raises:
            ValueError: no model loaded, or a wrong shape / non-finite values.
        """
        if self._projector is None or self.model is None:
            raise ValueError("no mm-LLM model loaded: embeddings cannot become soft tokens")
        dim = int(self.model.card["embedding_dim"])
        e = np.asarray(embedding, dtype=np.float32)
        if e.shape != (dim,):
            raise ValueError(f"embedding must be [{dim}], got {list(e.shape)}")
        if not np.all(np.isfinite(e)):
            raise ValueError("embedding holds NaN or infinite values")
        (out,) = self._projector.run(["soft_tokens"], {"embedding": e[None, :]})
        return np.asarray(out[0], dtype=np.float32)

    def prompt(
        self,
        question: str,
        *,
        events: Sequence[Event],
        now: float,
        embedding: np.ndarray | None,
        room: str | None = None,
    ) -> list[Segment]:
        """The prompt segments :meth:`answer` feeds (the question checked, soft tokens made);
        ``room`` is the context's ``Room:`` line (:func:`runtime.llm.context.room_words`, e.g. of
        the radar's configured zones: :func:`runtime.llm.context.zones_words`), or None."""
        q = check_question(question)
        soft = self.soft_tokens(embedding) if embedding is not None and self.uses_radar else None
        context = format_context(list(events), float(now), room=room)
        return chat_segments(q, soft_tokens=soft, context=context, instruction=self.instruction)

    # ------------------------------------------------------------------ answering
    def answer(
        self,
        question: str,
        *,
        events: Sequence[Event],
        now: float,
        embedding: np.ndarray | None,
        max_tokens: int = 64,
        room: str | None = None,
    ) -> Iterator[str]:
        """Stream the answer to ``question`` as text pieces.

        Args:
            question: the user's question (1..MAX_QUESTION_CHARS characters once stripped).
            events: logged events for the time range (any order; formatted at ``now``).
            now: the time of the question [s since the epoch].
            embedding: the CLMP window embedding float ``[256]`` most relevant to the question, or
                None (no radar tokens).
            max_tokens: most tokens generated (1..MAX_ANSWER_TOKENS).
            room: the layout line of the context (:meth:`prompt`), or None.

        Returns:
            An iterator of text pieces. llama.cpp is used (and its lock held) from the first
            ``next()`` until the iterator ends: exhaust it or ``close()`` it (one question at a
            time per Answerer; other callers wait on the lock).

        Raises:
            ValueError: at call time (before any generation) for an empty or over-long question,
                a bad embedding or ``max_tokens`` out of range.
        """
        if not 1 <= int(max_tokens) <= MAX_ANSWER_TOKENS:
            raise ValueError(f"max_tokens must be in 1..{MAX_ANSWER_TOKENS}, got {max_tokens}")
        segments = self.prompt(question, events=events, now=now, embedding=embedding, room=room)
        s = self.sampling
        settings = SamplingSettings(
            temperature=s.temperature,
            top_k=s.top_k,
            top_p=s.top_p,
            max_tokens=int(max_tokens),
            seed=s.seed,
        )
        stream = self.engine.generate(segments, settings)
        return _first_line(stream) if self.one_line else stream

    def answer_text(self, question: str, **kwargs: Any) -> str:
        """The whole answer of :meth:`answer` (same arguments), stripped."""
        return "".join(self.answer(question, **kwargs)).strip()

    def close(self) -> None:
        """Free llama.cpp's model and context (idempotent)."""
        self.engine.close()

    def __enter__(self) -> Answerer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(stream: Iterator[str]) -> Iterator[str]:
    """The pieces of ``stream`` up to the end of its first non-blank line (then it is closed)."""
    seen_text = False
    try:
        for piece in stream:
            if seen_text and "\n" in piece:
                head = piece.split("\n", 1)[0]
                if head:
                    yield head
                return
            if not seen_text and piece.strip():
                seen_text = True
                text = piece.lstrip()
                if "\n" in text:  # the first line ends inside this piece
                    yield piece[: len(piece) - len(text)] + text.split("\n", 1)[0]
                    return
            yield piece
    finally:
        close = getattr(stream, "close", None)  # a generator: release llama.cpp's lock now
        if close is not None:
            close()


def _projector_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: ONNX Runtime cannot load it ({first})") from None
