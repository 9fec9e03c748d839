"""numba kernels of the grid-doubling DMFT solver (private) [S3.4].

The window holds rows/columns k = 0..W of the uniform grid t_k = k h as dense arrays:
``C[a, b]`` (both triangles, C symmetric) and the integrated response
``X[a, b] = chi(t_a, t_b) = int_{t_b}^{t_a} R(t_a, s) ds`` for b <= a (zero above the diagonal,
by causality [S3.2]). Written with chi, every memory integral of [S3.1] is a sum over intervals
of the exact response weight ``X[i, l-1] - X[i, l] = int_{t_{l-1}}^{t_l} R(t_i, s) ds`` times the
interval mean of a smooth function of C (Kim-Latz), so a coarse grid keeps the weight of the
fast part of R. The response equation, integrated over the second time, reads

    d/dt chi(t, t') = 1 - mu(t) chi(t, t') + int_{t'}^t R(t, s) Q''(C(t, s)) chi(s, t') ds.

Row i is solved implicitly: BDF2 in t for the columns j <= i - 2 and for m, the trapezoid rule
from the diagonal (C = 1, chi = 0, d/dt C = -T, d/dt chi = 1) for the lag-1 column, all
iterated to self-consistency by Jacobi sweeps. When ``n_copy`` > 0 the lags 1..n_copy are
instead taken from the previous row (time-translation invariance near the diagonal, the
Kim-Latz treatment once the step exceeds the fast relaxation time).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._kernels import _BLOWUP_LEVEL, BLOWUP, NONFINITE, NOT_CONVERGED, OK, d2poly, dpoly, poly


@nb.njit(cache=True)
def _row_weights(i, qn, C, X, k2, f1):
    """k2[l] = w_l Q''(C[i, l]) with w_l the half-sum of the response weights of the intervals
    next to t_l, so that int_0^{t_i} R(t_i, s) Q''(C(t_i, s)) g(s) ds = sum_l k2[l] g(t_l)
    (interval-mean trapezoid); f1[l] = Q'(C[i, l])."""
    for l in range(i + 1):
        left = X[i, l - 1] - X[i, l] if l > 0 else 0.0
        right = X[i, l] - X[i, l + 1] if l < i else 0.0
        c = C[i, l]
        k2[l] = 0.5 * (left + right) * d2poly(qn, c)
        f1[l] = dpoly(qn, c)


@nb.njit(cache=True)
def row_observables(i, T, qs, qn, C, X, m):
    """(mu, e, int R Q'' m) at row i [S3.1]."""
    g = 0.0
    en = 0.0
    mm = 0.0
    for l in range(1, i + 1):
        w = X[i, l - 1] - X[i, l]
        ca = C[i, l - 1]
        cb = C[i, l]
        qa1, qb1 = dpoly(qn, ca), dpoly(qn, cb)
        qa2, qb2 = d2poly(qn, ca), d2poly(qn, cb)
        g += 0.5 * w * (qa1 + ca * qa2 + qb1 + cb * qb2)
        en += 0.5 * w * (qa1 + qb1)
        mm += 0.5 * w * (qa2 * m[l - 1] + qb2 * m[l])
    mi = m[i]
    return T + dpoly(qs, mi) * mi + g, -poly(qs, mi) - en, mm


@nb.njit(cache=True, parallel=True)
def _sweep(i, h, T, qs, qn, C, X, m, mu_i, k2, f1, lo, Cn, Xn):
    """New values of C[i, j], X[i, j] for j < lo from the current row (one Jacobi sweep)."""
    a = k2[i]  # weight of the l = i term, treated implicitly
    dqs = dpoly(qs, m[i])
    for j in nb.prange(lo):
        ic1 = 0.0
        ix = 0.0
        for l in range(i):
            ic1 += k2[l] * C[l, j]
            ix += k2[l] * X[l, j]
        ic2 = 0.0
        for l in range(1, j + 1):
            ic2 += 0.5 * (X[j, l - 1] - X[j, l]) * (f1[l - 1] + f1[l])
        src_c = dqs * m[j] + ic1 + ic2
        src_x = 1.0 + ix
        if j == i - 1:  # trapezoid from the diagonal
            den = 1.0 + 0.5 * h * (mu_i - a)
            Cn[j] = (1.0 + 0.5 * h * (-T + src_c)) / den
            Xn[j] = 0.5 * h * (1.0 + src_x) / den
        else:  # BDF2
            den = 3.0 + 2.0 * h * (mu_i - a)
            Cn[j] = (4.0 * C[i - 1, j] - C[i - 2, j] + 2.0 * h * src_c) / den
            Xn[j] = (4.0 * X[i - 1, j] - X[i - 2, j] + 2.0 * h * src_x) / den


