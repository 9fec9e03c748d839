"""The relaxation method for 1/Delta2^GF [S5.1] at its defaults: value, interval, budget, cost.

For each (p, Delta_p) this runs :func:`saddlesurf.theory.relaxation_time_fit` with a fresh store,
then again from the store (a rerun computes nothing), and prints the estimate against the closed
form with the budget of the interval (each variant's x_c and its shift from the central fit).

Run: ``python benchmarks/spherical/critical_ratio.py`` (p = 3, Delta_p = 1 and p = 4,
Delta_p = 0.5: about 10 minutes on 2 cores); ``--quick`` does p = 3 only.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from saddlesurf.theory import relaxation_time_fit

CASES = [(3, 1.0), (4, 0.5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p = 3, Delta_p = 1 only")
    args = parser.parse_args()
    print("| p | Delta_p | closed form | x_c [interval] | width / x_c | holds it | wall (s) "
          "| rerun from store (s) |")
    print("|---|---|---|---|---|---|---|---|")
    budgets = []
    for p, dp in CASES[:1] if args.quick else CASES:
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


if __name__ == "__main__":
    main()
