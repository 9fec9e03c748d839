"""The critical ratio by three methods on simulations at several N (tens of minutes: marked
long, run with SADDLESURF_LONG=1)."""

import math

import numpy as np
import pytest

from saddlesurf.comparison import locate_critical_ratio
from saddlesurf.theory import PhaseRetrieval, RegularisedLoss, SpikedMatrixTensor

pytestmark = pytest.mark.long


def test_spiked_bbp_and_relaxation():
    """p = 3, Delta_p = 1: the BBP value is the closed form 2 and the DMFT relaxation time
    diverges within 5% of it."""
    rep = locate_critical_ratio(SpikedMatrixTensor(p=3, delta2=0.5, delta_p=1.0),
                                methods=("bbp", "relaxation"))
    assert rep["bbp"].value == 2.0
    assert abs(rep["relaxation"].value / 2.0 - 1) < 0.05, rep


@pytest.mark.xfail(strict=True, reason=(
    "odd p: above 1/Delta2 = 2.2 most failures escape to the negative-m minimum (m = -0.13 to "
    "-0.48, below the |m| >= 0.5 level), so the success curves level off at 0.8-0.87 at every "
    "N <= 128 and the crossing (2.66 [1.89, 3.67] here) is too wide; see docs/sharp_bits.md, "
    "'Odd p and the sign of m'"))
def test_spiked_crossing():
    """p = 3, Delta_p = 1: the finite-size crossing lies between ML-AMP and trivialisation
    within an interval narrower than 1.5."""
    rep = locate_critical_ratio(SpikedMatrixTensor(p=3, delta2=0.5, delta_p=1.0),
                                [1.6, 1.9, 2.2, 2.5, 2.8], methods=("crossing",),
                                sizes=(24, 48, 96), n_samples=96, t_max=1000, rng=2)
    cross = rep["crossing"]
    lo, hi = rep.reference["ml_amp"], rep.reference["triv"]
    assert cross.low <= hi and cross.high >= lo, rep
    assert cross.high - cross.low < 1.5, rep


def test_phase_retrieval_three_methods():
    """l_a (a = 0.01): success curves at N = 100, 200, 400 with 40 samples per point give
    crossings with intervals; the report lists the three methods with their numbers."""
    rep = locate_critical_ratio(PhaseRetrieval(4.0, RegularisedLoss(0.01)),
                                [1.5, 2.0, 2.5, 3.0, 3.5, 4.0], sizes=(100, 200, 400),
                                n_samples=40, t_max=200, rng=4)
    assert set(rep.estimates) == {"bbp", "relaxation", "crossing"}, rep.failures
    for est in rep.estimates.values():
        assert math.isfinite(est.value) and est.low <= est.value <= est.high, est
    assert len(rep.curves.crossings) == 2
    assert all(np.isfinite([c["low"], c["high"]]).all() for c in rep.curves.crossings)
    assert rep.reference["amp"] < rep["bbp"].value
    text = repr(rep)
    assert all(m in text for m in ("bbp", "relaxation", "crossing"))
