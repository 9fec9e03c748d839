"""Pieces shared by the two single-sample simulators (private)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SampleError", "record_grid", "sphere_point", "start_point", "tangent_spectrum",
           "check_descent"]


class SampleError(ArithmeticError):
    """A sample's integration failed; ``time`` is the last good time."""

    def __init__(self, message: str, time: float):
        super().__init__(message)
        self.time = time


def record_grid(t_max: float, options, step: float | None) -> tuple[np.ndarray, list[float]]:
    """Recording times: 0, then ``options.times`` or a log grid, plus the Hessian times.

    With a fixed ``step`` every time is rounded to a whole number of steps (duplicates dropped).
    Returns the grid and the Hessian times as grid points (``inf`` and times past t_max map to
    the last point).
    """
    if options.times is not None:
        ts = np.array([t for t in options.times if t <= t_max] + [t_max])
    else:
        t_min = min(options.t_min, t_max)
        ts = np.geomspace(t_min, t_max, options.n_times) if options.n_times > 1 else [t_max]
    extra = [t for t in options.hessian_times if t <= t_max]
    ts = np.concatenate([[0.0], ts, extra])
    if step is not None:
        ts = np.round(ts / step) * step
    ts = np.unique(ts)
    hess_at = sorted({float(ts[np.argmin(abs(ts - min(t, t_max)))])
                      for t in options.hessian_times})
    return ts, hess_at


def sphere_point(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform point on the sphere |x|^2 = N."""
    g = rng.standard_normal(n)
    return g * math.sqrt(n) / np.linalg.norm(g)


def start_point(rng: np.random.Generator, xs: np.ndarray, start: str, m0: float | None):
    """x(0) for a start "random", "warm" (x = m0 x* + sqrt(1-m0^2) z, z perp x*, |z|^2 = N
    [S2], [P3.3]) or "projected" (random with the x* component removed [P3.3])."""
    n = xs.shape[0]
    if start == "random":
        return sphere_point(rng, n)
    z = rng.standard_normal(n)
    z -= (z @ xs / n) * xs
    z *= math.sqrt(n) / np.linalg.norm(z)
    if start == "projected":
        return z
    return m0 * xs + math.sqrt(1.0 - m0 * m0) * z


def tangent_spectrum(hess: np.ndarray, x: np.ndarray, xs: np.ndarray, mu: float, k: int):
    """Spectrum of the Riemannian Hessian P(hess + mu I)P on the tangent space at x.

    A Householder reflection B maps x/|x| to the last basis vector, so the tangent space is the
    span of the first N - 1 columns of B. Returns (eigenvalues ascending (N-1,), squared
    overlaps (v.x*)^2/N of the k lowest eigenvectors).
    """
    n = x.shape[0]
    u = x / np.linalg.norm(x)
    u[-1] -= 1.0
    norm = np.linalg.norm(u)
    b = np.eye(n)
    if norm > 1e-12:
        u /= norm
        b -= 2.0 * np.outer(u, u)
    basis = b[:, :-1]
    h = basis.T @ hess @ basis
    h[np.diag_indices(n - 1)] += mu
    vals, vecs = np.linalg.eigh(h)
    overlaps = ((basis @ vecs[:, :k]).T @ xs) ** 2 / n
    return vals, overlaps


def check_descent(times: np.ndarray, e: np.ndarray, r: int, step: float) -> None:
    """Deterministic fixed-step descent must lower the energy between recordings; an increase
    means the step is beyond the stability limit (step x largest curvature >~ 2 [S3.4], [P3.2]).
    """
    if r >= 1 and e[r] > e[r - 1] + 1e-6 * max(1.0, abs(e[r - 1])):
        raise SampleError(
            f"the step {step:g} is unstable: the energy density rose from {e[r - 1]:.6g} at "
            f"t = {times[r - 1]:g} to {e[r]:.6g} at t = {times[r]:g}; reduce the step",
            float(times[r - 1]))
