"""`mmfm` entry point: one argparse parser, one module per subcommand.

A subcommand module exposes ``register(subparsers)``; it adds its parser and sets ``func`` to a callable
``(args) -> int``. Modules import heavy packages inside ``func`` only, so ``mmfm --help`` and the edge
daemon never import torch, sim or training. A subcommand is listed here only once it works.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mmfm import __version__

# Order is the order in `mmfm --help`.
SUBCOMMANDS: tuple[str, ...] = (
    "mmfm.commands.cfg",
    "mmfm.commands.dsp",
    "mmfm.commands.record",
    "mmfm.commands.sim",
    "mmfm.commands.run",
    "mmfm.commands.demo",
    "mmfm.commands.train",
    "mmfm.commands.eval",
    "mmfm.commands.export",
    "mmfm.commands.ask",
    "mmfm.commands.models",
    "mmfm.commands.search",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmfm",
        description="mmWave radar as a language-aligned home sensor.",
        epilog="New here? 'mmfm demo' runs the whole daemon on a simulated room (no hardware), "
        "'mmfm dsp --example' the DSP chain on a bundled capture. 'mmfm COMMAND --help' for more.",
    )
    parser.add_argument("--version", action="version", version=f"mmfm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
