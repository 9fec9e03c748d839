"""Finite-N success of gradient flow: the large-N prediction against simulations (spiked model).

p = 3, Delta_p = 1. The escape-time map (DMFT escape times tau(x, m0) and the overlap
fluctuations sigma2) is built once on the union of the grids; ``predict_success`` turns it into
P(success) and escape-time quantiles, and ``success_point`` simulates the same thing.

- Warm starts at m0 = 0.1, x = 1.7 and 1.9 (above 1/Delta2^ML-AMP = 1.618), t_max = 30: the
  median escape time of the successful runs against the DMFT's tau(x, m0) (the N -> inf limit)
  and against the finite-N prediction.
- Random starts at x = 1.3, 1.5, 1.7, 1.9, N = 48 and 96, 192 samples, t_max = 1000: P(success)
  simulated against predicted with and without the fluctuations, residuals in binomial SE.

Run: ``python benchmarks/spherical/finite_n.py`` (about 30 minutes on 2 cores; a rerun from its
store takes seconds); ``--quick`` (about a minute) uses fewer samples, sizes and t_max. The table
is written to ``--out`` as JSON too.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from saddlesurf.comparison import predict_success, success_point, sweep
from saddlesurf.theory import SpikedMatrixTensor, escape_time_map

FAMILY = SpikedMatrixTensor(p=3, delta2=1.0, delta_p=1.0)


def median_and_se(times: np.ndarray) -> tuple[float, float]:
    """Median and its standard error from the binomial order-statistic interval."""
    t = np.sort(times)
    n = t.size
    if n < 4:
        return math.nan, math.nan
    half = 1.96 * math.sqrt(n) / 2
    lo, hi = int(max(0, math.floor(n / 2 - half))), int(min(n - 1, math.ceil(n / 2 + half)))
    return float(np.median(t)), float((t[hi] - t[lo]) / (2 * 1.96))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--store", default="saddlesurf-output/finite_n_store")
    ap.add_argument("--out", default="saddlesurf-output/finite_n.json")
    args = ap.parse_args()
    q = args.quick
    warm_sizes = (32, 64) if q else (32, 64, 128, 256)
    warm_samples = 64 if q else 256
    rand_sizes = (48,) if q else (48, 96)
    rand_samples = 64 if q else 192
    t_rand = 200.0 if q else 1000.0
    grid = (1.3, 1.5, 1.7, 1.9)
    store = Path(args.store)
    t0 = time.perf_counter()
    for bad in (0.9, 1.1):
        try:
            escape_time_map(3, 1.0, (bad,), t_max=t_rand)
        except ValueError as err:
            print(f"x = {bad}: not predicted ({err})")
    emap = escape_time_map(3, 1.0, grid, t_max=t_rand, store=store / "map")
    print(f"{emap}  [{time.perf_counter() - t0:.0f} s]")
    table = {"map": emap.to_dict(), "warm": [], "random": []}

    print("\nWarm starts, m0 = 0.1, t_max = 30: median escape time of the successful runs")
    print(f"{'x':>4} {'N':>4} {'P sim':>12} {'P pred [interval]':>22} {'res':>5} "
          f"{'median sim':>14} {'pred [interval]':>21} {'res':>5} {'tau':>5} "
          f"{'|sim-tau|/SE':>12}")
    for x in (1.7, 1.9):
        tau = float(emap.tau_at(x, 0.1))
        for n in warm_sizes:
            t1 = time.perf_counter()
            pt = sweep(_warm_point, [{"n": n, "x": x, "n_samples": warm_samples}], rng=11,
                       store=store / "warm").values[0]
            pr = predict_success(FAMILY, (x,), n, t_max=30.0, start="warm", m0=0.1,
                                 escape_map=emap)
            ok = np.asarray(pt["success"], dtype=bool)
            med, se = median_and_se(np.asarray(pt["escape_time"])[ok])
            res = float(pr.residuals([pt["successes"]], [pt["trials"]])[0])
            lo, hi = pr.probability_interval[0]
            q_lo, q_hi = pr.quantile_interval[0, 1]
            q_res = (med - min(max(med, q_lo), q_hi)) / se
            row = {"x": x, "n": n, "successes": pt["successes"], "trials": pt["trials"],
                   "p_pred": float(pr.probability[0]), "p_interval": [float(lo), float(hi)],
                   "residual": res, "median": med, "median_se": se,
                   "median_pred": float(pr.quantiles[0, 1]),
                   "median_interval": [float(q_lo), float(q_hi)], "median_residual": q_res,
                   "tau": tau,
                   "z_tau": abs(med - tau) / se, "seconds": time.perf_counter() - t1}
            table["warm"].append(row)
            print(f"{x:4.1f} {n:4d} {pt['successes']:5d}/{pt['trials']:<6d} "
                  f"{pr.probability[0]:8.3f} [{lo:.3f}, {hi:.3f}] {res:5.1f} "
                  f"{med:7.2f} +- {se:4.2f} {pr.quantiles[0, 1]:6.2f} [{q_lo:5.2f}, {q_hi:5.2f}] "
                  f"{q_res:5.1f} {tau:5.2f} {row['z_tau']:12.1f}", flush=True)

    print(f"\nRandom starts, t_max = {t_rand:g}: P(success) simulated and predicted "
          "(with the overlap fluctuations / plain m0 = z/sqrt(N)), residuals in binomial SE")
    print(f"{'x':>4} {'N':>4} {'sim':>10} {'pred [interval]':>22} {'res':>5} "
          f"{'plain':>6} {'res':>5} {'sigma2':>6}")
    for n in rand_sizes:
        pts = sweep(success_point, {"model": ["spiked"], "n": [n], "x": list(grid),
                                    "n_samples": [rand_samples], "t_max": [t_rand]}, rng=7,
                    store=store / "random").values
        full = predict_success(FAMILY, grid, n, t_max=t_rand, escape_map=emap)
        plain = predict_success(FAMILY, grid, n, t_max=t_rand, escape_map=emap,
                                fluctuations=False)
        k = [pt["successes"] for pt in pts]
        m = [pt["trials"] for pt in pts]
        r_full, r_plain = full.residuals(k, m), plain.residuals(k, m)
        for i, x in enumerate(grid):
            lo, hi = full.probability_interval[i]
            table["random"].append({
                "x": x, "n": n, "successes": k[i], "trials": m[i],
                "p_pred": float(full.probability[i]), "p_interval": [float(lo), float(hi)],
                "residual": float(r_full[i]), "p_plain": float(plain.probability[i]),
                "residual_plain": float(r_plain[i]), "sigma2": float(full.sigma2[i])})
            print(f"{x:4.1f} {n:4d} {k[i]:4d}/{m[i]:<5d} {full.probability[i]:8.3f} "
                  f"[{lo:.3f}, {hi:.3f}] {r_full[i]:5.1f} {plain.probability[i]:6.3f} "
                  f"{r_plain[i]:5.1f} {full.sigma2[i]:6.2f}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(table, indent=1, default=float))
    print(f"\n{time.perf_counter() - t0:.0f} s in all; table in {args.out}")


def _warm_point(*, n, x, n_samples, rng):
    return success_point(model="spiked", n=n, x=x, n_samples=n_samples, t_max=30.0, dt=0.02,
                         start="warm", m0=0.1, rng=rng)


if __name__ == "__main__":
    main()
