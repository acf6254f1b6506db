"""Settings of the question service (``questions:`` in the daemon YAML; absent = no questions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.llm.chat import MAX_QUESTION_CHARS

__all__ = ["QuestionSettings"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class QuestionSettings(BaseModel):
    """Questions answered by the mm-LLM (MQTT ``<prefix>/<radar>/ask``, ZeroMQ ``ask``, the web
    page's question box, ``mmfm ask``). One question at a time per LLM, in a thread of its own:
    the radar pipeline never waits for it."""

    model_config = _STRICT

    model: str | None = Field(
        default="auto",
        title="mm-LLM model",
        description="exported mm-LLM folder or name (mmfm export llm); 'auto' = the shipped "
        "mm-LLM (mmllm-default) when it is installed and reads the activity model's embeddings, "
        "else the base LLM; null = the base Gemma 3 270M GGUF with the logged facts only (no "
        "radar soft tokens)",
    )
    gguf: str | None = Field(
        default=None,
        title="Base GGUF",
        description="the base model file; null = the one assembled in $MMFM_CACHE/llm",
    )
    n_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        title="LLM threads",
        description="llama.cpp CPU threads per LLM (keep cores free for the radar pipeline)",
    )
    nice: int = Field(
        default=5,
        ge=0,
        le=19,
        title="LLM priority",
        description="how much nicer (lower CPU priority) the LLM threads run than the radar "
        "pipeline (Linux, per thread): 0 = the same; 5 = about a third of a core's share when "
        "the CPU is contended; 19 = only what everything else leaves",
    )
    instances: int = Field(
        default=1,
        ge=1,
        le=8,
        title="LLM instances",
        description="LLMs loaded, each answering one question at a time in its own thread "
        "(about 300 MB of memory each)",
    )
    queue: int = Field(
        default=2,
        ge=0,
        le=100,
        title="Queue",
        description="questions waiting for a free LLM; beyond this the asker gets a busy reply",
    )
    max_tokens: int = Field(
        default=64, ge=1, le=512, title="Answer length", description="most tokens in an answer"
    )
    max_question_chars: int = Field(
        default=MAX_QUESTION_CHARS,
        ge=1,
        le=MAX_QUESTION_CHARS,
        title="Question length",
        description="longest question accepted [characters]; longer ones are refused",
    )
    per_client_per_minute: int = Field(
        default=6,
        ge=1,
        le=10_000,
        title="Rate per client",
        description="questions one client may ask in any 60 s; more are refused with the wait",
    )
    default_span_s: float = Field(
        default=900.0,
        gt=0,
        title="Default span",
        description="how far back the log is read when the question names no time [s]",
    )
    now_span_s: float = Field(
        default=60.0,
        gt=0,
        title="Present span",
        description="the span of questions about now ('is anyone in the kitchen?') [s]",
    )
    max_events: int = Field(
        default=400,
        ge=1,
        le=100_000,
        title="Events per question",
        description="most logged events read for one question (the newest of its span)",
    )
    window: Literal["latest", "nearest", "none"] = Field(
        default="latest",
        title="Radar window",
        description="which logged window embedding goes to the mm-LLM: the latest of the span, "
        "the nearest to the question text (needs the encoder's text tower; else the latest), "
        "or none",
    )
