"""Where gradient flow from a finite initial overlap m0 reaches the signal, in the large-N theory.

A random start at size N has m(0) = z/sqrt(N), z standard normal, so finite-N success curves
probe the DMFT at m0 ~ N^(-1/2), not the m0 -> 0+ limit that defines 1/Delta2^GF [S3.2], [S5.1].
For p = 3, Delta_p = 1 this bisects, for each m0, the smallest x = 1/Delta2 at which the DMFT
m(t) [S3.1] reaches 0.5 m*(x) (m* the easy-phase fixed point [S3.3]) by t_max. Below x = 1.22 the
easy fixed point does not exist, so the bisection starts there.

Run: ``python benchmarks/spherical/finite_m0.py`` (about 30 minutes on 2 cores: every run goes to
t_max); ``--quick`` does m0 = 0.07 and 0.03 only (a few minutes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from saddlesurf.theory import DMFTOptions, SpikedMatrixTensor, gradient_flow_fixed_point, solve_dmft

OPTIONS = DMFTOptions(scheme="doubling", dt=0.01, window=256, store_two_time=False,
                      error_estimate=False)


def reaches(x: float, m0: float, t_max: float, p: int, delta_p: float) -> bool:
    model = SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
    level = 0.5 * gradient_flow_fixed_point(model).m
    return level > 0 and bool(np.any(solve_dmft(model, t_max, m0=m0, options=OPTIONS).m >= level))


def onset(m0: float, t_max: float, p: int, delta_p: float, lo: float, hi: float,
          xtol: float) -> tuple[float, float]:
    """Bracket (low, high) of x_c to xtol; low = -inf when the run at ``lo`` already succeeds,
    high = inf when the one at ``hi`` does not."""
    if reaches(lo, m0, t_max, p, delta_p):
        return -float("inf"), lo
    if not reaches(hi, m0, t_max, p, delta_p):
        return hi, float("inf")
    while hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if reaches(mid, m0, t_max, p, delta_p) else (mid, hi)
    return lo, hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--t-max", type=float, default=1000.0)
    ap.add_argument("--xtol", type=float, default=0.01)
    args = ap.parse_args()
    m0s = (0.07, 0.03) if args.quick else (0.07, 0.03, 0.01, 1e-3, 1e-4, 1e-6)
    print(f"p = 3, Delta_p = 1, t_max = {args.t_max:g}: success needs 1/Delta2 > x_c(m0)")
    print(f"{'m0':>8} {'N ~ 1/m0^2':>11} {'x_c low':>8} {'x_c high':>8} {'seconds':>8}")
    for m0 in m0s:
        t0 = time.perf_counter()
        lo, hi = onset(m0, args.t_max, 3, 1.0, 1.22, 2.3, args.xtol)
        print(f"{m0:8.0e} {1 / m0**2:11.2g} {lo:8.3f} {hi:8.3f} {time.perf_counter() - t0:8.0f}",
              flush=True)
    print("References: 1/Delta2^ML-AMP = 1.618, 1/Delta2^GF = 2, 1/Delta2^triv = 2.191")


if __name__ == "__main__":
    main()
