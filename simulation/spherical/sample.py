"""One finite-N sample of the spiked matrix-tensor model [S1], [S1.2], [S2], [S6]."""

from __future__ import annotations

import math

import numpy as np

from ...theory.spherical.models import SpikedMatrixTensor
from .._common import SampleError, check_descent, record_grid, start_point, tangent_spectrum
from ..options import Langevin
from . import _kernels as _k

__all__ = ["spiked_sample_bytes", "run_spiked_sample"]

_NOISE_BLOCK = 1 << 20  # Langevin noise numbers drawn per block


def spiked_sample_bytes(model: SpikedMatrixTensor, n: int) -> int:
    """Memory of one sample: packed tensor, its N(0,1) draws, J and one Hessian, in bytes."""
    tensor = _k.packed_size(n, model.p) if math.isfinite(model.delta_p) else 0
    return 8 * (2 * tensor + 3 * n * n)


def _data(model: SpikedMatrixTensor, n: int, rng: np.random.Generator, all_index: bool):
    """Signal x*, matrix J (H_2 = -x.J.x/2) and packed tensor weights w [S1], [S1.2]."""
    g = rng.standard_normal(n)
    xs = g * math.sqrt(n) / np.linalg.norm(g)
    J = np.zeros((n, n))
    if math.isfinite(model.delta2):
        G = rng.standard_normal((n, n))
        # all-index: Y = xs xs^T/sqrt(N) + sqrt(D2) (G + G^T)/sqrt(2), H_2 = -x.Y.x/(2 D2 sqrt N);
        # distinct: Y_ij (i < j) with variance D2, H_2 = -sum_{i<j} Y x_i x_j/(D2 sqrt N)
        Y = np.outer(xs, xs) / math.sqrt(n) + math.sqrt(model.delta2 / 2.0) * (G + G.T)
        if not all_index:
            Y[np.diag_indices(n)] = 0.0
        J = Y / (model.delta2 * math.sqrt(n))
    w = np.zeros(0)
    if math.isfinite(model.delta_p):
        z = rng.standard_normal(_k.packed_size(n, model.p))
        w = np.empty_like(z)
        _k.fill_tensor(w, z, xs, model.p, model.delta_p, all_index)
    return xs, J, w


def run_spiked_sample(model: SpikedMatrixTensor, n: int, algorithm, start: str, m0, t_max: float,
                      options, rng: np.random.Generator) -> dict:
    """Simulate one sample; returns a dict of arrays (see :class:`SimulationResult`)."""
    if isinstance(algorithm, Langevin):
        dt, scheme, temperature = algorithm.dt, _k.EULER, algorithm.temperature
    else:
        dt = algorithm.dt  # resolved by simulate (default 0.01)
        scheme = _k.EULER if algorithm.scheme == "euler" else _k.HEUN
        temperature = 0.0
    xs, J, w = _data(model, n, rng, options.convention == "all")
    x = start_point(rng, xs, start, m0)
    x0 = x.copy()
    times, hess_at = record_grid(t_max, options, dt)
    n_rec = times.size
    m, e, mu, c0 = (np.full(n_rec, np.nan) for _ in range(4))
    spectra, overlaps = [], []
    g = np.empty(n)
    escape = np.array([-1.0])
    energy = np.zeros(2)
    hess = np.empty((n, n)) if hess_at else None
    k, stopped = 0, False
    for r, t in enumerate(times):
        target = int(round(t / dt))
        while k < target and not stopped:
            todo = min(target - k, max(1, _NOISE_BLOCK // n)) if temperature > 0 else target - k
            noise = (rng.standard_normal((todo, n)) if temperature > 0 else np.zeros((0, n)))
            status, done = _k.steps(J, w, model.p, x, dt, todo, scheme, temperature, noise, xs,
                                    options.escape_level, k * dt, escape,
                                    options.stop_at_escape, energy)
            if status == _k.ENERGY_ROSE:
                raise SampleError(
                    f"the step {dt:g} is unstable: the energy density rose from "
                    f"{energy[0] / n:.6g} to {energy[1] / n:.6g} in the step from t = "
                    f"{(k + done) * dt:g}. Reduce dt (deterministic steps are stable while "
                    "dt x largest curvature <~ 2 [S6])",
                    (k + done) * dt)
            if status != _k.OK:
                raise SampleError(
                    f"the state became non-finite at t = {(k + done + 1) * dt:g} (dt = {dt:g}); "
                    "reduce dt", (k + done) * dt)
            k += done
            stopped = options.stop_at_escape and escape[0] >= 0
        if k < target:  # stopped at the escape: this and later recordings stay NaN
            break
        h2, hp = _k.gradient(J, w, model.p, x, g)
        m[r] = x @ xs / n
        e[r] = (h2 + hp) / n
        mu[r] = temperature - x @ g / n  # [S2]
        c0[r] = x @ x0 / n
        if temperature == 0:
            check_descent(times, e, r, dt)
        if hess is not None and t in hess_at:
            _k.hessian(J, w, model.p, x, hess)
            vals, ov = tangent_spectrum(hess, x, xs, -x @ g / n, options.n_eigenvectors)
            spectra.append(vals)
            overlaps.append(ov)
    while hess is not None and len(spectra) < len(hess_at):  # not reached before the stop
        spectra.append(np.full(n - 1, np.nan))
        overlaps.append(np.full(options.n_eigenvectors, np.nan))
    h2, hp = _k.gradient(J, w, model.p, x, g)
    final_m = x @ xs / n
    evals = k * (2 if scheme == _k.HEUN and temperature == 0 else 1) + times.size
    out = {"times": times, "m": m, "e": e, "mu": mu, "c0": c0, "n_steps": np.array(k),
           "n_evaluations": np.array(evals),
           "escape_time": np.array(escape[0] if escape[0] >= 0 else np.inf),
           "success": np.array(escape[0] >= 0 and (model.p % 2 == 0 or final_m > 0)),
           "stop_reason": np.array(1 if stopped else 0),
           "stop_time": np.array(k * dt), "final_m": np.array(final_m),
           "final_e": np.array((h2 + hp) / n)}
    if hess is not None:
        out["hessian_times"] = np.array(hess_at)
        out["hessian_eigenvalues"] = np.array(spectra)
        out["hessian_overlaps"] = np.array(overlaps)
    return out
