"""Fuzz of the public entries with bad input: every one gets a ValueError or TypeError that
names the parameter, before any work starts (issue 22's validation layer, ``_validate``)."""

import signal

import numpy as np
import pytest

from saddlesurf._validate import integer, real
from saddlesurf.comparison import (
    locate_critical_ratio,
    predict_success,
    success_curves,
    success_point,
    sweep,
)
from saddlesurf.simulation import GradientFlow, Langevin, SimulationOptions, simulate
from saddlesurf.theory import (
    DMFTOptions,
    PhaseRetrieval,
    RegularisedLoss,
    SpikedMatrixTensor,
    complexity,
    escape_time_map,
    relaxation_time_fit,
    solve_dmft,
    thresholds,
)

M = SpikedMatrixTensor(3, 0.4, 1.0)
NAN, INF = float("nan"), float("inf")
BAD_REAL = [True, "1", NAN, INF, -1.0, 0.0, None, [1.0]]
BAD_INT = [True, "8", 2.5, NAN, -3, 0, None]
GRID3 = (1.5, 2, 2.5)
cases = []


def add(entry, name, values, call):
    cases.extend((entry, name, v, call) for v in values)


def sim(**kw):
    return simulate(M, kw.pop("n", 8), t_max=kw.pop("t_max", 0.1),
                    n_samples=kw.pop("n_samples", 1), rng=1, **kw)


def critical(**kw):
    return locate_critical_ratio(M, kw.pop("grid", GRID3), methods=("crossing",),
                                 **{"sizes": (8, 12), "n_samples": 2, "t_max": 0.5, **kw})


def curves(n_boot):
    return success_curves((8, 16), (1, 2, 3), [[1, 1, 1]] * 2, [[2, 2, 2]] * 2, n_boot=n_boot)


NOT_NONE = [v for v in BAD_REAL if v is not None]
add("SpikedMatrixTensor", "delta2", [v for v in BAD_REAL if v != INF],
    lambda v: SpikedMatrixTensor(3, v, 1.0))
add("SpikedMatrixTensor", "delta_p", [True, "1", NAN, -1.0, 0.0, None],
    lambda v: SpikedMatrixTensor(3, 0.4, v))
add("SpikedMatrixTensor", "p", BAD_INT + [2], lambda v: SpikedMatrixTensor(v, 0.4, 1.0))
add("solve_dmft", "t_max", BAD_REAL, lambda v: solve_dmft(M, v, m0=0.2))
add("solve_dmft", "m0", BAD_REAL + [1.0, 1.5], lambda v: solve_dmft(M, 1.0, m0=v))
add("solve_dmft", "temperature", [True, "1", NAN, INF, -1.0, None],
    lambda v: solve_dmft(M, 1.0, m0=0.2, temperature=v))
add("solve_dmft", "dt", NOT_NONE, lambda v: solve_dmft(M, 1.0, m0=0.2, dt=v))
add("solve_dmft", "scheme", [1, "rk4", True], lambda v: solve_dmft(M, 1.0, m0=0.2, scheme=v))
add("solve_dmft", "rtol", NOT_NONE + [1.0], lambda v: solve_dmft(M, 1.0, m0=0.2, rtol=v))
add("DMFTOptions", "window", BAD_INT + [18], lambda v: DMFTOptions(window=v))
add("DMFTOptions", "max_growth", BAD_REAL, lambda v: DMFTOptions(max_growth=v))
add("DMFTOptions", "tolerance", BAD_REAL, lambda v: DMFTOptions(tolerance=v))
add("thresholds", "delta_p", [True, "1", NAN, -1.0, 0.0, None], lambda v: thresholds(3, v))
add("complexity", "m", [True, "0", NAN, 1.0, -1.5, None], lambda v: complexity(M, m=v))
add("simulate", "n", BAD_INT + [1], lambda v: sim(n=v))
add("simulate", "t_max", BAD_REAL, lambda v: sim(t_max=v))
add("simulate", "n_samples", BAD_INT, lambda v: sim(n_samples=v))
add("simulate", "start", [1, "cold", None], lambda v: sim(start=v))
add("simulate", "m0", [True, "0.1", NAN, -0.1, 1.0, None], lambda v: sim(start="warm", m0=v))
add("simulate", "workers", [True, "2", 0, -1, 1.5], lambda v: sim(workers=v))
add("simulate", "algorithm", ["gf", 1, GradientFlow], lambda v: sim(algorithm=v))
add("GradientFlow", "dt", [v for v in NOT_NONE if v != [1.0]], lambda v: GradientFlow(dt=v))
add("Langevin", "temperature", [True, "1", NAN, -1.0, None],
    lambda v: Langevin(temperature=v, dt=0.01))
