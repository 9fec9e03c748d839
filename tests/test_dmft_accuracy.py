"""Accuracy of the spherical DMFT [S3.1]: defaults, order, error estimates, guards, arguments.

The reference of each case is the "extrapolated" scheme at rtol = 1e-10 (five trapezoid
levels, order 8); its own estimate is asserted below 1e-7 before it is used.
"""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from saddlesurf.theory import (
    AccuracyWarning,
    DMFTOptions,
    IntegrationError,
    SpikedMatrixTensor,
    gradient_flow_fixed_point,
    solve_dmft,
)
from saddlesurf.theory.spherical import _dmft_kernels
from saddlesurf.theory.spherical import dmft as _dmft

EASY = SpikedMatrixTensor(3, 0.25, 1.0)
CASES = {  # model, temperature, m0: the four cases of the accuracy target
    "easy": (EASY, 0.0, 0.1),
    "hard": (SpikedMatrixTensor(3, 1 / 1.2, 1.0), 0.0, 1e-6),
    "p4": (SpikedMatrixTensor(4, 0.25, 1.0), 0.0, 0.1),
    "langevin": (EASY, 1.0, 0.1),
}
TIMES = (1.0, 2.0, 5.0, 10.0)


def _at(result, times=TIMES):
    k = [int(round(t / result.options.dt)) for t in times]
    assert np.allclose(result.times[k], times, atol=1e-9)
    return np.array([[result.m[i], result.mu[i], result.e[i]] for i in k])


def _reference(case, t_max=10.0, dt=None):
    model, T, m0 = CASES[case]
    ref = solve_dmft(model, t_max, m0=m0, temperature=T, rtol=1e-10, store_two_time=False,
                     dt=dt)
    assert max(ref.error_estimate.values()) < 1e-7, ref.error_estimate
    return ref


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_defaults_are_within_1e_4_of_the_converged_reference(case):
    model, T, m0 = CASES[case]
    ref = _reference(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        res = solve_dmft(model, 10.0, m0=m0, temperature=T)
    err = np.abs(_at(res) - _at(ref))
    assert err.max() <= 1e-4, err
    # the reported estimate is an honest bound of the same size (measured 1.0-3.6x the error)
    full = max(np.max(np.abs(getattr(res, q) - getattr(ref, q))) for q in ("m", "mu", "e"))
    est = max(res.error_estimate.values())
    assert full <= est <= 10 * full, (full, est)


def test_extrapolated_default_lands_on_the_closed_form_fixed_point():
    """[S3.3]: m*, mu*, e* of the easy phase; the distance at t = 10 is the physical relaxation
    (m ~ 1e-8 still moving), not a dt-dependent offset, and e is exact to 1e-9."""
    fp = gradient_flow_fixed_point(EASY)
    res = solve_dmft(EASY, 10.0, m0=0.1)
    assert abs(res.m[-1] - fp.m) < 1e-6
    assert abs(res.mu[-1] - fp.mu) < 1e-5
    assert abs(res.e[-1] - fp.e) < 1e-5
    deeper = solve_dmft(EASY, 10.0, m0=0.1, rtol=1e-8, store_two_time=False)
    assert abs(deeper.e[-1] - fp.e) < 1e-9 and abs(deeper.mu[-1] - fp.mu) < 1e-7


def _fixed_level_errors(ref, levels):
    """Max error at t = 2, 5, 10 of T[L][L-1] with L = levels, for h = 0.1, 0.05."""
    errs = []
    for h in (0.1, 0.05):
        opts = DMFTOptions(dt=h, rtol=1e-12, max_levels=levels, store_two_time=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)  # rtol unreachable on purpose
            res = solve_dmft(EASY, 10.0, m0=0.1, options=opts)
        assert res.stats["levels"] == levels
        errs.append(np.abs(_at(res, (2.0, 5.0, 10.0)) - _at(ref, (2.0, 5.0, 10.0))).max())
    return errs


@pytest.mark.slow
def test_extrapolated_order_is_at_least_three(monkeypatch):
    """Two levels give order 4 (measured 16x per halving of h); with a wrong Richardson weight
    (mutation: 1/4 for 1/(4^l - 1)) the h^2 term survives and the order falls back to 2."""
    ref = _reference("easy")
    coarse, fine = _fixed_level_errors(ref, 2)
    order = np.log2(coarse / fine)
    assert order >= 3.0, order
    assert fine <= 1e-6
    monkeypatch.setattr(_dmft, "_richardson", lambda lo, hi, ell: hi + (hi - lo) / 4)
    coarse, fine = _fixed_level_errors(ref, 2)
    assert np.log2(coarse / fine) < 2.5


def _gregory_order(ref, steps=(0.05, 0.025)):
    """Measured order of "gregory" from its max error at t = 2, 5, 10 on two grids."""
    errs = []
    for h in steps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)
            res = solve_dmft(EASY, 10.0, m0=0.1, dt=h, scheme="gregory", store_two_time=False)
        errs.append(np.abs(_at(res, (2.0, 5.0, 10.0)) - _at(ref, (2.0, 5.0, 10.0))).max())
    return np.log2(errs[0] / errs[1]), errs


