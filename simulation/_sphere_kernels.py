"""numba kernels for motion on the sphere |x|^2 = N, shared by both simulators (private)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_FAST = {"reassoc", "contract"}


@nb.njit(cache=True, nogil=True)
def retract(y, x, xs, project):
    """x = sqrt(N) y/|y|, after removing the x* component of y when ``project`` [P3.3];
    False when y is not finite (or zero)."""
    n = y.shape[0]
    if project:
        c = np.dot(y, xs) / n
        for i in range(n):
            y[i] -= c * xs[i]
    s = np.dot(y, y)
    if not math.isfinite(s) or s == 0.0:
        return False
    f = math.sqrt(n / s)
    for i in range(n):
        x[i] = f * y[i]
    return True


@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def velocity(x, g, xs, project, v):
    """v = -grad + (x.grad/N) x, the spherical gradient-flow velocity [S2], [P3.1], with the
    x* component of the gradient g removed first when ``project`` [P3.3]. Returns |v|^2."""
    n = x.shape[0]
    if project:
        c = np.dot(g, xs) / n
        for i in range(n):
            g[i] -= c * xs[i]
    d = np.dot(x, g) / n
    s = 0.0
    for i in range(n):
        v[i] = -g[i] + d * x[i]
        s += v[i] * v[i]
    return s
