"""numba kernels of the generalised Marchenko-Pastur machinery [P4.2] (private).

A law of (g, u) is a set of atoms g[i], v[i] = u[i]^2 - 1 with weights w[i]; every quantity of
[P4.2] is a weighted sum over atoms of a rational function of g s.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def moments(g, v, w, s):
    """(E[g/(1+gs)], E[g^2/(1+gs)^2], E[g v/(1+gs)], E[g^2 v/(1+gs)^2]) at real s."""
    a = b = d = d2 = 0.0
    for i in nb.prange(g.shape[0]):
        q = g[i] / (1.0 + g[i] * s)
        wq = w[i] * q
        a += wq
        b += wq * q
        d += wq * v[i]
        d2 += wq * q * v[i]
    return np.array([a, b, d, d2])


@nb.njit(cache=True, parallel=True)
def stieltjes(g, w, alpha, z, s, n_iter, tol):
    """Solve 1/s = -z + alpha E[g/(1+gs)] for each complex z[k] by Newton from s[k] (in place).

    Returns the number of points that did not converge to |ds| <= tol |s|.
    """
    bad = 0
    for k in nb.prange(z.shape[0]):
        sk = s[k]
        ok = False
        for _ in range(n_iter):
            a = 0j
            b = 0j
            for i in range(g.shape[0]):
                q = g[i] / (1.0 + g[i] * sk)
                a += w[i] * q
                b += w[i] * q * q
            f = 1.0 / sk + z[k] - alpha * a
            fp = -1.0 / (sk * sk) + alpha * b
            ds = f / fp
            # stay in the upper half plane (the physical branch for Im z > 0)
            while (sk - ds).imag <= 0.0:
                ds *= 0.5
            sk -= ds
            if abs(ds) <= tol * abs(sk):
                ok = True
                break
        s[k] = sk
        if not ok:
            bad += 1
    return bad
