"""Errors and warnings of ``.cfg`` parsing, each tied to a file and a line.

``str(CfgError)`` is ``"path:line: message"`` so that editors and CI annotate the right line. A file's
problems are collected and raised together as :class:`CfgErrors` (itself a :class:`CfgError`, so one
``except CfgError`` catches both). Line 0 means "the file as a whole" (a missing command, a bad
``board=`` argument).
"""

from __future__ import annotations

from dataclasses import dataclass


class CfgError(ValueError):
    """One problem in a ``.cfg`` file.

    Attributes:
        path: file name (or ``"<string>"``).
        line: 1-based line number, 0 for the whole file.
        message: what is wrong, without the location.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = str(path)
        self.line = int(line)
        self.message = message
        super().__init__(f"{self.path}:{self.line}: {message}")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CfgErrors(CfgError):
    """Every error found in one file (``errors`` in line order); behaves as the first one otherwise."""

    def __init__(self, errors: list[CfgError]) -> None:
        if not errors:
            raise ValueError("CfgErrors needs at least one error")
        self.errors = sorted(errors, key=lambda e: e.line)
        first = self.errors[0]
        super().__init__(first.path, first.line, first.message)

    def __str__(self) -> str:
        return "\n".join(f"{e.path}:{e.line}: {e.message}" for e in self.errors)


@dataclass(frozen=True)
class CfgWarning:
    """Something legal but questionable (shown by ``mmfm cfg validate`` / ``show``)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.message}"
