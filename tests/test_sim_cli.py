"""`mmfm sim generate` / `mmfm sim preview` through their argparse entry points."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from test_dataset import tiny_cfg_text

from mmfm.commands import sim as sim_cmd
from runtime.dataset import open_dataset
from sim.propagation.raycast import embree_available


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmfm")
    sim_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.cfg"
    path.write_text(tiny_cfg_text(), encoding="utf-8")
    return path


FAST = ["--window-s", "0.1", "--density", "300,10", "--max-bounces", "1", "--no-progress"]


def test_generate_shards_and_resume(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    base = [
        "sim",
        "generate",
        "--out",
        str(out),
        "--num",
        "3",
        "--seed",
        "2",
        "--radar",
        str(tiny),
        *FAST,
    ]
    assert run([*base, "--shard", "1/2"]) == 0
    assert "wrote 1 shard(s) (1 samples" in capsys.readouterr().out
    assert not open_dataset(out).complete
    assert run([*base, "--num-shards", "2"]) == 0
    assert "skipped 1 complete" in capsys.readouterr().out
    ds = open_dataset(out)
    assert ds.complete and len(ds) == 3 and ds[0].adc is None and len(ds[0].points) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prompt", "a person juggling in the kitchen"], "unknown activity 'a person juggling"),
        (
            ["--prompt", "someone sleeping in the bathroom"],
            "impossible placement: no lie affordance",
        ),
        (["--radar", "no_such_profile"], "no_such_profile: no such file or bundled profile"),
        (["--shard", "2/2"], "--shard must be i/n"),
        (["--outputs", "adc,video"], "unknown outputs ['video']"),
        (["--density", "fast"], "--density must be PERSON,OTHER"),
        (["--window-s", "0"], "window length must be within"),
    ],
)
def test_generate_bad_input_one_line(
    extra: list[str], message: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "sim",
        "generate",
        "--out",
        str(tmp_path / "ds"),
        "--num",
        "2",
        "--radar",
        str(tiny),
        *extra,
    ]
    assert run(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mmfm sim generate: error: ") and message in err[0]


def test_invalid_cfg_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text(tiny_cfg_text().replace("frameCfg 0 2 16 0 50 1 0", "frameCfg 0 2 x 0 50 1 0"))
    assert (
        run(["sim", "generate", "--out", str(tmp_path / "ds"), "--num", "1", "--radar", str(bad)])
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    lineno = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "frameCfg" in ln)
    # file:line: message, the path once
    assert len(err) == 1 and err[0].startswith(f"mmfm sim generate: error: {bad}:{lineno}: ")
    assert err[0].count(str(bad)) == 1


def test_preview_png(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    argv = [
        "sim",
        "preview",
        "--prompt",
        "a person waving in the bedroom",
        "--seed",
        "1",
        "--out",
        str(out),
        "--radar",
        str(tiny),
        "--window-s",
        "0.15",
    ]
    assert run(argv) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_preview_bad_prompt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(["sim", "preview", "--prompt", "a person juggling", "--out", str(tmp_path / "p.png")])
        == 1
    )
    assert "unknown activity" in capsys.readouterr().err


@pytest.mark.skipif(not embree_available(), reason="embreex not installed (sim extra)")
def test_raycasters_give_the_same_samples(tiny: Path, tmp_path: Path) -> None:
    """``--raycaster embree`` and ``numpy`` agree on every occlusion decision here: the same sample
    arrays to the byte, the same sample documents but for the raycaster they name; the card's
    command regenerates the numpy one."""
    common = ["--num", "2", "--seed", "4", "--radar", str(tiny), "--window-s", "0.1"]
    common += ["--density", "300,10", "--max-bounces", "2", "--outputs", "adc,points"]
    for name in ("embree", "numpy"):
        argv = ["sim", "generate", "--out", str(tmp_path / name), *common, "--no-progress"]
        assert run([*argv, "--raycaster", name]) == 0
    files = {
        name: sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).glob("shard-*/*"))
        for name in ("embree", "numpy")
    }
    assert files["embree"] == files["numpy"]
    npz = [f for f in files["embree"] if f.suffix == ".npz"]
    assert len(npz) == 2
    for f in npz:
        assert (tmp_path / "embree" / f).read_bytes() == (tmp_path / "numpy" / f).read_bytes(), f
    for f in files["embree"]:
        if f.suffix != ".json" or not f.name.startswith("sample-"):
            continue
        docs = [json.loads((tmp_path / n / f).read_text(encoding="utf-8")) for n in files]
        assert [d["backend"].pop("raycaster") for d in docs] == ["embree", "numpy"]
        assert docs[0] == docs[1]
    command = json.loads((tmp_path / "numpy" / "card.json").read_text(encoding="utf-8"))["command"]
    assert "--raycaster numpy" in command
    card = json.loads((tmp_path / "embree" / "card.json").read_text(encoding="utf-8"))
    assert "--raycaster" not in card["command"]  # the default


def test_unknown_raycaster_is_refused(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run(["sim", "generate", "--out", str(tmp_path / "x"), "--num", "1", "--raycaster", "bvh"])
