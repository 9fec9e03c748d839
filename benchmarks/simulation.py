"""Benchmarks of the finite-N simulator (tables for the docs and the closing notes).

    python benchmarks/simulation.py            # everything but the largest-size row (~8 min)
    python benchmarks/simulation.py --quick    # the same rows at small sizes (< 1 min)
    python benchmarks/simulation.py --largest  # also the largest phase-retrieval size in memory

Rows:
1. phase retrieval, one GD step at N = 1000, alpha = 4 (fused one-pass kernel, float64 and
   float32) / the two BLAS mat-vecs A@x and A.T@v it replaces [P7];
2. an ensemble of 16 GD samples (data + 1000 steps each) / a plain numpy loop over samples;
3. spiked p = 3 gradient at N = 200, 400 (packed i <= j <= k tensor) / np.einsum on the dense
   tensor, and / one streaming pass over the stored packed tensor (np.sum);
4. wall time of one spiked sample (N = 200, p = 3, t = 100, Heun dt = 0.01) and of a PR
   ensemble (N = 1000, alpha = 4, 64 samples, gradient flow to t = 20 at tol = 1e-6): the
   Heun scheme ("adaptive", the default before 0.x) against "auto" (Dormand-Prince 5(4) with
   RKC2 on stiff stretches), in float64 and float32, with the mean evaluations per sample.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from saddlesurf import _io
from saddlesurf.simulation import GradientDescent, GradientFlow, SimulationOptions, simulate
from saddlesurf.simulation.phase_retrieval import _kernels as _pr_kernels
from saddlesurf.simulation.spherical import _kernels as _spiked_kernels
from saddlesurf.simulation.spherical.sample import _data
from saddlesurf.theory import PhaseRetrieval, RegularisedLoss, SpikedMatrixTensor


def best_of(fn, repeat=5, number=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def gd_steps(A, y, p, xs, x, steps, eta):
    """``steps`` GD steps through the simulator's kernel; returns seconds per step."""
    stop = np.array([0.0, 2.0, 0.0, 0.0, 0.5, 0.0])  # never stop early
    st = np.array([0.0, eta, -1.0, 0.0, 0.0, 0.0])
    prm = np.array([eta, 0.0, 0.0, 0.0])
    empty = np.zeros((0, 1))
    t0 = time.perf_counter()
    _pr_kernels.run(A, y, p, xs, x, _pr_kernels.GD, prm, steps * eta, 10**9, stop, empty, empty,
                    np.ones(A.shape[0], np.uint8), st)
    return (time.perf_counter() - t0) / steps


def pr_step_rows(n=1000, alpha=4.0):
    rng = np.random.default_rng(0)
    m = int(alpha * n)
    A = rng.standard_normal((m, n))
    xs = rng.standard_normal(n)
    xs *= math.sqrt(n) / np.linalg.norm(xs)
    y = (A @ xs / math.sqrt(n)) ** 2
    x = rng.standard_normal(n)
    x *= math.sqrt(n) / np.linalg.norm(x)
    v = rng.standard_normal(m)
    blas = best_of(lambda: (A @ x, A.T @ v), repeat=20)
    p = RegularisedLoss(0.01).params
    gd_steps(A, y, p, xs, x.copy(), 2, 1e-4)  # compile
    rows = [("PR GD step, 2 BLAS mat-vecs (numpy)", blas, 1.0)]
    for dtype in ("float64", "float32"):
        Ad = np.ascontiguousarray(A, dtype=dtype)
        gd_steps(Ad, y, p, xs, x.copy(), 2, 1e-4)
        t = min(gd_steps(Ad, y, p, xs, x.copy(), 50, 1e-4) for _ in range(3))
        rows.append((f"PR GD step, saddlesurf fused ({dtype})", t, t / blas))
    return rows


def numpy_ensemble(model, n, n_samples, steps, eta, seed):
    """The plain approach: a Python loop over samples, numpy vectorised within a sample."""
    a = model.loss.a
    for s in np.random.SeedSequence(seed).spawn(n_samples):
        rng = np.random.default_rng(s)
        xs = rng.standard_normal(n)
        xs *= math.sqrt(n) / np.linalg.norm(xs)
        A = rng.standard_normal((model.n_measurements(n), n))
        y = (A @ xs / math.sqrt(n)) ** 2
        x = rng.standard_normal(n)
        x *= math.sqrt(n) / np.linalg.norm(x)
        for _ in range(steps):
            h = A @ x / math.sqrt(n)
            g = A.T @ (4 * h * (h * h - y) / (a + y)) / math.sqrt(n)
            x = x - eta * g
            x *= math.sqrt(n) / np.linalg.norm(x)


