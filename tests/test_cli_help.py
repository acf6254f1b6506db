"""`mmfm --help` and every subcommand's help, read as a newcomer would: every option says what it does,
the flags the rough edges pointed to are documented, and the help names what each command takes."""

from __future__ import annotations

import argparse

import pytest

from mmfm.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: str = "mmfm"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


PARSERS = dict(_parsers(build_parser()))


def _help(path: str) -> str:
    """The rendered help of ``path`` with argparse's line wrapping undone."""
    return " ".join(PARSERS[path].format_help().split())


@pytest.mark.parametrize("path", sorted(PARSERS))
def test_every_argument_says_what_it_is(path: str) -> None:
    parser = PARSERS[path]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{path}: {name} has no help text"
    parser.format_help()  # every %(default)s and %% renders


def test_top_level_points_a_newcomer_somewhere(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "mmfm demo" in out and "mmfm dsp --example" in out


def test_the_flags_users_looked_for_are_documented() -> None:
    no_configure = next(
        a for a in PARSERS["mmfm record"]._actions if "--no-configure" in a.option_strings
    )
    assert "DCA1000" in no_configure.help and "configure: false" in no_configure.help
    record = _help("mmfm record")
    assert "UART .dat" in record and "(default 192.168.33.180)" in record
    for choice in ("serial:", "dca1000:", "replay:"):
        assert choice in record  # what each --source is
    dsp = _help("mmfm dsp")
    assert "[FILE]" in dsp and "ignores FILE" in dsp  # one name for the positional
    assert "openradar = [loop, virtual, sample]" in dsp and "--int16-wrap" in dsp
    assert "LLVM >= 16" in _help("mmfm sim generate")
    assert "(default iwr1843boost_raw_activity)" in _help("mmfm sim preview")
