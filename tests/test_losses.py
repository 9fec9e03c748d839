"""Losses of phase retrieval [P2] and the PhaseRetrieval model [P1]."""

import numpy as np
import pytest

from saddlesurf.theory import (
    BoundedLoss,
    CustomLoss,
    PhaseRetrieval,
    RegularisedLoss,
    SquareLoss,
)

H = np.linspace(-2.5, 2.5, 11)
Y = np.array([0.0, 0.3, 1.0, 2.0, 5.0])


@pytest.mark.parametrize("loss", [SquareLoss(), RegularisedLoss(0.01), RegularisedLoss(1.0),
                                  BoundedLoss()])
def test_derivatives_match_finite_differences(loss):
    h, y = np.meshgrid(H, Y)
    eps = 1e-5
    d1 = (loss.value(h + eps, y) - loss.value(h - eps, y)) / (2 * eps)
    d2 = (loss.d1(h + eps, y) - loss.d1(h - eps, y)) / (2 * eps)
    scale = 1 + np.abs(loss.d2(h, y))
    assert np.max(np.abs(d1 - loss.d1(h, y)) / scale) < 1e-6
    assert np.max(np.abs(d2 - loss.d2(h, y)) / scale) < 1e-6


def test_closed_forms_of_the_spec():
    """[P2.1]-[P2.3] at one point, h = 1.5, y = 0.7."""
    h, y, r = 1.5, 0.7, 1.5**2 - 0.7
    assert SquareLoss().value(h, y) == pytest.approx(r * r / 4, rel=1e-14)
    assert SquareLoss().d2(h, y) == pytest.approx(3 * h * h - y, rel=1e-14)
    la = RegularisedLoss(0.01)
    assert la.value(h, y) == pytest.approx(r * r / 0.71, rel=1e-14)
    assert la.d1(h, y) == pytest.approx(4 * h * r / 0.71, rel=1e-14)
    assert la.d2(h, y) == pytest.approx((12 * h * h - 4 * y) / 0.71, rel=1e-14)
    # l_a'' >= -4 everywhere [P2.2]
    hh, yy = np.meshgrid(np.linspace(-3, 3, 61), np.linspace(0, 30, 61))
    assert la.d2(hh, yy).min() >= -4.0
    assert BoundedLoss().value(h, y) == pytest.approx(1 - np.exp(-r * r / 2), rel=1e-14)


def test_custom_loss_matches_the_builtin_it_copies():
    user = CustomLoss("my_la", lambda h, y, p: (h * h - y) ** 2 / (p[0] + y),
                      lambda h, y, p: 4 * h * (h * h - y) / (p[0] + y),
                      lambda h, y, p: (12 * h * h - 4 * y) / (p[0] + y), (0.01,))
    h, y = np.meshgrid(H, Y)
    for order in ("value", "d1", "d2"):
        np.testing.assert_allclose(getattr(user, order)(h, y),
                                   getattr(RegularisedLoss(0.01), order)(h, y), rtol=1e-13)


def test_bad_losses_and_models_are_refused():
    with pytest.raises(ValueError, match="a must be a positive"):
        RegularisedLoss(0.0)
    with pytest.raises(ValueError, match="loss 'nan'"):
        CustomLoss("nan", lambda h, y, p: np.sqrt(h), lambda h, y, p: 1.0, lambda h, y, p: 0.0)
    with pytest.raises(ValueError, match="loss 'div'"):
        CustomLoss("div", lambda h, y, p: h / y, lambda h, y, p: 1.0, lambda h, y, p: 0.0)
    with pytest.raises(ValueError, match="alpha"):
        PhaseRetrieval(0.0)
    with pytest.raises(ValueError, match="alpha"):
        PhaseRetrieval(-1.0)
    with pytest.raises(TypeError, match="loss"):
        PhaseRetrieval(2.0, loss="square")
    model = PhaseRetrieval(3.0, BoundedLoss())
    assert PhaseRetrieval.from_dict(model.to_dict()) == model
    assert model.n_measurements(1000) == 3000
