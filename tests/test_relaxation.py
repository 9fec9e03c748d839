"""The relaxation-time method [S5.1]: growth rates in the linear regime, their joint fit and its
budget, and the doubling scheme's control of an exponential growth from a tiny seed."""

import math
import warnings

import numpy as np
import pytest

from saddlesurf.theory import AccuracyWarning, SpikedMatrixTensor, relaxation_time_fit
from saddlesurf.theory.spherical.dmft import DMFTOptions, _solve_doubling
from saddlesurf.theory.spherical.relaxation import _local_rates, _variants

XS = np.array([2.08, 2.16, 2.24, 2.32, 2.4])
TIMES = np.geomspace(300.0, 4000.0, 10)
GROWTH = np.full((XS.size, TIMES.size), 0.2)


def _synthetic(x_c, kappa):
    """r = a (x - x_c)^2 (1 + c (x - x_c)) + b(x) t^-kappa, the form of the central fit."""
    d = XS[:, None] - x_c
    return 0.28 * d ** 2 * (1 - 0.4 * d) + (0.2 + 0.1 * (XS[:, None] - 2.2)) * TIMES ** -kappa


def test_joint_fit_recovers_the_threshold_of_its_own_form():
    rates = _synthetic(2.0, 0.5)
    (x_c, sigma, a, c, kappa), budget = _variants(XS, TIMES, rates, rates, GROWTH)
    assert x_c == pytest.approx(2.0, abs=1e-6)
    assert a == pytest.approx(0.28, rel=1e-4) and c == pytest.approx(-0.4, abs=1e-3)
    assert all(abs(v["x_c"] - 2.0) < 1e-3 for k, v in budget.items() if k != "step")


def test_fit_form_variant_widens_the_interval_to_hold_the_truth():
    """Data approaching as t^-0.7: the kappa = 1/2 fit alone misses x_c = 2 by more than its
    statistical interval; the free-kappa variant of the budget finds it."""
    rates = _synthetic(2.0, 0.7)
    (x_c, sigma, *_), budget = _variants(XS, TIMES, rates, rates, GROWTH)
    assert abs(x_c - 2.0) > 1.96 * sigma + 1e-3  # narrow and wrong on its own
    assert budget["fit form"]["x_c"] == pytest.approx(2.0, abs=1e-4)
    lo = min(v["x_c"] - 1.96 * v["sigma"] for v in budget.values())
    hi = max(v["x_c"] + 1.96 * v["sigma"] for v in budget.values())
    assert lo <= 2.0 <= hi


def test_local_rates_of_an_exact_exponential():
    t = np.arange(0.0, 6000.0, 2.0)
    m = 1e-300 * np.exp(0.01 * t)
    r, growth = _local_rates(t, m, np.array([500.0, 2000.0, 5900.0]), 0.2)
    assert r[:2] == pytest.approx([0.01, 0.01], rel=1e-9)
    assert growth[:2] == pytest.approx([0.02, 0.02], rel=1e-9)
    assert math.isnan(r[2])  # the span [t/1.2, 1.2 t] leaves the run
    # a step that grows m by more than 2 max_growth is not a measurement
    assert np.all(np.isnan(_local_rates(t, m, np.array([500.0]), 0.009)[0]))
    # nor is m past the linear regime
    assert np.all(np.isnan(_local_rates(t, m * 1e295, np.array([2000.0]), 0.2)[0]))


def _linear_run(window, max_widening, max_growth, t_max):
    model = SpikedMatrixTensor(p=3, delta2=1 / 3.0, delta_p=1.0)
    opts = DMFTOptions(scheme="doubling", dt=0.01, window=window, store_two_time=False,
                       error_estimate=False, max_growth=max_growth, max_widening=max_widening)
    return _solve_doubling(model, t_max, 1e-300, 0.0, opts, False, None, 300.0, stop_m=1e-8)


def test_doubling_resolves_an_exponential_growth_or_says_it_did_not():
    """1/Delta2 = 3: m grows at r -> (3 - sqrt 5)^2/3 = 0.195 from m0 = 1e-300. A window of 32
    that may not widen doubles the step past r h = 2, where the trapezoid flips the sign of m:
    the run warns. Allowed to widen, the step keeps r h <= 2 max_growth, m > 0, and the rate
    approaches the closed form from above (22% high at t = 250..500)."""
    with pytest.warns(AccuracyWarning, match="did not keep the change per step"):
        bad = _linear_run(32, 1, 0.1, 1500.0)
    assert bad.stats["unresolved_from_t"] is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        good = _linear_run(64, 8, 0.4, 500.0)
    assert good.stats["unresolved_from_t"] is None
    assert np.all(good.m > 0)
    assert np.max(np.abs(np.diff(np.log(good.m)))) <= 2 * 0.4
    r_inf = (3 - math.sqrt(5)) ** 2 / 3
    rates = [np.polyfit(good.times[sel], np.log(good.m[sel]), 1)[0] for sel in
             ((good.times > 100) & (good.times < 250), good.times > 250)]
    assert rates[0] > rates[1] > r_inf and rates[1] < 1.3 * r_inf, rates


@pytest.mark.parametrize("kwargs, name", [
    (dict(delta_p=-1.0), "delta_p"), (dict(t_max=-1.0), "t_max"),
    (dict(inv_delta2=[2.3, 2.2, 2.4, 2.5]), "inv_delta2"), (dict(inv_delta2=[2.1, 2.2]),
                                                           "inv_delta2"),
    (dict(inv_delta2=[1.5, 2.1, 2.2, 2.3]), "inv_delta2.*above the threshold .* = 2"),
    (dict(t_min=1000.0), "t_min"), (dict(window=100), "window"), (dict(max_growth=0.0),
                                                                  "max_growth"),
])
def test_relaxation_time_fit_rejects_bad_input(kwargs, name):
    args = {"p": 3, "delta_p": 1.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        relaxation_time_fit(**args)


@pytest.mark.slow
def test_relaxation_method_at_its_defaults_holds_the_closed_form(tmp_path):
    """p = 3, Delta_p = 1: 1/Delta2^GF = 2 [S5.1]. The interval holds 2; a rerun from the store
    computes nothing."""
    fit = relaxation_time_fit(3, 1.0, store=tmp_path)
    lo, hi = fit.x_c_interval
    assert lo <= 2.0 <= hi, fit
    assert (hi - lo) / 2.0 <= 0.03, fit
    assert fit.budget["statistical"]["half_width"] < hi - lo
    again = relaxation_time_fit(3, 1.0, store=tmp_path)
    assert again.x_c == fit.x_c and again.runs == fit.runs
