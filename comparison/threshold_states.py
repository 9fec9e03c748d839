"""Route (b) of the phase-retrieval critical ratio at several N [P4.5b] (private helper of
``locate_critical_ratio``).

At each size N, signal-projected gradient flow [P3.3] runs to a stationary point (or t_max) on
a grid of alpha; the pooled (h_mu, h*_mu) of each alpha give the edge margin F(s_-) [P4.2]
(``theory.state_law``, ``glm_spectrum``), and alpha_c(N) is the zero of a straight line fitted
to the margins on the grid (least squares; with few samples the margins are too noisy for the
interpolation between two grid points). alpha_c(N) is then extrapolated to N -> inf.

Errors:
- statistical, per N: a bootstrap that redraws whole samples, the same draw at every alpha.
  Every alpha of one N uses the same samples' seeds (common random numbers: a sample's data at
  a larger alpha extends its data at a smaller one), so the margins of neighbouring alphas are
  correlated; resampling each alpha on its own, or a least-squares error that treats them as
  independent, would understate the error of the zero;
- fit form of the margin: |linear - quadratic| zero, at each N (the largest over the sizes);
- extrapolation: the envelope of a + b/N, a + b/sqrt(N) (weighted least squares, the error of
  a scaled by sqrt(chi2/dof) when that exceeds 1) and the largest N alone, each +-1.96 of its
  error, widened by the fit-form term.

Seeds: size N runs from ``SeedSequence(root, spawn_key=(N,))``.
"""

from __future__ import annotations

import math

import numpy as np

from .._seeding import root_seed
from ..simulation import SimulationOptions, simulate
from ..theory.phase_retrieval.model import PhaseRetrieval
from ..theory.phase_retrieval.spectrum import glm_spectrum, state_law

# the coarse bracket at the smallest N when no grid is given, and the fine grid's offsets
COARSE_GRID = (2.0, 3.0, 4.5, 6.5, 9.0)
FINE_OFFSETS = (-0.6, -0.3, 0.0, 0.3, 0.6)


def _zero(alphas, margins, degree: int, near: float | None = None) -> float:
    """Zero of the least-squares polynomial of ``degree`` through the margins, inside the grid
    widened by one spacing (nearest ``near`` when a quadratic has two); NaN if none."""
    roots = np.roots(np.polyfit(alphas, margins, degree))
    roots = roots[np.isreal(roots)].real
    pad = alphas[1] - alphas[0]
    roots = roots[(roots >= alphas[0] - pad) & (roots <= alphas[-1] + pad)]
    if not roots.size:
        return math.nan
    ref = np.mean(alphas) if near is None else near
    return float(roots[np.argmin(np.abs(roots - ref))])


def _fit(ns, values, errors, form: str):
    """(a, standard error of a, chi2/dof or NaN) of values = a + b f(N), weighted."""
    w = 1.0 / np.maximum(errors, 1e-12) ** 2
    if form == "largest":
        return float(values[-1]), float(errors[-1]), math.nan
    f = 1.0 / ns if form == "1/N" else 1.0 / np.sqrt(ns)
    X = np.column_stack([np.ones_like(f), f])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    coef = cov @ X.T @ (w * values)
    dof = ns.size - 2
    chi2 = float(np.sum(w * (values - X @ coef) ** 2) / dof) if dof > 0 else math.nan
    se = math.sqrt(cov[0, 0] * max(1.0, chi2 if math.isfinite(chi2) else 1.0))
    return float(coef[0]), se, chi2


