"""Escape-time map, overlap fluctuations and the finite-N success prediction (spiked model)."""

import math
import os

import numpy as np
import pytest
from scipy.stats import norm

from saddlesurf.comparison import predict_success
from saddlesurf.simulation import GradientFlow, SimulationOptions, simulate
from saddlesurf.theory import (
    DMFTOptions,
    EscapeTimeMap,
    SpikedMatrixTensor,
    escape_time_map,
    solve_dmft,
)
from saddlesurf.theory.spherical import escape

FAMILY = SpikedMatrixTensor(p=3, delta2=1.0, delta_p=1.0)
# the small windows of these fast maps do not resolve the late escapes (the map says so)
pytestmark = pytest.mark.filterwarnings("ignore:from t =:saddlesurf.theory.AccuracyWarning")
FAST = {"t_max": 60.0, "fluctuation_t": 4.0, "fluctuation_dt": 0.1, "window": 64}


@pytest.fixture(scope="module")
def small_map(tmp_path_factory):
    store = tmp_path_factory.mktemp("emap")
    return escape_time_map(3, 1.0, (1.7, 1.9), (0.03, 0.1, 0.3), store=store, **FAST), store


@pytest.mark.parametrize("kwargs, name", [
    ({"m0": ()}, "m0"),
    ({"m0": (0.1, 0.03)}, "m0"),
    ({"m0": (0.0, 0.1)}, "m0"),
    ({"m0": (0.1, 1.2)}, "m0"),
    ({"m0": (0.1, 0.6)}, "m0"),           # at or above the escape level 0.5
    ({"inv_delta2": (0.9, 1.7)}, "inv_delta2"),  # below the signal's fixed point
    ({"inv_delta2": (1.9, 1.7)}, "inv_delta2"),
    ({"level": 1.0}, "level"),
    ({"t_max": math.nan}, "t_max"),
    ({"window": 30}, "window"),
])
def test_map_bad_input_names_the_parameter(kwargs, name):
    args = {"inv_delta2": (1.7, 1.9), "m0": (0.03, 0.1), **kwargs}
    with pytest.raises(ValueError, match=name):
        escape_time_map(3, 1.0, args.pop("inv_delta2"), args.pop("m0"), **args)