def _mutant_kernels(tmp_path, old, new):
    """A copy of the DMFT kernels with one source substitution, compiled from tmp_path."""
    src = Path(_dmft_kernels.__file__).read_text()
    assert old in src
    path = tmp_path / "_mutant_dmft_kernels.py"
    path.write_text(src.replace(old, new))
    spec = importlib.util.spec_from_file_location("saddlesurf.theory.spherical._mutant", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_gregory_order_is_at_least_three_and_each_ingredient_matters(monkeypatch, tmp_path):
    """Integrating factor + Adams + Gregory quadrature: measured order 3.66 (errors 1.6e-3,
    1.2e-4 at h = 0.05, 0.025). Mutations: the trapezoid rule for the memory integrals (no
    Gregory end corrections) gives 2.19; the decay e^{-int mu} replaced by its linearisation
    1 - int mu (the integrating factor no longer exact) gives 0.92."""
    ref = _reference("easy")
    order, errs = _gregory_order(ref)
    assert order >= 3.0, (order, errs)
    monkeypatch.setattr(_dmft_kernels, "GREGORY_RULE", _dmft_kernels.TRAPEZOID_RULE)
    assert _gregory_order(ref)[0] < 2.5
    monkeypatch.undo()
    mutant = _mutant_kernels(tmp_path, "math.exp(-", "(1.0 - ")
    monkeypatch.setattr(_dmft, "_kernels", mutant)
    assert _gregory_order(ref)[0] < 2.5


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_gregory_converges_at_order_three_on_every_case(case):
    """Measured 3.30 (hard), 3.48 (p = 4), 3.63 (Langevin: the split at the kink of C at
    s = t' keeps the order at T > 0), 3.66 (easy); its 2h estimate is 2-5x the error."""
    model, T, m0 = CASES[case]
    ref = _reference(case, dt=0.05)
    errs = []
    for h in (0.05, 0.025):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccuracyWarning)
            res = solve_dmft(model, 10.0, m0=m0, temperature=T, dt=h, scheme="gregory",
                             store_two_time=False)
        errs.append(np.abs(_at(res) - _at(ref)).max())
    assert np.log2(errs[0] / errs[1]) >= 3.0, errs
    every = int(round(ref.options.dt / res.options.dt))  # the reference's grid points
    full = max(np.max(np.abs(getattr(res, q)[::every] - getattr(ref, q))) for q in ("m", "mu", "e"))
    assert full <= max(res.error_estimate.values()) <= 10 * full, (full, res.error_estimate)


def test_gregory_rule_is_exact_for_cubics():
    """The memory-integral rule [3/8, 7/6, 23/24, 1, ...] and its Newton-Cotes short forms (one
    interval: the trapezoid, exact for lines only; its error enters a step times h)."""
    ends, small = _dmft_kernels.GREGORY_RULE
    for n in range(1, 14):
        x = np.arange(n + 1.0)
        w = np.array([_dmft_kernels.weight(n, k, ends, small) for k in range(n + 1)])
        for degree in range(min(n, 3) + 1):
            assert w @ x ** degree == pytest.approx(n ** (degree + 1) / (degree + 1), rel=1e-13)
    # and not for quartics (the rule is O(h^4), not higher): a check that can fail
    w = np.array([_dmft_kernels.weight(12, k, ends, small) for k in range(13)])
    assert abs(w @ np.arange(13.0) ** 4 - 12 ** 5 / 5) > 1.0


@pytest.mark.slow
@pytest.mark.parametrize("rtol", [1e-3, 1e-5, 1e-7])
def test_rtol_tracks_the_error(rtol):
    """Actual error <= 10 rtol (rtol is relative to max(1, |value|): mu ~ 6), and the estimate
    within 10x of the actual error."""
    ref = _reference("hard")
    model, T, m0 = CASES["hard"]
    res = solve_dmft(model, 10.0, m0=m0, temperature=T, rtol=rtol, store_two_time=False)
    for q in ("m", "mu", "e"):
        actual = np.max(np.abs(getattr(res, q) - getattr(ref, q)))
        scale = max(1.0, np.max(np.abs(getattr(ref, q))))
        assert actual <= 10 * rtol * scale, (q, actual)
    full = max(np.max(np.abs(getattr(res, q) - getattr(ref, q))) for q in ("m", "mu", "e"))
    est = max(res.error_estimate.values())
    assert full / 10 <= est <= 10 * full, (full, est)


