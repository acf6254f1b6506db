"""llama.cpp inference with soft tokens: a GGUF model fed text tokens *and* embedding vectors.

The mm-LLM shows the language model what the radar saw as a few *soft tokens*: vectors in the LLM's
input-embedding space (made by the projector from the CLMP encoder's output) placed in the prompt
where words would be. llama.cpp accepts such vectors through a ``llama_batch`` whose ``embd`` is set
(``llama_batch_init(n, n_embd, 1)``); this module drives that low-level API of llama-cpp-python
directly (no torch):

- a prompt is a sequence of *segments*: ``str`` (tokenised, fed as token ids) or a float32 array
  ``[n, n_embd]`` (fed as embeddings). Token and embedding inputs always go in **separate batches**
  (a llama.cpp batch carries either ids or vectors), in prompt order, positions continuing;
- **Gemma scaling**: llama.cpp multiplies *token* embeddings by ``sqrt(n_embd)`` inside the Gemma
  graphs but passes raw ``embd`` inputs through unscaled. Soft tokens are given in the same units as
  the model's embedding table (what the projector is trained to produce, like the rows of
  ``token_embd.weight``), so :meth:`LlamaEngine.feed_embeddings` multiplies them by
  :attr:`LlamaEngine.embed_scale` (``sqrt(n_embd)`` for the ``gemma*`` architectures, 1 otherwise).
  Feeding a token's own table row therefore gives the same logits as feeding the token itself
  (``tests/test_llm_engine.py``);
- generation is greedy (``temperature=0``) or temperature / top-k / top-p sampling with a seeded
  numpy generator, and streams text pieces as tokens come (UTF-8 split across tokens is held back
  until complete). It stops at an end-of-generation token (``<end_of_turn>``, ``<eos>``) or after
  ``max_tokens``.

Threads: llama.cpp's CPU threads are set per engine (``n_threads``, default 1: on a hub the radar
pipeline needs the other cores). One engine answers one prompt at a time (a lock serialises callers).

llama-cpp-python is an optional dependency (``pip install 'mmfm[llm]'``); it is imported when an
engine is created, and a missing install is one :class:`LLMError` line.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: One prompt segment: text (tokenised) or soft tokens float32 ``[n, n_embd]`` (table units).
Segment = str | np.ndarray


class LLMError(RuntimeError):
    """The LLM cannot be loaded or run (missing llama-cpp-python, bad GGUF, context full...)."""


def import_llama_cpp() -> ModuleType:
    """``llama_cpp`` (llama-cpp-python), or :class:`LLMError` saying how to install it."""
    try:
        import llama_cpp  # heavy (loads libllama): imported only when an engine is made
    except ImportError as exc:
        raise LLMError(
            f"llama-cpp-python is not installed ({exc}); install it with: "
            "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'mmfm[llm]'"
        ) from None
    except (OSError, RuntimeError) as exc:  # the package is there, its libllama does not load
        raise LLMError(f"llama-cpp-python is installed but does not load: {exc}") from None
    return llama_cpp


# llama.cpp logs through one process-wide callback; route it into Python logging (quiet by default).
# ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 = continues the previous message.
# llama.cpp warns at every Gemma load (a "</s>" vocabulary note, the SWA cache size): routine, so its
# warnings are logged at INFO; its errors stay errors.
_LOG_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.INFO, 4: logging.ERROR}
_CONT = 5
_llama_log = logging.getLogger("runtime.llm.llama_cpp")
_log_callback: Any = None  # kept referenced: llama.cpp holds a pointer to it
_last_level = [logging.DEBUG]


def _install_log_callback(llama_cpp: ModuleType) -> None:
    global _log_callback
    if _log_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def _forward(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        lvl = _last_level[0] if level == _CONT else _LOG_LEVELS.get(int(level), logging.DEBUG)
        _last_level[0] = lvl
        if _llama_log.isEnabledFor(lvl):
            _llama_log.log(lvl, "%s", text.decode("utf-8", "replace").rstrip())

    _log_callback = _forward
    llama_cpp.llama_log_set(_forward, ctypes.c_void_p(0))


@dataclass(frozen=True, slots=True)
class SamplingSettings:
    """How the next token is chosen.

    Attributes:
        temperature: 0 = greedy (argmax); > 0 divides the logits before softmax sampling.
        top_k: keep the k most likely tokens (0 = all) when sampling.
        top_p: keep the smallest set whose probability reaches p (1 = all) when sampling.
        max_tokens: stop after this many generated tokens.
        seed: numpy seed of the sampler (one generator per call: same prompt + seed, same text).
    """

    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    max_tokens: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


def sample_token(logits: np.ndarray, settings: SamplingSettings, rng: np.random.Generator) -> int:
    """Next token id from ``logits`` float32 ``[n_vocab]`` (greedy when temperature is 0)."""
    if settings.temperature == 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / settings.temperature
    if 0 < settings.top_k < z.size:
        keep = np.argpartition(z, -settings.top_k)[-settings.top_k :]
    else:
        keep = np.arange(z.size)
    zk = z[keep]
    order = np.argsort(zk)[::-1]
    keep, zk = keep[order], zk[order]
    p = np.exp(zk - zk[0])
    p /= p.sum()
    if settings.top_p < 1:
        n = int(np.searchsorted(np.cumsum(p), settings.top_p) + 1)
        keep, p = keep[:n], p[:n] / p[:n].sum()
    return int(keep[rng.choice(p.size, p=p)])


class LlamaEngine:
    """A GGUF language model in llama.cpp, fed token ids and soft-token embeddings.

    Args:
        gguf_path: the model file (e.g. :func:`runtime.llm.base_model_path`).
        n_threads: CPU threads for generation and prompt processing (default 1).
        n_ctx: context length [tokens] (prompt + soft tokens + answer).
        n_batch: most inputs per llama.cpp batch; longer inputs are split.
        lora_path: a llama.cpp LoRA adapter GGUF (``general.type = adapter``, written by
            ``exporters.gguf``) applied on top of the model, or None.
        lora_scale: the adapter's scale (1.0 = as trained; llama.cpp also applies the adapter's own
            ``adapter.lora.alpha / rank``).

    Not thread-safe by itself: :meth:`generate` holds a lock for the whole stream; the low-level
    ``reset`` / ``feed_*`` calls are for one caller (tests, benchmarks) at a time.
    """

    def __init__(
        self,
        gguf_path: str | Path,
        *,
        n_threads: int = 1,
        n_ctx: int = 1024,
        n_batch: int = 256,
        lora_path: str | Path | None = None,
        lora_scale: float = 1.0,
    ) -> None:
        if n_threads < 1:
            raise LLMError(f"n_threads must be >= 1, got {n_threads}")
        if n_ctx < 16 or n_batch < 1:
            raise LLMError(f"n_ctx must be >= 16 and n_batch >= 1, got {n_ctx}, {n_batch}")
        path = Path(gguf_path)
        if not path.is_file():
            raise LLMError(f"{path}: no such GGUF file")
        self._ll = ll = import_llama_cpp()
        _install_log_callback(ll)
        ll.llama_backend_init()
        self.path = path
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.n_batch = min(n_batch, n_ctx)
        self._lock = threading.Lock()
        self._model = self._ctx = None

        mparams = ll.llama_model_default_params()
        model = ll.llama_model_load_from_file(str(path).encode("utf-8"), mparams)
        if not model:
            raise LLMError(f"{path}: llama.cpp could not load this GGUF")
        self._model = model
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = self.n_batch
        cparams.n_ubatch = self.n_batch
        cparams.n_seq_max = 1
        cparams.n_threads = n_threads
        cparams.n_threads_batch = n_threads
        cparams.no_perf = True
        ctx = ll.llama_init_from_model(model, cparams)
        if not ctx:
            self.close()
            raise LLMError(f"{path}: llama.cpp could not create a context (n_ctx={n_ctx})")
        self._ctx = ctx
        #: The LoRA adapter file applied, or None.
        self.lora_path: Path | None = None
        self._adapter: Any = None
        if lora_path is not None:
            self._load_lora(Path(lora_path), float(lora_scale))
        self._vocab = ll.llama_model_get_vocab(model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self._vocab))
        n_inp = getattr(ll, "llama_model_n_embd_inp", ll.llama_model_n_embd)
        #: Width of an input embedding (soft token) [floats].
        self.n_embd = int(n_inp(model))
        #: ``general.architecture`` of the GGUF (``"gemma3"`` for the base model).
        self.architecture = self.metadata("general.architecture") or ""
        #: Factor applied to soft tokens before llama.cpp sees them (see the module docstring).
        self.embed_scale = math.sqrt(self.n_embd) if self.architecture.startswith("gemma") else 1.0
        self.bos = int(ll.llama_vocab_bos(self._vocab))
        self._n_past = 0
        self._last_logits: np.ndarray | None = None

    def _load_lora(self, path: Path, scale: float) -> None:
        """Load a LoRA adapter GGUF and set it on the context at ``scale`` (llama.cpp frees the
        adapter with the model)."""
        ll = self._ll
        if not path.is_file():
            self.close()
            raise LLMError(f"{path}: no such LoRA adapter file")
        if not math.isfinite(scale):
            self.close()
            raise LLMError(f"lora_scale must be finite, got {scale}")
        adapter = ll.llama_adapter_lora_init(self._model, str(path).encode("utf-8"))
        if not adapter:
            self.close()
            raise LLMError(
                f"{path}: llama.cpp could not load this LoRA adapter (not an adapter GGUF, or made "
                f"for another model than {self.path.name})"
            )
        adapters = (ll.llama_adapter_lora_p_ctypes * 1)(adapter)
        scales = (ctypes.c_float * 1)(scale)
        rc = ll.llama_set_adapters_lora(self._ctx, adapters, 1, scales)
        if rc != 0:
            self.close()
            raise LLMError(f"{path}: llama.cpp refused to apply the LoRA adapter (code {rc})")
        self._adapter = adapter
        self.lora_path = path

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Free the context and the model (idempotent)."""
        ll = self._ll
        if self._ctx:
            ll.llama_free(self._ctx)
            self._ctx = None
        self._adapter = None  # freed by llama.cpp with its model
        if self._model:
            ll.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    # ------------------------------------------------------------------ vocabulary
    def metadata(self, key: str) -> str | None:
        """A GGUF metadata value as text (``general.architecture``...), or None."""
        buf = ctypes.create_string_buffer(256)
        n = self._ll.llama_model_meta_val_str(self._model, key.encode("utf-8"), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        """Token ids of ``text``; control tokens written in it (``<start_of_turn>``) are parsed."""
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        buf = (self._ll.llama_token * cap)()
        n = self._ll.llama_tokenize(self._vocab, raw, len(raw), buf, cap, add_bos, True)
        if n < 0:  # buffer too small: -n tokens needed
            cap = -n
            buf = (self._ll.llama_token * cap)()
            n = self._ll.llama_tokenize(self._vocab, raw, len(raw), buf, cap, add_bos, True)
        if n < 0:
            raise LLMError(f"tokenization failed for {text[:40]!r}")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """The bytes a token stands for (control tokens render as nothing)."""
        buf = ctypes.create_string_buffer(64)
        n = self._ll.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._ll.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[: max(n, 0)]

    def is_end(self, token: int) -> bool:
        """Whether ``token`` ends generation (end of turn / end of text)."""
        return bool(self._ll.llama_vocab_is_eog(self._vocab, token))

    # ------------------------------------------------------------------ feeding
    @property
    def n_past(self) -> int:
        """Inputs (tokens + soft tokens) in the context so far."""
        return self._n_past

    def reset(self) -> None:
        """Forget everything fed so far (clears llama.cpp's KV memory)."""
        self._ll.llama_memory_clear(self._ll.llama_get_memory(self._ctx), True)
        self._n_past = 0
        self._last_logits = None

    def _room(self, n: int) -> None:
        if self._n_past + n > self.n_ctx:
            raise LLMError(
                f"context full: {self._n_past} + {n} inputs > n_ctx {self.n_ctx} "
                "(shorten the prompt or raise n_ctx)"
            )

    def _decode(self, batch: Any, what: str) -> None:
        rc = self._ll.llama_decode(self._ctx, batch)
        if rc != 0:
            raise LLMError(f"llama_decode failed on {what} (code {rc})")

    def _read_logits(self, i: int) -> np.ndarray:
        ptr = self._ll.llama_get_logits_ith(self._ctx, i)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def feed_tokens(self, tokens: Sequence[int]) -> np.ndarray:
        """Append token ids; returns the logits after the last one, float32 ``[n_vocab]``."""
        tokens = [int(t) for t in tokens]
        if not tokens:
            raise LLMError("feed_tokens: no tokens")
        self._room(len(tokens))
        ll = self._ll
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            batch = ll.llama_batch_init(len(chunk), 0, 1)
            try:
                batch.n_tokens = len(chunk)
                for i, tok in enumerate(chunk):
                    batch.token[i] = tok
                    batch.pos[i] = self._n_past + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 0
                batch.logits[len(chunk) - 1] = 1
                self._decode(batch, f"{len(chunk)} tokens")
                self._n_past += len(chunk)
                self._last_logits = self._read_logits(len(chunk) - 1)
            finally:
                ll.llama_batch_free(batch)
        assert self._last_logits is not None
        return self._last_logits

    def feed_embeddings(self, embeddings: np.ndarray, *, scaled: bool = False) -> np.ndarray:
        """Append soft tokens; returns the logits after the last one, float32 ``[n_vocab]``.

        Args:
            embeddings: float ``[n, n_embd]`` in the units of the model's token-embedding table.
            scaled: True when ``embeddings`` already include :attr:`embed_scale` (then fed as is).
        """
        e = np.asarray(embeddings, dtype=np.float32)
        if e.ndim != 2 or e.shape[1] != self.n_embd or e.shape[0] == 0:
            raise LLMError(f"soft tokens must be [n >= 1, {self.n_embd}], got {list(e.shape)}")
        if not np.all(np.isfinite(e)):
            raise LLMError("soft tokens hold NaN or infinite values")
        if not scaled and self.embed_scale != 1.0:
            e = e * np.float32(self.embed_scale)
        e = np.ascontiguousarray(e, dtype=np.float32)
        self._room(e.shape[0])
        ll = self._ll
        for start in range(0, e.shape[0], self.n_batch):
            chunk = e[start : start + self.n_batch]
            n = chunk.shape[0]
            batch = ll.llama_batch_init(n, self.n_embd, 1)
            try:
                batch.n_tokens = n
                ctypes.memmove(batch.embd, chunk.ctypes.data, chunk.nbytes)
                for i in range(n):
                    batch.pos[i] = self._n_past + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 0
                batch.logits[n - 1] = 1
                self._decode(batch, f"{n} soft tokens")
                self._n_past += n
                self._last_logits = self._read_logits(n - 1)
            finally:
                ll.llama_batch_free(batch)
        assert self._last_logits is not None
        return self._last_logits

    def feed(self, segments: Sequence[Segment], *, add_bos: bool = True) -> np.ndarray:
        """Append a prompt made of text and soft-token segments, in order (each in its own
        batches); ``add_bos`` puts the BOS token first when the context is empty. Returns the
        logits after the last input."""
        logits = None
        for k, seg in enumerate(segments):
            if isinstance(seg, str):
                if not seg:
                    continue
                bos = add_bos and k == 0 and self._n_past == 0
                logits = self.feed_tokens(self.tokenize(seg, add_bos=bos))
            else:
                if add_bos and self._n_past == 0:
                    logits = self.feed_tokens([self.bos])
                logits = self.feed_embeddings(seg)
        if logits is None:
            raise LLMError("empty prompt")
        return logits

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        segments: Sequence[Segment],
        settings: SamplingSettings | None = None,
    ) -> Iterator[str]:
        """Stream the answer to a prompt (fresh context each call): yields text pieces as tokens
        are generated, until an end-of-generation token or ``settings.max_tokens``."""
        settings = settings or SamplingSettings()
        with self._lock:
            self.reset()
            logits = self.feed(segments)
            rng = np.random.default_rng(settings.seed)
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            for _ in range(settings.max_tokens):
                tok = sample_token(logits, settings, rng)
                if self.is_end(tok):
                    break
                text = decoder.decode(self.piece(tok))
                if text:
                    yield text
                if self._n_past >= self.n_ctx:
                    break
                logits = self.feed_tokens([tok])
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail

    def answer(self, segments: Sequence[Segment], settings: SamplingSettings | None = None) -> str:
        """The whole generated text of :meth:`generate`."""
        return "".join(self.generate(segments, settings))
