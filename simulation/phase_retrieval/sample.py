"""One finite-N sample of phase retrieval [P1], [P3], [P7]."""

from __future__ import annotations

import math

import numpy as np

from ...theory.phase_retrieval import _loss_kernels
from ...theory.phase_retrieval.model import PhaseRetrieval
from .._common import (
    SampleError,
    check_descent,
    record_grid,
    sphere_point,
    start_point,
    tangent_spectrum,
)
from ..options import ArmijoGradientDescent, GradientDescent, GradientFlow, Langevin, PersistentSGD
from . import _kernels as _k

__all__ = ["pr_sample_bytes", "run_pr_sample"]

_RANDOM_BLOCK = 1 << 20  # random numbers drawn per block (Langevin noise, SGD chains)


def pr_sample_bytes(model: PhaseRetrieval, n: int, dtype: str) -> int:
    """Memory of one sample (upper bound): the sensing matrix, two N x N Hessian arrays and a
    block of random numbers."""
    m = model.n_measurements(n)
    return m * n * np.dtype(dtype).itemsize + 16 * n * n + 8 * _RANDOM_BLOCK


# relative loss rise per fixed step that counts as unstable: far above the rounding of the
# loss pass (~1e-15 in float64, ~1e-7 in float32), far below what an unstable step does
_RISE = {"float64": 1e-9, "float32": 1e-5}


def _algorithm_args(algorithm):
    """(code, prm, initial step) for :func:`_pr_kernels.run`."""
    if isinstance(algorithm, GradientFlow):  # scheme and dt resolved by simulate
        if algorithm.scheme == "adaptive":
            return _k.ADAPTIVE, np.array([algorithm.tol]), algorithm.dt
        if algorithm.scheme in ("dopri5", "auto"):
            switch = float(algorithm.scheme == "auto")
            return _k.DOPRI, np.array([algorithm.tol, switch]), algorithm.dt
        return _k.GD, np.array([algorithm.dt, 0.0, 0.0, 0.0]), algorithm.dt
    if isinstance(algorithm, GradientDescent):
        return _k.GD, np.array([algorithm.step, 0.0, 0.0, 0.0]), algorithm.step
    if isinstance(algorithm, ArmijoGradientDescent):
        a = algorithm
        return _k.ARMIJO, np.array([a.shrink, a.c, a.grow, a.max_step]), a.step
    if isinstance(algorithm, PersistentSGD):
        a = algorithm
        p01 = a.step / a.persistence
        p10 = (1 - a.batch_fraction) * a.step / (a.batch_fraction * a.persistence)
        return _k.PSGD, np.array([a.step, 0.0, p01, p10]), a.step
    if isinstance(algorithm, Langevin):
        return _k.LANGEVIN, np.array([algorithm.dt, algorithm.temperature, 0.0, 0.0]), algorithm.dt
    raise TypeError(f"algorithm {type(algorithm).__name__} does not apply to phase retrieval")


