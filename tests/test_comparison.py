"""Comparison layer: overlays, success curves and their crossings, sweeps, the critical ratio."""

import json
import math

import numpy as np
import pytest
from scipy.special import expit

from saddlesurf.comparison import (
    locate_critical_ratio,
    overlay,
    success_curves,
    sweep,
)
from saddlesurf.simulation import SimulationOptions, simulate
from saddlesurf.theory import SpikedMatrixTensor, solve_dmft

EASY = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)  # 1/Delta2 = 2.5 > 2 = GF threshold


@pytest.fixture(scope="module")
def easy_pair():
    """Warm-start gradient flow in the easy phase: DMFT and N = 120 ensemble [S3], [S6]."""
    theory = solve_dmft(EASY, 8.0, m0=0.3, dt=0.02, scheme="heun", store_two_time=True)
    sim = simulate(EASY, 120, t_max=8.0, n_samples=24, start="warm", m0=0.3, rng=5,
                   options=SimulationOptions(n_times=16, t_min=0.1, hessian_times=(8.0,)))
    return theory, sim


@pytest.mark.parametrize("observable", ["m", "e", "mu", "c0"])
def test_overlay_agrees_in_easy_phase(easy_pair, observable):
    theory, sim = easy_pair
    ov = overlay(theory, sim, observable)
    assert ov.times.size == sim.times.size
    assert np.all(np.abs(ov.residual) < 3), ov.summary()
    assert ov.agrees and "agree" in ov.summary()
    if observable == "c0":
        assert ov.theory[0] == 1.0 and abs(ov.mean[0] - 1.0) < 1e-12  # C(0, 0) = 1


def test_overlay_hessian_outlier_at_the_end(easy_pair):
    """Lowest tangent-space eigenvalue and its overlap with x* near the fixed point against
    the stationary-point spectrum [S4.2] at (m(t), mu(t))."""
    theory, sim = easy_pair
    low = overlay(theory, sim, "lowest_eigenvalue")
    assert low.times.tolist() == [8.0]
    assert low.theory[0] > 0  # a minimum: the outlier sits above 0
    # measured: 0.60 +- 0.02 against 0.44 (at t = 8 the flow is not yet stationary and the
    # outlier of N = 120 is shifted by O(N^-1/2)); a wrong branch would be off by > 1
    assert abs(low.mean[0] - low.theory[0]) < 0.25
    ovl = overlay(theory, sim, "outlier_overlap")
    # theta(m) = Q_s''(m)(1 - m^2) < s there: no BBP outlier, the eigenvector is delocalised
    assert ovl.theory[0] == 0.0 and ovl.mean[0] < 0.1, ovl.summary()


def test_overlay_flags_wrong_theory(easy_pair):
    import copy

    theory, sim = easy_pair
    wrong = copy.copy(theory)
    wrong.m = theory.m * 1.05  # a theory curve 5% off, in the same setting
    ov = overlay(wrong, sim, "m")
    assert not ov.agrees and ov.max_residual > 5
    assert "DISAGREE" in ov.summary()


def test_overlay_refuses_another_setting(easy_pair):
    """A theory of another model, m0 or temperature is refused, naming what differs."""
    theory, sim = easy_pair
    other = solve_dmft(SpikedMatrixTensor(p=3, delta2=0.5, delta_p=1.0), 2.0, m0=0.2, dt=0.02,
                       scheme="heun")
    with pytest.raises(ValueError, match=r"model \(delta2: 0.5 vs 0.4\); m0 \(0.2 vs 0.3\)"):
        overlay(other, sim, "m")
    hot = solve_dmft(theory.model, 2.0, m0=0.3, temperature=0.5, dt=0.02, scheme="heun")
    with pytest.raises(ValueError, match="temperature"):
        overlay(hot, sim, "m")


