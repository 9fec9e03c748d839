"""Ensembles: seeding, determinism across workers, kill-and-resume, storage, statistics."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from saddlesurf.simulation import (
    GradientFlow,
    PersistentSGD,
    SimulationOptions,
    SimulationResult,
    simulate,
    wilson_interval,
)
from saddlesurf.theory import PhaseRetrieval, SpikedMatrixTensor

SPIKED = SpikedMatrixTensor(3, 0.5, 1.0)
PR = PhaseRetrieval(3.0)
OPTS = SimulationOptions(n_times=8, hessian_times=(1.0,))


def _same(a: SimulationResult, b: SimulationResult):
    for name in SimulationResult._ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("model, algorithm", [
    (SPIKED, GradientFlow(dt=0.02)),
    (PR, GradientFlow()),
    (PR, PersistentSGD(step=1e-3, batch_fraction=0.3, persistence=0.01)),
])
def test_bit_identical_for_one_and_two_workers(model, algorithm):
    runs = [simulate(model, 40, t_max=2.0, n_samples=5, algorithm=algorithm, rng=31, workers=w,
                     options=OPTS) for w in (1, 2)]
    _same(*runs)
    assert runs[0].stats["workers"] == 1 and runs[1].stats["workers"] == 2


def test_seeds_are_recorded_and_reproduce_a_sample():
    res = simulate(PR, 30, t_max=1.0, n_samples=4, rng=np.random.SeedSequence(77), options=OPTS)
    assert res.seed_entropy == "77" and res.spawn_keys.tolist() == [[0], [1], [2], [3]]
    again = simulate(PR, 30, t_max=1.0, n_samples=4, rng=77, options=OPTS)
    _same(res, again)
    # a Generator is accepted (consumed once for the root entropy)
    gen = simulate(PR, 30, t_max=1.0, n_samples=2, rng=np.random.default_rng(5), options=OPTS)
    assert gen.seed_entropy != "77"
    with pytest.raises(TypeError, match="rng"):
        simulate(PR, 30, t_max=1.0, rng=-3)


def test_save_load_is_lossless(tmp_path):
    res = simulate(PR, 30, t_max=1.0, n_samples=3, rng=32,
                   options=SimulationOptions(n_times=5, hessian_times=(0.5,),
                                             keep_final_state=True))
    stem = res.save(tmp_path / "run")
    back = SimulationResult.load(stem)
    _same(res, back)
    assert back.model == res.model and back.algorithm == res.algorithm
    assert back.options == res.options and back.stats == res.stats
    assert repr(back) == repr(res)


_CHILD = """
import sys
from saddlesurf.simulation import GradientFlow, SimulationOptions, simulate
from saddlesurf.theory import SpikedMatrixTensor
simulate(SpikedMatrixTensor(3, 0.5, 1.0), 80, t_max=6.0, n_samples=12, rng=33, workers=1,
         algorithm=GradientFlow(dt=0.005), options=SimulationOptions(n_times=6),
         checkpoint=sys.argv[1])
"""


def test_killed_and_resumed_ensemble_equals_an_uninterrupted_one(tmp_path):
    ckpt = tmp_path / "ckpt"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(ckpt)])
    try:
        deadline = time.time() + 120
        while len(list(ckpt.glob("sample_*.json"))) < 3:
            assert child.poll() is None, "the child finished before it could be killed"
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    done_before = len(list(ckpt.glob("sample_*.json")))  # the json is written last
    assert 3 <= done_before < 12
    kwargs = dict(t_max=6.0, n_samples=12, rng=33, algorithm=GradientFlow(dt=0.005),
                  options=SimulationOptions(n_times=6))
    resumed = simulate(SPIKED, 80, checkpoint=ckpt, **kwargs)
    assert resumed.stats["resumed_samples"] == done_before
    _same(resumed, simulate(SPIKED, 80, **kwargs))
    # extending the ensemble reuses all 12 stored samples
    longer = simulate(SPIKED, 80, checkpoint=ckpt, **{**kwargs, "n_samples": 13})
    assert longer.stats["resumed_samples"] == 12 and longer.n_samples == 13
    # another run in the same directory is refused
    with pytest.raises(ValueError, match="different run"):
        simulate(SPIKED, 80, checkpoint=ckpt, **{**kwargs, "t_max": 4.0})


def test_summaries_and_wilson_interval():
    """Wilson 95% interval for 8/10 = (0.4902, 0.9433) (textbook value)."""
    p, lo, hi = wilson_interval(8, 10)
    assert (p, round(lo, 4), round(hi, 4)) == (0.8, 0.4902, 0.9433)
    assert wilson_interval(0, 20)[1] == 0.0 and wilson_interval(20, 20)[2] == 1.0
    res = simulate(PR, 40, t_max=2.0, n_samples=6, rng=34, options=OPTS)
    s = res.summary("m", absolute=True)
    np.testing.assert_allclose(s["mean"], np.abs(res.m).mean(0))
    np.testing.assert_allclose(s["sem"], np.abs(res.m).std(0, ddof=1) / np.sqrt(6))
    assert s["count"].tolist() == [6] * res.times.size
    esc = res.escape_time_summary()
    assert esc["median"] == esc["q50"] and esc["escaped"] == np.isfinite(res.escape_time).sum()
