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
