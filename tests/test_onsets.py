"""Finite-size onsets of merging success curves and the "finite_size" critical-ratio method."""

import math
import os

import numpy as np
import pytest
from scipy.special import expit

from saddlesurf.comparison import locate_critical_ratio
from saddlesurf.comparison.onsets import onsets
from saddlesurf.theory import SpikedMatrixTensor

SIZES = (24, 48, 96, 192)
GRID = np.linspace(1.0, 2.2, 9)


def synthetic(x_inf=2.0, b=1.5, trials=4000, seed=1):
    """Counts drawn from P = 1/2 expit((x - x_c(N))/0.15), x_c(N) = x_inf - b/ln N."""
    gen = np.random.default_rng(seed)
    xc = x_inf - b / np.log(np.array(SIZES, dtype=float))
    p = 0.5 * expit((GRID[None, :] - xc[:, None]) / 0.15)
    n = np.full(p.shape, trials)
    return gen.binomial(n, p), n, xc


def test_onsets_recover_synthetic_centres():
    k, n, xc = synthetic()
    res = onsets(SIZES, GRID, k, n, plateau=0.5, n_boot=100, rng=0)
    for i in range(len(SIZES)):
        assert res["low"][i] <= xc[i] <= res["high"][i]
        assert abs(res["x_c"][i] - xc[i]) < 4 * res["sigma"][i]
    assert abs(res["forms"][1.0]["x_inf"] - 2.0) < 0.05


def test_wide_interval_holds_the_truth_where_a_narrow_one_misses_it():
    """The estimate's interval spans the fit forms and contains 2; the largest size's onset with
    its statistical interval (what a naive reading gives) is narrow and excludes 2."""
    k, n, _ = synthetic()
    res = onsets(SIZES, GRID, k, n, plateau=0.5, n_boot=100, rng=0)
    assert res["low_inf"] <= 2.0 <= res["high_inf"]
    naive = (res["low"][-1], res["high"][-1])
    assert not naive[0] <= 2.0 <= naive[1]
    assert res["high_inf"] - res["low_inf"] > 5 * (naive[1] - naive[0])
    # the fit form is the largest part: k = 1/2 and 2 bracket the central form
    f = res["forms"]
    assert f[2.0]["x_inf"] < f[1.0]["x_inf"] < f[0.5]["x_inf"]


@pytest.mark.parametrize("kwargs, name", [
    ({"sizes": (48,)}, "sizes"), ({"sizes": (1, 48, 96, 192)}, "sizes"),
    ({"plateau": 0.0}, "plateau"), ({"n_boot": 5}, "n_boot"), ({"grid": GRID[:2]}, "grid"),
])
def test_onsets_bad_input(kwargs, name):
    k, n, _ = synthetic(trials=10)
    args = {"sizes": SIZES, "grid": GRID, "successes": k, "trials": n, **kwargs}
    if name in ("sizes", "grid"):
        with pytest.raises(ValueError, match=name):
            onsets(args["sizes"], args["grid"], args["successes"], args["trials"],
                   plateau=0.5)
        return
    with pytest.raises(ValueError, match=name):
        onsets(SIZES, GRID, k, n, plateau=args.get("plateau", 0.5),
               n_boot=args.get("n_boot", 100))


def test_finite_size_is_for_the_spiked_model():
    from saddlesurf.theory import PhaseRetrieval, RegularisedLoss

    with pytest.raises(ValueError, match="finite_size"):
        locate_critical_ratio(PhaseRetrieval(4.0, RegularisedLoss(0.01)),
                              methods=("finite_size",))


@pytest.mark.skipif(not os.environ.get("SADDLESURF_SLOW") and not os.environ.get("CI"),
                    reason="slow (simulations and the escape map): SADDLESURF_SLOW=1")
def test_finite_size_method_end_to_end(tmp_path):
    rep = locate_critical_ratio(SpikedMatrixTensor(3, 1.0, 1.0), (1.3, 1.5, 1.7, 1.9),
                                methods=("finite_size",), sizes=(16, 32), n_samples=48,
                                t_max=50.0, n_boot=50, rng=2, store=tmp_path)
    est = rep["finite_size"]
    d = est.details
    assert est.low <= est.value <= est.high and math.isfinite(est.value)
    assert d["width"] == pytest.approx(est.high - est.low)
    assert set(d["x_c_predicted"]) == {16, 32} and d["depends_on_theory"] == ["x_c_predicted"]
    assert "simulation only" in est.source
