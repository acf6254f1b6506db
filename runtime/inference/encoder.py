"""CLMP point encoder on ONNX Runtime, and zero-shot scoring against text prototypes (numpy only).

    encoder = PointEncoder(load_model())                    # int8 when shipped, 2 intra-op threads
    emb = encoder.embed(points, mask)                       # [B, T, P, 5], [B, T, P] -> [B, D]
    clf = ZeroShotClassifier.from_model(encoder, "radhar")  # a label set shipped with the model
    probs = clf.probabilities(points, mask)                 # [B, L], rows sum to 1

``points``/``mask`` are what ``runtime.inference.window.point_window`` gives (stacked over windows);
a raw-ADC model (kind ``clmp-adc``) takes the maps and slot mask of
``runtime.inference.adc_window.adc_window_arrays`` through the same ``embed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from runtime.models import ModelArtifact, ModelError, encoder_inputs, load_model


def make_session(path: str, *, threads: int = 2, spin: bool = False) -> ort.InferenceSession:
    """A CPU ONNX Runtime session.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (the hub's cores the encoder may use); inter-op is 1.
        spin: let idle worker threads spin-wait between calls (lower latency, burns CPU; off for a
            daemon that embeds a window every few hundred ms).
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class PointEncoder:
    """Embeds padded point windows with a model's ONNX encoder.

    Args:
        model: a verified artifact (``runtime.models.load_model``), or a name/directory to load.
        precision: ``"int8"`` or ``"fp32"``; None = int8 when the model ships it (the default), else fp32.
        threads: intra-op threads.
        spin: see :func:`make_session`.
    """

    def __init__(
        self,
        model: ModelArtifact | str | None = None,
        *,
        precision: str | None = None,
        threads: int = 2,
        spin: bool = False,
    ) -> None:
        self.model = model if isinstance(model, ModelArtifact) else load_model(model)
        self.path = self.model.encoder_path(precision)
        self.precision = next(
            k for k, v in self.model.card["encoders"].items() if v == self.path.name
        )
        self.threads = threads
        self._session = make_session(str(self.path), threads=threads, spin=spin)
        # points [T, P, C] + mask [T, P], or (raw-ADC models) maps [T, 3, R, K] + mask [T]
        self._inputs = encoder_inputs(self.model.input_contract)
        self.input_kind = "adc" if "maps" in self._inputs else "points"

    @property
    def embedding_dim(self) -> int:
        return self.model.embedding_dim

    def embed(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of windows.

        Args:
            points: float ``[B, T, P, C]`` (x, y, z [m], v [m/s], snr [dB]; zeros where padded),
                or for a raw-ADC model (``input_kind == "adc"``) the maps ``[B, T, 3, R, K]`` of
                ``runtime.inference.adc_window.adc_window_arrays``.
            mask: ``[B, T, P]``, 1 = real point, 0 = padding (raw ADC: ``[B, T]``, 1 = slot with
                a frame).

        Returns:
            float32 ``[B, D]``, L2-normalised rows.

        Raises:
            ValueError: shapes that do not match the model's input contract, or non-finite values.
        """
        points = np.ascontiguousarray(points, dtype=np.float32)
        mask = np.ascontiguousarray(mask, dtype=np.float32)
        (name, want), (_, want_mask) = self._inputs.items()
        if points.ndim != len(want) + 1 or list(points.shape[1:]) != want:
            raise ValueError(
                f"{name} must be [B, {', '.join(map(str, want))}], got {list(points.shape)}"
            )
        if list(mask.shape) != [points.shape[0], *want_mask]:
            raise ValueError(
                f"mask must be {[points.shape[0], *want_mask]}, got {list(mask.shape)}"
            )
        if not (np.all(np.isfinite(points)) and np.all(np.isfinite(mask))):
            raise ValueError(f"{name}/mask hold NaN or inf")
        if points.shape[0] == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        (out,) = self._session.run(None, {name: points, "mask": mask})
        return out.astype(np.float32, copy=False)


def zero_shot_probabilities(
    embeddings: np.ndarray, prototypes: np.ndarray, logit_scale: float
) -> np.ndarray:
    """Softmax over labels of ``logit_scale * cos(embedding, prototype)``.

    Args:
        embeddings: ``[B, D]`` (normalised here).
        prototypes: ``[L, D]`` text prototypes (normalised here).
        logit_scale: the model's 1 / temperature.

    Returns:
        float32 ``[B, L]``, rows summing to 1.
    """
    e = np.asarray(embeddings, np.float64)
    p = np.asarray(prototypes, np.float64)
    e = e / np.linalg.norm(e, axis=-1, keepdims=True).clip(1e-12)
    p = p / np.linalg.norm(p, axis=-1, keepdims=True).clip(1e-12)
    logits = logit_scale * (e @ p.T)
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)


class ZeroShotClassifier:
    """Labels windows by their nearest text prototypes.

    Args:
        encoder: the point encoder.
        labels: L label texts.
        prototypes: float32 ``[L, D]``, rows in ``labels`` order.
        logit_scale: 1 / temperature.
    """

    def __init__(
        self,
        encoder: PointEncoder,
        labels: Sequence[str],
        prototypes: np.ndarray,
        logit_scale: float,
    ) -> None:
        prototypes = np.asarray(prototypes, np.float32)
        if prototypes.shape != (len(labels), encoder.embedding_dim):
            raise ValueError(
                f"prototypes are {prototypes.shape}, expected ({len(labels)}, {encoder.embedding_dim})"
            )
        self.encoder = encoder
        self.labels = list(labels)
        self.prototypes = prototypes
        self.logit_scale = float(logit_scale)

    @classmethod
    def from_model(cls, encoder: PointEncoder, label_set: str) -> ZeroShotClassifier:
        """A classifier over a label set shipped with the encoder's model."""
        model = encoder.model
        if label_set not in model.label_sets:
            raise ModelError(
                f"{model.path}: no label set {label_set!r} (shipped: {', '.join(model.label_sets) or 'none'})"
            )
        return cls(
            encoder, model.label_sets[label_set], model.prototypes(label_set), model.logit_scale
        )

    def probabilities(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """float32 ``[B, L]`` label probabilities of ``B`` windows (see :meth:`PointEncoder.embed`)."""
        return zero_shot_probabilities(
            self.encoder.embed(points, mask), self.prototypes, self.logit_scale
        )

    def classify(self, points: np.ndarray, mask: np.ndarray) -> list[tuple[str, float]]:
        """``[(label, probability)]`` of the most likely label per window."""
        probs = self.probabilities(points, mask)
        best = probs.argmax(axis=-1)
        return [(self.labels[i], float(probs[row, i])) for row, i in enumerate(best)]
