"""The mm-LLM on the hub: the base GGUF, llama.cpp with radar soft tokens, Gemma 3's chat format.

- :mod:`runtime.llm.base_model`: assemble/locate Gemma 3 270M (Q4_K_M GGUF) from its PyPI chunk
  packages into ``$MMFM_CACHE/llm`` (default ``~/.cache/mmfm/llm``), sha256-checked.
- :mod:`runtime.llm.engine`: :class:`LlamaEngine` feeds text and soft-token segments to llama.cpp
  (llama-cpp-python, no torch) and streams answers.
- :mod:`runtime.llm.chat`: the Gemma 3 turn layout with the radar tokens and a text context.
- :mod:`runtime.llm.gguf_rows`: rows of a GGUF tensor (the token-embedding table), numpy only.

Importing this package loads neither llama.cpp nor the model (``pip install 'mmfm[llm]'`` provides
them; a missing install is one :class:`LLMError` / :class:`BaseModelError` line when used).
"""

from runtime.llm.base_model import (
    BASE_MODEL_FILE,
    BASE_MODEL_SHA256,
    BaseModelError,
    assemble_base_model,
    base_model_path,
    cache_dir,
    default_gguf_path,
)
from runtime.llm.chat import MAX_QUESTION_CHARS, chat_segments, chat_text
from runtime.llm.engine import LlamaEngine, LLMError, SamplingSettings, import_llama_cpp
from runtime.llm.gguf_rows import GGUFRows

__all__ = [
    "BASE_MODEL_FILE",
    "BASE_MODEL_SHA256",
    "MAX_QUESTION_CHARS",
    "BaseModelError",
    "GGUFRows",
    "LLMError",
    "LlamaEngine",
    "SamplingSettings",
    "assemble_base_model",
    "base_model_path",
    "cache_dir",
    "chat_segments",
    "chat_text",
    "default_gguf_path",
    "import_llama_cpp",
]
