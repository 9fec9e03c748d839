"""Reference thresholds of phase retrieval: spectral [P4.6], Bayes-AMP [P5], initial Hessian
[P4.4]."""

import pytest

from saddlesurf.theory import (
    BoundedLoss,
    PhaseRetrieval,
    PRThresholds,
    RegularisedLoss,
    SquareLoss,
    amp_state_evolution,
    optimal_preprocessing,
    spectral_threshold,
    thresholds,
)


def test_optimal_spectral_threshold_is_one_half():
    assert spectral_threshold(delta=0.5005) == pytest.approx(0.5, abs=1e-3)
    # the threshold rises as the preprocessing moves away from the optimum
    assert spectral_threshold(delta=0.6) > spectral_threshold(delta=0.51) > 0.5
    with pytest.raises(ValueError, match="delta must be > 1/2"):
        optimal_preprocessing(0.5)


def test_amp_weak_and_perfect_recovery():
    th = thresholds(PhaseRetrieval(2.0))
    assert isinstance(th, PRThresholds)
    assert th.amp_weak == pytest.approx(0.5, abs=1e-6)  # linearisation q' = 2 alpha q
    assert 1.12 <= th.amp <= 1.14
    assert th.it == 1.0
    # the state-evolution iteration itself agrees with the spinodal formula
    assert amp_state_evolution(th.amp + 0.01)[-1] > 1 - 1e-6
    assert amp_state_evolution(th.amp - 0.01)[-1] < 0.9


def test_ordering_and_loss_dependence():
    th = thresholds(RegularisedLoss(0.01))
    assert th.spectral <= th.amp_weak + 1e-3 < th.amp < th.bbp_init
    assert th.bbp_init == pytest.approx(2.8507519913, abs=1e-8)
    assert thresholds(RegularisedLoss(0.1)).bbp_init != pytest.approx(th.bbp_init, rel=1e-3)
    # the square loss has no finite lower edge [P2.1]: no threshold is reported
    assert thresholds(SquareLoss()).bbp_init != thresholds(SquareLoss()).bbp_init  # NaN
    # no initial-Hessian transition for the bounded loss in the searched range
    assert thresholds(BoundedLoss()).bbp_init != thresholds(BoundedLoss()).bbp_init  # NaN


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        PhaseRetrieval(0.0)
    with pytest.raises(ValueError, match="a must be a positive"):
        RegularisedLoss(-1.0)
    with pytest.raises(ValueError, match="q0"):
        thresholds(RegularisedLoss(), q0=0.0)
    with pytest.raises(ValueError, match="alpha"):
        amp_state_evolution(-1.0)
