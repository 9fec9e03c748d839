"""Phase-diagram lines [S5], threshold-state Hessian and the spiked-Wigner BBP transition."""

import math

import numpy as np
import pytest

from saddlesurf.theory import (
    MixedSpherical,
    SpikedMatrixTensor,
    hessian_spectrum,
    threshold_state,
    thresholds,
)


@pytest.mark.parametrize("p", [3, 4])
def test_ordering_on_the_whole_phase_diagram(p):
    """amp <= ml_amp < gf < triv everywhere, it <= amp; all -> 1 as Delta_p -> inf [S5]."""
    grid = np.geomspace(0.02, 200.0, 60)
    th = thresholds(p, grid)
    assert th.gf.shape == grid.shape
    assert np.all(th.it <= th.amp)
    assert np.all(th.amp <= th.amp_spinodal) and np.all(th.amp_spinodal < th.ml_amp)
    assert np.all(th.ml_amp < th.gf)
    assert np.all(th.gf < th.triv)
    far = thresholds(p, 1e8)  # Sigma_min(0) = O(Delta_p^-3) there: resolved in mpmath
    assert far.ml_amp < far.gf < far.triv
    for key in ("amp", "amp_spinodal", "ml_amp", "gf", "triv", "it"):
        assert getattr(far, key) == pytest.approx(1.0, abs=1e-6)
    # monotone in Delta_p: noisier tensors need a stronger matrix
    assert np.all(np.diff(th.gf) < 0) and np.all(np.diff(th.triv) < 0)


def test_closed_forms_are_the_linear_instabilities():
    """GF: theta(0) = 1/Delta2 = s; ML-AMP: slope of m -> Q'(m)/sqrt(Q'(1)+Q'(m)^2) at 0 is 1."""
    for p, dp in [(3, 1.0), (4, 0.37), (3, 5.0)]:
        th = thresholds(p, dp)
        at_gf = SpikedMatrixTensor(p, 1 / th.gf, dp)
        assert at_gf.d2Qs(0.0) == pytest.approx(math.sqrt(at_gf.d2Q(1.0)), abs=1e-13)
        at_ml = SpikedMatrixTensor(p, 1 / th.ml_amp, dp)
        assert at_ml.d2Qs(0.0) / math.sqrt(at_ml.dQ(1.0)) == pytest.approx(1.0, abs=1e-13)
    assert thresholds(3, 1.0).gf == pytest.approx(2.0, abs=1e-15)
    assert thresholds(3, 1.0).ml_amp == pytest.approx((1 + math.sqrt(5)) / 2, abs=1e-15)


def _bayes_amp_from_zero(p, x, dp, iters=200_000):
    m, hi = 1e-10, 1.0
    g = lambda m: (x * m + m ** (p - 1) / dp) / (1 + x * m + m ** (p - 1) / dp)  # noqa: E731
    for _ in range(iters):
        m = g(m)
    for _ in range(2000):
        hi = g(hi)
    return m, hi


def test_amp_spinodal_against_state_evolution():
    """[S5.3] iterated from m0 = 1e-10: p = 3 succeeds right above 1/Delta2 = 1; for p = 4 at
    small Delta_p it stays on a low branch until the spinodal."""
    assert thresholds(3, [0.05, 0.5, 3.0]).amp_spinodal.tolist() == [1.0, 1.0, 1.0]
    x = thresholds(4, 0.05).amp_spinodal
    assert 1.005 < x < 1.05
    m, hi = _bayes_amp_from_zero(4, x * (1 - 1e-3), 0.05)
    assert m < 0.1 < hi
    m, hi = _bayes_amp_from_zero(4, x * (1 + 1e-3), 0.05)
    assert m == pytest.approx(hi, abs=1e-6)
    assert thresholds(4, 1.0).amp_spinodal == 1.0


@pytest.mark.parametrize("p, dp", [(3, 0.5), (4, 0.2), (3, 0.1)])
def test_information_theoretic_line_is_where_phi_turns_positive(p, dp):
    x = thresholds(p, dp).it
    ms = np.linspace(1e-4, 1 - 1e-6, 200001)

    def phi_max(inv_delta2):
        return np.max(0.5 * (ms + np.log1p(-ms) + inv_delta2 * ms**2 / 2 + ms**p / (p * dp)))

    if x > 0:
        assert phi_max(x * (1 - 1e-4)) <= 0 < phi_max(x * (1 + 1e-4))
    else:
        assert phi_max(0.0) > 0


def test_threshold_state_hessian_bbp_formulas():
    model = SpikedMatrixTensor(3, 1 / 3.0, 2.0)  # theta = 3, s = sqrt(3 + 2/2) = 2
    h = threshold_state(model).hessian
    assert h.mu == pytest.approx(4.0) and h.bulk_edges == pytest.approx((0.0, 8.0))
    assert h.outlier == pytest.approx(4.0 - 3.0 - 4.0 / 3.0, abs=1e-14)
    assert h.overlap_direction == pytest.approx(1 - 4 / 9, abs=1e-14)
    assert not h.is_minimum
    below = hessian_spectrum(SpikedMatrixTensor(3, 1 / 1.5, 1.0))
    assert math.isnan(below.outlier) and below.overlap_signal == 0 and below.is_minimum
    assert below.lowest == pytest.approx(0.0, abs=1e-14)
    lam = np.linspace(*h.bulk_edges, 20001)
    assert np.trapezoid(h.density(lam), lam) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("theta", [0.6, 1.5, 2.5])
def test_spiked_wigner_bbp_against_random_matrices(theta):
    """GOE(radius 2) - theta v v^T: outlier at -(theta + 1/theta) and overlap^2 1 - 1/theta^2
    iff theta > 1 (BBP at theta = 1), checked on N = 1500 matrices."""
    rng = np.random.default_rng(12)
    n = 1500
    g = rng.standard_normal((n, n))
    w = (g + g.T) / np.sqrt(2 * n)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    vals, vecs = np.linalg.eigh(w - theta * np.outer(v, v))
    # s = sqrt(Q_n''(1)) = 1 and theta(0) = Q_s''(0) = theta
    h = hessian_spectrum(MixedSpherical(noise={2: 0.5}, signal={2: theta / 2}), 0.0, mu=0.0)
    assert h.s == 1.0 and h.theta == theta
    if theta > 1:
        assert h.outlier == pytest.approx(-(theta + 1 / theta), abs=1e-14)
        assert vals[0] == pytest.approx(h.outlier, abs=0.05)
        assert (vecs[:, 0] @ v) ** 2 == pytest.approx(h.overlap_direction, abs=0.06)
    else:
        assert math.isnan(h.outlier) and h.lowest == -2.0
        assert vals[0] == pytest.approx(h.lowest, abs=0.05)
        assert (vecs[:, 0] @ v) ** 2 < 0.05


@pytest.mark.parametrize("bad, match", [
    (dict(model_or_p=2, delta_p=1.0), "p must"),
    (dict(model_or_p=3, delta_p=-1.0), "delta_p"),
    (dict(model_or_p=3, delta_p=float("nan")), "delta_p"),
    (dict(model_or_p=3), "delta_p is required"),
])
def test_invalid_threshold_input(bad, match):
    with pytest.raises(ValueError, match=match):
        thresholds(**bad)
