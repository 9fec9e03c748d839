"""Kac-Rice complexity [S4.1]-[S4.4] and threshold states [S4.3]."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from saddlesurf.theory import (
    MixedSpherical,
    SpikedMatrixTensor,
    complexity,
    gradient_flow_fixed_point,
    minimum_mu,
    threshold_state,
    thresholds,
)
from saddlesurf.theory.spherical.kac_rice import _dphi, _Lib, _phi

DOUBLE = _Lib("double", 0)


@pytest.mark.parametrize("mu", [0.0, 1.3, 2.0, 2.5, 4.0, -3.0])
def test_semicircle_log_potential_matches_quadrature(mu):
    """Phi_s(mu) = int ln|l + mu| rho_sc(l) dl, radius 2s [S4.1]; and its derivative."""
    s = 1.0

    def rho(l):
        return math.sqrt(max(4 * s * s - l * l, 0.0)) / (2 * math.pi * s * s)

    val, _ = quad(lambda l: math.log(abs(l + mu)) * rho(l), -2 * s, 2 * s,
                  points=[-mu] if abs(mu) < 2 * s else None, limit=200)
    assert _phi(mu, s, DOUBLE) == pytest.approx(val, abs=1e-9)
    h = 1e-6  # left difference: Phi'' jumps at the edge |mu| = 2s
    num = (_phi(mu, s, DOUBLE) - _phi(mu - h, s, DOUBLE)) / h
    assert _dphi(mu, s, DOUBLE) == pytest.approx(num, abs=2e-6)


@pytest.mark.parametrize("p", [3, 4, 5])
@pytest.mark.parametrize("precision", ["double", "mpmath"])
def test_pure_p_spin_total_and_minima_complexity(p, precision):
    """Total: 1/2 ln(p-1); minima (Auffinger-Ben Arous-Cerny): 1/2 ln(p-1) - (p-2)/p."""
    model = MixedSpherical(noise={p: 0.5})
    total = complexity(model, 0.0, minima=False, precision=precision)
    minima = complexity(model, 0.0, precision=precision)
    assert total.sigma == pytest.approx(0.5 * math.log(p - 1), abs=1e-13)
    assert total.mu == pytest.approx(0.0, abs=1e-12)
    assert minima.sigma == pytest.approx(0.5 * math.log(p - 1) - (p - 2) / p, abs=1e-13)
    # minima at the threshold: mu = 2s, energy = e_th
    ts = threshold_state(model)
    assert minima.mu == pytest.approx(ts.mu, abs=1e-12)
    assert minima.energy == pytest.approx(ts.energy_aging, abs=1e-12)


def test_threshold_energies_of_the_spec():
    """[S4.3] pure p-spin values and the mixture where the two energies differ."""
    cases = [({3: 1.0}, -2 * math.sqrt(2 / 3)), ({4: 1.0}, -2 * math.sqrt(3 / 4)),
             ({3: 0.5}, -math.sqrt(4 / 3)), ({3: 1 / 3}, -2 * math.sqrt(2) / 3)]
    for noise, value in cases:
        ts = threshold_state(MixedSpherical(noise=noise))
        assert ts.energy_aging == pytest.approx(value, abs=1e-13)
        assert ts.energy_marginal_kac_rice == pytest.approx(value, abs=1e-13)
    assert threshold_state(MixedSpherical(noise={3: 1.0})).energy_aging == pytest.approx(
        -1.63299, abs=5e-6)
    mix = threshold_state(MixedSpherical(noise={2: 0.5, 3: 0.5}))
    # a = 1, b = 2.5, c = 4: e_th = -(6.25 + 1.5)/(2.5*2) = -1.55; eps(0, 2s) = -2*2*2.5/6.5
    assert mix.energy_aging == pytest.approx(-1.55, abs=1e-14)
    assert mix.energy_marginal_kac_rice == pytest.approx(-10 / 6.5, abs=1e-14)


def test_energy_maximisation_is_consistent():
    """Sigma(m, mu) = max over eps of Sigma(m, eps, mu), reached at eps(m, mu) [S4.1]."""
    model = SpikedMatrixTensor(3, 0.5, 1.5)
    m, mu = 0.3, 3.7
    at = complexity(model, m, mu=mu)
    eps = np.linspace(at.energy - 0.2, at.energy + 0.2, 401)
    full = np.array([complexity(model, m, mu=mu, energy=e).sigma for e in eps])
    assert full.max() <= at.sigma + 1e-14
    assert complexity(model, m, mu=mu, energy=at.energy).sigma == pytest.approx(at.sigma,
                                                                                 abs=1e-14)


@pytest.mark.parametrize("model", [SpikedMatrixTensor(3, 0.25, 1.0),
                                   SpikedMatrixTensor(4, 0.3, 2.0)])
def test_planted_minimum_has_zero_complexity_at_the_dmft_fixed_point(model):
    """The easy-phase GF end point [S3.3] is the single minimum at m*: Sigma_min(m*) = 0 with
    the maximising (mu, eps) equal to (mu*, e*)."""
    fp = gradient_flow_fixed_point(model)
    r = complexity(model, fp.m)
    assert r.sigma == pytest.approx(0.0, abs=1e-13)
    assert r.mu == pytest.approx(fp.mu, abs=1e-11)
    assert r.energy == pytest.approx(fp.e, abs=1e-11)


def test_outlier_condition_is_enforced():
    """With theta(m) > s the minima need mu >= theta + s^2/theta > 2s [S4.2]."""
    model = SpikedMatrixTensor(3, 1 / 3.0, 1.0)  # theta(0) = 3 > s = sqrt(5)
    s = math.sqrt(model.d2Q(1.0))
    assert minimum_mu(model, 0.0) == pytest.approx(3.0 + s * s / 3.0, abs=1e-14)
    assert minimum_mu(model, 0.0) > 2 * s
    below = SpikedMatrixTensor(3, 1 / 1.5, 1.0)
    assert minimum_mu(below, 0.0) == pytest.approx(2 * math.sqrt(below.d2Q(1.0)), abs=1e-14)


@pytest.mark.parametrize("p, delta_p", [(3, 1.0), (3, 0.3), (4, 2.0)])
def test_trivialisation_sign_change_and_no_spurious_minima_above(p, delta_p):
    x = thresholds(p, delta_p).triv
    below = complexity(SpikedMatrixTensor(p, 1 / (x * (1 - 1e-4)), delta_p), 0.0).sigma
    above = complexity(SpikedMatrixTensor(p, 1 / (x * (1 + 1e-4)), delta_p), 0.0).sigma
    assert below > 0 > above
    # [S4.4] closed form with the outlier active, theta = 1/Delta2 = x
    model = SpikedMatrixTensor(p, 1 / x, delta_p)
    b, c = model.dQ(1.0), model.d2Q(1.0)
    closed = (0.5 - 0.5 * math.log(b) - (x + c / x) ** 2 / (2 * (b + c)) + c / (2 * x * x)
              + math.log(x))
    assert closed == pytest.approx(0.0, abs=1e-12)
    # just above: no spurious minimum at any m; Sigma_min touches 0 only at the planted one
    model = SpikedMatrixTensor(p, 1 / (x * 1.01), delta_p)
    m_star = gradient_flow_fixed_point(model).m
    ms = np.linspace(0.0, 0.999, 2000)
    sig = complexity(model, ms).sigma
    away = np.abs(ms - m_star) > 0.02
    assert np.all(sig[away] < 0)
    assert sig.max() < 1e-6


def test_mpmath_reference_agrees_with_double():
    d = thresholds(3, 0.7)
    r = thresholds(3, 0.7, precision="mpmath", dps=40)
    assert r.triv == pytest.approx(d.triv, abs=1e-12)
    assert r.it == pytest.approx(d.it, abs=1e-9)
    model = SpikedMatrixTensor(3, 0.45, 0.7)
    a = complexity(model, [0.0, 0.2, 0.5])
    b = complexity(model, [0.0, 0.2, 0.5], precision="mpmath")
    assert np.allclose(a.sigma, b.sigma, atol=1e-13, rtol=0)


def test_invalid_complexity_input():
    model = SpikedMatrixTensor(3, 0.5, 1.0)
    with pytest.raises(ValueError, match="m must"):
        complexity(model, 1.0)
    with pytest.raises(ValueError, match="m must"):
        complexity(model, float("nan"))
    with pytest.raises(ValueError, match="energy needs mu"):
        complexity(model, 0.0, energy=-1.0)
    with pytest.raises(ValueError, match="m must"):
        minimum_mu(model, -0.1)
    with pytest.raises(ValueError, match="precision"):
        complexity(model, 0.0, precision="quad")