def test_overlay_saves_data(easy_pair, tmp_path):
    theory, sim = easy_pair
    ov = overlay(theory, sim, "e")
    stem = ov.save(tmp_path / "e")
    rows = (tmp_path / "e.csv").read_text().splitlines()
    assert rows[0].split(",")[:4] == ["times", "theory", "theory_error", "mean"]
    assert len(rows) == ov.times.size + 1
    meta = json.loads(stem.with_suffix(".json").read_text())
    assert meta["agrees"] is True and meta["n"] == 120


def test_overlay_validates(easy_pair):
    theory, sim = easy_pair
    with pytest.raises(ValueError, match="observable"):
        overlay(theory, sim, "lambda")
    with pytest.raises(ValueError, match="threshold"):
        overlay(theory, sim, "m", threshold=-1)
    short = solve_dmft(EASY, 8.0, m0=0.3, dt=0.02, scheme="heun", store_two_time=False)
    with pytest.raises(ValueError, match="store_two_time"):
        overlay(short, sim, "c0")


def _logistic_counts(sizes, grid, centres, widths, trials, rng):
    p = 1 / (1 + np.exp(-(grid[None, :] - np.asarray(centres)[:, None])
                        / np.asarray(widths)[:, None]))
    return rng.binomial(trials, p), np.full(p.shape, trials)


def test_success_curves_recover_a_known_crossing():
    """Logistic curves of widths 2/sqrt(N) centred at 2.1 all cross at 2.1 (their
    differences are odd about it): every pairwise crossing and both extrapolations recover it
    within their intervals, and the fitted centres and widths match."""
    sizes = np.array([100, 200, 400])
    grid = np.linspace(1.6, 2.6, 9)
    widths = 2.0 / np.sqrt(sizes)
    k, n = _logistic_counts(sizes, grid, [2.1] * 3, widths, 400, np.random.default_rng(3))
    curves = success_curves(sizes, grid, k, n, n_boot=200, rng=1)
    for c in curves.crossings:
        assert c["low"] < 2.1 < c["high"] and c["high"] - c["low"] < 0.4, c
        assert c["resolved"], c
    assert np.allclose(curves.centre, 2.1, atol=0.03)
    assert np.allclose(curves.width, widths, rtol=0.15)
    assert set(curves.extrapolation) == {"1/N", "1/log N"}
    for v in curves.extrapolation.values():
        assert v["low"] < 2.1 < v["high"]
    assert "crossing of the two largest N" in repr(curves)


def test_merging_curves_are_not_a_crossing():
    """Curves that rise at a centre growing with N to the same plateau 1/2 (the spiked model at
    odd p from random starts) never cross; the straight-line zero of their difference is
    flagged as unresolved, and so is the crossing of curves with the sizes swapped."""
    sizes = np.array([24, 48, 96])
    grid = np.linspace(0.8, 2.8, 11)
    p = 0.5 * expit((grid[None, :] - np.array([1.0, 1.2, 1.4])[:, None]) / 0.1)
    k = np.rint(96 * p).astype(int)  # expected counts: the merge, without sampling noise
    curves = success_curves(sizes, grid, k, np.full(k.shape, 96), n_boot=50, rng=1)
    assert not any(c["resolved"] for c in curves.crossings), curves.crossings
    first = curves.crossings[0]  # a finite zero of the straight line, at 2.51
    assert 2 < first["value"] < 2.8 and first["z_below"] < -2 and abs(first["z_above"]) < 2
    assert "not resolved" in repr(curves)
    swapped = success_curves(sizes, grid, k[::-1], np.full(k.shape, 96), n_boot=0)
    assert not any(c["resolved"] for c in swapped.crossings), swapped.crossings


def test_success_curves_validate():
    with pytest.raises(ValueError, match="sizes"):
        success_curves([100], [1, 2, 3], [[1, 2, 3]], [[4, 4, 4]])
    with pytest.raises(ValueError, match="successes <= trials"):
        success_curves([10, 20], [1, 2, 3], [[1, 2, 5], [0, 1, 2]], [[4, 4, 4], [4, 4, 4]])


