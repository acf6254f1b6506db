"""Model artifacts on the edge: find, verify and load ``mmfm.model/1`` directories (numpy + ONNX Runtime).

An artifact is a directory written by ``mmfm export onnx`` (``exporters.onnx``)::

    DIR/encoder.onnx, DIR/encoder.int8.onnx, DIR/text_prototypes.npz, DIR/card.json

Its radar encoder reads point-cloud windows (kind ``clmp-points``, inputs ``points`` + ``mask``) or
raw-ADC windows (kind ``clmp-adc``, inputs ``maps`` + ``mask`` from
``runtime.inference.adc_window``); :func:`encoder_inputs` gives the shapes of either.

Optionally ``text_encoder.onnx`` (+ int8) and ``tokenizer.json``: the text tower, for label sets chosen on
the hub. An mm-LLM model (kind ``mmllm``, written by ``mmfm export llm`` / ``exporters.gguf``) holds
``projector.onnx`` (``embedding [batch, D]`` -> ``soft_tokens [batch, K, E]``), optionally
``adapter.gguf`` (a llama.cpp LoRA adapter on the base GGUF) and/or ``model.gguf`` (the base with the
LoRA merged, card key ``merged``) and its card (base model sha256, CLMP
encoder name, context version, instruction line); :func:`load_mmllm` loads one. ``card.json`` names every file with its sha256 (``"files"``), the input contract, the embedding size,
the zero-shot logit scale, the label sets whose text prototypes ship with it, and the training card it
was exported from. Loading verifies all of it and refuses anything that does not match with one
:class:`ModelError` whose message names the file and says expected vs actual:

- the card: valid JSON, ``format`` = ``mmfm.model/1``, a known ``kind``, every required key;
- every listed file: present, a plain name inside the directory, sha256 equal to the card's;
- every file the card uses (encoders, prototypes) is listed (so nothing unhashed is ever loaded);
- each encoder's own ``mmfm.*`` metadata and input/output shapes agree with the card (embedding size,
  input contract, the checkpoint's sha256), so a card copied from another model is refused;
- the prototypes: one ``[L, D]`` array per label set, finite.

Where models live (searched in this order; the first directory holding ``NAME/card.json`` wins):

1. the user directory: ``$MMFM_MODELS`` if set, else ``$XDG_CACHE_HOME/mmfm/models``, else
   ``~/.cache/mmfm/models`` (put models you export yourself there, one sub-directory per model);
2. the shipped directory: ``models/`` at the repository root (beside the ``runtime`` package).

A path to a directory is used as it is.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.checksums import sha256_file

MODEL_FORMAT = "mmfm.model/1"
KIND_POINTS = "clmp-points"
#: A CLMP encoder of raw ADC windows (range/Doppler/azimuth maps, ``runtime.inference.adc_window``).
KIND_ADC = "clmp-adc"
#: The mm-LLM's radar half: projector ONNX (+ a GGUF LoRA adapter) on top of the base GGUF.
KIND_MMLLM = "mmllm"
KINDS = frozenset({KIND_POINTS, KIND_ADC, KIND_MMLLM})
CARD_FILE = "card.json"
# Name of the model the daemon and `mmfm eval` use when none is given (shipped under models/).
DEFAULT_MODEL = "clmp-points-v2"
#: Name of the mm-LLM model `mmfm ask` and the daemon use when none is given (shipped under models/).
DEFAULT_MMLLM = "mmllm-default"
_REQUIRED = {
    "format": str,
    "name": str,
    "kind": str,
    "input_contract": dict,
    "embedding_dim": int,
    "logit_scale": (int, float),
    "label_sets": dict,
    "encoders": dict,
    "training": dict,
    "files": dict,
}


#: Keys of an ``mmllm`` card (``mmfm export llm``, ``exporters.gguf``) and their types.
_REQUIRED_MMLLM = {
    "format": str,
    "name": str,
    "kind": str,
    "embedding_dim": int,
    "num_soft_tokens": int,
    "soft_token_dim": int,
    "encoder": str,
    "context_version": str,
    "base_model": dict,
    "projector": str,
    "training": dict,
    "files": dict,
}


class ModelError(ValueError):
    """A model directory that cannot be trusted or used; the message names the file and the mismatch."""


@dataclass(frozen=True)
class ModelArtifact:
    """A verified model directory.

    Attributes:
        path: the directory.
        card: the parsed ``card.json``.
        origin: ``"user"``, ``"shipped"`` or ``"path"`` (given as a directory).
    """

    path: Path
    card: dict[str, Any]
    origin: str = "path"
    _prototypes: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.card["name"])

    @property
    def names(self) -> frozenset[str]:
        """What names this model: its card name and its folder name (``clmp_points_v2`` and
        ``clmp-points-v2``); an mm-LLM card may record either for its encoder."""
        return frozenset((self.name, self.path.name))

    @property
    def kind(self) -> str:
        return str(self.card["kind"])

    @property
    def embedding_dim(self) -> int:
        """D, the size of an embedding."""
        return int(self.card["embedding_dim"])

    @property
    def input_contract(self) -> dict[str, Any]:
        """``{"kind": "points", "frames": T, "max_points": P, "channels", "frame_rate_hz",
        "window_s"}``, or a raw-ADC contract (``runtime.inference.adc_window``)."""
        return dict(self.card["input_contract"])

    @property
    def logit_scale(self) -> float:
        """Multiplier of cosine similarities in zero-shot logits (1 / temperature)."""
        return float(self.card["logit_scale"])

    @property
    def label_sets(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in (self.card.get("label_sets") or {}).items()}

    @property
    def metrics(self) -> dict[str, Any]:
        """The training card's metrics (may be empty)."""
        return dict(self.card["training"].get("metrics") or {})

    @property
    def size_bytes(self) -> int:
        """Total size of the files the card lists [bytes]."""
        return sum((self.path / f).stat().st_size for f in self.card["files"])

    def encoder_path(self, precision: str | None = None) -> Path:
        """The ONNX file of ``precision`` (``"int8"`` or ``"fp32"``; None = int8 when shipped, else fp32)."""
        encoders = self.card["encoders"]
        if precision is None:
            precision = "int8" if "int8" in encoders else "fp32"
        if precision not in encoders:
            raise ModelError(
                f"{self.path / CARD_FILE}: model {self.name!r} has no {precision} encoder "
                f"(it has: {', '.join(sorted(encoders))})"
            )
        return self.path / encoders[precision]

    @property
    def has_text_encoder(self) -> bool:
        """Whether the model ships its text tower (new label sets without torch)."""
        return bool(self.card.get("text_encoder"))

    def text_encoder_path(self, precision: str | None = None) -> Path:
        """The text tower's ONNX file (``"int8"``/``"fp32"``; None = int8 when shipped, else fp32)."""
        text = self.card.get("text_encoder") or {}
        if not text:
            raise ModelError(
                f"{self.path / CARD_FILE}: model {self.name!r} ships no text encoder "
                "(export it with `mmfm export onnx --text`)"
            )
        if precision is None:
            precision = "int8" if "int8" in text else "fp32"
        if precision not in text or precision not in ("int8", "fp32"):
            raise ModelError(
                f"{self.path / CARD_FILE}: model {self.name!r} has no {precision} text encoder"
            )
        return self.path / text[precision]

    @property
    def tokenizer_path(self) -> Path:
        """The text tower's ``tokenizer.json`` (Hugging Face ``tokenizers`` format)."""
        self.text_encoder_path()  # raises when there is no text tower
        return self.path / self.card["text_encoder"]["tokenizer"]

    def prototypes(self, label_set: str) -> np.ndarray:
        """Text prototypes of a shipped label set: float32 ``[L, D]``, rows in ``label_sets[label_set]``."""
        if label_set not in self._prototypes:
            raise ModelError(
                f"{self.path}: no label set {label_set!r} (shipped: {', '.join(self._prototypes) or 'none'})"
            )
        return self._prototypes[label_set]


