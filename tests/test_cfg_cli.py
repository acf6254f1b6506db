"""`mmfm cfg` through the real entry point (and once in a subprocess)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from firmware_cfg.profiles import list_profiles, profile_path


def run(argv: list[str]) -> int:
    """``mmfm.cli.main``; falls back to a parser with only ``cfg`` while other subcommands are absent."""
    try:
        from mmfm.cli import main

        return main(argv)
    except ModuleNotFoundError as exc:
        if "mmfm.commands" not in str(exc) or "cfg" in str(exc).split("mmfm.commands.")[-1][:3]:
            raise
    from mmfm.commands import cfg

    parser = argparse.ArgumentParser(prog="mmfm")
    cfg.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


BAD = """\
channelCfg 15 7 0
adcCfg 2 1
profileCfg 0 77 7 6 60 0 0 60 1 256 5000 0 0 30
chirpCfg 0 0 0 0 0 0 0 9
frameCfg 0 1 64 0 50 1 0
"""


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cfg", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_profiles())


def test_show_human_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cfg", "show", "iwr1843boost_raw_activity"]) == 0
    out = capsys.readouterr().out
    assert "range resolution" in out and "cm" in out and "fits DCA1000" in out
    assert run(["cfg", "show", "iwr1843boost_raw_activity", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["board"] == "IWR1843BOOST" and info["board_inferred"] is False
    assert info["derived"]["frame_shape"] == [3, 4, 128, 256] and info["derived"]["fits_lvds"]


def test_show_marks_inferred_board(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = profile_path("iwr6843isk_presence").read_text().replace("% mmfm-board: IWR6843ISK", "%")
    f = tmp_path / "x.cfg"
    f.write_text(text)
    assert run(["cfg", "show", str(f)]) == 0
    assert "IWR6843ISK (inferred" in capsys.readouterr().out


def test_validate_ok_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = str(profile_path("iwr1843boost_presence"))
    assert run(["cfg", "validate", good]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: ok"
    bad = tmp_path / "bad.cfg"
    bad.write_text(BAD)
    assert run(["cfg", "validate", good, str(bad), "--board", "IWR1843BOOST"]) == 1
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert f"{bad}:4: chirpCfg TX mask 0x9: IWR1843BOOST has TX mask 0x7" in lines
    assert f"{bad}:5: frameCfg uses chirp indices no chirpCfg defines: 1" in lines
    assert f"{bad}:0: missing required command" not in cap.err


def test_emit_to_file(tmp_path: Path) -> None:
    out = tmp_path / "o.cfg"
    assert run(["cfg", "emit", "iwr1443boost_presence", "-o", str(out)]) == 0
    assert "cfarCfg 2 8 4 3 0 1280" in out.read_text()


def test_subprocess_validate() -> None:
    has_dsp = (
        subprocess.run([sys.executable, "-c", "import mmfm.commands.dsp"], cwd=REPO).returncode == 0
    )
    argv = ["cfg", "validate", "iwr1843boost_raw_activity"]
    if has_dsp:
        cmd = [sys.executable, "-m", "mmfm", *argv]
    else:  # mmfm.cli registers mmfm.commands.dsp, which another change adds; same code path here
        script = (
            "import argparse, sys; from mmfm.commands import cfg; "
            "p = argparse.ArgumentParser(prog='mmfm'); cfg.register(p.add_subparsers()); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
        )
        cmd = [sys.executable, "-c", script, *argv]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "iwr1843boost_raw_activity: ok"


def test_unknown_board_flag_and_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown --board is blamed on the flag (not on line 0 of each file); a directory is named."""
    good = str(profile_path("iwr1843boost_presence"))
    for action in (["show", good], ["validate", good, good], ["emit", good]):
        assert run(["cfg", *action, "--board", "IWR9999"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"mmfm cfg {action[0]}: error: --board IWR9999: unknown board")
        assert len(err.splitlines()) == 1 and ":0:" not in err
    assert run(["cfg", "show", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"{tmp_path}: is a directory, not a .cfg file\n"
    assert run(["cfg", "emit", good, "--output", str(tmp_path)]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_emit_with_board_rewrites_a_wrong_board_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .cfg whose board comment is wrong, emitted with --board, reads back as that board."""
    bad = tmp_path / "bad.cfg"
    text = profile_path("iwr1843boost_presence").read_text(encoding="utf-8")
    bad.write_text(text.replace("% mmfm-board: IWR1843BOOST", "% mmfm-board: IWR9999FOO"))
    assert "IWR9999FOO" in bad.read_text()
    out = tmp_path / "fixed.cfg"
    assert run(["cfg", "emit", str(bad), "--board", "IWR1843BOOST", "-o", str(out)]) == 0
    assert "% mmfm-board: IWR1843BOOST" in out.read_text() and "IWR9999FOO" not in out.read_text()
    capsys.readouterr()
    assert run(["cfg", "validate", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: ok\n"
    same = tmp_path / "same.cfg"  # a right comment is kept as it was
    assert run(["cfg", "emit", "iwr1843boost_presence", "-o", str(same)]) == 0
    assert same.read_text().count("mmfm-board") == 1