def ensemble_rows(n=1000, alpha=4.0, n_samples=16, steps=1000, eta=2e-5):
    model = PhaseRetrieval(alpha)
    t_np = best_of(lambda: numpy_ensemble(model, n, n_samples, steps, eta, 1), repeat=1)
    rows = [(f"PR ensemble {n_samples} x {steps} GD steps (data included), numpy loop", t_np,
             1.0)]
    for dtype in ("float64", "float32"):
        opts = SimulationOptions(n_times=4, stop_at_success=False, grad_tol=1e-300, dtype=dtype)
        t0 = time.perf_counter()
        simulate(model, n, t_max=steps * eta, n_samples=n_samples,
                 algorithm=GradientDescent(step=eta), options=opts, rng=1)
        t = time.perf_counter() - t0
        rows.append((f"PR ensemble {n_samples} x {steps} GD steps, saddlesurf {dtype}", t,
                     t / t_np))
    return rows


def spiked_rows(n: int):
    model = SpikedMatrixTensor(3, 0.5, 1.0)
    xs, J, w = _data(model, n, np.random.default_rng(0), True)
    x = np.random.default_rng(1).standard_normal(n)
    g = np.empty(n)
    _spiked_kernels.gradient(J, w, 3, x, g)
    t_ss = best_of(lambda: _spiked_kernels.gradient(J, w, 3, x, g), repeat=5, number=3)
    dense = np.random.default_rng(2).standard_normal((n, n, n))
    t_ein = best_of(lambda: np.einsum("ijk,j,k->i", dense, x, x, optimize=True), repeat=3)
    t_td = best_of(lambda: np.tensordot(dense, x, axes=1) @ x, repeat=3)
    t_stream = best_of(lambda: w.sum(), repeat=5, number=3)
    return [(f"spiked p=3 gradient N={n}, einsum dense", t_ein, 1.0),
            (f"spiked p=3 gradient N={n}, tensordot dense", t_td, t_td / t_ein),
            (f"spiked p=3 gradient N={n}, saddlesurf packed", t_ss, t_ss / t_ein),
            (f"spiked N={n}: stream packed tensor once (w.sum) [ratio: packed / this]",
             t_stream, t_ss / t_stream)]


def wall_rows(n_spiked=200, n_pr=1000, samples=64):
    t0 = time.perf_counter()
    simulate(SpikedMatrixTensor(3, 0.5, 1.0), n_spiked, t_max=100.0, n_samples=1,
             algorithm=GradientFlow(dt=0.01), rng=3)
    t_sp = time.perf_counter() - t0
    rows = [(f"one spiked sample N={n_spiked}, p=3, t=100 (Heun dt=0.01)", t_sp, float("nan"))]
    before = None
    for scheme, dtype in (("adaptive", "float64"), ("auto", "float64"), ("auto", "float32")):
        opts = SimulationOptions(dtype=dtype)
        algorithm = GradientFlow(scheme=scheme)
        simulate(PhaseRetrieval(4.0), 50, t_max=1.0, n_samples=2, rng=0, options=opts,
                 algorithm=algorithm)  # compile outside the timing
        t0 = time.perf_counter()
        res = simulate(PhaseRetrieval(4.0), n_pr, t_max=20.0, n_samples=samples, rng=4,
                       options=opts, algorithm=algorithm)
        t_pr = time.perf_counter() - t0
        before = before or t_pr
        rows.append((f"PR ensemble N={n_pr}, alpha=4, {samples} samples, GF {scheme} {dtype} "
                     f"to t=20 "
                     f"(success {res.success.mean():.2f}, "
                     f"{res.n_evaluations.mean():.0f} evaluations/sample)", t_pr, t_pr / before))
    return rows


def largest_rows(alpha=4.0):
    """The largest N whose float32 sensing matrix fits in 60% of the free memory, and the time
    of one fused GD step at that size (the matrix is drawn in float32 here, for speed)."""
    avail = _io.available_memory()
    n = int(math.sqrt(0.6 * avail / (4 * alpha)))
    n -= n % 1000
    m = int(alpha * n)
    rng = np.random.default_rng(5)
    A = rng.standard_normal((m, n), dtype=np.float32)
    xs = np.ones(n)
    x = rng.standard_normal(n)
    x *= math.sqrt(n) / np.linalg.norm(x)
    y = np.ones(m)
    t = gd_steps(A, y, RegularisedLoss(0.01).params, xs, x, 3, 1e-6)
    return [(f"largest PR size in memory, float32: N={n}, M={m} ({A.nbytes / 2**30:.1f} GiB), "
             "one GD step", t, float("nan"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--largest", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    args = ap.parse_args()
    if args.quick:
        rows = (pr_step_rows(n=300) + ensemble_rows(n=300, n_samples=4, steps=200)
                + spiked_rows(100) + wall_rows(n_spiked=60, n_pr=300, samples=8))
    else:
        rows = (pr_step_rows() + ensemble_rows() + spiked_rows(200) + spiked_rows(400)
                + wall_rows())
    if args.largest:
        rows += largest_rows()
    print("| case | seconds | ratio |\n|---|---|---|")
    for name, t, ratio in rows:
        print(f"| {name} | {t:.4g} | {'' if math.isnan(ratio) else f'{ratio:.3g}'} |")


if __name__ == "__main__":
    main()
