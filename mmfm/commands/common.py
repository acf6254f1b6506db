"""What several subcommands share: loading a chirp config or checking a board name, failing with one
line that names the culprit (``file:line: message`` for a .cfg, the flag for a bad ``--board``).

Light imports only (firmware_cfg), inside the functions like the rest of the CLI.
"""

from __future__ import annotations

from typing import Any


class InputError(Exception):
    """A problem with the user's input: the subcommand prints it as one line and exits 1."""


def check_board(board: str | None) -> None:
    """Refuse an unknown ``--board`` by the flag (not as line 0 of whatever file comes next)."""
    if board is None:
        return
    from firmware_cfg.boards import get_board

    try:
        get_board(board)
    except KeyError as exc:
        raise InputError(f"--board {board}: {exc.args[0]}") from None


def load_radar_config(cfg: str, board: str | None = None) -> Any:
    """The :class:`~firmware_cfg.RadarConfig` of a ``.cfg`` path or bundled profile name.

    Raises:
        InputError: one line: the first error as ``file:line: message`` (with how many more there
            are), a missing file, a directory, an unknown ``--board``.
    """
    from firmware_cfg import CfgError, CfgErrors, load_cfg

    check_board(board)
    try:
        return load_cfg(cfg, board=board)
    except IsADirectoryError:
        raise InputError(f"{cfg}: is a directory, not a .cfg file") from None
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from None
    except OSError as exc:
        raise InputError(f"{cfg}: cannot read ({exc.strerror or exc})") from None
    except CfgError as exc:
        errors = exc.errors if isinstance(exc, CfgErrors) else [exc]
        more = len(errors) - 1
        suffix = f" (and {more} more: mmfm cfg validate {cfg} lists them)" if more else ""
        raise InputError(f"{errors[0]}{suffix}") from None
