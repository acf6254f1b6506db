"""Vital-sign waveforms: shapes, exact instantaneous rates, ranges."""

from __future__ import annotations

import numpy as np
import pytest

from sim.humans.vitals import VitalSigns, breath_shape, heart_shape


def test_waveforms_are_normalised_and_asymmetric() -> None:
    phase = np.linspace(0.0, 1.0, 2001)
    b = breath_shape(phase, 0.4)
    assert b.min() == pytest.approx(0.0, abs=1e-9) and b.max() == pytest.approx(1.0, abs=1e-9)
    assert phase[np.argmax(b)] == pytest.approx(0.4, abs=0.01)  # inhale shorter than exhale
    h = heart_shape(phase)
    assert h.min() == pytest.approx(0.0, abs=1e-6) and h.max() == pytest.approx(1.0, abs=1e-6)
    # A true waveform, not a sine: clear harmonics, but the fundamental dominates.
    spec = np.abs(np.fft.rfft(b[:-1]))
    assert spec[1] > spec[2] > 0.02 * spec[1]
    spec = np.abs(np.fft.rfft(h[:-1]))
    assert spec[1] > spec[2] and spec[1] > spec[3]


def test_instantaneous_rates_are_the_phase_derivatives() -> None:
    v = VitalSigns(14.0, 72.0, variability=0.08, seed=3)
    t = np.linspace(0.0, 300.0, 3001)
    dt = 1e-4
    breath_rate = (v.breathing_phase(t + dt) - v.breathing_phase(t - dt)) / (2 * dt) * 60
    heart_rate = (v.heart_phase(t + dt) - v.heart_phase(t - dt)) / (2 * dt) * 60
    assert np.abs(breath_rate - v.breathing_rate(t)).max() < 1e-4
    assert np.abs(heart_rate - v.heart_rate(t)).max() < 1e-4
    assert np.ptp(v.breathing_rate(t)) > 0.3  # the rate wanders slowly...
    assert v.breathing_rate(t).mean() == pytest.approx(14.0, rel=0.05)  # ...around the set rate
    assert v.heart_rate(t).mean() == pytest.approx(72.0, rel=0.05)


def test_rates_outside_physiology_are_rejected() -> None:
    with pytest.raises(ValueError, match="breathing rate"):
        VitalSigns(40.0, 70.0)
    with pytest.raises(ValueError, match="heart rate"):
        VitalSigns(12.0, 200.0)
