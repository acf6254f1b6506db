"""Shared fixtures. `shared_dir` points at ../shared (the read-only folder beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MMFM_SHARED", REPO.parent / "shared"))


def require_shared(*parts: str) -> Path:
    """Path under ../shared, or skip the test with a message naming what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"needs {path} (the shared real-data/vectors folder beside the checkout; "
            "set MMFM_SHARED to point elsewhere)"
        )
    return path


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


from broker import mosquitto_broker  # noqa: E402, F401  (a private Mosquitto per test)
