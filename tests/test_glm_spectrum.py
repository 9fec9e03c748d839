"""Hessian-spectrum machinery of generalised-linear losses [P4.1]-[P4.4]."""

import math

import numpy as np
import pytest

from saddlesurf.simulation import GradientDescent, SimulationOptions, simulate
from saddlesurf.theory import (
    JointLaw,
    PhaseRetrieval,
    RegularisedLoss,
    bbp_ratio,
    glm_spectrum,
    initial_law,
)

WISHART = JointLaw.from_gaussians(lambda u: (np.ones_like(u), u, None), 1)


@pytest.mark.parametrize("alpha", [1.5, 4.0, 9.0])
def test_wishart_edges_and_no_outlier(alpha):
    sp = glm_spectrum(WISHART, alpha)
    assert sp.edges[0] == pytest.approx((math.sqrt(alpha) - 1) ** 2, abs=1e-8)
    assert sp.edges[1] == pytest.approx((math.sqrt(alpha) + 1) ** 2, abs=1e-8)
    assert not sp.has_outlier and sp.margin > 0
    assert not glm_spectrum(WISHART, alpha, side="upper").has_outlier


def test_wishart_density_is_marchenko_pastur():
    alpha = 4.0
    lo, hi = (math.sqrt(alpha) - 1) ** 2, (math.sqrt(alpha) + 1) ** 2
    x = np.linspace(lo + 0.05, hi - 0.05, 40)
    mp = np.sqrt((hi - x) * (x - lo)) / (2 * math.pi * x)
    rho = glm_spectrum(WISHART, alpha).density(x)
    np.testing.assert_allclose(rho, mp, atol=1e-7)
    assert glm_spectrum(WISHART, alpha).density([lo - 0.3, hi + 0.3]).max() < 1e-8


def test_u_independent_of_g_never_has_an_outlier():
    law = JointLaw.from_gaussians(lambda a, b: (3 * a * a - 1 + np.tanh(a), b, None), 2)
    for alpha in (0.7, 3.0, 20.0):
        for side in ("lower", "upper"):
            sp = glm_spectrum(law, alpha, side=side)
            assert not sp.has_outlier, sp
    with pytest.raises(ValueError, match="widen the bracket"):
        bbp_ratio(law)


def test_initial_hessian_threshold_is_deterministic():
    # [P4.3]: quadrature, not Monte Carlo; two rules agree far below any physical tolerance
    a8 = bbp_ratio(initial_law(RegularisedLoss(0.01)))
    a12 = bbp_ratio(initial_law(RegularisedLoss(0.01), order=12))
    assert a8 == pytest.approx(a12, abs=1e-10)
    assert a8 == pytest.approx(2.8507519913, abs=1e-9)
    sp = glm_spectrum(initial_law(RegularisedLoss(0.01)), a8)
    assert abs(sp.margin) < 1e-8 * abs(sp.edges[0])


def test_outlier_appears_above_the_threshold():
    law = initial_law(RegularisedLoss(0.01))
    below, above = glm_spectrum(law, 2.5), glm_spectrum(law, 3.5)
    assert not below.has_outlier and above.has_outlier
    assert above.outlier < above.edges[0] and 0 < above.overlap < 1


def test_empirical_atoms_reproduce_the_quadrature():
    # iid atoms of the random-start law, trimmed [P4.3]: alpha_BBP^init within a few percent
    rng = np.random.default_rng(3)
    h, u = rng.standard_normal((2, 400_000))
    loss = RegularisedLoss(0.01)
    emp = JointLaw.from_atoms(loss.d2(h, u * u), u, trim=1e-3)
    exact = bbp_ratio(initial_law(loss))
    assert bbp_ratio(emp) == pytest.approx(exact, rel=0.03)
    boot = [bbp_ratio(emp.resample(rng)) for _ in range(5)]
    assert 0 < np.std(boot) < 0.05 * exact


def _random_start_hessian(alpha, n, n_samples):
    r = simulate(PhaseRetrieval(alpha), n, t_max=1e-9, n_samples=n_samples,
                 algorithm=GradientDescent(step=1e-9),
                 options=SimulationOptions(hessian_times=(0.0,), n_eigenvectors=1, n_times=1),
                 rng=1)
    # eigenvalues of W = Hessian + nu, nu = -mu(0) [P4.1]: removes the sample-to-sample shift
    w = r.hessian_eigenvalues[:, 0, 0] - r.mu[:, 0]
    return w, r.hessian_overlaps[:, 0, 0]


def _sem(x):
    return np.std(x, ddof=1) / math.sqrt(x.size)


def test_random_start_outlier_matches_finite_n():
    law = initial_law(RegularisedLoss(0.01))
    sp = glm_spectrum(law, 6.0)
    w, ov = _random_start_hessian(6.0, 500, 16)
    assert abs(w.mean() - sp.outlier) < 3 * _sem(w) + 0.02 * sp.outlier
    assert abs(ov.mean() - sp.overlap) < 3 * _sem(ov) + 0.01


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [6.0, 8.0])
def test_random_start_outlier_large_n(alpha):
    """Acceptance of issue 5: N = 500 -> 2000, lowest eigenvalue approaches the prediction."""
    sp = glm_spectrum(initial_law(RegularisedLoss(0.01)), alpha)
    gaps = []
    for n, ns in ((500, 16), (2000, 4)):
        w, ov = _random_start_hessian(alpha, n, ns)
        gaps.append(abs(w.mean() - sp.outlier))
        assert abs(w.mean() - sp.outlier) < 3 * _sem(w) + 0.02 * sp.outlier
        assert abs(ov.mean() - sp.overlap) < 3 * _sem(ov) + 0.01
    assert gaps[1] < gaps[0]