def test_single_grid_schemes_estimate_their_error_and_warn():
    """Heun at dt = 0.05 (the old default) is 6e-2 off in mu: it warns now, and at dt = 0.02
    its companion estimate is within 2x of the error against the fixed point."""
    fp = gradient_flow_fixed_point(EASY)
    with pytest.warns(AccuracyWarning):
        solve_dmft(EASY, 10.0, m0=0.1, dt=0.05, scheme="heun")
    with pytest.warns(AccuracyWarning, match="exceeds rtol"):
        res = solve_dmft(EASY, 10.0, m0=0.1, dt=0.02, scheme="heun")
    err = abs(res.mu[-1] - fp.mu)
    assert err / 2 <= res.error_estimate["mu"] <= 2 * err, (err, res.error_estimate)
    quiet = solve_dmft(EASY, 4.0, m0=0.1, dt=0.01, scheme="trapezoid", rtol=1e-3)
    assert quiet.error_estimate["mu"] < 1e-3


@pytest.mark.parametrize("scheme", ["heun", "euler", "gregory", "extrapolated"])
@pytest.mark.parametrize("dt", [0.2, 0.3])
def test_too_large_a_step_raises_with_the_last_good_state(scheme, dt):
    """dt = 0.3 used to return m = 1.0097 as "success"."""
    with pytest.raises(IntegrationError) as info:
        solve_dmft(EASY, 10.0, m0=0.1, dt=dt, scheme=scheme)
    partial = info.value.result
    assert partial.status == "failed" and len(partial.times) >= 2
    assert np.all(np.abs(partial.m) <= 1.01)


def test_the_result_records_the_step_it_used():
    res = solve_dmft(EASY, 1.0, m0=0.1)
    assert res.options.dt == pytest.approx(_dmft.default_step(EASY, 0.0)) == 0.1
    assert DMFTOptions().dt is None


@pytest.mark.parametrize("kwargs, names", [
    (dict(dt=0.01), "dt"),
    (dict(scheme="heun"), "scheme"),
    (dict(rtol=1e-3, store_two_time=False), "rtol, store_two_time"),
])
def test_a_keyword_also_in_options_raises(kwargs, names):
    with pytest.raises(ValueError, match=f"{names} given both as keyword and in options"):
        solve_dmft(EASY, 1.0, m0=0.1, options=DMFTOptions(dt=0.1), **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(dt=True), "dt"), (dict(dt="0.1"), "dt"), (dict(rtol=0.0), "rtol"),
    (dict(rtol=float("nan")), "rtol"), (dict(max_levels=0), "max_levels"),
    (dict(max_levels=2.0), "max_levels"), (dict(threads=0), "threads"),
])
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DMFTOptions(**kwargs)


@pytest.mark.parametrize("dt", [0.05, 0.02])
def test_euler_keeps_the_fixed_point_exactly(dt):
    """The authors' convention (R(t, t) = 0 in the sums, R(t + h, t) = 1) makes the discrete
    stationary state the continuous one [S3.3]: 1e-14 at every dt (O(h) in the old convention:
    mu was off by 3.5e-2 at dt = 0.01)."""
    fp = gradient_flow_fixed_point(EASY)
    with pytest.warns(AccuracyWarning):  # the transient is first order, and says so
        res = solve_dmft(EASY, 20.0, m0=0.1, dt=dt, scheme="euler")
    assert abs(res.m[-1] - fp.m) < 1e-10
    assert abs(res.mu[-1] - fp.mu) < 1e-10
    assert abs(res.e[-1] - fp.e) < 1e-10
    assert res.R[3, 3] == 0.0 and res.R[4, 3] == 1.0


@pytest.mark.parametrize("scheme, dt", [("heun", 0.02), ("trapezoid", 0.02), ("euler", 0.02),
                                        ("gregory", 0.02), ("extrapolated", None)])
def test_every_fixed_grid_scheme_ends_within_its_estimate_of_the_fixed_point(scheme, dt):
    fp = gradient_flow_fixed_point(EASY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        res = solve_dmft(EASY, 20.0, m0=0.1, dt=dt, scheme=scheme, store_two_time=False)
    for q in ("m", "mu", "e"):
        err = abs(getattr(res, q)[-1] - getattr(fp, q))
        assert err <= 2 * res.error_estimate[q] + 1e-9, (q, err, res.error_estimate[q])
