"""Critical ratio of gradient flow from threshold-like states [P4.5]."""

import numpy as np
import pytest

from saddlesurf.simulation import SimulationOptions, simulate
from saddlesurf.theory import (
    BoundedLoss,
    PhaseRetrieval,
    PRDMFTOptions,
    RegularisedLoss,
    critical_ratio,
    glm_spectrum,
    initial_law,
    solve_dmft,
    thresholds,
)


@pytest.fixture(scope="module")
def projected_states():
    """Signal-projected gradient flow [P3.3] at N = 150, 4 samples per alpha, to t = 60."""
    return {a: simulate(PhaseRetrieval(a), 150, t_max=60.0, n_samples=4, start="projected",
                        options=SimulationOptions(keep_final_state=True, n_times=3), rng=2)
            for a in (2.0, 4.0, 6.0, 9.0)}


def test_simulation_route(projected_states):
    cr = critical_ratio(RegularisedLoss(0.01), states=projected_states, n_boot=40, rng=1)
    assert cr.route == "simulation"
    assert 2.0 < cr.alpha_c < 9.0 and 0 < cr.error < 1.0
    # margins decrease with alpha and change sign once; the states are more stable than a
    # random start, so alpha_c lies above the initial-Hessian threshold [P4.4]
    assert np.all(np.diff(cr.margins) < 0)
    assert cr.alpha_c > thresholds(RegularisedLoss(0.01)).bbp_init
    # pooled (h, h*) given as plain arrays give the same number
    plain = {a: [(r.final_h[i], r.final_h_star[i], r.final_m[i]) for i in range(4)]
             for a, r in projected_states.items()}
    assert critical_ratio(RegularisedLoss(0.01), states=plain, n_boot=0).alpha_c == cr.alpha_c


def test_dmft_route_needs_a_bracket_and_threshold_states():
    loss = BoundedLoss()
    opts = PRDMFTOptions(n_times=16, n_paths=2000, n_batches=0, law_times=(1.0, 2.0))
    runs = [solve_dmft(PhaseRetrieval(a, loss), 2.0, m0=0.0, options=opts, rng=1)
            for a in (2.0, 3.0)]
    # the trend: one law per stored time, each evaluated with the BBP criterion
    margins = [glm_spectrum(r.law(2.0), r.model.alpha).margin for r in runs]
    assert all(m > 0 for m in margins)  # no outlier yet: no crossing in this grid
    with pytest.raises(ValueError, match="extend the grid"):
        critical_ratio(loss, dmft=runs)
    warm = solve_dmft(PhaseRetrieval(2.0, loss), 2.0, m0=0.1, options=opts, rng=1)
    with pytest.raises(ValueError, match="m0 = 0"):
        critical_ratio(loss, dmft=[warm, runs[1]])
    with pytest.raises(ValueError, match="needs states"):
        critical_ratio(loss, route="simulation")


def test_initial_law_crossing_matches_bbp_ratio():
    """The grid-and-interpolate crossing converges to the exact root on an alpha-independent law."""
    from saddlesurf.theory.phase_retrieval.critical import _crossing

    law = initial_law(RegularisedLoss(0.01))
    alphas = np.linspace(2.5, 3.2, 15)
    margins = np.array([glm_spectrum(law, a).margin for a in alphas])
    assert _crossing(alphas, margins) == pytest.approx(thresholds(RegularisedLoss()).bbp_init,
                                                       abs=2e-3)


