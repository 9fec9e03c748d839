"""Models [S1.1]: validation, the covariance polynomials and their numba twins."""

import math

import numpy as np
import pytest

from saddlesurf.theory import MixedSpherical, SpikedMatrixTensor
from saddlesurf.theory.spherical import _dmft_kernels as _kernels
from saddlesurf.theory.spherical.models import model_from_dict


def test_spiked_covariance_and_derivatives():
    m = SpikedMatrixTensor(p=4, delta2=0.5, delta_p=2.0)
    q = np.linspace(-1, 1, 7)
    assert np.allclose(m.Q(q), q**2 / 1.0 + q**4 / 8.0, atol=1e-15)
    assert np.allclose(m.dQ(q), 2 * q + q**3 / 2.0, atol=1e-15)
    assert np.allclose(m.d2Q(q), 2 + 1.5 * q**2, atol=1e-15)
    assert m.is_bayes and m.Qs(0.3) == m.Q(0.3) and m.snr == 2.0
    assert m.with_snr(4.0) == SpikedMatrixTensor(4, 0.25, 2.0)


def test_numba_kernels_match_python_polynomials():
    model = MixedSpherical(noise={2: 0.3, 3: 0.2, 4: 0.1}, signal={3: 0.5})
    for q in (-0.7, 0.0, 0.4, 1.0):
        assert _kernels.poly(model.noise_coeffs, q) == pytest.approx(model.Q(q), abs=1e-15)
        assert _kernels.dpoly(model.noise_coeffs, q) == pytest.approx(model.dQ(q), abs=1e-15)
        assert _kernels.d2poly(model.noise_coeffs, q) == pytest.approx(model.d2Q(q), abs=1e-15)
        assert _kernels.dpoly(model.signal_coeffs, q) == pytest.approx(1.5 * q * q, abs=1e-15)
    assert not model.is_bayes


def test_infinite_noise_switches_a_channel_off():
    wigner = SpikedMatrixTensor(3, 0.5, math.inf)
    assert wigner.Q(0.5) == pytest.approx(0.25)
    tensor = SpikedMatrixTensor(3, math.inf, 1.0)
    assert tensor.d2Q(0.0) == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(p=2, delta2=1.0, delta_p=1.0), "p must be an integer >= 3"),
    (dict(p=3.5, delta2=1.0, delta_p=1.0), "p must"),
    (dict(p=3, delta2=0.0, delta_p=1.0), "delta2"),
    (dict(p=3, delta2=-1.0, delta_p=1.0), "delta2"),
    (dict(p=3, delta2=float("nan"), delta_p=1.0), "delta2"),
    (dict(p=3, delta2=1.0, delta_p=-2.0), "delta_p"),
    (dict(p=3, delta2=1.0, delta_p="x"), "delta_p"),
    (dict(p=3, delta2=math.inf, delta_p=math.inf), "both be inf"),
])
def test_invalid_spiked_parameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SpikedMatrixTensor(**kwargs)


def test_invalid_mixture():
    with pytest.raises(ValueError, match="coefficient of q\\^3"):
        MixedSpherical(noise={3: -1.0})
    with pytest.raises(ValueError, match="constant term"):
        MixedSpherical(noise={0: 1.0, 2: 0.5})
    with pytest.raises(ValueError, match="degree >= 2"):
        MixedSpherical(noise={1: 1.0})


def test_round_trip_through_dict():
    for model in (SpikedMatrixTensor(3, 0.7, 1.3),
                  MixedSpherical(noise={2: 0.5, 4: 0.25}, signal={2: 0.5})):
        assert model_from_dict(model.to_dict()) == model
