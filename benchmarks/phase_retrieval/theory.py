"""Benchmarks of the phase-retrieval theory: DMFT cost [P6] and quadrature thresholds [P4]-[P5].

    python benchmarks/phase_retrieval/theory.py          # full table (about 6 min on 2 cores)
    python benchmarks/phase_retrieval/theory.py --quick  # no full solve, no numpy reference

Rows:
- one DMFT map evaluation (paths + response + integration) for K time points and S paths, and
  the fitted exponents of its cost in K and S;
- the same evaluation in plain numpy (vectorised over paths, one loop per (t, t') pair), the
  reference the numba kernel is measured against;
- a full solve at the [P6] validation point with K = 120, S = 2e4 (wall time, iterations, peak
  resident memory of a fresh process);
- alpha_BBP^init(l_a), the Bayes-AMP lines and the optimal spectral threshold (each < 1 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from saddlesurf.theory import (
    BoundedLoss,
    PhaseRetrieval,
    RegularisedLoss,
    bbp_ratio,
    initial_law,
    spectral_threshold,
)
from saddlesurf.theory.phase_retrieval import dmft as P
from saddlesurf.theory.phase_retrieval.thresholds import _amp_lines

MODEL = PhaseRetrieval(3.0, BoundedLoss())


def _setup(k, s):
    times = np.linspace(0.0, 1.5, k)
    lo, hi = np.zeros(k), np.zeros(k)
    lo[:-1] = hi[1:] = 0.5 * np.diff(times)
    paths = P._Paths(MODEL, times, s, 1.0, None, np.random.SeedSequence(0))
    tau = np.abs(times[:, None] - times[None, :])
    state = (0.04 + 0.96 * np.exp(-tau), np.tril(np.exp(-tau)), np.full(k, 0.2))
    return times, lo, hi, paths, state


def one_evaluation(k, s, repeat=2):
    times, lo, hi, paths, state = _setup(k, s)
    P._evaluate(MODEL, 0.0, lo, hi, paths, slice(0, s), None, *state)  # compile
    t0 = time.perf_counter()
    for _ in range(repeat):
        P._evaluate(MODEL, 0.0, lo, hi, paths, slice(0, s), None, *state)
    return (time.perf_counter() - t0) / repeat


def numpy_evaluation(k, s):
    """The response recursion of the map in plain numpy (the dominant O(S K^3) part)."""
    times, lo, hi, paths, state = _setup(k, s)
    C, R, m = state
    loss = MODEL.loss
    t0 = time.perf_counter()
    cov = C - np.outer(m, m)
    w, v = np.linalg.eigh(cov)
    chi = paths.z[:, :k] @ ((v * np.sqrt(np.clip(w, 0, None))) @ v.T)
    RW = R * (lo + hi)[None, :]
    h = np.empty((s, k))
    l1 = np.empty((s, k))
    for i in range(k):  # explicit memory (the kernel is implicit; same cost order)
        b = m[i] * paths.hs + chi[:, i]
        if i:
            b -= l1[:, :i] @ RW[i, :i] - l1[:, 0] * R[i, 0] * (hi[0])
        h[:, i] = b
        l1[:, i] = loss.d1(b, paths.y)
    g = loss.d2(h, paths.y[:, None])
    kacc = np.zeros((k, k))
    for j in range(k):
        q = np.zeros((s, k))
        q[:, j] = g[:, j]
        for i in range(j + 1, k):
            acc = q[:, j + 1:i] @ RW[i, j + 1:i] + R[i, j] * lo[j] * q[:, j]
            r = (R[i, j] - acc) / (1 + hi[i] * g[:, i])
            q[:, i] = g[:, i] * r
            kacc[i, j] = q[:, i] @ g[:, j]
    return time.perf_counter() - t0


def full_solve():
    code = ("import json, resource, time; from saddlesurf.theory import *; t = time.perf_counter();"
            " r = solve_dmft(PhaseRetrieval(3.0, BoundedLoss()), 1.5, m0=0.2, rng=1);"
            " print(json.dumps({'wall': time.perf_counter() - t, 'its': r.stats['iterations'],"
            " 'batch': r.stats['batch_iterations'], 'm': r.m[-1], 'dm': r.mc_error['m'][-1],"
            " 'lam': r.lam[-1], 'C0': r.C0[-1],"
            " 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(fn, repeat=3):
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        value = fn()
    return (time.perf_counter() - t0) / repeat, value


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print("| case | seconds | notes |\n|---|---|---|")
    ks, ss = (30, 60, 120), (5000, 10000, 20000)
    tk = [one_evaluation(k, 20000) for k in ks]
    ts = [one_evaluation(120, s) for s in ss]
    for k, t in zip(ks, tk, strict=True):
        print(f"| DMFT map evaluation K={k}, S=20000 | {t:.3f} | |")
    for s, t in zip(ss, ts, strict=True):
        print(f"| DMFT map evaluation K=120, S={s} | {t:.3f} | |")
    ek = np.polyfit(np.log(ks[1:]), np.log(tk[1:]), 1)[0]
    es = np.polyfit(np.log(ss), np.log(ts), 1)[0]
    print(f"| cost exponents | | time ~ K^{ek:.2f} S^{es:.2f} |")
    if not args.quick:
        tn = numpy_evaluation(120, 20000)
        print(f"| plain numpy response recursion K=120, S=20000 | {tn:.2f} | "
              f"{tn / tk[-1]:.1f}x one numba evaluation |")
        f = full_solve()
        print(f"| full solve K=120, S=2e4 (validation point) | {f['wall']:.1f} | "
              f"{f['its']} iterations + batches {f['batch']}; m={f['m']:.4f}+-{f['dm']:.4f}, "
              f"lam={f['lam']:.4f}, C(t,0)={f['C0']:.4f}; peak RSS {f['rss']:.0f} MB |")
        print(f"| numpy estimate of the same solve | {tn * (f['its'] + sum(f['batch']) / 8):.0f} "
              f"| evaluations x numpy time |")
    law = initial_law(RegularisedLoss(0.01))
    t, v = timed(lambda: bbp_ratio(initial_law(RegularisedLoss(0.01))))
    print(f"| alpha_BBP^init(l_a, a=0.01) incl. quadrature ({law.g.size} atoms) | {t:.3f} | "
          f"{v:.12f} |")
    t, v = timed(lambda: _amp_lines(1e-3), repeat=1)
    print(f"| Bayes-AMP weak + perfect recovery lines | {t:.3f} | {v[0]:.8f}, {v[1]:.8f} |")
    t, v = timed(lambda: spectral_threshold(delta=0.5005))
    print(f"| optimal spectral threshold (delta = 0.5005) | {t:.3f} | {v:.8f} |")


if __name__ == "__main__":
    main()
