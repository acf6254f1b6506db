"""The CLMP text tower on ONNX Runtime: label texts -> embeddings and prototypes, without torch.

Needs a model exported with ``mmfm export onnx --text`` (``text_encoder.onnx`` + ``tokenizer.json``)
and the ``tokenizers`` package (``pip install mmfm[text]``)::

    text = TextEncoder(load_model("mine"))
    protos = text.prototypes(["making coffee", "vacuuming"])        # [2, D]
    clf = ZeroShotClassifier(PointEncoder(text.model), labels, protos, text.model.logit_scale)

Prototypes are prompt ensembles: each label goes through every template of the model's card
(``prompt_templates``) and the normalised mean embedding is the prototype. Labels are used as written;
the training side additionally expands labels that name a simulator activity into its paraphrases, so
the shipped prototypes of the default label sets may differ slightly from ones computed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runtime.inference.encoder import make_session
from runtime.models import ModelArtifact, load_model


class TextEncoder:
    """Embeds texts with a model's ONNX text tower.

    Args:
        model: a verified artifact with a text encoder, or a name/directory to load.
        precision: ``"int8"``/``"fp32"``; None = int8 when shipped, else fp32.
        threads: intra-op threads.
    """

    def __init__(
        self,
        model: ModelArtifact | str | None = None,
        *,
        precision: str | None = None,
        threads: int = 2,
    ) -> None:
        from tokenizers import Tokenizer  # the optional `text` extra; only this class needs it

        self.model = model if isinstance(model, ModelArtifact) else load_model(model)
        self.path = self.model.text_encoder_path(precision)
        self._session = make_session(str(self.path), threads=threads)
        self._tokenizer = Tokenizer.from_file(str(self.model.tokenizer_path))
        max_length = int(self.model.card["text_encoder"].get("max_length", 128))
        self._tokenizer.enable_truncation(max_length)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """float32 ``[N, D]`` L2-normalised embeddings of ``texts`` (same space as the point encoder)."""
        texts = [str(t) for t in texts]
        out = [np.zeros((0, self.model.embedding_dim), np.float32)]
        for start in range(0, len(texts), batch_size):
            batch = self._tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in batch], dtype=np.int64)  # [n, L]
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)  # [n, L]
            (emb,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out.append(emb.astype(np.float32, copy=False))
        return np.concatenate(out)

    def prototypes(
        self, labels: Sequence[str], templates: Sequence[str] | None = None
    ) -> np.ndarray:
        """Prompt-ensemble prototypes float32 ``[L, D]``, rows in ``labels`` order.

        Args:
            labels: label texts (e.g. "making coffee").
            templates: ``"... {} ..."`` templates (default: the card's ``prompt_templates``, else
                the label alone).
        """
        templates = list(templates or self.model.card.get("prompt_templates") or ["{}"])
        if not labels:
            return np.zeros((0, self.model.embedding_dim), np.float32)
        prompts = [t.format(label) for label in labels for t in templates]
        emb = self.embed(prompts).reshape(len(labels), len(templates), -1).mean(axis=1)
        return (emb / np.linalg.norm(emb, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)