@nb.njit(cache=True)
def _check_row(i, C, X, m):
    if not np.isfinite(m[i]):
        return NONFINITE
    for j in range(i + 1):
        if not (np.isfinite(C[i, j]) and np.isfinite(X[i, j])):
            return NONFINITE
        if abs(C[i, j]) > _BLOWUP_LEVEL:
            return BLOWUP
    if abs(m[i]) > _BLOWUP_LEVEL:
        return BLOWUP
    return OK


@nb.njit(cache=True)
def advance(i0, i1, h, T, qs, qn, C, X, m, mu, e, n_copy, tol, max_iter, k2, f1, Cn, Xn):
    """Solve rows i0..i1-1 of the window (rows < i0 are known, i0 >= 1).

    Returns (status, row, total Jacobi sweeps); on failure ``row`` is the first bad row.
    """
    sweeps = 0
    for i in range(i0, i1):
        # predictor: linear extrapolation along each column, TTI guess next to the diagonal
        for j in range(i - 1):
            C[i, j] = 2.0 * C[i - 1, j] - C[i - 2, j] if i >= 2 else C[i - 1, j]
            X[i, j] = 2.0 * X[i - 1, j] - X[i - 2, j] if i >= 2 else X[i - 1, j]
        if i >= 2:
            C[i, i - 1] = C[i - 1, i - 2]
            X[i, i - 1] = X[i - 1, i - 2]
        else:
            C[i, 0] = 1.0
            X[i, 0] = h
        n_c = min(n_copy, i - 1)
        for d in range(1, n_c + 1):  # lags 1..n_c: time-translation invariance
            C[i, i - d] = C[i - 1, i - 1 - d]
            X[i, i - d] = X[i - 1, i - 1 - d]
        C[i, i] = 1.0
        X[i, i] = 0.0
        m[i] = 2.0 * m[i - 1] - m[i - 2] if i >= 2 else m[i - 1]
        for j in range(i):
            C[j, i] = C[i, j]
            X[j, i] = 0.0
        lo = i - n_c  # columns j < lo are solved
        # trapezoid start of m needs dm/dt at row 0
        dm0 = 0.0
        if i == 1:
            mu0, _, mm0 = row_observables(0, T, qs, qn, C, X, m)
            dm0 = -mu0 * m[0] + dpoly(qs, m[0]) + mm0
        converged = False
        omega = 1.0  # under-relaxation, halved whenever a sweep increases the change
        prev = np.inf
        for _ in range(max_iter):
            _row_weights(i, qn, C, X, k2, f1)
            mu_i, _, mm = row_observables(i, T, qs, qn, C, X, m)
            _sweep(i, h, T, qs, qn, C, X, m, mu_i, k2, f1, lo, Cn, Xn)
            a = k2[i]
            src_m = dpoly(qs, m[i]) + mm - a * m[i]
            if i >= 2:
                m_new = (4.0 * m[i - 1] - m[i - 2] + 2.0 * h * src_m) / (
                    3.0 + 2.0 * h * (mu_i - a))
            else:
                m_new = (m[0] + 0.5 * h * (dm0 + src_m)) / (1.0 + 0.5 * h * (mu_i - a))
            change = abs(m_new - m[i])
            for j in range(lo):
                change = max(change, abs(Cn[j] - C[i, j]), abs(Xn[j] - X[i, j]))
            if change > prev and omega > 1.0 / 64:
                omega *= 0.5
            prev = change
            m[i] += omega * (m_new - m[i])
            for j in range(lo):
                C[i, j] += omega * (Cn[j] - C[i, j])
                C[j, i] = C[i, j]
                X[i, j] += omega * (Xn[j] - X[i, j])
            sweeps += 1
            if change <= tol:
                converged = True
                break
        status = _check_row(i, C, X, m)
        if status != OK:
            return status, i, sweeps
        if not converged:
            return NOT_CONVERGED, i, sweeps
        mu[i], e[i], _ = row_observables(i, T, qs, qn, C, X, m)
    return OK, i1, sweeps


@nb.njit(cache=True)
def decimate(W, C, X, m, mu, e):
    """Keep the even grid points 0, 2, .., W as 0..W/2 (the step doubles) [S3.4]."""
    half = W // 2
    for a in range(half + 1):
        for b in range(half + 1):
            C[a, b] = C[2 * a, 2 * b]
            X[a, b] = X[2 * a, 2 * b]
        m[a] = m[2 * a]
        mu[a] = mu[2 * a]
        e[a] = e[2 * a]
