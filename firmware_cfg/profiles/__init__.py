"""Bundled ``.cfg`` profiles, one file per (board, use): see ``README.md`` beside this file."""

from __future__ import annotations

from pathlib import Path

PROFILE_DIR = Path(__file__).resolve().parent


def list_profiles() -> list[str]:
    """Names of the bundled profiles (file stems, lower case), sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.cfg"))


def profile_path(name: str) -> Path:
    """Path of bundled profile ``name`` (with or without ``.cfg``).

    Raises:
        KeyError: unknown name, listing the known ones.
    """
    stem = name.lower().removesuffix(".cfg")
    path = PROFILE_DIR / f"{stem}.cfg"
    if not path.is_file():
        raise KeyError(f"unknown profile {name!r}; bundled: {', '.join(list_profiles())}")
    return path


def describe(name: str) -> str:
    """One-line description: the first ``% purpose:`` comment line of the profile."""
    for line in profile_path(name).read_text(encoding="utf-8").splitlines():
        text = line.strip().lstrip("%").strip()
        if text.lower().startswith("purpose:"):
            return text.split(":", 1)[1].strip()
    return ""
