"""The spiked critical ratio 1/Delta2^GF [S5.1]: the relaxation method, the escape-time map and
the finite-size onsets, each with its value, interval and cost.

- ``relaxation``: for each (p, Delta_p) :func:`saddlesurf.theory.relaxation_time_fit` with a
  fresh store, then again from the store (a rerun computes nothing); the estimate against the
  closed form with the budget of the interval (each variant's x_c and its shift).
- ``map``: :func:`saddlesurf.theory.escape_time_map` for p = 3, Delta_p = 1 on 8 x by 4 m0
  (t_max = 1000), fresh and from its store.
- ``finite_size``: ``locate_critical_ratio(methods=("finite_size",))`` for p = 3, Delta_p = 1 from
  random starts: the onsets x_c(N), the predicted ones, each extrapolation form and the
  interval against 2.

Run: ``python benchmarks/spherical/critical_ratio.py [--part relaxation|map|finite_size]``
(everything: about an hour on 2 cores); ``--quick`` does p = 3 only, a 4 x 2 map and small
samples (a few minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from saddlesurf.comparison import locate_critical_ratio
from saddlesurf.theory import SpikedMatrixTensor, escape_time_map, relaxation_time_fit

CASES = [(3, 1.0), (4, 0.5)]


def escape_map(quick: bool) -> None:
    xs = (1.5, 1.8, 2.1, 2.4) if quick else (1.3, 1.45, 1.6, 1.75, 1.9, 2.05, 2.2, 2.4)
    seeds = (0.01, 0.1) if quick else (1e-3, 0.01, 0.03, 0.1)
    with tempfile.TemporaryDirectory() as store:
        t0 = time.perf_counter()
        emap = escape_time_map(3, 1.0, xs, seeds, t_max=1000.0, store=store)
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        escape_time_map(3, 1.0, xs, seeds, t_max=1000.0, store=store)
        rerun = time.perf_counter() - t0
    print(f"\nescape-time map, p = 3, Delta_p = 1, {len(xs)} x by {len(seeds)} m0, t_max = 1000: "
          f"{wall:.0f} s, {rerun:.2f} s from the store\n")
    print("| 1/Delta2 | " + " | ".join(f"tau(m0 = {m:g})" for m in seeds)
          + " | sigma2(t = 50) |")
    print("|---" * (len(seeds) + 2) + "|")
    for i, x in enumerate(xs):
        cells = " | ".join(f"{t:.4g} +- {e:.2g}" if t < float("inf") else "inf"
                           for t, e in zip(emap.tau[i], emap.tau_error[i], strict=True))
        print(f"| {x:g} | {cells} | {emap.sigma2[i, -1]:.3g} |")


def finite_size(quick: bool) -> None:
    sizes, samples = ((24, 48), 48) if quick else ((24, 48, 96), 192)
    grid = (0.9, 1.2, 1.5, 1.8, 2.1, 2.4)
    t0 = time.perf_counter()
    rep = locate_critical_ratio(SpikedMatrixTensor(3, 0.5, 1.0), grid, methods=("finite_size",),
                                sizes=sizes, n_samples=samples, t_max=1000.0, rng=3,
                                store=f"saddlesurf-output/finite_size_store_{samples}")
    est = rep["finite_size"]
    d = est.details
    print(f"\nfinite-size onsets, p = 3, Delta_p = 1, N = {list(sizes)}, {samples} samples, "
          f"t_max = 1000 ({time.perf_counter() - t0:.0f} s)\n")
    print("| N | x_c(N) simulated [95%] | predicted |")
    print("|---|---|---|")
    for i, n in enumerate(d["sizes"]):
        print(f"| {n} | {d['x_c'][i]:.3f} [{d['low'][i]:.3f}, {d['high'][i]:.3f}] | "
              f"{d['x_c_predicted'].get(n, '-')} |")
    print("\n| form | x_inf [95%] |\n|---|---|")
    for k, f in d["forms"].items():
        print(f"| x_inf + b (ln N)^-{k:g} | {f['x_inf']:.3f} [{f['low']:.3f}, {f['high']:.3f}] |")
    print(f"\nestimate {est.value:.3f} [{est.low:.3f}, {est.high:.3f}], width {d['width']:.3f}, "
          f"holds 2: {est.low <= 2.0 <= est.high}")


def relaxation(quick: bool) -> None:
    print("| p | Delta_p | closed form | x_c [interval] | width / x_c | holds it | wall (s) "
          "| rerun from store (s) |")
    print("|---|---|---|---|---|---|---|---|")
    budgets = []
    for p, dp in CASES[:1] if quick else CASES:
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()
            fit = relaxation_time_fit(p, dp, store=store)
            wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            relaxation_time_fit(p, dp, store=store)
            rerun = time.perf_counter() - t0
        lo, hi = fit.x_c_interval
        print(f"| {p} | {dp:g} | {fit.x_bbp:.6g} | {fit.x_c:.4f} [{lo:.4f}, {hi:.4f}] "
              f"| {(hi - lo) / fit.x_bbp:.2%} | {lo <= fit.x_bbp <= hi} | {wall:.0f} "
              f"| {rerun:.2f} |")
        budgets.append((p, dp, fit))
    for p, dp, fit in budgets:
        print(f"\nbudget, p = {p}, Delta_p = {dp:g} (central x_c = {fit.x_c:.4f})\n")
        print("| part | x_c | shift | 1.96 sigma | variant |")
        print("|---|---|---|---|---|")
        for name, v in fit.budget.items():
            if "x_c" in v and "what" in v:
                print(f"| {name} | {v['x_c']:.4f} | {v['shift']:+.4f} | {1.96 * v['sigma']:.4f} "
                      f"| {v['what']} |")
        print(f"| m0 | - | 0 | - | {fit.budget['m0']['why']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="p = 3 only, a 4 x 2 map, small samples")
    parser.add_argument("--part", choices=("relaxation", "map", "finite_size"), nargs="+",
                        default=["relaxation", "map", "finite_size"])
    args = parser.parse_args()
    for part in args.part:
        {"relaxation": relaxation, "map": escape_map, "finite_size": finite_size}[part](
            args.quick)


if __name__ == "__main__":
    main()
