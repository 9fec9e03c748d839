"""Finite-N spiked matrix-tensor simulator [S1.2], [S2], [S6] against the large-N theory."""

import itertools
import math

import numpy as np
import pytest

from saddlesurf.simulation import (
    GradientFlow,
    Langevin,
    SimulationError,
    SimulationOptions,
    simulate,
)
from saddlesurf.simulation.spherical import _kernels as kernels
from saddlesurf.simulation.spherical.sample import _data
from saddlesurf.theory import SpikedMatrixTensor, solve_dmft, threshold_state

EASY = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)
TIMES = (1.0, 2.0, 5.0)


@pytest.mark.parametrize("p", [3, 4])
def test_packed_gradient_and_hessian_match_the_dense_tensor(p):
    """The packed one-pass gradient equals the gradient of the dense symmetric tensor."""
    n = 7
    model = SpikedMatrixTensor(p, 0.5, 0.8)
    rng = np.random.default_rng(0)
    xs, J, w = _data(model, n, rng, True)
    dense = np.zeros((n,) * p)
    idx = np.zeros(p, dtype=int)
    for e in range(w.size):  # unpack: each ordering carries w / (number of orderings)
        perms = set(itertools.permutations(idx))
        for q in perms:
            dense[q] = w[e] / len(perms)
        kernels._advance(idx, n)
    x = rng.standard_normal(n)
    g = np.empty(n)
    h2, hp = kernels.gradient(J, w, p, x, g)
    contract = dense
    for _ in range(p - 1):
        contract = contract @ x
    assert hp == pytest.approx(-(contract @ x), rel=1e-12)
    assert h2 == pytest.approx(-0.5 * x @ J @ x, rel=1e-12)
    np.testing.assert_allclose(g, -J @ x - p * contract, rtol=1e-11, atol=1e-12)
    hess = np.empty((n, n))
    kernels.hessian(J, w, p, x, hess)
    second = dense
    for _ in range(p - 2):
        second = second @ x
    np.testing.assert_allclose(hess, -J - p * (p - 1) * second, rtol=1e-11, atol=1e-12)


def test_all_index_convention_has_the_exact_covariance_at_small_n():
    """[S1.2]: the noise part of H (H + N Q(m), the signal removed per instance) has
    Cov[H(x), H(y)] = N Q(x.y/N) at N = 6 in the all-index convention, not in the distinct one."""
    n, model = 6, SpikedMatrixTensor(3, 0.7, 0.5)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n)
    x *= math.sqrt(n) / np.linalg.norm(x)
    y = 0.6 * x + 0.5 * rng.standard_normal(n)
    y *= math.sqrt(n) / np.linalg.norm(y)
    q = x @ y / n
    stats = {}
    for all_index in (True, False):
        rng_i = np.random.default_rng(2)
        hx, hy = [], []
        for _ in range(4000):
            xs, J, w = _data(model, n, rng_i, all_index)
            signal = [-n * model.Q(point @ xs / n) for point in (x, y)]
            hx.append(sum(kernels.gradient(J, w, 3, x, np.empty(n))) - signal[0])
            hy.append(sum(kernels.gradient(J, w, 3, y, np.empty(n))) - signal[1])
        hx, hy = np.array(hx), np.array(hy)
        stats[all_index] = (np.var(hx), np.mean(hx * hy))
    var, cov = stats[True]
    assert var == pytest.approx(n * model.Q(1.0), rel=0.06)
    assert cov == pytest.approx(n * model.Q(q), rel=0.08)
    assert abs(stats[False][0] / (n * model.Q(1.0)) - 1) > 0.3  # distinct indices: biased


@pytest.fixture(scope="module")
def dmft_easy():
    return solve_dmft(EASY, 5.0, m0=0.2, dt=0.005, scheme="heun", store_two_time=False)


def _at(result, ts):
    return np.array([np.interp(t, result.times, result.m) for t in ts]), np.array(
        [np.interp(t, result.times, result.e) for t in ts])


def test_easy_phase_ensemble_matches_dmft_within_3_sem(dmft_easy):
    """Acceptance: N = 200, warm start m0 = 0.2; m and e at t = 1, 2, 5 within 3 SEM."""
    res = simulate(EASY, 200, t_max=5.0, n_samples=10, start="warm", m0=0.2, rng=11,
                   algorithm=GradientFlow(dt=0.02), options=SimulationOptions(times=TIMES))
    m_th, e_th = _at(dmft_easy, TIMES)
    for name, theory in (("m", m_th), ("e", e_th)):
        s = res.summary(name)
        z = (s["mean"][1:] - theory) / s["sem"][1:]
        assert np.all(np.abs(z) < 3), (name, z)
    assert res.m[:, 0] == pytest.approx(0.2, abs=1e-12)


