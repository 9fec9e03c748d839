"""numba kernels of the phase-retrieval DMFT [P6] (private).

Grid t_0 = 0 < t_1 < ... < t_{K-1}; every time integral is a trapezoid rule on the grid. With
half-widths ``lo[v] = (t_{v+1} - t_v)/2`` and ``hi[v] = (t_v - t_{v-1})/2`` the rule on [t_j, t_k]
has weights lo[j] at v = j, lo[v] + hi[v] inside, hi[k] at v = k. ``RW[k, v] = R[k, v] (lo[v] +
hi[v])`` holds the interior weights times the response, so each integral is one contiguous dot.
The loss is called through the module name ``ev`` (see ``_loss_kernels.kernel``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._loss_kernels import builtin as ev

OK = 0
NO_ROOT = 1  # the implicit step of the effective process did not converge


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _implicit(b, c, y, p):
    """Solve h + c l'(h; y) = b: Newton from h = b, then bisection on an expanding bracket
    (the left side tends to +-inf with h for every loss whose l' grows at most linearly or
    is bounded, so a bracket exists)."""
    h = b
    for _ in range(30):
        f = h + c * ev(1, h, y, p) - b
        fp = 1.0 + c * ev(2, h, y, p)
        if fp <= 0.0:
            break
        dh = f / fp
        h -= dh
        if abs(dh) <= 1e-14 * (1.0 + abs(h)):
            return h, True
    width = 1.0 + abs(c * ev(1, b, y, p))
    a, z = b - width, b + width
    for _ in range(200):
        if a + c * ev(1, a, y, p) - b < 0.0 < z + c * ev(1, z, y, p) - b:
            break
        a -= width
        z += width
        width *= 2.0
    for _ in range(200):
        h = 0.5 * (a + z)
        if h + c * ev(1, h, y, p) - b < 0.0:
            a = h
        else:
            z = h
        if z - a <= 1e-14 * (1.0 + abs(h)):
            return h, True
    return h, False


@nb.njit(cache=True, parallel=True, error_model="numpy")
def paths(lo, hi, m, RW, R, chi, hs, y, act, p, n_chunks, h, l0, l1, l2, kacc):
    """Effective single-sample process and its response, path by path [P6].

    h(t_k) = m_k h* + chi_k - int_0^{t_k} R(t_k, s) s(s) l'(h(s)) ds (implicit at s = t_k);
    r(t_k, t_j) = R_kj - int_{t_j}^{t_k} R(t_k, v) g(v) r(v, t_j) dv with g = s l'' (the response of
    h to a field at t_j, r(t_j, t_j) = 1), accumulated as kacc[c, k, j] += g_k r_kj g_j (j <= k)
    over the paths of chunk c. Outputs per path and time: h, l0 = l, l1 = s l', l2 = s l''.
    Returns the number of paths whose implicit step failed.
    """
    n_paths, n_t = chi.shape
    fails = np.zeros(n_chunks, dtype=np.int64)
    for c in nb.prange(n_chunks):
        q = np.empty(n_t)
        for a in range(c * n_paths // n_chunks, (c + 1) * n_paths // n_chunks):
            yy = y[a]
            for k in range(n_t):
                b = m[k] * hs[a] + chi[a, k]
                if k > 0:
                    acc = R[k, 0] * lo[0] * l1[a, 0]
                    for j in range(1, k):
                        acc += RW[k, j] * l1[a, j]
                    b -= acc
                    hk, ok = _implicit(b, hi[k] * act[a, k], yy, p)
                    if not ok:
                        fails[c] += 1
                else:
                    hk = b
                h[a, k] = hk
                l0[a, k] = ev(0, hk, yy, p)
                l1[a, k] = act[a, k] * ev(1, hk, yy, p)
                l2[a, k] = act[a, k] * ev(2, hk, yy, p)
            g = l2[a]
            for j in range(n_t):
                kacc[c, j, j] += g[j] * g[j]
                q[j] = g[j]  # q_v = g_v r_vj, r_jj = 1
                for k in range(j + 1, n_t):
                    acc = R[k, j] * lo[j] * q[j]
                    for v in range(j + 1, k):
                        acc += RW[k, v] * q[v]
                    r = (R[k, j] - acc) / (1.0 + hi[k] * g[k])
                    q[k] = g[k] * r
                    kacc[c, k, j] += q[k] * g[j]
    return fails.sum()


@nb.njit(cache=True, error_model="numpy")
def integrate(lo, hi, m0, lam, bm, X, G, Kr, C, R, m):
    """Trapezoid integration of the closure [P6] given the path averages (outputs C, R, m):

    dm/dt = -lam m - bm;  d_t C(t, t') = -lam(t) C - X(t, t') (t > t'), C(t, t) = 1;
    d_t R(t, t') = -(lam + G)(t) R + int_{t'}^t Kr(t, u) R(u, t') du, R(t', t') = 1,
    with X = alpha E[s l'(h(t)) h(t')], G = alpha E[s l''], Kr = alpha E[g(t) r(t, u) g(u)].
    """
    n_t = lam.shape[0]
    m[0] = m0
    for k in range(1, n_t):
        half = hi[k]  # (t_k - t_{k-1}) / 2
        m[k] = (m[k - 1] * (1 - half * lam[k - 1]) - half * (bm[k] + bm[k - 1])) / (
            1 + half * lam[k])
    for j in range(n_t):
        C[j, j] = 1.0
        R[j, j] = 1.0
        for k in range(j + 1, n_t):
            half = hi[k]
            C[k, j] = (C[k - 1, j] * (1 - half * lam[k - 1])
                       - half * (X[k, j] + X[k - 1, j])) / (1 + half * lam[k])
            C[j, k] = C[k, j]
            # memory integrals at t_{k-1} (known) and t_k (implicit in R[k, j] via u = k)
            prev = 0.0
            if k - 1 > j:
                prev = lo[j] * Kr[k - 1, j] * R[j, j] + hi[k - 1] * Kr[k - 1, k - 1] * R[k - 1, j]
                for u in range(j + 1, k - 1):
                    prev += (lo[u] + hi[u]) * Kr[k - 1, u] * R[u, j]
            cur = lo[j] * Kr[k, j] * R[j, j]
            for u in range(j + 1, k):
                cur += (lo[u] + hi[u]) * Kr[k, u] * R[u, j]
            rate_prev = lam[k - 1] + G[k - 1]
            rate = lam[k] + G[k]
            rhs = R[k - 1, j] + half * (-rate_prev * R[k - 1, j] + prev + cur)
            R[k, j] = rhs / (1 + half * (rate - hi[k] * Kr[k, k]))
            R[j, k] = 0.0
