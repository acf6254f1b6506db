"""Breathing and heartbeat: torso-surface displacement waveforms with ground-truth instantaneous rates.

Breathing moves the chest and abdomen along their surface normals by a few millimetres peak-to-peak with
an asymmetric cycle (shorter inhale, longer exhale with a pause) and a slowly wandering rate; the
heartbeat moves the chest front by a fraction of a millimetre with a systolic pulse and a smaller
dicrotic one, its rate wandering slowly and modulated by breathing (respiratory sinus arrhythmia).
Rates are analytic derivatives of the phases, so they are exact ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BREATHING_RANGE_PER_MIN = (6.0, 30.0)
HEART_RANGE_PER_MIN = (45.0, 120.0)


@dataclass(frozen=True)
class _Wander:
    """A slow relative rate modulation ``m(t) = sum_k a_k sin(2 pi nu_k t + theta_k)`` and its integral."""

    amps: np.ndarray  # [K]
    freqs: np.ndarray  # [K] [Hz]
    phases: np.ndarray  # [K] [rad]

    @staticmethod
    def sample(rng: np.random.Generator, depth: float, band_hz: tuple[float, float]) -> _Wander:
        k = 3
        amps = depth * rng.dirichlet(np.ones(k))
        return _Wander(amps, rng.uniform(*band_hz, k), rng.uniform(0, 2 * np.pi, k))

    def value(self, t: np.ndarray) -> np.ndarray:
        arg = 2 * np.pi * np.multiply.outer(t, self.freqs) + self.phases
        return np.sin(arg) @ self.amps

    def integral(self, t: np.ndarray) -> np.ndarray:
        """``int_0^t m(s) ds`` [s]."""
        arg = 2 * np.pi * np.multiply.outer(t, self.freqs) + self.phases
        return (np.cos(self.phases) - np.cos(arg)) @ (self.amps / (2 * np.pi * self.freqs))


def breath_shape(phase: np.ndarray, inhale_fraction: float) -> np.ndarray:
    """Normalised breathing displacement in [0, 1] for cycle phase ``phase`` (cycles).

    Inhale: a raised-cosine rise over ``inhale_fraction`` of the cycle; exhale: a faster-then-slower
    fall that reaches the rest level before the cycle ends (end-expiratory pause).
    """
    p = np.mod(phase, 1.0)
    rise = 0.5 * (1 - np.cos(np.pi * p / inhale_fraction))
    q = np.clip((p - inhale_fraction) / (0.85 * (1 - inhale_fraction)), 0.0, 1.0)
    fall = 0.5 * (1 + np.cos(np.pi * q**0.75))  # smooth 1 -> 0, steeper early (passive recoil)
    return np.where(p < inhale_fraction, rise, fall)


def _heart_raw(phase: np.ndarray) -> np.ndarray:
    p = np.mod(phase, 1.0)

    def pulse(centre: float, width: float) -> np.ndarray:
        d = (p - centre + 0.5) % 1.0 - 0.5
        return np.exp(-0.5 * (d / width) ** 2)

    return pulse(0.18, 0.085) + 0.35 * pulse(0.45, 0.07)


_HEART_GRID = _heart_raw(np.linspace(0.0, 1.0, 4001))
_HEART_LO, _HEART_HI = float(_HEART_GRID.min()), float(_HEART_GRID.max())


def heart_shape(phase: np.ndarray) -> np.ndarray:
    """Normalised chest-wall displacement of one cardiac cycle in [0, 1] (systolic + dicrotic pulse)."""
    return (_heart_raw(phase) - _HEART_LO) / (_HEART_HI - _HEART_LO)


@dataclass(frozen=True)
class VitalSigns:
    """One person's breathing and heartbeat.

    Attributes:
        breathing_per_min: mean breathing rate [1/min] (6-30).
        heart_per_min: mean heart rate [1/min] (45-120).
        breathing_amplitude_m: chest peak-to-peak displacement along the normal [m] (e.g. 0.002-0.008).
        abdomen_ratio: abdomen amplitude / chest amplitude.
        heart_amplitude_m: chest-front peak-to-peak displacement of the heartbeat [m] (0.0001-0.0005).
        inhale_fraction: share of a breath spent inhaling.
        variability: relative depth of the slow rate wander (0 for constant rates).
        seed: for the wander's random frequencies/phases.
    """

    breathing_per_min: float
    heart_per_min: float
    breathing_amplitude_m: float = 0.005
    abdomen_ratio: float = 0.8
    heart_amplitude_m: float = 0.0003
    inhale_fraction: float = 0.4
    variability: float = 0.05
    seed: int = 0
    _b: _Wander = field(init=False, repr=False)
    _h: _Wander = field(init=False, repr=False)
    _amp: _Wander = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lo, hi = BREATHING_RANGE_PER_MIN
        if not lo <= self.breathing_per_min <= hi:
            raise ValueError(
                f"breathing rate must be within {lo}-{hi} /min, got {self.breathing_per_min}"
            )
        lo, hi = HEART_RANGE_PER_MIN
        if not lo <= self.heart_per_min <= hi:
            raise ValueError(f"heart rate must be within {lo}-{hi} /min, got {self.heart_per_min}")
        if not 0 <= self.breathing_amplitude_m <= 0.03 or not 0 <= self.heart_amplitude_m <= 0.002:
            raise ValueError("breathing amplitude must be 0-30 mm and heartbeat amplitude 0-2 mm")
        rng = np.random.default_rng([self.seed, 7])
        object.__setattr__(self, "_b", _Wander.sample(rng, self.variability, (0.004, 0.03)))
        object.__setattr__(self, "_h", _Wander.sample(rng, self.variability, (0.004, 0.03)))
        object.__setattr__(
            self, "_amp", _Wander.sample(rng, 0.05 if self.variability > 0 else 0.0, (0.01, 0.04))
        )

    # --- breathing -------------------------------------------------------------------------
    def breathing_phase(self, t: np.ndarray | float) -> np.ndarray:
        """Breath count since t=0 (cycles)."""
        t = np.asarray(t, dtype=np.float64)
        return self.breathing_per_min / 60.0 * (t + self._b.integral(t))

    def breathing_rate(self, t: np.ndarray | float) -> np.ndarray:
        """Instantaneous breathing rate [1/min] (ground truth)."""
        return self.breathing_per_min * (1.0 + self._b.value(np.asarray(t, dtype=np.float64)))

    def breathing(self, t: np.ndarray | float) -> np.ndarray:
        """Chest displacement along the normal [m], in [0, amplitude] (0: end of exhale)."""
        t = np.asarray(t, dtype=np.float64)
        scale = 1.0 + self._amp.value(t)
        return (
            self.breathing_amplitude_m
            * scale
            * breath_shape(self.breathing_phase(t), self.inhale_fraction)
        )

    # --- heartbeat -------------------------------------------------------------------------
    def _rsa(self) -> float:
        """Phase-wobble coefficient (cycles) giving a ~3 % heart-rate swing with each breath."""
        return 0.03 * self.heart_per_min / (2 * np.pi * self.breathing_per_min)

    def heart_phase(self, t: np.ndarray | float) -> np.ndarray:
        """Beat count since t=0 (cycles)."""
        t = np.asarray(t, dtype=np.float64)
        rsa = self._rsa() * (np.sin(2 * np.pi * self.breathing_phase(t)))
        return self.heart_per_min / 60.0 * (t + self._h.integral(t)) + rsa

    def heart_rate(self, t: np.ndarray | float) -> np.ndarray:
        """Instantaneous heart rate [1/min] (ground truth: derivative of the beat phase)."""
        t = np.asarray(t, dtype=np.float64)
        base = self.heart_per_min * (1.0 + self._h.value(t))
        d_breath = self.breathing_rate(t) / 60.0  # d(breathing phase)/dt [Hz]
        rsa = (
            self._rsa() * np.cos(2 * np.pi * self.breathing_phase(t)) * 2 * np.pi * d_breath * 60.0
        )
        return base + rsa

    def heartbeat(self, t: np.ndarray | float) -> np.ndarray:
        """Chest-front displacement of the heartbeat [m], in [0, amplitude]."""
        return self.heart_amplitude_m * heart_shape(self.heart_phase(t))

    def displacements(self, t: float) -> tuple[float, float, float]:
        """(chest, abdomen, heart) displacement along the surface normal at ``t`` [m]."""
        b = float(self.breathing(t))
        return b, self.abdomen_ratio * b, float(self.heartbeat(t))


def sample_vitals(rng: np.random.Generator, age_group: str = "adult") -> dict[str, float]:
    """Plausible resting rates [1/min] and amplitudes [m] for an age group."""
    breathing = {"child": (18, 30), "adult": (10, 20), "elderly": (12, 22)}[age_group]
    heart = {"child": (75, 120), "adult": (55, 95), "elderly": (55, 90)}[age_group]
    return {
        "breathing_per_min": float(rng.uniform(*breathing)),
        "heart_per_min": float(rng.uniform(*heart)),
        "breathing_amplitude_m": float(
            rng.uniform(0.003, 0.008) * (0.6 if age_group == "child" else 1.0)
        ),
        "abdomen_ratio": float(rng.uniform(0.5, 1.2)),
        "heart_amplitude_m": float(rng.uniform(0.0001, 0.0005)),
        "inhale_fraction": float(rng.uniform(0.35, 0.45)),
    }
