"""DMFT of phase retrieval [P6]: exact limits, invariants, validation point, checkpoints."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from saddlesurf.theory import (
    BoundedLoss,
    CustomLoss,
    DMFTConvergenceError,
    PhaseRetrieval,
    PRDMFTOptions,
    PRDMFTResult,
    RegularisedLoss,
    solve_dmft,
)

VALIDATION = PhaseRetrieval(3.0, BoundedLoss())  # [P6] validation point, t = 1.5, m0 = 0.2


@pytest.fixture(scope="module")
def validation():
    return solve_dmft(VALIDATION, 1.5, m0=0.2, options=PRDMFTOptions(n_times=40), rng=1)


def test_invariants(validation):
    r = validation
    np.testing.assert_allclose(np.diag(r.C), 1.0, atol=1e-12)  # C(t,t) = 1
    np.testing.assert_array_equal(r.C, r.C.T)
    np.testing.assert_allclose(np.diag(r.R), 1.0, atol=1e-12)  # R(t+,t) = 1
    assert np.all(np.triu(r.R, 1) == 0)  # causality
    assert r.m[0] == 0.2 and np.all(np.isfinite(r.lam)) and r.status == "success"
    np.testing.assert_allclose(r.test_error, 4 * (1 - r.m**2))


def test_validation_point(validation):
    """[P6]: simulation N = 12000 gives m = 0.295 +- 0.002, C(t,0) = 0.793, lambda = -0.096
    (with strong finite-N effects: -0.111 at N = 4000). At S = 2e4 lambda's own error is ~10%,
    hence the Monte Carlo allowance here; the acceptance margins without it are checked at
    S = 1.2e5 by test_validation_point_resolves_lambda (slow)."""
    r = validation
    err = r.mc_error
    assert abs(r.m[-1] - 0.295) < 0.02 * 0.295 + 2 * err["m"][-1]
    assert abs(r.C0[-1] - 0.793) < 0.02 * 0.793 + 2 * err["C0"][-1]
    assert abs(r.lam[-1] + 0.096) < 0.1 * 0.096 + 3 * err["lam"][-1]
    assert 0 < err["m"][-1] < 0.03 and 0 < err["C0"][-1] < 0.01


def test_two_seeds_agree_within_reported_error(validation):
    other = solve_dmft(VALIDATION, 1.5, m0=0.2, options=PRDMFTOptions(n_times=40), rng=2)
    for key, a, b in (("m", validation.m, other.m), ("C0", validation.C0, other.C0),
                      ("lam", validation.lam, other.lam)):
        sigma = math.hypot(validation.mc_error[key][-1], other.mc_error[key][-1])
        assert abs(a[-1] - b[-1]) < 3 * sigma, key


@pytest.mark.slow
def test_validation_point_resolves_lambda():
    """[P6] at the precision the acceptance asks for. Each path contributes -alpha l'(h) h with
    a spread of ~1.5, and the responses of paths that linger where l'' < 0 are heavy-tailed, so
    lambda needs S ~ 1e5: two seeds at S = 1.2e5 (-0.0985 +- 0.009, -0.110 +- 0.004) agree
    within their errors, and their mean is within 2% (m, C) and 10% (lambda) of the N = 12000
    simulation. benchmarks/phase_retrieval/validation.py has the table against simulations at
    N <= 4000."""
    opts = PRDMFTOptions(n_times=40, n_paths=120_000)
    runs = [solve_dmft(VALIDATION, 1.5, m0=0.2, options=opts, rng=seed) for seed in (1, 2)]
    pooled = {}
    for key in ("m", "C0", "lam"):
        v = [getattr(r, key)[-1] for r in runs]
        e = [r.mc_error[key][-1] for r in runs]
        assert abs(v[0] - v[1]) < 3 * math.hypot(*e), key
        pooled[key] = (0.5 * (v[0] + v[1]), 0.5 * math.hypot(*e))
    assert pooled["lam"][1] < 0.1 * 0.096  # resolves the 10% statement
    assert abs(pooled["m"][0] - 0.295) < 0.02 * 0.295
    assert abs(pooled["C0"][0] - 0.793) < 0.02 * 0.793
    assert abs(pooled["lam"][0] + 0.096) < 0.1 * 0.096


def test_quasi_monte_carlo_cuts_the_error_of_m_and_c(validation):
    """Scrambled Sobol' points on the principal axes of C - m m^T: the same fixed point within
    the Monte Carlo error, with a reported error (independent scramblings) well below it."""
    qmc = solve_dmft(VALIDATION, 1.5, m0=0.2, options=PRDMFTOptions(n_times=40, sampling="qmc"),
                     rng=1)
    for key, a, b in (("m", validation.m, qmc.m), ("C0", validation.C0, qmc.C0)):
        err = validation.mc_error[key][-1]
        assert abs(a[-1] - b[-1]) < 2 * err, key
        assert 0 < qmc.mc_error[key][-1] < 0.6 * err, key


def _mp_laplace(alpha, c, t):
    """phi(t) = int rho_MP(x) e^{-c x t} dx for W = (1/N) sum_mu a a^T, alpha = M/N > 1."""
    lo, hi = (1 - math.sqrt(alpha)) ** 2, (1 + math.sqrt(alpha)) ** 2
    rho = lambda x: math.sqrt(max((hi - x) * (x - lo), 0.0)) / (2 * math.pi * x)  # noqa: E731
    return quad(lambda x: rho(x) * math.exp(-c * x * t), lo, hi)[0]


def test_quadratic_loss_is_exact():
    """l = c h^2/2: x(t) ~ exp(-c W t) x(0) on the sphere, so m(t) = m0 phi(t)/sqrt(phi(2t)) and
    C(t, 0) = phi(t)/sqrt(phi(2t)) with the Marchenko-Pastur Laplace transform phi."""
    c, alpha, m0 = 1.0, 3.0, 0.2
    loss = CustomLoss("quadratic", lambda h, y, p: 0.5 * p[0] * h * h,
                      lambda h, y, p: p[0] * h, lambda h, y, p: p[0] + 0.0 * h, (c,))
    r = solve_dmft(PhaseRetrieval(alpha, loss), 1.5, m0=m0,
                   options=PRDMFTOptions(n_times=21, n_paths=40_000, n_batches=4), rng=4)
    for i in (7, 20):
        t = r.times[i]
        c0 = _mp_laplace(alpha, c, t) / math.sqrt(_mp_laplace(alpha, c, 2 * t))
        assert abs(r.C0[i] - c0) < 0.01 + 2 * r.mc_error["C0"][i]
        assert abs(r.m[i] - m0 * c0) < 3 * r.mc_error["m"][i] + 0.005
    # lambda(0) = -alpha c E[h^2] = -alpha c
    assert r.lam[0] == pytest.approx(-alpha * c, abs=4 * r.mc_error["lam"][0] + 0.02)


def test_persistent_sgd_with_all_samples_is_gradient_flow():
    opts = PRDMFTOptions(n_times=12, n_paths=2000, n_batches=0)
    gd = solve_dmft(VALIDATION, 0.5, m0=0.2, options=opts, rng=3)
    psgd = solve_dmft(VALIDATION, 0.5, m0=0.2, batch_fraction=1.0, persistence=0.3,
                      options=opts, rng=3)
    np.testing.assert_array_equal(gd.m, psgd.m)
    part = solve_dmft(VALIDATION, 0.5, m0=0.2, batch_fraction=0.5, persistence=0.3,
                      options=opts, rng=3)
    assert abs(part.m[-1] - gd.m[-1]) > 1e-4 and np.allclose(np.diag(part.C), 1)


def test_langevin_shifts_lambda_by_t():
    opts = PRDMFTOptions(n_times=12, n_paths=2000, n_batches=0)
    hot = solve_dmft(VALIDATION, 0.5, m0=0.2, temperature=0.5, options=opts, rng=3)
    cold = solve_dmft(VALIDATION, 0.5, m0=0.2, options=opts, rng=3)
    # h(0) has the same law at both temperatures: lambda(0) differs by T up to Monte Carlo noise
    assert hot.lam[0] - cold.lam[0] == pytest.approx(0.5, abs=0.06)
    # with noise the correlation with the start decays faster
    assert hot.C0[-1] < cold.C0[-1]


def test_save_load_and_law(tmp_path):
    r = solve_dmft(VALIDATION, 0.5, m0=0.0, options=PRDMFTOptions(
        n_times=12, n_paths=2000, n_batches=2, law_times=(0.5,)), rng=5)
    assert np.abs(r.m).max() < 1e-15  # m = 0 is an exact fixed point [P6]
    stem = r.save(tmp_path / "res")
    back = PRDMFTResult.load(stem)
    for k in ("times", "m", "lam", "e", "C", "R", "law_h", "h_star", "y"):
        np.testing.assert_array_equal(getattr(back, k), getattr(r, k))
    assert back.mc_error.keys() == r.mc_error.keys() and back.model == r.model
    law = back.law(0.5)
    assert law.g.size == 2000 and law.kind == "empirical"


@pytest.mark.parametrize("sampling", ["mc", "qmc"])
def test_checkpoint_resume_equals_uninterrupted(tmp_path, sampling):
    opts = dict(n_times=20, n_paths=2000, n_batches=0, tol=1e-9, sampling=sampling)
    ref = solve_dmft(VALIDATION, 1.0, m0=0.2, options=PRDMFTOptions(**opts), rng=7)
    ck = tmp_path / "ck"
    with pytest.raises(DMFTConvergenceError, match="max_iter") as info:
        solve_dmft(VALIDATION, 1.0, m0=0.2, options=PRDMFTOptions(**opts, max_iter=5), rng=7,
                   checkpoint=ck)
    assert info.value.result.status == "failed"
    assert ck.with_suffix(".npz").exists()  # the last state is kept on disk
    resumed = solve_dmft(VALIDATION, 1.0, m0=0.2, options=PRDMFTOptions(**opts), rng=7,
                         checkpoint=ck)
    np.testing.assert_array_equal(resumed.m, ref.m)
    np.testing.assert_array_equal(resumed.C, ref.C)
    with pytest.raises(ValueError, match="different run"):
        solve_dmft(VALIDATION, 1.0, m0=0.3, options=PRDMFTOptions(**opts), rng=7,
                   checkpoint=ck)


@pytest.mark.parametrize("kwargs, match", [
    (dict(m0=1.0), "m0"), (dict(m0=-0.1), "m0"), (dict(temperature=-1.0), "temperature"),
    (dict(batch_fraction=0.5), "persistence"), (dict(persistence=-1.0), "persistence"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_dmft(VALIDATION, 1.0, **kwargs)


def test_bad_loss_and_options():
    with pytest.raises(ValueError, match="finite"):
        CustomLoss("bad", lambda h, y, p: 1.0 / (h * h), lambda h, y, p: -2.0 / h ** 3,
                   lambda h, y, p: 6.0 / h ** 4)
    with pytest.raises(ValueError, match="n_paths"):
        PRDMFTOptions(n_paths=101)
    with pytest.raises(ValueError, match="damping"):
        PRDMFTOptions(damping=1.0)


def test_non_convergence_is_reported():
    with pytest.raises(DMFTConvergenceError, match="max_iter"):
        solve_dmft(PhaseRetrieval(3.0, RegularisedLoss()), 1.0, m0=0.2,
                   options=PRDMFTOptions(n_times=12, n_paths=500, max_iter=2, n_batches=0))