def test_all_index_convention_removes_the_finite_n_bias(dmft_easy):
    """Acceptance: at N = 40 the all-index mean deviates less from the theory than the
    distinct-index one (same seeds, so the two ensembles share their random draws)."""
    m_th, e_th = _at(dmft_easy, TIMES)
    deviation = {}
    for convention in ("all", "distinct"):
        res = simulate(EASY, 40, t_max=5.0, n_samples=150, start="warm", m0=0.2, rng=12,
                       algorithm=GradientFlow(dt=0.02),
                       options=SimulationOptions(times=TIMES, convention=convention))
        deviation[convention] = (np.abs(res.m.mean(0)[1:] - m_th).mean()
                                 + np.abs(res.e.mean(0)[1:] - e_th).mean())
    assert deviation["all"] < 0.6 * deviation["distinct"], deviation


def test_hessian_at_an_easy_phase_minimum():
    """[S4.2]: at a converged GF minimum the tangent Hessian is positive and its lower bulk edge
    sits at mu - 2 sqrt(Q''(1)) up to the Tracy-Widom scale ~ sqrt(Q''(1)) N^(-2/3)."""
    n = 200
    res = simulate(EASY, n, t_max=20.0, n_samples=3, start="warm", m0=0.5, rng=13,
                   algorithm=GradientFlow(dt=0.025),
                   options=SimulationOptions(n_times=4, hessian_times=(math.inf,)))
    eig = res.hessian_eigenvalues[:, 0, :]
    assert eig.shape == (3, n - 1)
    assert np.all(eig[:, 0] >= 0)
    s = math.sqrt(EASY.d2Q(1.0))
    edge = res.mu[:, -1] - 2 * s
    scale = s * n ** (-2 / 3)  # Tracy-Widom: mean offset ~1.2, spread ~1.3 in these units
    offset = eig[:, 0] - edge
    assert abs(offset.mean()) < 4 * scale and np.all(np.abs(offset) < 6 * scale), offset / scale
    # the semicircle's first two moments: centre mu and variance Q''(1)
    assert np.all(np.abs(eig.mean(1) - res.mu[:, -1]) < 0.05)
    assert np.all(np.abs(eig.var(1) / s**2 - 1) < 0.06)
    assert res.hessian_overlaps.shape == (3, 1, 3)


def test_hard_phase_random_start_stays_at_small_overlap_and_ages_toward_e_th():
    """[S4.3]: 1/Delta2 = 1, half the GF threshold 2 at p = 3, Delta_p = 1."""
    hard = SpikedMatrixTensor(3, 1.0, 1.0)
    n = 100
    res = simulate(hard, n, t_max=50.0, n_samples=6, rng=14, algorithm=GradientFlow(dt=0.02),
                   options=SimulationOptions(n_times=12))
    assert np.abs(res.m).max(axis=1).mean() < 3 / math.sqrt(n)
    assert np.abs(res.m).max() < 0.5 and not res.success.any()
    e = res.summary("e")["mean"]
    assert np.all(np.diff(e) < 0)
    e_th = threshold_state(hard).energy_aging
    assert 0 < e[-1] - e_th < 0.1, (e[-1], e_th)


def test_langevin_at_t1_reaches_the_bayes_energy():
    """T = 1 samples the posterior [S2]: e -> -Q(1) (Nishimori) within a few SEM."""
    res = simulate(EASY, 60, t_max=8.0, n_samples=8, start="warm", m0=0.5, rng=15,
                   algorithm=Langevin(temperature=1.0, dt=0.002),
                   options=SimulationOptions(times=(6.0, 7.0, 8.0)))
    e = res.e[:, 1:].mean(axis=1)
    assert abs(e.mean() + EASY.Q(1.0)) < 4 * e.std(ddof=1) / math.sqrt(e.size) + 0.02


def test_heun_is_second_order_in_dt():
    """Same sample, dt = 0.04, 0.02, 0.01: successive differences of m(2) shrink by ~4."""
    ms = []
    for dt in (0.04, 0.02, 0.01):
        res = simulate(EASY, 50, t_max=2.0, n_samples=1, start="warm", m0=0.3, rng=16,
                       algorithm=GradientFlow(dt=dt), options=SimulationOptions(times=(2.0,)))
        ms.append(res.m[0, -1])
    ratio = (ms[0] - ms[1]) / (ms[1] - ms[2])
    assert 3.3 < ratio < 4.7, ratio