def shipped_models_dir() -> Path:
    """``models/`` at the repository root (the models that ship with mmfm)."""
    return Path(__file__).resolve().parents[1] / "models"


def user_models_dir() -> Path:
    """``$MMFM_MODELS``, else ``$XDG_CACHE_HOME/mmfm/models``, else ``~/.cache/mmfm/models``."""
    if os.environ.get("MMFM_MODELS"):
        return Path(os.environ["MMFM_MODELS"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mmfm" / "models"


def search_dirs() -> list[tuple[str, Path]]:
    """``[(origin, directory)]`` in search order: user first, then shipped."""
    return [("user", user_models_dir()), ("shipped", shipped_models_dir())]


def find_model(name_or_dir: str | Path | None = None) -> tuple[Path, str]:
    """Resolve a model name or directory to ``(directory, origin)``.

    Args:
        name_or_dir: an existing directory (used as is), a model name looked up in
            :func:`search_dirs`, or None for :data:`DEFAULT_MODEL`.

    Raises:
        ModelError: nothing of that name (the message lists where it looked).
    """
    target = str(name_or_dir) if name_or_dir is not None else DEFAULT_MODEL
    as_path = Path(target).expanduser()
    if as_path.is_dir():
        return as_path, "path"
    if "/" not in target and "\\" not in target:
        for origin, base in search_dirs():
            if (base / target / CARD_FILE).is_file():
                return base / target, origin
    looked = ", ".join(str(base) for _, base in search_dirs())
    raise ModelError(f"model {target!r}: no such directory, and no {target}/card.json in {looked}")


def _read_card(path: Path) -> dict[str, Any]:
    card_path = path / CARD_FILE
    if not path.is_dir():
        raise ModelError(f"{path}: not a directory")
    if not card_path.is_file():
        raise ModelError(f"{card_path}: missing (not an mmfm model directory)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelError(f"{card_path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path}: a JSON object expected, got {type(card).__name__}")
    if card.get("format") != MODEL_FORMAT:
        raise ModelError(f"{card_path}: format {card.get('format')!r}, expected {MODEL_FORMAT!r}")
    required = _REQUIRED_MMLLM if card.get("kind") == KIND_MMLLM else _REQUIRED
    for key, kind in required.items():
        if key not in card:
            raise ModelError(f"{card_path}: missing key {key!r}")
        if not isinstance(card[key], kind) or isinstance(card[key], bool):
            raise ModelError(
                f"{card_path}: key {key!r} has the wrong type ({type(card[key]).__name__})"
            )
    if card["kind"] not in KINDS:
        raise ModelError(
            f"{card_path}: kind {card['kind']!r} is not one this runtime loads ({', '.join(sorted(KINDS))})"
        )
    if card["kind"] == KIND_MMLLM:
        _check_mmllm_card(card_path, card)
        return card
    scale = card["logit_scale"]
    if not (math.isfinite(scale) and scale > 0):
        raise ModelError(f"{card_path}: logit_scale {scale!r} is not a positive number")
    _check_shapes_of_card(card_path, card)
    return card


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def encoder_inputs(contract: dict[str, Any]) -> dict[str, list[int]]:
    """The radar encoder's ONNX inputs for an input contract, without the batch axis.

    ``points`` contracts: ``points [T, P, C]`` and ``mask [T, P]``; ``adc`` contracts
    (``runtime.inference.adc_window``): ``maps [T, 3, R, K]`` and ``mask [T]``.

    Raises:
        ValueError: a contract whose sizes are missing or not positive integers.
    """

    def count(value: Any, what: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"input_contract.{what} is {value!r}, not a positive integer")
        return value

    frames = count(contract.get("frames"), "frames")
    if contract.get("kind") == "adc":
        maps = contract.get("maps")
        if not _is_str_list(maps) or not maps:
            raise ValueError("input_contract.maps is not a list of map names")
        sizes = []
        for key in ("range_m", "velocity_mps"):
            grid = contract.get(key)
            if not isinstance(grid, list) or len(grid) != 3:
                raise ValueError(f"input_contract.{key} is {grid!r}, not [start, stop, num]")
            sizes.append(count(grid[2], f"{key}[2]"))
        return {"maps": [frames, len(maps), *sizes], "mask": [frames]}
    points = count(contract.get("max_points"), "max_points")
    channels = contract.get("channels")
    if not _is_str_list(channels) or not channels:
        raise ValueError("input_contract.channels is not a list of channel names")
    return {"points": [frames, points, len(channels)], "mask": [frames, points]}


def _check_shapes_of_card(card_path: Path, card: dict[str, Any]) -> None:
    """The nested values the runtime indexes into have the types it expects."""
    try:
        encoder_inputs(card["input_contract"])
    except ValueError as exc:
        raise ModelError(f"{card_path}: {exc}") from None
    if (card["input_contract"].get("kind") == "adc") != (card["kind"] == KIND_ADC):
        raise ModelError(
            f"{card_path}: kind {card['kind']!r} and input_contract.kind "
            f"{card['input_contract'].get('kind')!r} do not belong together"
        )
    if card["embedding_dim"] < 1:
        raise ModelError(f"{card_path}: embedding_dim {card['embedding_dim']} is not positive")
    for name, labels in card["label_sets"].items():
        if not _is_str_list(labels) or not labels:
            raise ModelError(f"{card_path}: label set {name!r} is not a non-empty list of texts")
    for key in ("files", "encoders"):
        if not all(isinstance(v, str) for v in card[key].values()):
            raise ModelError(f"{card_path}: every value of {key!r} must be a string")
    files = card["training"].get("files", {})
    if not isinstance(files, dict):
        raise ModelError(f"{card_path}: training.files is not an object")


def _check_mmllm_card(card_path: Path, card: dict[str, Any]) -> None:
    """The nested values of an ``mmllm`` card have the types and ranges the runtime expects."""
    for key in ("embedding_dim", "num_soft_tokens", "soft_token_dim"):
        if card[key] < 1:
            raise ModelError(f"{card_path}: {key} {card[key]} is not positive")
    base = card["base_model"]
    if not isinstance(base.get("file"), str) or not isinstance(base.get("sha256"), str):
        raise ModelError(f"{card_path}: base_model needs 'file' and 'sha256' strings")
    for role in ("adapter", "merged"):
        value = card.get(role)
        if value is not None and not isinstance(value, str):
            raise ModelError(f"{card_path}: {role!r} must be a file name or null")
    instruction = card.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise ModelError(f"{card_path}: 'instruction' must be a string or null")
    if not all(isinstance(v, str) for v in card["files"].values()):
        raise ModelError(f"{card_path}: every value of 'files' must be a string")


def _used_files(card: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(role, file name)]`` of every file the runtime loads from a model of this card."""
    if card["kind"] == KIND_MMLLM:
        used = [("projector", card["projector"])]
        for role in ("adapter", "merged"):
            if card.get(role):
                used.append((role, card[role]))
        return used
    return [(role, name) for role, name in card["encoders"].items()]


def _check_files(path: Path, card: dict[str, Any]) -> None:
    card_path = path / CARD_FILE
    files = card["files"]
    if not files:
        raise ModelError(f"{card_path}: 'files' lists no file")
    for name, expected in files.items():
        if Path(name).name != name or name in ("", ".", "..", CARD_FILE):
            raise ModelError(
                f"{card_path}: 'files' entry {name!r} is not a plain file name in the model"
            )
        file = path / name
        if not file.is_file():
            raise ModelError(f"{file}: missing (listed in {CARD_FILE})")
        actual = sha256_file(file)
        if actual != expected:
            raise ModelError(
                f"{file}: sha256 mismatch (tampered with or replaced): card expects {expected}, "
                f"file has {actual}"
            )
    if card["kind"] == KIND_MMLLM:
        for role, name in _used_files(card):
            if name not in files:
                raise ModelError(
                    f"{card_path}: {role} file {name!r} is not listed (with its sha256) in 'files'"
                )
        return
    if not card["encoders"]:
        raise ModelError(f"{card_path}: 'encoders' names no encoder")
    used = [(role, name) for role, name in card["encoders"].items()]
    for role in card["encoders"]:
        if role not in ("fp32", "int8"):
            raise ModelError(f"{card_path}: unknown encoder precision {role!r} (fp32, int8)")
    if card.get("prototypes"):
        used.append(("prototypes", card["prototypes"]))
    text = card.get("text_encoder")
    if text is not None:
        if (
            not isinstance(text, dict)
            or "tokenizer" not in text
            or ("fp32" not in text and "int8" not in text)
        ):
            raise ModelError(
                f"{card_path}: 'text_encoder' needs a tokenizer and an fp32 or int8 file"
            )
        for role in text:
            if role not in ("fp32", "int8", "tokenizer", "max_length"):
                raise ModelError(f"{card_path}: unknown text_encoder entry {role!r}")
        used += [(f"text {r}", n) for r, n in text.items() if r != "max_length"]
    for role, name in used:
        if name not in files:
            raise ModelError(
                f"{card_path}: {role} file {name!r} is not listed (with its sha256) in 'files'"
            )


def _session(path: Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: ONNX Runtime cannot load it ({first})") from None


def _check_provenance(file: Path, session: Any, card: dict[str, Any], role: str) -> None:
    """The ONNX file's own ``mmfm.*`` metadata against the card."""
    meta = session.get_modelmeta().custom_metadata_map
    contract = card["input_contract"]
    dim = card["embedding_dim"]
    checkpoint = str(card["training"].get("files", {}).get("model.pt", ""))
    checks = [
        ("format", meta.get("mmfm.format"), MODEL_FORMAT),
        ("kind", meta.get("mmfm.kind"), card["kind"]),
        ("embedding_dim", meta.get("mmfm.embedding_dim"), str(dim)),
        ("input_contract", meta.get("mmfm.input_contract"), json.dumps(contract, sort_keys=True)),
        ("training.files['model.pt']", meta.get("mmfm.checkpoint_sha256"), checkpoint),
        ("role", meta.get("mmfm.role", "points"), role),
    ]
    for key, actual, expected in checks:
        if actual != expected:
            raise ModelError(
                f"{file}: does not match {CARD_FILE} (another model's card?): card {key} is {expected!r}, "
                f"the encoder was exported with {actual!r}"
            )


def _check_encoder(file: Path, card: dict[str, Any]) -> None:
    """A radar encoder's (points or raw ADC) metadata and shapes against the card."""
    session = _session(file)
    _check_provenance(file, session, card, "adc" if card["kind"] == KIND_ADC else "points")
    dim = card["embedding_dim"]
    inputs = {i.name: list(i.shape) for i in session.get_inputs()}
    outputs = [list(o.shape) for o in session.get_outputs()]
    want = encoder_inputs(card["input_contract"])
    for name, shape in want.items():
        if name not in inputs or inputs[name][1:] != shape:
            got = inputs.get(name)
            raise ModelError(
                f"{file}: input {name!r} is {got}, the card's contract gives [batch, {shape}]"
            )
    if len(outputs) != 1 or outputs[0][1:] != [dim]:
        raise ModelError(f"{file}: output shape {outputs}, the card gives [batch, {dim}]")


def _check_text_encoder(file: Path, card: dict[str, Any]) -> None:
    """A text tower's metadata and shapes against the card."""
    session = _session(file)
    _check_provenance(file, session, card, "text")
    names = [i.name for i in session.get_inputs()]
    if names != ["input_ids", "attention_mask"]:
        raise ModelError(
            f"{file}: inputs {names}, a text encoder takes ['input_ids', 'attention_mask']"
        )
    outputs = [list(o.shape) for o in session.get_outputs()]
    if len(outputs) != 1 or outputs[0][1:] != [card["embedding_dim"]]:
        raise ModelError(
            f"{file}: output shape {outputs}, the card gives [batch, {card['embedding_dim']}]"
        )


def _check_projector(file: Path, card: dict[str, Any]) -> None:
    """An mm-LLM projector's metadata and shapes against its card: ``embedding [batch, D]`` ->
    ``soft_tokens [batch, K, E]``."""
    session = _session(file)
    meta = session.get_modelmeta().custom_metadata_map
    checkpoint = str(card["training"].get("files", {}).get("projector.pt", ""))
    checks = [
        ("format", meta.get("mmfm.format"), MODEL_FORMAT),
        ("kind", meta.get("mmfm.kind"), card["kind"]),
        ("role", meta.get("mmfm.role"), "projector"),
        ("num_soft_tokens", meta.get("mmfm.num_soft_tokens"), str(card["num_soft_tokens"])),
        ("training.files['projector.pt']", meta.get("mmfm.checkpoint_sha256"), checkpoint),
    ]
    for key, actual, expected in checks:
        if actual != expected:
            raise ModelError(
                f"{file}: does not match {CARD_FILE} (another model's card?): card {key} is "
                f"{expected!r}, the projector was exported with {actual!r}"
            )
    inputs = [(i.name, list(i.shape)) for i in session.get_inputs()]
    outputs = [(o.name, list(o.shape)) for o in session.get_outputs()]
    dim, k, e = card["embedding_dim"], card["num_soft_tokens"], card["soft_token_dim"]
    if len(inputs) != 1 or inputs[0][0] != "embedding" or inputs[0][1][1:] != [dim]:
        raise ModelError(f"{file}: inputs {inputs}, the card gives embedding [batch, {dim}]")
    if len(outputs) != 1 or outputs[0][0] != "soft_tokens" or outputs[0][1][1:] != [k, e]:
        raise ModelError(f"{file}: outputs {outputs}, the card gives soft_tokens [batch, {k}, {e}]")


def _check_gguf_adapter(file: Path) -> None:
    """A LoRA adapter (or merged model) file starts with the GGUF magic (llama.cpp checks the rest when it loads)."""
    with file.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelError(f"{file}: not a GGUF file (magic {magic!r}, expected b'GGUF')")


def _load_prototypes(path: Path, card: dict[str, Any]) -> dict[str, np.ndarray]:
    label_sets = card["label_sets"]
    if not card.get("prototypes"):
        if label_sets:
            raise ModelError(f"{path / CARD_FILE}: label sets given but no 'prototypes' file")
        return {}
    file = path / card["prototypes"]
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{file}: not a readable .npz ({exc})") from None
    if set(arrays) != set(label_sets):
        raise ModelError(
            f"{file}: holds label sets {sorted(arrays)}, the card lists {sorted(label_sets)}"
        )
    dim = card["embedding_dim"]
    for name, labels in label_sets.items():
        if arrays[name].shape != (len(labels), dim):
            raise ModelError(
                f"{file}: label set {name!r} is {arrays[name].shape}, the card gives ({len(labels)}, {dim})"
            )
        if not np.all(np.isfinite(arrays[name])):
            raise ModelError(f"{file}: label set {name!r} holds non-finite values")
    return arrays


def load_model(name_or_dir: str | Path | None = None) -> ModelArtifact:
    """Find and verify a model (see the module docstring for every check).

    Args:
        name_or_dir: a directory, a model name, or None for :data:`DEFAULT_MODEL`.

    Raises:
        ModelError: not found, or any check fails (one line naming the file, expected vs actual).
    """
    path, origin = find_model(name_or_dir)
    return verify_dir(path, origin)


def verify_dir(path: Path, origin: str = "path") -> ModelArtifact:
    """Verify one model directory (every check in the module docstring) and load its prototypes.

    Raises:
        ModelError: the first failed check, naming the file, expected vs actual.
    """
    path = Path(path)
    card = _read_card(path)
    _check_files(path, card)
    if card["kind"] == KIND_MMLLM:
        _check_projector(path / card["projector"], card)
        for role in ("adapter", "merged"):
            if card.get(role):
                _check_gguf_adapter(path / card[role])
        return ModelArtifact(path=path, card=card, origin=origin)
    for name in card["encoders"].values():
        _check_encoder(path / name, card)
    for role, name in (card.get("text_encoder") or {}).items():
        if role in ("fp32", "int8"):
            _check_text_encoder(path / name, card)
    prototypes = _load_prototypes(path, card)
    return ModelArtifact(path=path, card=card, origin=origin, _prototypes=prototypes)


def load_mmllm(name_or_dir: str | Path | None = None) -> ModelArtifact:
    """Find and verify an mm-LLM model (kind ``mmllm``; None = :data:`DEFAULT_MMLLM`).

    Raises:
        ModelError: not found, a CLMP model given, or any check fails.
    """
    path, origin = find_model(name_or_dir if name_or_dir is not None else DEFAULT_MMLLM)
    artifact = verify_dir(path, origin)
    if artifact.kind != KIND_MMLLM:
        raise ModelError(
            f"{path / CARD_FILE}: kind {artifact.kind!r}, an mm-LLM model ({KIND_MMLLM!r}) is needed"
        )
    return artifact


@dataclass(frozen=True)
class ModelEntry:
    """One row of :func:`list_models`: a verified artifact, or the reason it was refused."""

    name: str
    origin: str
    path: Path
    artifact: ModelArtifact | None
    error: str | None


def list_models() -> list[ModelEntry]:
    """Every model directory in :func:`search_dirs` (user first, then shipped), each verified.

    A name found in both places is listed twice; the user one is what :func:`find_model` returns.
    """
    rows: list[ModelEntry] = []
    for origin, base in search_dirs():
        if not base.is_dir():
            continue
        for sub in sorted(p for p in base.iterdir() if p.is_dir() and (p / CARD_FILE).exists()):
            try:
                artifact = verify_dir(sub, origin)
                rows.append(ModelEntry(sub.name, origin, sub, artifact, None))
            except ModelError as exc:
                rows.append(ModelEntry(sub.name, origin, sub, None, str(exc)))
    return rows
