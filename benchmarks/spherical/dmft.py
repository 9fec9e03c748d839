"""Benchmark of the fixed-grid DMFT solver against a straightforward numpy Euler reference.

    python benchmarks/spherical/dmft.py                    # t_max = 100 and 1000 at dt = 0.05
    python benchmarks/spherical/dmft.py --t-max 100        # quick
    python benchmarks/spherical/dmft.py --long             # grid doubling to t = 1e3, 1e4, 1e5
    python benchmarks/spherical/dmft.py --accuracy         # error / time / memory per scheme
    python benchmarks/spherical/dmft.py --accuracy --quick # the same, fewer rows (~1 min)
    python benchmarks/spherical/dmft.py --threads          # 1 vs 2 threads, idle and loaded
    python benchmarks/spherical/dmft.py --scaling          # cost per cell vs n, to n = 4000
    python benchmarks/spherical/dmft.py --scaling --quick  # the same to n = 2000 (~1 min)

Prints one row per (t_max, scheme): steps, steps/s, wall time, peak two-time memory and the
final (m, mu, e). The reference integrates the same equations [S3.1] with explicit Euler on full
n x n arrays, one numpy mat-vec per memory integral and step; it runs only up to
``--reference-max`` (its cost at t_max = 1000 is extrapolated as n^3 and marked "est.").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from saddlesurf.theory import SpikedMatrixTensor, solve_dmft

MODEL = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)  # easy phase, escape near t ~ 40
M0 = 1e-4


def reference_euler(model, t_max, m0, dt):
    """Textbook explicit Euler + trapezoid [S3.4] with full arrays and R(t, t) = 1 (saddlesurf's
    euler uses the authors' R(t, t) = 0 inside the sums; the cost is the same)."""
    n = int(round(t_max / dt)) + 1
    C = np.zeros((n, n))
    R = np.zeros((n, n))
    m = np.zeros(n)
    mu = np.zeros(n)
    C[0, 0] = R[0, 0] = 1.0
    m[0] = m0
    for i in range(n - 1):
        w = np.full(i + 1, dt)
        w[0] = w[-1] = dt / 2
        if i == 0:
            w[:] = 0.0
        c, r = C[i, :i + 1], R[i, :i + 1]
        k = r * model.d2Q(c)
        mu[i] = model.dQ(m[i]) * m[i] + np.dot(w, r * (model.dQ(c) + c * model.d2Q(c)))
        Csym = np.tril(C[:i + 1, :i + 1]) + np.tril(C[:i + 1, :i + 1], -1).T
        a = (w * k) @ Csym
        Rl = R[:i + 1, :i + 1]
        f = model.dQ(c)
        b = dt * (Rl @ f) - 0.5 * dt * (Rl[:, 0] * f[0] + f)
        b[0] = 0.0
        d = dt * (k @ Rl) - 0.5 * dt * (k + k[i] * r)
        d[i] = 0.0
        dC = -mu[i] * c + model.dQ(m[i]) * m[:i + 1] + a + b
        dR = -mu[i] * r + d
        dm = -mu[i] * m[i] + model.dQ(m[i]) + np.dot(w * k, m[:i + 1])
        C[i + 1, :i + 1] = c + dt * dC
        R[i + 1, :i + 1] = r + dt * dR
        C[i + 1, i + 1] = R[i + 1, i + 1] = 1.0
        m[i + 1] = m[i] + dt * dm
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--t-max", type=float, nargs="+", default=[100.0, 1000.0])
    ap.add_argument("--dt", type=float, default=0.05)
    ap.add_argument("--schemes", nargs="+", default=["euler", "heun"])
    ap.add_argument("--reference-max", type=float, default=100.0)
    args = ap.parse_args()

    solve_dmft(MODEL, 1.0, m0=M0, dt=args.dt, scheme="heun")  # compile / load the numba cache
    print(f"model {MODEL!r}, m0 = {M0:g}, dt = {args.dt:g}")
    header = (f"{'t_max':>7} {'solver':>16} {'steps':>7} {'steps/s':>9} {'wall [s]':>10} "
              f"{'C,R [MiB]':>10} {'m(t_max)':>10} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for t_max in args.t_max:
        n = int(round(t_max / args.dt))
        ref_time = None
        if t_max <= args.reference_max:
            t0 = time.perf_counter()
            m_ref = reference_euler(MODEL, t_max, M0, args.dt)
            ref_time = time.perf_counter() - t0
            print(f"{t_max:7g} {'numpy Euler ref':>16} {n:7d} {n / ref_time:9.1f} "
                  f"{ref_time:10.2f} {2 * (n + 1) ** 2 * 8 / 2**20:10.1f} {m_ref[-1]:10.6f} "
                  f"{1.0:9.2f}")
        else:
            ref_small = args.reference_max
            t0 = time.perf_counter()
            reference_euler(MODEL, ref_small, M0, args.dt)
            ref_time = (time.perf_counter() - t0) * (t_max / ref_small) ** 3
            print(f"{t_max:7g} {'numpy Euler ref':>16} {n:7d} {n / ref_time:9.2f} "
                  f"{ref_time:10.0f} {2 * (n + 1) ** 2 * 8 / 2**20:10.1f} {'(est.)':>10} "
                  f"{1.0:9.2f}")
        for scheme in args.schemes:
            res = solve_dmft(MODEL, t_max, m0=M0, dt=args.dt, scheme=scheme,
                             store_two_time=False)
            wall = res.stats["wall_time_s"]
            print(f"{t_max:7g} {'saddlesurf ' + scheme:>16} {res.stats['steps']:7d} "
                  f"{res.stats['steps'] / wall:9.1f} {wall:10.2f} "
                  f"{res.stats['two_time_bytes'] / 2**20:10.1f} {res.m[-1]:10.6f} "
                  f"{ref_time / wall:9.2f}", flush=True)


def long_runs(t_maxes, windows) -> None:
    """Grid-doubling runs [S3.4]: wall time, peak RSS, two-time memory and the distance to the
    closed-form easy-phase fixed point [S3.3] at t_max (error estimate run excluded)."""
    import resource

    from saddlesurf.theory import DMFTOptions, gradient_flow_fixed_point

    fp = gradient_flow_fixed_point(MODEL)
    print(f"grid doubling, model {MODEL!r}, m0 = {M0:g}, dt0 = 0.01")
    header = (f"{'t_max':>7} {'window':>7} {'windows':>8} {'wall [s]':>9} {'peak RSS [MiB]':>15} "
              f"{'C,chi [MiB]':>12} {'|m-m*|':>9} {'|mu-mu*|':>9} {'|e-e*|':>9}")
    print(header)
    print("-" * len(header))
    for W in windows:
        for t_max in t_maxes:
            opts = DMFTOptions(scheme="doubling", dt=0.01, window=W, store_two_time=False,
                               error_estimate=False)
            res = solve_dmft(MODEL, t_max, m0=M0, options=opts)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{t_max:7g} {W:7d} {res.stats['windows']:8d} "
                  f"{res.stats['wall_time_s']:9.2f} {rss:15.0f} "
                  f"{res.stats['two_time_bytes'] / 2**20:12.2f} {abs(res.m[-1] - fp.m):9.1e} "
                  f"{abs(res.mu[-1] - fp.mu):9.1e} {abs(res.e[-1] - fp.e):9.1e}", flush=True)
    t0 = time.perf_counter()
    res = solve_dmft(MODEL, 100.0, m0=M0, dt=0.05, scheme="heun", store_two_time=False)
    wall = time.perf_counter() - t0
    print(f"fixed grid heun dt = 0.05: t_max = 100 in {wall:.2f} s, so t_max = 1000 takes about "
          f"{wall * 1000:.0f} s (n^3) and {2 * 20001**2 * 4 / 2**30:.1f} GiB for C and R")


EASY = SpikedMatrixTensor(p=3, delta2=0.25, delta_p=1.0)  # the accuracy case of issue 20


def _errors(res, ref):
    """Largest |error| of m, mu, e over the reference grid points both runs hold."""
    step = round(ref.options.dt / res.options.dt)
    if step < 1 or abs(step * res.options.dt - ref.options.dt) > 1e-12:
        raise ValueError("the run's grid must refine the reference grid")
    return [float(np.max(np.abs(getattr(res, q)[::step][:len(ref.times)] - getattr(ref, q))))
            for q in ("m", "mu", "e")]


def accuracy(quick: bool) -> None:
    """Error in m, mu, e at t <= 10 (easy case), wall time (first call in this process and
    warm), peak C + R memory, for each scheme and dt, and the rtol rows of the default scheme."""
    import warnings

    from saddlesurf.theory import AccuracyWarning

    warnings.simplefilter("ignore", AccuracyWarning)
    t0 = time.perf_counter()
    ref = solve_dmft(EASY, 10.0, m0=0.1, rtol=1e-10, store_two_time=False)
    print(f"reference: extrapolated rtol 1e-10, {ref.stats['levels'] + 1} levels, estimate "
          f"{max(ref.error_estimate.values()):.1e}, {time.perf_counter() - t0:.1f} s")
    rows = [("euler", dt, None) for dt in ((0.02,) if quick else (0.05, 0.02, 0.01))]
    rows += [("heun", dt, None) for dt in ((0.02,) if quick else (0.05, 0.02, 0.01))]
    rows += [("trapezoid", dt, None) for dt in ((0.02,) if quick else (0.05, 0.02, 0.01))]
    rows += [("gregory", dt, None) for dt in ((0.025,) if quick else (0.05, 0.025, 0.0125,
                                                                     0.00625))]
    rows += [("extrapolated", None, rtol) for rtol in
             ((None, 1e-7) if quick else (None, 1e-3, 1e-5, 1e-6, 1e-7, 1e-8))]
    header = (f"{'scheme':>13} {'dt':>6} {'rtol':>6} {'L':>2} {'err m':>8} {'err mu':>8} "
              f"{'err e':>8} {'estimate':>9} {'first [s]':>9} {'warm [s]':>9} {'C,R [MiB]':>9}")
    print(header)
    print("-" * len(header))
    seen = set()
    for scheme, dt, rtol in rows:
        kw = {"dt": 0.1 if scheme == "extrapolated" else dt, "scheme": scheme,
              "store_two_time": False}
        if rtol is not None:
            kw["rtol"] = rtol
        t0 = time.perf_counter()
        res = solve_dmft(EASY, 10.0, m0=0.1, **kw)
        first = time.perf_counter() - t0
        if scheme not in seen:
            seen.add(scheme)
            t0 = time.perf_counter()
            res = solve_dmft(EASY, 10.0, m0=0.1, **kw)
            warm = time.perf_counter() - t0
        else:
            warm, first = first, float("nan")
        err = _errors(res, ref)
        est = max(res.error_estimate.values()) if res.error_estimate else float("nan")
        mem = res.stats.get("finest_two_time_bytes", res.stats["two_time_bytes"]) / 2**20
        print(f"{scheme:>13} {res.options.dt:6.3g} {rtol or res.options.rtol:6.0e} "
              f"{res.stats.get('levels', 0):2d} {err[0]:8.1e} {err[1]:8.1e} {err[2]:8.1e} "
              f"{est:9.1e} {first:9.2f} {warm:9.2f} {mem:9.1f}", flush=True)


def scaling(quick: bool) -> None:
    """Fixed-grid cost against the number of rows n (heun, one thread, easy case): the time per
    cell of the lower triangle per right-hand-side evaluation stays flat if the cost is n^3."""
    import warnings

    from saddlesurf.theory import AccuracyWarning, DMFTOptions

    warnings.simplefilter("ignore", AccuracyWarning)
    header = (f"{'n':>6} {'evaluations':>12} {'wall [s]':>9} {'ns/cell/eval':>13} "
              f"{'C,R [MiB]':>10} {'local exponent':>15}")
    print(header)
    print("-" * len(header))
    solve_dmft(EASY, 1.0, m0=0.1, dt=0.01, scheme="heun")  # compile / load the cache
    previous = None
    for n in (500, 1000, 2000) if quick else (500, 1000, 2000, 4000):
        opts = DMFTOptions(dt=10.0 / n, scheme="heun", store_two_time=False, threads=1)
        t0 = time.perf_counter()
        res = solve_dmft(EASY, 10.0, m0=0.1, options=opts)
        wall = time.perf_counter() - t0
        # the 2h companion adds n/2 rows: its cells are 1/8 of the main run's
        cells = res.stats["rhs_evaluations"] * n * n / 6 * (1 + 1 / 8)
        slope = ("" if previous is None else
                 f"{np.log(wall / previous[1]) / np.log(n / previous[0]):15.2f}")
        print(f"{n:6d} {res.stats['rhs_evaluations']:12d} {wall:9.2f} {1e9 * wall / cells:13.2f} "
              f"{res.stats['two_time_bytes'] / 2**20:10.1f} {slope}", flush=True)
        previous = (n, wall)


def _timed(kw, threads, t_max):
    from saddlesurf.theory import DMFTOptions

    opts = DMFTOptions(threads=threads, store_two_time=False, **kw)
    solve_dmft(EASY, 1.0, m0=0.1, options=opts)  # compile / load the cache
    t0 = time.perf_counter()
    solve_dmft(EASY, t_max, m0=0.1, options=opts)
    return time.perf_counter() - t0


def threads_table() -> None:
    """1 vs 2 numba threads vs the automatic choice, idle and with one busy neighbour process
    (a pure-Python loop on one of the cores)."""
    import subprocess
    import sys
    import warnings

    from saddlesurf.theory import AccuracyWarning

    warnings.simplefilter("ignore", AccuracyWarning)
    cases = [("extrapolated default, t = 10", {}, 10.0),
             ("heun dt 0.01, t = 30 (3000 rows)", {"scheme": "heun", "dt": 0.01}, 30.0)]
    header = f"{'run':>34} {'neighbour':>9} {'auto [s]':>9} {'1 thread':>9} {'2 threads':>9}"
    print(header)
    print("-" * len(header))
    for busy in (False, True):
        hog = (subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None)
        try:
            for name, kw, t_max in cases:
                times = [_timed(kw, th, t_max) for th in (None, 1, 2)]
                print(f"{name:>34} {'busy' if busy else 'idle':>9} "
                      + " ".join(f"{t:9.2f}" for t in times), flush=True)
        finally:
            if hog is not None:
                hog.kill()


if __name__ == "__main__":
    import sys

    if "--long" in sys.argv:
        long_runs([1e3, 1e4, 1e5], [256, 512])
    elif "--accuracy" in sys.argv:
        accuracy(quick="--quick" in sys.argv)
    elif "--threads" in sys.argv:
        threads_table()
    elif "--scaling" in sys.argv:
        scaling(quick="--quick" in sys.argv)
    else:
        main()