add("SimulationOptions", "n_times", BAD_INT, lambda v: SimulationOptions(n_times=v))
add("SimulationOptions", "escape_level", BAD_REAL + [1.5],
    lambda v: SimulationOptions(escape_level=v))
add("PhaseRetrieval", "alpha", BAD_REAL, lambda v: PhaseRetrieval(v, RegularisedLoss(0.01)))
add("RegularisedLoss", "a", BAD_REAL, lambda v: RegularisedLoss(v))
add("locate_critical_ratio", "grid", [[], [1.0], [2.0, 1.0, 0.5], [1, NAN, 2], "abc"],
    lambda v: critical(grid=v))
add("locate_critical_ratio", "sizes", [(), (8,), (16, 8), (1, 8)], lambda v: critical(sizes=v))
add("locate_critical_ratio", "n_samples", BAD_INT, lambda v: critical(n_samples=v))
add("locate_critical_ratio", "n_boot", [True, -1, 2.5, "9"], lambda v: critical(n_boot=v))
add("escape_time_map", "m0", [(), (0.1, 0.01), (0.0, 0.1), (0.1, 1.2), "x"],
    lambda v: escape_time_map(3, 1.0, (1.7,), v))
add("escape_time_map", "inv_delta2", [(), (0.9,), (2.0, 1.8), "x"],
    lambda v: escape_time_map(3, 1.0, v))
add("predict_success", "n", BAD_INT + [1], lambda v: predict_success(M, (1.7,), v, t_max=5.0))
add("relaxation_time_fit", "window", BAD_INT + [30],
    lambda v: relaxation_time_fit(3, 1.0, window=v))
add("relaxation_time_fit", "t_min", BAD_REAL, lambda v: relaxation_time_fit(3, 1.0, t_min=v))
add("sweep", "grid", [{}, [], {"n": []}, 5], lambda v: sweep(success_point, v))
add("sweep", "function", [5, "f"], lambda v: sweep(v, {"n": [1]}))
add("sweep", "function", [lambda **k: {}], lambda v: sweep(v, {"n": [1]}, workers=2))
add("success_curves", "n_boot", [True, -1, 2.5], curves)


def test_enough_cases():
    assert len(cases) >= 150


class _Accepted(Exception):
    pass


def _alarm(*_):
    raise _Accepted("still running after 4 s: the input was accepted")


@pytest.mark.parametrize("entry, name, value, call", cases,
                         ids=[f"{e}-{n}-{v!r}"[:60] for e, n, v, _ in cases])
def test_bad_input_is_refused_naming_the_parameter(entry, name, value, call):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(4)
    try:
        with pytest.raises((ValueError, TypeError), match=name.split()[0]) as info:
            call(value)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert not isinstance(info.value, _Accepted)


def test_numpy_scalars_are_accepted():
    m = SpikedMatrixTensor(np.int64(3), np.float32(0.4), np.float64(1.0))
    assert m.delta2 == pytest.approx(0.4) and isinstance(m.p, int)
    assert real(np.float32(0.5), "x", low=0.0) == 0.5
    assert integer(np.int32(4), "n", low=1) == 4 and integer(4.0, "n") == 4
    r = solve_dmft(m, np.float64(0.5), m0=np.float32(0.3), dt=0.05, scheme="heun")
    assert r.status == "success"