def test_spiked_input_errors():
    with pytest.raises(ValueError, match="p must be an integer >= 3"):
        SpikedMatrixTensor(2, 1.0, 1.0)
    with pytest.raises(ValueError, match="n .* >= 2"):
        simulate(EASY, 1, t_max=1.0)
    with pytest.raises(ValueError, match="m0"):
        simulate(EASY, 20, t_max=1.0, start="warm", m0=1.0)
    with pytest.raises(ValueError, match="m0"):
        simulate(EASY, 20, t_max=1.0, start="warm", m0=-0.1)
    with pytest.raises(ValueError, match="GradientFlow.dt"):
        GradientFlow(dt=0.0)
    with pytest.raises(ValueError, match="t_max"):
        simulate(EASY, 20, t_max=-1.0)
    with pytest.raises(ValueError, match="projected"):
        simulate(EASY, 20, t_max=1.0, start="projected")
    with pytest.raises(SimulationError, match=r"sample 0: the step 1 is unstable"):
        simulate(EASY, 30, t_max=20.0, algorithm=GradientFlow(dt=1.0), rng=1)


def test_every_step_is_checked_for_descent():
    """dt = 5 used to return "ok" (e = -1.11 where the energy is ~ -2.1): the recordings happened
    to descend. Every step is checked now."""
    with pytest.raises(SimulationError, match=r"sample 0: the step 5 is unstable: the energy "
                                              r"density rose from .*last good time t = 10"):
        simulate(EASY, 30, t_max=20.0, algorithm=GradientFlow(dt=5.0), rng=1, workers=1)


def test_the_result_records_the_step_that_ran():
    res = simulate(EASY, 20, t_max=0.1, rng=1)
    assert res.algorithm == {"type": "GradientFlow", "scheme": "heun", "dt": 0.01, "tol": 1e-6}
    with pytest.raises(MemoryError, match="bytes"):
        simulate(EASY, 20000, t_max=1.0)


def test_p4_ensemble_follows_the_theory():
    """p = 4 (packed i <= j <= k <= l tensor): N = 50 ensemble mean of e and m at t = 0.5, 1
    against the DMFT within 4 SEM."""
    model = SpikedMatrixTensor(4, 0.4, 0.5)
    theory = solve_dmft(model, 1.0, m0=0.4, dt=0.005, scheme="heun", store_two_time=False)
    res = simulate(model, 50, t_max=1.0, n_samples=16, start="warm", m0=0.4, rng=17,
                   algorithm=GradientFlow(dt=0.01), options=SimulationOptions(times=(0.5, 1.0)))
    for name in ("m", "e"):
        s = res.summary(name)
        th = np.interp(res.times[1:], theory.times, getattr(theory, name))
        assert np.all(np.abs(s["mean"][1:] - th) < 4 * s["sem"][1:]), (name, s["mean"], th)


def test_stop_at_escape_keeps_the_escape_and_records_c0():
    """stop_at_escape ends each sample at its escape: same escape times as the full run
    (same streams), NaN recordings afterwards, final |m| at the level; C(t, 0) starts at 1."""
    model = SpikedMatrixTensor(p=3, delta2=1 / 2.6, delta_p=1.0)
    kw = dict(t_max=40.0, n_samples=6, algorithm=GradientFlow(dt=0.05), rng=3, workers=1)
    full = simulate(model, 40, options=SimulationOptions(n_times=8), **kw)
    stop = simulate(model, 40, options=SimulationOptions(n_times=8, stop_at_escape=True), **kw)
    assert np.array_equal(full.escape_time, stop.escape_time)
    assert full.success.any()
    for i in np.flatnonzero(stop.success):
        after = stop.times > stop.escape_time[i]
        assert np.all(np.isnan(stop.m[i, after])) and stop.stop_reason[i] == 1
        assert 0.5 <= abs(stop.final_m[i]) < 0.6 and stop.stop_time[i] < full.stop_time[i]
    assert np.all(full.c0[:, 0] == pytest.approx(1.0, abs=1e-12))
    assert np.all(np.abs(full.c0) <= 1 + 1e-12)


@pytest.mark.parametrize("p", [3, 4])
def test_success_is_the_signal_side_for_odd_p(p):
    """Random starts escape toward both signs of m. For p = 4 (x -> -x symmetric) every escape
    is a success; for p = 3 the escapes to negative m end at spurious minima and are not."""
    model = SpikedMatrixTensor(p=p, delta2=1 / 2.6, delta_p=1.0)
    res = simulate(model, 40, t_max=40.0, n_samples=16, algorithm=GradientFlow(dt=0.05), rng=5,
                   workers=1, options=SimulationOptions(n_times=2, stop_at_escape=True))
    escaped = np.isfinite(res.escape_time)
    assert (escaped & (res.final_m > 0)).any() and (escaped & (res.final_m < 0)).any()
    expected = escaped if p % 2 == 0 else escaped & (res.final_m > 0)
    assert np.array_equal(res.success, expected)
