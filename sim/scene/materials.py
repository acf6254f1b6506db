"""Electromagnetic materials at 60-81 GHz: ITU-R P.2040 building materials and human skin.

ITU-R P.2040-3, Table 3, models a building material's relative permittivity and conductivity as

    eps' = a * f_GHz ** b        sigma = c * f_GHz ** d   [S/m]

inside a stated frequency range only. The complex relative permittivity (time convention
``exp(+j omega t)``, losses as a negative imaginary part, as in the recommendation) is

    eps = eps' - j * sigma / (2 pi f eps0)   (= eps' - j 17.98 sigma / f_GHz)

At 60-81 GHz only concrete, plasterboard, wood, glass, ceiling board, chipboard, floorboard and metal
are defined. Brick and plywood stop at 40 GHz, marble at 60 GHz, and carpet has no model at all: asking
for them in the radar band raises a :class:`ValueError` that names the material and its range.

The coefficients are those Sionna RT ships for the same recommendation
(``sionna/rt/radio_materials/itu.py``), so the scatterer and Sionna backends see the same surfaces.

Human skin is not in P.2040: it follows the dispersive 4-Cole-Cole model of dry skin by Gabriel, Lau &
Gabriel (Phys. Med. Biol. 41, 1996, part III). The model was fitted to measurements up to 20 GHz; its
extrapolation is the value the mmWave literature quotes (eps = 7.98 - j10.90 at 60 GHz, e.g. Zhadobov
et al., Int. J. Microw. Wirel. Technol. 3, 2011), which :mod:`tests.test_scene_materials` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS0 = 8.8541878128e-12  # vacuum permittivity [F/m]
# The TI radar band this package is built for [Hz]: 60-64 GHz and 76-81 GHz devices.
MMWAVE_BAND_HZ = (60e9, 81e9)


@dataclass(frozen=True)
class ItuRange:
    """One row of ITU-R P.2040-3 Table 3: valid from ``f_min_ghz`` to ``f_max_ghz`` [GHz]."""

    f_min_ghz: float
    f_max_ghz: float
    a: float
    b: float
    c: float
    d: float


@dataclass(frozen=True)
class Material:
    """A named material.

    Attributes:
        name: registry key (``"concrete"``, ``"skin"``...).
        ranges: ITU rows; empty for a non-ITU material (``skin``) or one P.2040 does not define.
        source: where the numbers come from.
        itu: whether Sionna RT knows it as ``itu_<name>``.
    """

    name: str
    ranges: tuple[ItuRange, ...]
    source: str
    itu: bool = True

    def valid_ranges_ghz(self) -> list[tuple[float, float]]:
        """``[(f_min, f_max), ...]`` [GHz]."""
        if self.name == "skin":
            return [SKIN_RANGE_GHZ]
        return [(r.f_min_ghz, r.f_max_ghz) for r in self.ranges]

    def is_valid(self, freq_hz: float) -> bool:
        """Whether the model is defined at ``freq_hz`` [Hz]."""
        f = freq_hz / 1e9
        return any(lo <= f <= hi for lo, hi in self.valid_ranges_ghz())


_P2040 = "ITU-R P.2040-3 Table 3"
MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("concrete", (ItuRange(1.0, 100.0, 5.24, 0.0, 0.0462, 0.7822),), _P2040),
        Material("brick", (ItuRange(1.0, 40.0, 3.91, 0.0, 0.0238, 0.16),), _P2040),
        Material("plasterboard", (ItuRange(1.0, 100.0, 2.73, 0.0, 0.0085, 0.9395),), _P2040),
        Material("wood", (ItuRange(0.001, 100.0, 1.99, 0.0, 0.0047, 1.0718),), _P2040),
        Material(
            "glass",
            (
                ItuRange(0.1, 100.0, 6.31, 0.0, 0.0036, 1.3394),
                ItuRange(220.0, 450.0, 5.79, 0.0, 0.0004, 1.658),
            ),
            _P2040,
        ),
        Material(
            "ceiling_board",
            (
                ItuRange(1.0, 100.0, 1.48, 0.0, 0.0011, 1.0750),
                ItuRange(220.0, 450.0, 1.52, 0.0, 0.0029, 1.029),
            ),
            _P2040,
        ),
        Material("chipboard", (ItuRange(1.0, 100.0, 2.58, 0.0, 0.0217, 0.7800),), _P2040),
        Material("plywood", (ItuRange(1.0, 40.0, 2.71, 0.0, 0.33, 0.0),), _P2040),
        Material("marble", (ItuRange(1.0, 60.0, 7.074, 0.0, 0.0055, 0.9262),), _P2040),
        Material("floorboard", (ItuRange(50.0, 100.0, 3.66, 0.0, 0.0044, 1.3515),), _P2040),
        Material("metal", (ItuRange(1.0, 100.0, 1.0, 0.0, 1.0e7, 0.0),), _P2040),
        Material("carpet", (), "not defined in ITU-R P.2040-3", itu=False),
        Material("skin", (), "Gabriel et al. 1996, dry skin, 4-Cole-Cole", itu=False),
    )
}

# Gabriel, Lau & Gabriel (1996) part III, Table 1, "Skin (Dry)": eps_inf, then (delta_eps, tau [s],
# alpha) per Cole-Cole term, and the ionic conductivity [S/m].
_SKIN_EPS_INF = 4.0
_SKIN_TERMS = ((32.0, 7.234e-12, 0.0), (1100.0, 32.481e-9, 0.20))
_SKIN_SIGMA_IONIC = 0.0002
SKIN_RANGE_GHZ = (1.0, 100.0)

# Building materials the scene generator may put in a room at 60-81 GHz.
MMWAVE_MATERIALS: tuple[str, ...] = tuple(
    name
    for name, m in MATERIALS.items()
    if m.itu and m.is_valid(MMWAVE_BAND_HZ[0]) and m.is_valid(MMWAVE_BAND_HZ[1])
)


def get_material(material: str) -> Material:
    """Registry entry of ``material``; unknown names raise a :class:`ValueError` listing the known."""
    try:
        return MATERIALS[material]
    except KeyError:
        raise ValueError(
            f"unknown material {material!r}; known: {', '.join(sorted(MATERIALS))}"
        ) from None


def _ranges_text(m: Material) -> str:
    ranges = m.valid_ranges_ghz()
    if not ranges:
        return "none (no model in ITU-R P.2040-3)"
    return ", ".join(f"{lo:g}-{hi:g} GHz" for lo, hi in ranges)


def check_valid(material: str, freq_hz: float) -> Material:
    """The registry entry, or a :class:`ValueError` naming the material and its valid range(s)."""
    m = get_material(material)
    if not m.is_valid(freq_hz):
        raise ValueError(
            f"material {material!r} is not defined at {freq_hz / 1e9:g} GHz "
            f"(valid: {_ranges_text(m)}; source: {m.source}); "
            f"at 60-81 GHz use one of {', '.join(MMWAVE_MATERIALS)}"
        )
    return m


def check_valid_band(material: str, band_hz: tuple[float, float] = MMWAVE_BAND_HZ) -> None:
    """Raise a :class:`ValueError` unless ``material`` is defined over the whole ``band_hz`` [Hz]."""
    check_valid(material, band_hz[0])
    check_valid(material, band_hz[1])


def permittivity_conductivity(material: str, freq_hz: float) -> tuple[float, float]:
    """Real relative permittivity eps' and conductivity sigma [S/m] at ``freq_hz`` [Hz].

    For skin, sigma is the equivalent conductivity ``omega eps0 eps''`` of the Cole-Cole model.
    """
    m = check_valid(material, freq_hz)
    if material == "skin":
        eps = _skin_permittivity(freq_hz)
        return float(eps.real), float(-eps.imag * 2 * np.pi * freq_hz * EPS0)
    f_ghz = freq_hz / 1e9
    row = next(r for r in m.ranges if r.f_min_ghz <= f_ghz <= r.f_max_ghz)
    return row.a * f_ghz**row.b, row.c * f_ghz**row.d


def _skin_permittivity(freq_hz: float) -> complex:
    omega = 2 * np.pi * freq_hz
    eps = complex(_SKIN_EPS_INF)
    for delta, tau, alpha in _SKIN_TERMS:
        eps += delta / (1 + (1j * omega * tau) ** (1 - alpha))
    return eps + _SKIN_SIGMA_IONIC / (1j * omega * EPS0)


def complex_permittivity(material: str, freq_hz: float) -> complex:
    """Complex relative permittivity ``eps' - j sigma / (omega eps0)`` at ``freq_hz`` [Hz].

    Raises :class:`ValueError` when the material's model is not defined at that frequency.
    """
    eps_r, sigma = permittivity_conductivity(material, freq_hz)
    return complex(eps_r, -sigma / (2 * np.pi * freq_hz * EPS0))


def reflection_coefficient(
    material: str, freq_hz: float, incidence_rad: float | np.ndarray, polarization: str = "TE"
) -> complex | np.ndarray:
    """Fresnel reflection coefficient of a thick (half-space) slab seen from air.

    Args:
        material: registry name.
        freq_hz: carrier frequency [Hz].
        incidence_rad: angle from the surface normal [rad], 0 = normal incidence; scalar or array.
        polarization: ``"TE"`` (E perpendicular to the plane of incidence, "s") or ``"TM"``
            (E in the plane of incidence, "p").

    Returns:
        Complex field ratio E_reflected / E_incident (same shape as ``incidence_rad``), in the
        convention of ITU-R P.2040 eqs. (31a/b): ``Gamma_TE = (1 - n) / (1 + n)`` and
        ``Gamma_TM = -Gamma_TE`` at normal incidence (``n = sqrt(eps)``); ``|Gamma_TM|`` has its
        Brewster minimum near ``atan(sqrt(eps'))``.
    """
    eta = complex_permittivity(material, freq_hz)
    theta = np.asarray(incidence_rad, dtype=float)
    cos_t = np.cos(theta)
    root = np.sqrt(eta - np.sin(theta) ** 2 + 0j)
    pol = polarization.upper()
    if pol == "TE":
        gamma = (cos_t - root) / (cos_t + root)
    elif pol == "TM":
        gamma = (eta * cos_t - root) / (eta * cos_t + root)
    else:
        raise ValueError(f"polarization must be 'TE' or 'TM', got {polarization!r}")
    return complex(gamma) if gamma.ndim == 0 else gamma


def sionna_name(material: str) -> str:
    """Name of the material in Sionna RT (``"itu_concrete"``...).

    Non-ITU materials (``skin``) get ``"mmfm_<name>"``: the Sionna backend must register a custom
    ``RadioMaterial`` of that name with :func:`permittivity_conductivity` at the scene frequency.
    Materials P.2040 does not define at all (``carpet``) raise :class:`ValueError`.
    """
    m = get_material(material)
    if m.itu:
        return f"itu_{m.name}"
    if m.name == "skin":
        return "mmfm_skin"
    raise ValueError(f"material {material!r} has no Sionna RT equivalent ({m.source})")
