"""Real TI data (not our simulator): OpenRadar's IWR1443 walking-person frame."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import radar_config_of, require_shared

from firmware_cfg import ChirpConfig
from runtime.dsp import detections

pytestmark = pytest.mark.realdata


def openradar_config() -> ChirpConfig:
    """The profile in shared/realdata/README.md: IWR1443BOOST, TX0 + TX2 TDM x 4 RX."""
    return ChirpConfig(
        board="IWR1443BOOST",
        start_freq_hz=77.4201e9,
        freq_slope_hz_per_s=60e12,
        idle_time_s=30e-6,
        adc_start_time_s=6e-6,
        ramp_end_time_s=62e-6,
        num_samples=128,
        sample_rate_hz=2.5e6,
        rx_mask=0b1111,
        tx_mask=0b101,
        chirp_tx_masks=(1, 4),
        num_loops=128,
        frame_period_s=0.1,  # not published; unused by a single frame
    )


def load_frame() -> np.ndarray:
    """``(128 chirps, 8 virtual, 128 samples)`` uint16-wrapped I/Q -> complex64 [tx, rx, loop, sample]."""
    raw = np.load(require_shared("realdata", "openradar-adc", "doppler_example_1.npy"))

    def wrap(part: np.ndarray) -> np.ndarray:
        return part.astype(np.int64).astype(np.uint16).view(np.int16)

    iq = (wrap(raw.real) + 1j * wrap(raw.imag)).astype(np.complex64)
    return np.ascontiguousarray(iq.reshape(128, 2, 4, 128).transpose(1, 2, 0, 3))


def test_walking_person_range_and_velocity_sign() -> None:
    """The strongest mover is near 2.9 m moving *away* at ~+0.58 m/s.

    The sign needs no flip: this capture's I/Q follows the same convention as our simulator and the
    DCA1000 reference vector (phase grows with range, so a receding target has a positive Doppler
    frequency). Its frame also holds approaching limbs (-0.5 to -0.8 m/s) a little weaker.
    """
    cfg = openradar_config()
    det = detections(load_frame(), radar_config_of(cfg))
    moving = det[np.abs(det["velocity_mps"]) > 2 * cfg.velocity_bin_mps]
    assert moving.size
    top = moving[0]
    assert abs(top["range_m"] - 2.9) < 0.15
    assert abs(top["velocity_mps"] - 0.58) < 2 * cfg.velocity_bin_mps
    assert top["snr_db"] > 20.0
    # the person spreads over a few range bins around 2.9 m
    assert np.all(np.abs(moving["range_m"][:5] - 2.95) < 0.3)