def run_pr_sample(model: PhaseRetrieval, n: int, algorithm, start: str, m0, t_max: float, options,
                  rng: np.random.Generator) -> dict:
    """Simulate one sample; returns a dict of arrays (see :class:`SimulationResult`)."""
    code, prm, step0 = _algorithm_args(algorithm)
    ev = model.loss.ev
    run = _loss_kernels.kernel(_k, "run", ev)
    loss_pass = _loss_kernels.kernel(_k, "loss_pass", ev)
    p = model.loss.params
    m_meas = model.n_measurements(n)
    # data [P1]: x* on the sphere, a_mu ~ N(0, I), y = (h*)^2 (+ label noise)
    xs = sphere_point(rng, n)
    A = rng.standard_normal((m_meas, n))
    hs = A @ xs / math.sqrt(n)
    y = hs * hs
    if model.label_noise > 0:
        y = y + math.sqrt(model.label_noise) * rng.standard_normal(m_meas)
    A = np.ascontiguousarray(A, dtype=options.dtype)
    x = start_point(rng, xs, start, m0)
    x0 = x.copy()
    fixed = None if code in (_k.ADAPTIVE, _k.ARMIJO, _k.DOPRI) else step0
    times, hess_at = record_grid(t_max, options, fixed)
    active = np.ones(m_meas, dtype=np.uint8)
    if code == _k.PSGD:
        active = (rng.random(m_meas) < algorithm.batch_fraction).astype(np.uint8)
    stop = np.array([start == "projected", model.success_overlap, options.loss_tol,
                     options.grad_tol, options.escape_level, options.stop_at_success,
                     _RISE[options.dtype]], dtype=float)
    # [Langevin noise or RKC's power-iteration vector, SGD uniforms]
    blocks = [np.zeros((1 if code == _k.DOPRI else 0, n)), np.zeros((0, m_meas))]
    st = np.zeros(_k.STATE_SIZE)
    st[_k.DT], st[_k.ESCAPE] = step0, -1.0
    n_rec = times.size
    rec = {k: np.full(n_rec, np.nan) for k in ("m", "e", "mu", "grad", "c0")}
    spectra, overlaps = [], []
    g, h = np.empty(n), np.empty(m_meas)
    temperature = prm[1] if code == _k.LANGEVIN else 0.0
    reason = _k.REACHED
    for r, t in enumerate(times):
        advanced = reason == _k.REACHED
        if advanced:
            reason = _advance(run, A, y, p, xs, x, code, prm, t, options.max_steps, stop, active,
                              st, blocks, rng)
        if reason == _k.BUDGET:
            break
        # after a stop at success or stationarity the state is a fixed point (to the stopping
        # tolerances): recorded at the first grid time after the stop and held from then on
        if advanced or r == 0 or t in hess_at:
            loss, lam_sum = loss_pass(A, y, p, x, active, False, g, h)
            if start == "projected":  # the constrained gradient, as the dynamics sees it [P3.3]
                g -= (g @ xs / n) * xs
            values = (x @ xs / n, loss / n, temperature - lam_sum / n,  # [P3.1]
                      np.linalg.norm(g - (x @ g / n) * x) / math.sqrt(n), x @ x0 / n)
        for key, value in zip(("m", "e", "mu", "grad", "c0"), values, strict=True):
            rec[key][r] = value
        if code == _k.GD:
            check_descent(times, rec["e"], r, step0)
        if t in hess_at:
            vals, ov = _pr_hessian(A, y, model, x, xs, h, options.n_eigenvectors)
            spectra.append(vals)
            overlaps.append(ov)
    while len(spectra) < len(hess_at):  # budget exhausted before a requested Hessian time
        spectra.append(np.full(n - 1, np.nan))
        overlaps.append(np.full(options.n_eigenvectors, np.nan))
    loss, _ = loss_pass(A, y, p, x, active, False, g, h)
    final_m = x @ xs / n
    out = {"times": times, **rec, "n_steps": np.array(st[_k.STEPS]),
           "n_evaluations": np.array(st[_k.EVALS]),
           "escape_time": np.array(st[_k.ESCAPE] if st[_k.ESCAPE] >= 0 else np.inf),
           "stop_reason": np.array(reason), "stop_time": np.array(st[_k.T]),
           "final_m": np.array(final_m), "final_e": np.array(loss / n),
           "success": np.array(abs(final_m) >= model.success_overlap)}
    if options.keep_final_state:
        out["final_h"] = h.copy()
        out["final_h_star"] = hs
    if hess_at:
        out["hessian_times"] = np.array(hess_at)
        out["hessian_eigenvalues"] = np.array(spectra)
        out["hessian_overlaps"] = np.array(overlaps)
    return out


def _advance(run, A, y, p, xs, x, code, prm, t, max_steps, stop, active, st, blocks,
             rng) -> int:
    """Run the kernel to time t, drawing the random ``blocks`` [noise, uniforms] when it asks
    for more; raise SampleError on failure. Returns the stop reason."""
    n, m_meas = x.shape[0], A.shape[0]
    while True:
        reason = run(A, y, p, xs, x, code, prm, t, max_steps, stop, blocks[0], blocks[1],
                     active, st)
        if reason != _k.NEED_RANDOM:
            break
        if code == _k.LANGEVIN:
            blocks[0] = rng.standard_normal((max(1, _RANDOM_BLOCK // n), n))
        else:
            blocks[1] = rng.random((max(1, _RANDOM_BLOCK // m_meas), m_meas))
        st[_k.POS] = 0
    if reason == _k.LOSS_ROSE:
        raise SampleError(f"the step {prm[0]:g} is unstable: the loss rose in the step from "
                          f"t = {st[_k.T]:g}. Reduce the step (fixed steps are stable while "
                          "step x largest Hessian eigenvalue <~ 2 [P3.2])", st[_k.T])
    if reason in (_k.NONFINITE, _k.UNDERFLOW):
        what = ("the state or the loss became non-finite" if reason == _k.NONFINITE else
                "the adaptive step fell below 1e-14")
        raise SampleError(f"{what} after t = {st[_k.T]:g} ({int(st[_k.STEPS])} steps); "
                          "reduce the step (or tol) or check the loss", st[_k.T])
    return reason


def _pr_hessian(A, y, model, x, xs, h, k):
    """Riemannian Hessian P[W - nu I]P, W = (1/N) sum_mu l''_mu a_mu a_mu^T,
    nu = (1/N) sum_mu l'_mu h_mu [P4.1]; h must be A x/sqrt(N)."""
    n = x.shape[0]
    d2 = model.loss.d2(h, y)
    d1 = model.loss.d1(h, y)
    W = (A.T * d2) @ A / n
    nu = d1 @ h / n
    return tangent_spectrum(np.asarray(W, dtype=float), x, xs, -nu, k)
