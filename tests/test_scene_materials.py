"""Materials at 60-81 GHz: ITU-R P.2040 values, validity ranges, Fresnel physics, skin."""

from __future__ import annotations

import numpy as np
import pytest

from sim.scene.materials import (
    MATERIALS,
    MMWAVE_MATERIALS,
    complex_permittivity,
    permittivity_conductivity,
    reflection_coefficient,
    sionna_name,
)

F77 = 77e9


@pytest.mark.parametrize(
    ("name", "a", "c", "d"),
    [  # ITU-R P.2040-3 Table 3 (b = 0 for all of these)
        ("concrete", 5.24, 0.0462, 0.7822),
        ("plasterboard", 2.73, 0.0085, 0.9395),
        ("wood", 1.99, 0.0047, 1.0718),
        ("glass", 6.31, 0.0036, 1.3394),
        ("ceiling_board", 1.48, 0.0011, 1.0750),
        ("chipboard", 2.58, 0.0217, 0.7800),
        ("floorboard", 3.66, 0.0044, 1.3515),
        ("metal", 1.0, 1.0e7, 0.0),
    ],
)
def test_itu_values_at_77ghz(name: str, a: float, c: float, d: float) -> None:
    sigma = c * 77.0**d
    expected = complex(a, -17.98 * sigma / 77.0)  # P.2040 eq. (9b): eta'' = 17.98 sigma / f_GHz
    got = complex_permittivity(name, F77)
    assert got.real == pytest.approx(expected.real, rel=1e-6)
    assert got.imag == pytest.approx(expected.imag, rel=1e-3)
    assert permittivity_conductivity(name, F77) == pytest.approx((a, sigma), rel=1e-9)


def test_known_numbers() -> None:
    assert complex_permittivity("concrete", F77) == pytest.approx(5.24 - 0.3224j, abs=1e-3)
    assert complex_permittivity("glass", F77) == pytest.approx(6.31 - 0.2826j, abs=1e-3)


def test_only_the_eight_itu_materials_are_valid_at_mmwave() -> None:
    assert set(MMWAVE_MATERIALS) == {
        "concrete", "plasterboard", "wood", "glass", "ceiling_board", "chipboard", "floorboard", "metal"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "range_text"),
    [("brick", "1-40 GHz"), ("plywood", "1-40 GHz"), ("marble", "1-60 GHz"), ("carpet", "none")],
)
def test_invalid_at_77ghz_raises_naming_material_and_range(name: str, range_text: str) -> None:
    with pytest.raises(ValueError, match=name) as err:
        complex_permittivity(name, F77)
    assert range_text in str(err.value)


def test_validity_edges() -> None:
    complex_permittivity("marble", 60e9)  # defined up to 60 GHz
    with pytest.raises(ValueError, match="50-100 GHz"):
        complex_permittivity("floorboard", 40e9)
    with pytest.raises(ValueError, match="unknown material"):
        complex_permittivity("unobtainium", F77)


def test_metal_reflects_almost_everything() -> None:
    for pol in ("TE", "TM"):
        assert abs(reflection_coefficient("metal", F77, 0.0, pol)) > 0.99
        assert abs(reflection_coefficient("metal", F77, np.deg2rad(60), pol)) > 0.99


def test_glass_normal_incidence_matches_refractive_index() -> None:
    n = np.sqrt(complex_permittivity("glass", F77))
    te = reflection_coefficient("glass", F77, 0.0, "TE")
    tm = reflection_coefficient("glass", F77, 0.0, "TM")
    assert te == pytest.approx((1 - n) / (1 + n), abs=1e-12)
    assert abs(tm) == pytest.approx(abs(te), abs=1e-12)
    assert 0.35 < abs(te) < 0.5


@pytest.mark.parametrize("name", ["glass", "concrete", "plasterboard"])
def test_brewster_dip_in_tm_only(name: str) -> None:
    theta = np.deg2rad(np.linspace(0, 89.5, 1791))
    tm = np.abs(reflection_coefficient(name, F77, theta, "TM"))
    te = np.abs(reflection_coefficient(name, F77, theta, "TE"))
    eps_r = complex_permittivity(name, F77).real
    brewster = np.degrees(np.arctan(np.sqrt(eps_r)))
    k = int(np.argmin(tm))
    assert np.degrees(theta[k]) == pytest.approx(brewster, abs=2.0)
    assert tm[k] < 0.1 * tm[0]
    assert np.all(np.diff(te) >= -1e-12)  # TE grows monotonically toward grazing
    assert te[-1] > 0.9 and tm[-1] > 0.8


def test_bad_polarization() -> None:
    with pytest.raises(ValueError, match="polarization"):
        reflection_coefficient("glass", F77, 0.0, "circular")


def test_skin_matches_gabriel_value_at_60ghz() -> None:
    # Gabriel et al. (1996) dry skin at 60 GHz: 7.98 - j10.90 (as quoted in the mmWave literature).
    eps = complex_permittivity("skin", 60e9)
    assert eps.real == pytest.approx(7.98, rel=0.01)
    assert eps.imag == pytest.approx(-10.90, rel=0.01)
    eps77 = complex_permittivity("skin", F77)
    assert 5.5 < eps77.real < eps.real and -10.9 < eps77.imag < -7.5  # dispersive: falls with f
    assert 0.5 < abs(reflection_coefficient("skin", F77, 0.0)) < 0.7


def test_sionna_names() -> None:
    for name in MMWAVE_MATERIALS:
        assert sionna_name(name) == f"itu_{name}"
    assert sionna_name("skin") == "mmfm_skin"
    with pytest.raises(ValueError, match="carpet"):
        sionna_name("carpet")
    assert set(MMWAVE_MATERIALS) < set(MATERIALS)