def noisy_square(*, a, b, rng):
    """Module-level sweep function (picklable)."""
    g = np.random.default_rng(rng)
    return {"value": a * a + b + g.standard_normal(), "draws": g.standard_normal(3)}


def test_sweep_restart_recomputes_nothing(tmp_path):
    grid = {"a": [1.0, 2.0, 3.0], "b": [0.0, 10.0]}
    calls = []

    def counted(*, a, b, rng):
        calls.append((a, b))
        if len(calls) == 4:
            raise KeyboardInterrupt  # an interruption after three completed points
        return noisy_square(a=a, b=b, rng=rng)

    with pytest.raises(KeyboardInterrupt):
        sweep(counted, grid, rng=7, store=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 3
    calls.clear()
    full = sweep(counted, grid, rng=7, store=tmp_path)
    assert len(calls) == 3 and full.stats == {**full.stats, "computed": 3, "loaded": 3}
    again = sweep(counted, grid, rng=7, store=tmp_path)
    assert again.stats["computed"] == 0 and len(calls) == 3
    fresh = sweep(noisy_square, grid, rng=7)
    assert np.array_equal(fresh.column("value"), full.column("value"))
    assert all(np.array_equal(u["draws"], v["draws"])
               for u, v in zip(fresh.values, again.values, strict=True))
    assert full.points[1] == {"a": 1.0, "b": 10.0}
    # a point's stream depends on its parameters only: a reordered grid gives the same rows
    rev = sweep(noisy_square, list(reversed(full.points)), rng=7)
    assert np.array_equal(rev.column("value")[::-1], full.column("value"))


def test_sweep_processes_and_dask_match_serial():
    distributed = pytest.importorskip("distributed")
    grid = {"a": [0.5, 1.5], "b": [1.0, 2.0, 3.0]}
    serial = sweep(noisy_square, grid, rng=3)
    procs = sweep(noisy_square, grid, rng=3, workers=2)
    assert procs.stats["backend"] == "processes"
    assert np.array_equal(procs.column("value"), serial.column("value"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = sweep(noisy_square, grid, rng=3, client=client)
    assert dask.stats["backend"] == "dask"
    assert np.array_equal(dask.column("value"), serial.column("value"))
    assert all(np.array_equal(u["draws"], v["draws"])
               for u, v in zip(dask.values, serial.values, strict=True))


def test_sweep_validates():
    with pytest.raises(TypeError, match="grid"):
        sweep(noisy_square, 3)
    with pytest.raises(TypeError, match="SeedSequence"):
        sweep(noisy_square, {"a": [1.0], "b": [1.0]}, rng=np.random.default_rng(0))


def test_locate_critical_ratio_spiked_closed_form():
    rep = locate_critical_ratio(SpikedMatrixTensor(p=3, delta2=1.0, delta_p=1.0),
                                methods=("bbp",))
    assert rep["bbp"].value == 2.0  # [1 + sqrt(1 + 8)]/2
    rep4 = locate_critical_ratio(SpikedMatrixTensor(p=4, delta2=1.0, delta_p=2.0),
                                 methods=("bbp",))
    assert math.isclose(rep4["bbp"].value, (1 + math.sqrt(1 + 4 * 3 / 2.0)) / 2, rel_tol=1e-15)
    assert rep.reference["ml_amp"] < rep["bbp"].value < rep.reference["triv"]
    with pytest.raises(ValueError, match="methods"):
        locate_critical_ratio(EASY, methods=("magic",))
    with pytest.raises(ValueError, match="relaxation must be"):
        locate_critical_ratio(EASY, relaxation="fit")
    with pytest.raises(ValueError, match="grid must hold"):
        locate_critical_ratio(EASY, [2.0, 1.8, 2.2])
    with pytest.raises(ValueError, match="sizes must be"):
        locate_critical_ratio(EASY, sizes=(64, 32))