@pytest.mark.parametrize("kwargs, name", [
    ({"n": 1}, "n"), ({"n": 2.5}, "n"), ({"start": "cold"}, "start"),
    ({"start": "warm"}, "m0"), ({"start": "warm", "m0": 0.7}, "m0"),
    ({"m0": 0.1}, "m0"), ({"quantiles": (0.5, 1.0)}, "quantiles"), ({"t_max": -1.0}, "t_max"),
    ({"grid": (1.0,)}, "inv_delta2"),
])
def test_prediction_bad_input_names_the_parameter(kwargs, name):
    args = {"grid": (1.7,), "n": 48, "t_max": 10.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        predict_success(FAMILY, args.pop("grid"), args.pop("n"), **args)


def test_propagator_reproduces_the_linear_overlap():
    """G(t, 0) is m(t)/m0 of the trapezoid DMFT from a tiny seed; without the memory term it
    is not (mutation check)."""
    model = SpikedMatrixTensor(p=3, delta2=1 / 1.9, delta_p=1.0)
    r = solve_dmft(model, 10.0, m0=1e-12, options=DMFTOptions(scheme="trapezoid", dt=0.05,
                                                               rtol=1e-2))
    C, R = r.C.dense(), r.R.dense()
    G = escape._propagator(model, C, R, r.mu, 0.05)
    assert np.max(np.abs(G[:, 0] * 1e-12 / r.m - 1)) < 1e-8
    G0 = escape._propagator(model, C, 0 * R, r.mu, 0.05)
    assert np.max(np.abs(G0[:, 0] * 1e-12 / r.m - 1)) > 0.1


def test_sigma2_short_time_limit():
    """At t -> 0, G = 1 and C = 1, so sigma2 = Q'(1) t^2 (second order in t)."""
    model = SpikedMatrixTensor(p=3, delta2=1 / 1.7, delta_p=1.0)
    t, s2, _ = escape._sigma2_run(model, 1.0, 0.005)
    ratio = s2[1:21] / (model.dQ(1.0) * t[1:21] ** 2)
    assert abs(ratio[0] - 1) < 0.02
    assert abs(ratio[-1] - 1) > 2 * abs(ratio[0] - 1)  # the correction is visible by t = 0.1


def test_sigma2_matches_finite_n_overlap_variance():
    """N Var m(t) of simulations from m(0) = 0 (warm start at m0 = 0) equals G^2 sigma2 of the
    linearised theory within 3 SE at N = 128, 256 samples, in the linear regime t <= 1."""
    x = 1.9
    model = SpikedMatrixTensor(p=3, delta2=1 / x, delta_p=1.0)
    t, s2, g = escape._sigma2_run(model, 1.5, 0.02)
    r = simulate(model, 128, t_max=1.0, n_samples=256, algorithm=GradientFlow(dt=0.01),
                 start="warm", m0=0.0, options=SimulationOptions(times=(0.5, 1.0)), rng=3)
    for k, tt in enumerate(r.times):
        if tt == 0:
            continue
        i = int(np.argmin(abs(t - tt)))
        pred = g[i] ** 2 * s2[i]
        z = (128 * np.var(r.m[:, k]) - pred) / (pred * math.sqrt(2 / 255))
        assert abs(z) < 3, (tt, z)


def test_map_values_interpolation_and_store(small_map, monkeypatch):
    emap, store = small_map
    assert emap.tau.shape == (2, 3) and np.all(np.isfinite(emap.tau))
    # escape is faster from a larger seed and at larger x
    assert np.all(np.diff(emap.tau, axis=1) < 0) and np.all(np.diff(emap.tau, axis=0) < 0)
    np.testing.assert_allclose(emap.tau_at(1.9, emap.m0), emap.tau[1], rtol=1e-12)
    assert emap.tau_at(1.9, 0.5) == 0.0 and math.isinf(float(emap.tau_at(1.9, 1e-3)))
    # between grid seeds: within 2% of a direct run
    direct, _ = escape._escape(3, 1.0, 1.9, 0.06, 0.5, 60.0, 64, 0.01, None)
    assert abs(float(emap.tau_at(1.9, 0.06)) - direct) < 0.02 * direct
    t_mid = float(emap.tau_at(1.9, 0.06))
    assert emap.seed(1.9, t_mid)[0] == pytest.approx(0.06, rel=1e-8)
    assert np.all(emap.rate(1.9) > 0)
    # a rerun computes nothing: every DMFT run comes from the store
    monkeypatch.setattr(escape, "_solve_doubling", None)
    monkeypatch.setattr(escape, "solve_dmft", None)
    again = escape_time_map(3, 1.0, (1.7, 1.9), (0.03, 0.1, 0.3), store=store, **FAST)
    np.testing.assert_array_equal(again.tau, emap.tau)
    np.testing.assert_array_equal(again.sigma2, emap.sigma2)


def test_map_save_load(small_map, tmp_path):
    emap, _ = small_map
    emap.save(tmp_path / "map.v1")
    back = EscapeTimeMap.load(tmp_path / "map.v1")
    for name in ("x", "m0", "tau", "tau_error", "times", "sigma2", "sigma2_error", "growth"):
        np.testing.assert_array_equal(getattr(back, name), getattr(emap, name))
    assert back.to_dict() == emap.to_dict()


def test_prediction_formulas(small_map):
    """Without fluctuations a random start succeeds iff z/sqrt(N) >= m_c (odd p: one sign);
    a warm start above m_c always succeeds, one below never."""
    emap, _ = small_map
    n, t = 96, 8.0
    pr = predict_success(FAMILY, (1.7, 1.9), n, t_max=t, escape_map=emap, fluctuations=False)
    for i, x in enumerate((1.7, 1.9)):
        m_c = emap.seed(x, t)[0]
        assert float(emap.tau_at(x, m_c)) == pytest.approx(t, rel=1e-9)
        assert pr.probability[i] == pytest.approx(norm.sf(math.sqrt(n) * m_c), rel=1e-12)
        lo, hi = pr.probability_interval[i]
        assert lo <= pr.probability[i] <= hi
        assert np.all(np.diff(pr.quantiles[i]) > 0) and pr.quantiles[i, -1] <= t
    m_c = emap.seed(1.9, t)[0]
    warm = [predict_success(FAMILY, (1.9,), n, t_max=t, start="warm", m0=m, escape_map=emap,
                            fluctuations=False).probability[0] for m in (m_c * 1.1, m_c * 0.9)]
    assert warm == [1.0, 0.0]
    # the fluctuations widen the effective seed: P moves toward 1/2 from below
    full = predict_success(FAMILY, (1.7, 1.9), n, t_max=t, escape_map=emap)
    assert np.all(full.probability > pr.probability) and np.all(full.probability < 0.5)
    assert np.all(full.sigma2 > 0)
    # residuals: 0 inside the interval, in binomial SE outside
    lo, hi = full.probability_interval[0]
    assert full.residuals([round(96 * (lo + hi) / 2)], [96])[0] == pytest.approx(0, abs=0.3)
    assert full.residuals([96], [96])[0] > 3


def test_prediction_refuses_a_foreign_map(small_map):
    emap, _ = small_map
    with pytest.raises(ValueError, match="escape_map"):
        predict_success(SpikedMatrixTensor(4, 1.0, 1.0), (1.9,), 48, t_max=10.0,
                        escape_map=emap)
    with pytest.raises(ValueError, match="escape_map"):
        predict_success(FAMILY, (1.9,), 48, t_max=100.0, escape_map=emap)
    with pytest.raises(ValueError, match="grid"):
        predict_success(FAMILY, (1.8,), 48, t_max=10.0, escape_map=emap)


@pytest.mark.skipif(not os.environ.get("SADDLESURF_SLOW") and not os.environ.get("CI"),
                    reason="slow (256 simulations): SADDLESURF_SLOW=1")
def test_warm_start_success_matches_the_prediction(tmp_path):
    """Warm starts at m0 = 0.1, 1/Delta2 = 1.9, N = 64, t_max = 30: the simulated success
    fraction lies within 3 binomial SE of the prediction with the overlap fluctuations
    (measured 179/256 against 0.689), and more than 5 SE from the plain m0 picture (P = 1)."""
    from saddlesurf.comparison import success_point

    emap = escape_time_map(3, 1.0, (1.9,), t_max=30.0, store=tmp_path)
    pt = success_point(model="spiked", n=64, x=1.9, n_samples=256, t_max=30.0, dt=0.02,
                       start="warm", m0=0.1, rng=11)
    full = predict_success(FAMILY, (1.9,), 64, t_max=30.0, start="warm", m0=0.1,
                           escape_map=emap)
    plain = predict_success(FAMILY, (1.9,), 64, t_max=30.0, start="warm", m0=0.1,
                            escape_map=emap, fluctuations=False)
    assert abs(full.residuals([pt["successes"]], [pt["trials"]])[0]) <= 3
    assert plain.probability[0] == 1.0
    assert plain.residuals([pt["successes"]], [pt["trials"]])[0] < -5
    # the median escape of the successes lies within 3 SE of the predicted range
    t = np.sort(pt["escape_time"][pt["success"]])
    se = (t[int(t.size / 2 + t.size ** 0.5)] - t[int(t.size / 2 - t.size ** 0.5)]) / 4
    lo, hi = full.quantile_interval[0, 1]
    assert lo - 3 * se <= np.median(t) <= hi + 3 * se


def test_prediction_table(small_map):
    pytest.importorskip("pandas")
    emap, _ = small_map
    pr = predict_success(FAMILY, (1.7, 1.9), 96, t_max=8.0, escape_map=emap)
    df = pr.to_dataframe()
    assert list(df.index) == [1.7, 1.9]
    np.testing.assert_array_equal(df["probability"].to_numpy(), pr.probability)
    np.testing.assert_array_equal(df["escape_q0.5"].to_numpy(), pr.quantiles[:, 1])