def test_states_route_fits_recover_a_known_extrapolation():
    """The three fit forms of route (b) at several N: exact on data of their own form."""
    from saddlesurf.comparison.threshold_states import _fit, _zero

    ns = np.array([250.0, 500.0, 1000.0, 2000.0])
    err = np.full(4, 0.01)
    a, se, chi2 = _fit(ns, 4.2 - 30.0 / ns, err, "1/N")
    assert a == pytest.approx(4.2, abs=1e-12) and chi2 == pytest.approx(0.0, abs=1e-18)
    a, se, _ = _fit(ns, 4.2 - 3.0 / np.sqrt(ns), err, "1/sqrt(N)")
    assert a == pytest.approx(4.2, abs=1e-12)
    # the standard error of the intercept: the largest N alone is not extrapolated
    assert _fit(ns, 4.2 - 30.0 / ns, err, "largest") == (pytest.approx(4.2 - 30 / 2000),
                                                        0.01, pytest.approx(np.nan,
                                                                            nan_ok=True))
    # misfit inflates the error by sqrt(chi2/dof)
    noisy = 4.2 - 30.0 / ns + np.array([0.05, -0.05, 0.05, -0.05])
    assert _fit(ns, noisy, err, "1/N")[1] > 3 * _fit(ns, 4.2 - 30.0 / ns, err, "1/N")[1]
    # a margin quadratic in alpha: the quadratic's zero is exact, the line's is off
    alphas = np.array([3.0, 3.5, 4.0, 4.5, 5.0])
    margins = 2.0 - 0.5 * (alphas - 3.0) - 0.6 * (alphas - 3.0) ** 2
    root = 3.0 + (-0.5 + np.sqrt(0.25 + 4 * 0.6 * 2.0)) / (2 * 0.6)
    line = _zero(alphas, margins, 1)
    assert _zero(alphas, margins, 2, near=line) == pytest.approx(root, abs=1e-12)
    assert 0.01 < abs(line - root) < 0.2
    assert np.isnan(_zero(alphas, margins + 50.0, 1))  # no zero near the grid


def test_states_route_refuses_what_it_cannot_use():
    """Acceptance (issue 23): a loss without a lower Hessian edge, an empty or unordered grid,
    and too few samples are refused before any run, naming the parameter and the fix."""
    from saddlesurf.comparison import locate_critical_ratio
    from saddlesurf.theory import SquareLoss

    pr = PhaseRetrieval(4.0, RegularisedLoss(0.01))
    cases = [({"model": PhaseRetrieval(4.0, SquareLoss())}, "bounded below"),
             ({"bbp_grid": ()}, "bbp_grid"), ({"bbp_grid": (5.0, 4.0, 3.0)}, "bbp_grid"),
             ({"bbp_sizes": ()}, "bbp_sizes"), ({"bbp_sizes": (500, 250)}, "bbp_sizes"),
             ({"bbp_samples": 1}, "bbp_samples"), ({"bbp_samples": (4, 4)}, "bbp_samples"),
             ({"bbp_t_max": -1.0}, "bbp_t_max"), ({"bbp_t_max": float("nan")}, "bbp_t_max")]
    for kwargs, name in cases:
        model = kwargs.pop("model", pr)
        with pytest.raises(ValueError, match=name):
            locate_critical_ratio(model, methods=("bbp",), **kwargs)


def test_states_route_at_two_sizes():
    """Route (b) at N = 60, 120 (3 samples, a fixed grid): per-N crossings, three fits, a
    budget, and an interval that holds every fit and the per-N values' spread."""
    from saddlesurf.comparison.threshold_states import states_estimate

    value, low, high, d = states_estimate(
        RegularisedLoss(0.01), sizes=(60, 120), samples=3, grid=(3.0, 4.0, 5.0, 6.0),
        t_max=100.0, rng=3, n_boot=30, workers=None)
    assert [p["n"] for p in d["per_n"]] == [60, 120]
    assert set(d["fits"]) == {"largest", "1/N", "1/sqrt(N)"}
    assert value == d["fits"]["1/N"]["value"]
    for f in d["fits"].values():
        assert low <= f["value"] <= high
    assert all(2.5 < p["alpha_c"] < 6.5 and p["error"] > 0 for p in d["per_n"])
    assert set(d["budget"]) and all(v >= 0 for v in d["budget"].values())
    # samples still moving at t_max are counted, with the largest final |grad|
    assert all(0 <= p["not_stationary"] <= 12 and p["largest_final_grad"] < 1e-2
               for p in d["per_n"]), d["per_n"]
