"""`mmfm ask --capture` (real DSP, event engine, CLMP ONNX encoder, projector ONNX, llama.cpp): answers
about a RadHAR dump, a DCA1000 .bin + .cfg and an `mmfm record` recording; bad input is one line,
exit 1."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from runtime.llm import base_model as bm

for _mod in ("llama_cpp", "onnxruntime"):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(f"{_mod} is not installed (pip install 'mmfm[llm]')", allow_module_level=True)
if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
    pytest.skip(
        f"the base LLM package {bm.BASE_MODEL_PACKAGE} is not installed", allow_module_level=True
    )

from mmfm.cli import main  # noqa: E402

EXAMPLE_BIN = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"


@pytest.fixture(scope="module", autouse=True)
def llm_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The base GGUF in a cache the test controls (assembled once), and no user models."""
    mp = pytest.MonkeyPatch()
    if not os.environ.get("MMFM_CACHE"):
        cache = tmp_path_factory.mktemp("cache")
        bm.assemble_base_model(cache / "llm" / bm.BASE_MODEL_FILE)
        mp.setenv("MMFM_CACHE", str(cache))
    mp.setenv("MMFM_MODELS", str(tmp_path_factory.mktemp("no-user-models")))
    yield
    mp.undo()


def write_radhar(path: Path, *, seconds: float = 3.0, rate_hz: float = 10.0) -> Path:
    """A RadHAR text dump of one person walking across the room (ROS frame: x forward, y left)."""
    rng = np.random.default_rng(0)
    lines = []
    t0 = 1_561_683_369.0
    for f in range(int(seconds * rate_hz)):
        t = t0 + f / rate_hz
        cx, cy = 2.5, -1.0 + 0.6 * f / rate_hz  # walking to the left at 0.6 m/s
        for i in range(20):
            secs = int(t)
            lines += [
                "header:",
                "  stamp:",
                f"    secs: {secs}",
                f"    nsecs: {int((t - secs) * 1e9)}",
                f"point_id: {i}",
                f"x: {cx + rng.normal(0, 0.15):.4f}",
                f"y: {cy + rng.normal(0, 0.15):.4f}",
                f"z: {rng.uniform(-0.8, 0.6):.4f}",
                f"velocity: {rng.normal(0.3, 0.2):.4f}",
                f"intensity: {rng.uniform(8, 30):.2f}",
                "---",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ask(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["ask", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Is anyone here?"], "no capture: give --capture PATH"),
        (["", "--capture", str(EXAMPLE_BIN)], "empty question"),
        (["  ", "--capture", str(EXAMPLE_BIN)], "empty question"),
        (["x" * 501, "--capture", str(EXAMPLE_BIN)], "question too long: 501 characters"),
        (["Is anyone here?", "--capture", "/nonexistent/rec"], "/nonexistent/rec: no such capture"),
        (["Is anyone here?", "--capture", str(EXAMPLE_BIN), "--sample", "2"], "not a dataset"),
        (["Is anyone here?", "--capture", str(EXAMPLE_BIN), "--max-tokens", "0"], "--max-tokens 0"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    rc, out, err = ask(capsys, *argv)
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("mmfm ask: ") and message in err, err


def test_unknown_format_and_bad_cfg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    rc, _, err = ask(capsys, "Is anyone here?", "--capture", str(wav))
    assert rc == 1 and "x.wav: unknown capture type '.wav'" in err and err.count("\n") == 1
    lone = tmp_path / "lone.bin"
    lone.write_bytes(EXAMPLE_BIN.read_bytes())
    rc, _, err = ask(capsys, "Is anyone here?", "--capture", str(lone), "--max-tokens", "2")
    assert rc == 1 and "lone.bin: a raw .bin needs its .cfg" in err and err.count("\n") == 1


def test_bin_with_cfg_base_model_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime.models.DEFAULT_MMLLM", "no-such-mmllm")  # whatever models/ ships
    rc, out, err = ask(
        capsys,
        "Is anyone in the room?",
        "--capture",
        str(EXAMPLE_BIN),
        "--json",
        "--max-tokens",
        "4",
    )
    assert rc == 0, err
    doc = json.loads(out)  # one object, nothing else on stdout
    assert doc["capture_kind"] == "dca1000_bin" and doc["frames"] == 2
    assert doc["model"] is None and doc["radar_tokens"] is False
    assert doc["question"] == "Is anyone in the room?" and isinstance(doc["answer"], str)
    assert doc["context"].startswith("Now: ")
    assert any("no mm-LLM model installed" in n for n in doc["notes"])
    # streamed (not --json): the note on stderr, the answer on stdout
    rc, out, err = ask(
        capsys, "Is anyone in the room?", "--capture", str(EXAMPLE_BIN), "--max-tokens", "3"
    )
    assert rc == 0 and "note: no mm-LLM model installed" in err and out.endswith("\n")


def test_radhar_dump_with_an_exported_model_uses_radar_tokens(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    from test_export_gguf import write_checkpoint

    from exporters.gguf import export_mmllm

    write_checkpoint(tmp_path / "ckpt")
    model = export_mmllm(tmp_path / "ckpt", tmp_path / "mmllm-test")
    dump = write_radhar(tmp_path / "walk.txt")
    rc, out, err = ask(
        capsys,
        "What is the person doing?",
        "--capture",
        str(dump),
        "--model",
        str(model),
        "--json",
        "--max-tokens",
        "4",
    )
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["capture_kind"] == "radhar" and doc["frames"] == 30
    assert doc["model"] == "mmllm-test" and doc["radar_tokens"] is True
    assert doc["windows"] >= 2 and doc["window_s"][1] == pytest.approx(doc["now"])
    assert doc["events"] >= 1 and "person" in doc["context"]  # the event engine tracked someone
    # --no-radar: the same capture and model, no soft tokens
    rc, out, _ = ask(
        capsys,
        "What is he doing?",
        "--capture",
        str(dump),
        "--model",
        str(model),
        "--json",
        "--no-radar",
        "--max-tokens",
        "2",
    )
    assert rc == 0 and json.loads(out)["radar_tokens"] is False
    # a CLMP model given as --model is refused (kind), one line
    rc, _, err = ask(
        capsys, "Who?", "--capture", str(dump), "--model", str(REPO / "models" / "clmp-default")
    )
    assert rc == 1 and "an mm-LLM model ('mmllm') is needed" in err and err.count("\n") == 1


def test_recording_made_by_the_recorder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from firmware_cfg import load_cfg
    from runtime.frames import RawFrame
    from runtime.sources.dca1000_layout import read_bin
    from runtime.sources.recording import Recorder

    rc_cfg = load_cfg(EXAMPLE_BIN.with_suffix(".cfg"))
    data = read_bin(EXAMPLE_BIN, rc_cfg.chirp)
    out_dir = tmp_path / "rec"
    with Recorder(out_dir, rc_cfg, "raw_adc", source="test", firmware_version="3.6") as rec:
        for i in range(4):
            rec.add_frame(RawFrame(data=data[i % 2], frame_number=i, timestamp=100.0 + 0.1 * i))
        rec.close()
    rc, out, err = ask(
        capsys,
        "How many people are there?",
        "--capture",
        str(out_dir),
        "--json",
        "--max-tokens",
        "3",
    )
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["capture_kind"] == "recording" and doc["frames"] == 4
    assert doc["now"] == pytest.approx(100.3)


def test_simulated_dataset_sample(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from test_dataset import FAST, tiny_cfg_text

    from sim.dataset.writer import GenerateSpec, generate

    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(tiny_cfg_text(), encoding="utf-8")
    spec = GenerateSpec(
        num=1, seed=11, radar=str(cfg), window_s=0.5, outputs=("adc", "points"), trace=FAST
    )
    generate(tmp_path / "ds", spec, num_shards=1)
    rc, out, err = ask(
        capsys, "Is anyone here?", "--capture", str(tmp_path / "ds"), "--json", "--max-tokens", "2"
    )
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["capture_kind"] == "dataset" and doc["frames"] == 10  # 0.5 s at 20 frames/s
    assert doc["now"] == pytest.approx(0.95)
    rc, out, err = ask(
        capsys, "Is anyone here?", "--capture", str(tmp_path / "ds"), "--sample", "5"
    )
    assert rc == 1 and out == "" and "--sample 5: " in err and err.count("\n") == 1


def test_ask_imports_no_torch(tmp_path: Path) -> None:
    """The edge path: `mmfm ask` runs on onnxruntime + llama.cpp alone (DESIGN.md)."""
    import subprocess
    import sys

    code = (
        "import sys; from mmfm.cli import main; "
        f"rc = main(['ask', 'Is anyone here?', '--capture', {str(EXAMPLE_BIN)!r}, '--json', "
        "'--max-tokens', '1', '--threads', '1']); "
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "NO-TORCH 0"