def states_estimate(loss, *, sizes, samples, grid, t_max, rng, n_boot, workers):
    """alpha_c from signal-projected GF states at each N in ``sizes``, extrapolated in N
    (float32 sensing matrices from N = 1000: half the traffic, a 6e-8 relative change of data).

    Returns (value, low, high, details) with details["per_n"], ["fits"], ["budget"].
    """
    root = root_seed(rng)
    sizes = sorted(int(n) for n in sizes)
    samples = [int(s) for s in (samples if np.ndim(samples) else [samples] * len(sizes))]

    def at(n, n_samples, alphas):
        opts = SimulationOptions(keep_final_state=True, n_times=2,
                                 dtype="float32" if n >= 1000 else "float64")
        seed = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, n))
        alphas = np.asarray(alphas, dtype=float)
        laws, groups = [], []
        unconverged, grad = 0, 0.0
        for a in alphas:
            r = simulate(PhaseRetrieval(float(a), loss), n, t_max=t_max, n_samples=n_samples,
                         start="projected", rng=seed, workers=workers, options=opts)
            laws.append(state_law(loss, r.final_h, r.final_h_star, m=r.final_m[:, None],
                                  description=f"projected GF states, N = {n}, alpha = {a:g}"))
            groups.append(np.repeat(np.arange(n_samples), r.final_h.shape[1]))
            # samples still moving at t_max (the slow approach to marginal states)
            unconverged += int(np.sum(r.stop_reason != 2))
            grad = max(grad, float(np.nanmax(r.grad[:, -1])))
        margins = np.array([glm_spectrum(law, a).margin for law, a in zip(laws, alphas,
                                                                          strict=True)])
        line = _zero(alphas, margins, 1)
        if not math.isfinite(line) or np.polyfit(alphas, margins, 1)[0] >= 0:
            raise ValueError(
                f"N = {n}: the edge margins {np.round(margins, 3).tolist()} at alphas "
                f"{alphas.tolist()} do not fall through 0 inside the grid; give a bbp_grid "
                "that brackets alpha_c, or more bbp_samples")
        gen = np.random.default_rng(seed)
        boot = []
        for _ in range(n_boot):  # one draw of samples, shared by every alpha
            draw = int(gen.integers(2**63))
            boot.append([glm_spectrum(law.resample(np.random.default_rng(draw), grp), a).margin
                         for law, grp, a in zip(laws, groups, alphas, strict=True)])
        boot = np.array(boot).reshape(n_boot, alphas.size)
        quad = _zero(alphas, margins, 2, near=line)
        zeros = np.array([_zero(alphas, b, 1) for b in boot])
        ok = zeros[np.isfinite(zeros)]
        return {"n": n, "samples": n_samples, "alpha_c": line,
                "error": float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan,
                "boot_without_zero": int(zeros.size - ok.size),
                "alphas": alphas.tolist(), "margins": margins.tolist(),
                "margin_errors": boot.std(axis=0, ddof=1).tolist() if n_boot > 1 else [],
                "quadratic": quad,
                "interpolation": abs(quad - line) if math.isfinite(quad) else math.nan,
                "not_stationary": unconverged, "largest_final_grad": grad}

    per_n = []
    if grid is None:
        coarse = at(sizes[0], samples[0], COARSE_GRID)
        # the margin bends over the wide coarse grid: its quadratic zero, where there is one
        guess = coarse["quadratic"] if math.isfinite(coarse["quadratic"]) else coarse["alpha_c"]
        centre = round(guess / 0.05) * 0.05
        grid = tuple(round(centre + d, 6) for d in FINE_OFFSETS)
        details_grid = {"coarse": coarse, "fine_grid": list(grid)}
    else:
        details_grid = {"fine_grid": [float(a) for a in grid]}
    for n, s in zip(sizes, samples, strict=True):
        per_n.append(at(n, s, grid))
    ns = np.array([p["n"] for p in per_n], dtype=float)
    values = np.array([p["alpha_c"] for p in per_n])
    errors = np.array([p["error"] if math.isfinite(p["error"]) else 0.0 for p in per_n])
    forms = ["largest"] + (["1/N", "1/sqrt(N)"] if ns.size >= 2 else [])
    fits = {f: dict(zip(("value", "error", "chi2_dof"), _fit(ns, values, errors, f),
                        strict=True)) for f in forms}
    interp = max((p["interpolation"] for p in per_n if math.isfinite(p["interpolation"])),
                 default=0.0)
    main = fits["1/N" if "1/N" in fits else "largest"]
    value = main["value"]
    low = min(f["value"] - 1.96 * f["error"] for f in fits.values()) - interp
    high = max(f["value"] + 1.96 * f["error"] for f in fits.values()) + interp
    spread = max(f["value"] for f in fits.values()) - min(f["value"] for f in fits.values())
    budget = {"statistical (1.96 x bootstrap SE of the 1/N fit)": 1.96 * main["error"],
              "extrapolation form (spread of the three fits)": spread,
              "margin fit form (|linear - quadratic| zero, largest over N)": interp}
    return value, low, high, {"per_n": per_n, "fits": fits, "budget": budget, **details_grid}
