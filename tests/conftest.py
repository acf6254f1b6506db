"""Shared fixtures. `shared_dir` points at ../shared (the read-only folder beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware_cfg import ChirpConfig, RadarConfig
from firmware_cfg.demo import DemoConfig
from sim.propagation.llvm import configure_drjit_llvm

# Before any test module imports drjit: Dr.Jit picks its LLVM when it loads, and with LLVM < 16 some
# of Sionna RT's kernels abort the whole test process (Debian 12 without libllvm19).
LLVM = configure_drjit_llvm()

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


def require_sionna() -> None:
    """Skip the calling test module, with the reason, when the Sionna RT backend cannot run here
    (not installed, or neither a CUDA device nor an LLVM >= 16 for Dr.Jit's CPU backend)."""
    from sim.propagation._mitsuba import import_sionna

    try:
        import_sionna()
    except ImportError as exc:
        pytest.skip(f"Sionna RT backend unavailable: {exc}", allow_module_level=True)


def vector_cfg(**changes: object) -> ChirpConfig:
    """The chirp of shared/vectors/dca1000_iwr1843.cfg built by hand (IWR1843BOOST, 3 TX x 4 RX, 64 loops,
    256 samples), so tests that pin conventions against the vector do not depend on the parser."""
    fields: dict[str, object] = dict(
        board="IWR1843BOOST",
        start_freq_hz=77e9,
        freq_slope_hz_per_s=60e12,
        idle_time_s=7e-6,
        adc_start_time_s=6e-6,
        ramp_end_time_s=60e-6,
        num_samples=256,
        sample_rate_hz=5e6,
        rx_mask=0b1111,
        tx_mask=0b111,
        chirp_tx_masks=(1, 2, 4),
        num_loops=64,
        frame_period_s=0.05,
    )
    fields.update(changes)
    return ChirpConfig(**fields)


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


from broker import mosquitto_broker  # noqa: E402, F401  (a private Mosquitto per test)


def radar_config_of(chirp: ChirpConfig, demo: DemoConfig | None = None) -> RadarConfig:
    """A :class:`RadarConfig` for a hand-built chirp (no ``.cfg`` commands), for runtime stages that
    take the whole configuration; ``demo`` defaults to the SDK's defaults (no calibration)."""
    return RadarConfig(
        chirp=chirp,
        demo=demo if demo is not None else DemoConfig(),
        commands=(),
        dialect="3.x",
        board=chirp.board,
    )
