"""numba kernels of the grid-doubling DMFT solver (private) [S3.4].

The window holds rows/columns k = 0..W of the uniform grid t_k = k h. Point values are dense
arrays: ``C[a, b]`` (both triangles, C symmetric) and the integrated response
``X[a, b] = chi(t_a, t_b) = int_{t_b}^{t_a} R(t_a, s) ds`` for b <= a (zero above the diagonal,
by causality [S3.2]). Interval quantities live in ``S[q, row, l]`` for the interval
I_l = [t_{l-1}, t_l], l = 1..W:

    CM[j, l]  mean over s in I_l of C(s, t_j)                       (any l)
    XM[j, l]  mean over s in I_l of chi(s, t_j)                     (l > j)
    K2[i, l]  int_{I_l} R(t_i, s) Q''(C(t_i, s)) ds                 (l <= i)
    P2[i, l]  int_{I_l} R(t_i, s) Q''(C(t_i, s)) (s - t_{l-1}) / h ds, its first moment
    KM[i, l]  int_{I_l} R(t_i, s) [Q'(C) + C Q''(C)] ds             (mu)
    K1[i, l]  int_{I_l} R(t_i, s) Q'(C(t_i, s)) ds                  (energy)
    P0[i, l]  int_{I_l} R(t_i, s) (s - t_{l-1}) / h ds              (first moment of R)

They are computed from point values where the grid resolves them (trapezoid), and carried
exactly through a decimation (means averaged, integrals added, first moments recombined), so a
coarse interval next to the diagonal keeps the fine structure of the fast relaxation (Kim-Latz).
A memory integral over I_l is then (integral) x (interval mean of the other factor) where that
factor is fast (the two intervals next to t_j for C(s, t_j) and chi(s, t_j)), and
(K - P) g(t_{l-1}) + P g(t_l) elsewhere, which is exact for g linear on I_l whatever the shape
of the fast kernel. The response equation, integrated over the second time, reads

    d/dt chi(t, t') = 1 - mu(t) chi(t, t') + int_{t'}^t R(t, s) Q''(C(t, s)) chi(s, t') ds.

Row i is solved implicitly: BDF2 in t for the columns j <= i - 2 and for m, the trapezoid rule
from the diagonal (C = 1, chi = 0, d/dt C = -T, d/dt chi = 1) for the lag-1 column, all
iterated to self-consistency by Jacobi sweeps. When ``n_copy`` > 0 the lags 1..n_copy (values
and the interval quantities between them and the diagonal) are taken from the previous row:
time-translation invariance next to the diagonal once the step exceeds the fast relaxation time.
In a gapped minimum at T = 0 they are the closed-form strip response instead (_gapped_strip).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._dmft_kernels import (
    BLOWUP,
    NONFINITE,
    NOT_CONVERGED,
    OK,
    d2poly,
    dpoly,
    poly,
)

# |C| and |m| cannot exceed 1; grid doubling stops only at a blow-up, because its escapes
# overshoot C = 1 by more than the fixed grid's 1e-2 guard (test_dmft_doubling's escape cases):
# an accuracy limit of the closure (sharp bits), not an instability
_BLOWUP_LEVEL = 1.5

CM, XM, K2, P2, KM, K1, P0 = range(7)
N_INTERVAL = 7  # first dimension of S
_ROW = (K2, P2, KM, K1, P0, CM)  # quantities of a row's own intervals, copied near the diagonal


@nb.njit(cache=True)
def _row_intervals(i, lo, qn, C, X, S):
    """Interval quantities of row i on I_1..I_lo from the point values (trapezoid, R taken
    uniform on the interval)."""
    for l in range(1, lo + 1):
        a, b = C[i, l - 1], C[i, l]
        k0 = X[i, l - 1] - X[i, l]
        qa2, qb2 = d2poly(qn, a), d2poly(qn, b)
        qa1, qb1 = dpoly(qn, a), dpoly(qn, b)
        S[K2, i, l] = 0.5 * k0 * (qa2 + qb2)
        S[P2, i, l] = k0 * (qa2 + 2.0 * qb2) / 6.0
        S[KM, i, l] = 0.5 * k0 * (qa1 + a * qa2 + qb1 + b * qb2)
        S[K1, i, l] = 0.5 * k0 * (qa1 + qb1)
        S[P0, i, l] = 0.5 * k0
        S[CM, i, l] = 0.5 * (a + b)


@nb.njit(cache=True)
def row_observables(i, T, qs, S, m):
    """(mu, e, int_0^{t_i} R Q'' m ds without its implicit part, implicit coefficient) [S3.1]."""
    g = 0.0
    en = 0.0
    mm = 0.0
    for l in range(1, i + 1):
        g += S[KM, i, l]
        en += S[K1, i, l]
        mm += (S[K2, i, l] - S[P2, i, l]) * m[l - 1]
        if l < i:
            mm += S[P2, i, l] * m[l]
    mi = m[i]
    a = S[P2, i, i] if i > 0 else 0.0
    return T + dpoly(qs, mi) * mi + g, -poly(qs, mi) - en, mm, a


@nb.njit(cache=True, parallel=True)
def _sweep(i, h, T, qs, S, C, X, m, mu_i, f1, lo, Cn, Xn):
    """New values of C[i, j], X[i, j] for j < lo from the current row (one Jacobi sweep)."""
    dqs = dpoly(qs, m[i])
    for j in nb.prange(lo):
        # int_0^{t_i} R(t_i, s) Q''(C(t_i, s)) C(s, t_j) ds and the chi analogue; the parts
        # proportional to the unknowns C[i, j], X[i, j] go to the coefficients ac, ax
        ic1 = 0.0
        ix = 0.0
        ac = 0.0
        ax = 0.0
        for l in range(1, i + 1):
            k, p = S[K2, i, l], S[P2, i, l]
            if l == j or l == j + 1:  # C(s, t_j) fast on I_l: use its interval mean
                if l == i:  # j = i - 1: mean (1 + C[i, j]) / 2
                    ic1 += 0.5 * k
                    ac = 0.5 * k
                else:
                    ic1 += k * S[CM, j, l]
            else:
                ic1 += (k - p) * C[l - 1, j]
                if l == i:
                    ac = p
                else:
                    ic1 += p * C[l, j]
            if l == j + 1:
                if l == i:  # mean X[i, j] / 2
                    ax = 0.5 * k
                else:
                    ix += k * S[XM, j, l]
            elif l > j + 1:
                ix += (k - p) * X[l - 1, j]
                if l == i:
                    ax = p
                else:
                    ix += p * X[l, j]
        # int_0^{t_j} R(t_j, s) Q'(C(t_i, s)) ds with the first moment of R(t_j, .)
        ic2 = 0.0
        for l in range(1, j + 1):
            k0 = X[j, l - 1] - X[j, l]
            p0 = S[P0, j, l]
            ic2 += (k0 - p0) * f1[l - 1] + p0 * f1[l]
        src_c = dqs * m[j] + ic1 + ic2
        if j == i - 1:  # trapezoid from the diagonal
            Cn[j] = (1.0 + 0.5 * h * (-T + src_c)) / (1.0 + 0.5 * h * (mu_i - ac))
            Xn[j] = 0.5 * h * (2.0 + ix) / (1.0 + 0.5 * h * (mu_i - ax))
        else:  # BDF2
            Cn[j] = (4.0 * C[i - 1, j] - C[i - 2, j] + 2.0 * h * src_c) / (
                3.0 + 2.0 * h * (mu_i - ac))
            Xn[j] = (4.0 * X[i - 1, j] - X[i - 2, j] + 2.0 * h * (1.0 + ix)) / (
                3.0 + 2.0 * h * (mu_i - ax))


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
def _solve_m(i, h, T, qs, m, g, mm, a, dm0):
    """m[i] from its implicit step (BDF2, or the trapezoid rule at i = 1) by Newton's method,
    with mu = T + Q_s'(m) m + g and the signal force Q_s'(m) taken at the new m (the escape
    couples them strongly once h exceeds the escape time); g, mm and a come from the row."""
    x = m[i]
    for _ in range(60):
        q1, q2 = dpoly(qs, x), d2poly(qs, x)
        mu_x = T + q1 * x + g
        dmu = q1 + q2 * x
        if i >= 2:
            f = (3.0 + 2.0 * h * (mu_x - a)) * x - 4.0 * m[i - 1] + m[i - 2] - 2.0 * h * (q1 + mm)
            df = 3.0 + 2.0 * h * (mu_x - a + dmu * x - q2)
        else:
            f = (1.0 + 0.5 * h * (mu_x - a)) * x - m[0] - 0.5 * h * (dm0 + q1 + mm)
            df = 1.0 + 0.5 * h * (mu_x - a + dmu * x - q2)
        step = f / df
        x -= step
        if abs(step) <= 1e-15 * (1.0 + abs(x)):
            break
    return x


@nb.njit(cache=True)
def _copy_near_diagonal(i, n_c, C, X, S):
    """Lags 1..n_c of row i and the interval quantities between them and the diagonal, from
    row i - 1 (time-translation invariance)."""
    lo = i - n_c
    for d in range(1, n_c + 1):
        C[i, i - d] = C[i - 1, i - 1 - d]
        X[i, i - d] = X[i - 1, i - 1 - d]
    for l in range(lo + 1, i + 1):
        for q in _ROW:
            S[q, i, l] = S[q, i - 1, l - 1]
    for j in range(lo, i):
        S[CM, j, i] = S[CM, j - 1, i - 1]
        S[XM, j, i] = S[XM, j - 1, i - 1]


# Gauss-Chebyshev (second kind) nodes for averages over the semicircle law: spectrally accurate
# for the smooth integrands of _strip_chi (1e-15 against mpmath for lags up to 400)
_NODES = 256
_COS = np.cos(np.pi * np.arange(1, _NODES + 1) / (_NODES + 1))
_WEIGHT = 2.0 / (_NODES + 1) * np.sin(np.pi * np.arange(1, _NODES + 1) / (_NODES + 1)) ** 2


@nb.njit(cache=True)
def _strip_chi(mu, s, x):
    """chi(x) = int rho(l) (1 - e^{-l x}) / l dl and its mean over [0, x], rho the semicircle of
    centre mu > 2 s and radius 2 s."""
    chi = 0.0
    mean = 0.0
    for k in range(_NODES):
        z = (mu + 2.0 * s * _COS[k]) * x
        if z < 1e-4:  # series of (1 - e^-z)/z and (z - 1 + e^-z)/z^2
            chi += _WEIGHT[k] * (1.0 - z / 2.0 + z * z / 6.0)
            mean += _WEIGHT[k] * (0.5 - z / 6.0 + z * z / 24.0)
        else:
            em = np.exp(-z)
            chi += _WEIGHT[k] * (1.0 - em) / z
            mean += _WEIGHT[k] * (z - 1.0 + em) / (z * z)
    return x * chi, x * mean


@nb.njit(cache=True)
def _gapped_strip(i, n_c, h, qs, qn, m, far, C, X, S):
    """Lags 1..n_c of row i at T = 0 in a gapped stationary state (a minimum: C = 1 between
    late times, R time-translation invariant): R(tau) = int rho(l) e^{-l tau} dl with rho the
    semicircle of centre mu and radius 2 sqrt(Q''(1)), the Laplace transform of the response
    equation at C = 1 [S3.1]. mu solves mu = Q_s'(m) m + far + (Q'(1) + Q''(1)) chi(n_c h; mu)
    [S3.1], ``far`` the memory part of mu beyond the strip (bisection: the right side
    decreases in mu). Replaces the copies, which keep the response of the time at which
    copying began (before the escape)."""
    q1, q2 = dpoly(qn, 1.0), d2poly(qn, 1.0)
    s = np.sqrt(q2)
    c = q1 + q2
    base = dpoly(qs, m[i]) * m[i] + far
    lo_mu, hi_mu = 2.0 * s, 2.0 * s + abs(base) + c / s + 1.0
    for _ in range(200):
        mu = 0.5 * (lo_mu + hi_mu)
        chi, _ = _strip_chi(mu, s, n_c * h)
        if mu - base - c * chi > 0.0:
            hi_mu = mu
        else:
            lo_mu = mu
        if hi_mu - lo_mu <= 1e-15 * hi_mu:
            break
    chi_prev, area_prev = 0.0, 0.0
    for d in range(1, n_c + 1):
        chi, mean = _strip_chi(mu, s, d * h)
        area = d * mean  # (1/h) int_0^{d h} chi
        k = chi - chi_prev  # int of R over the lag interval [(d - 1) h, d h]
        p = area - area_prev - chi_prev  # its first moment
        l = i - d + 1  # the interval I_l of row i, and of column j = i - d
        C[i, i - d] = 1.0
        C[i - d, i] = 1.0
        X[i, i - d] = chi
        S[K2, i, l], S[P2, i, l] = q2 * k, q2 * p
        S[KM, i, l], S[K1, i, l], S[P0, i, l] = c * k, q1 * k, p
        S[CM, i, l] = 1.0
        S[CM, i - d, i] = 1.0
        S[XM, i - d, i] = area - area_prev
        chi_prev, area_prev = chi, area


@nb.njit(cache=True)
def advance(i0, i1, h, T, qs, qn, C, X, S, m, mu, e, n_copy, gapped, tol, max_iter, m_stop,
            f1, Cn, Xn):
    """Solve rows i0..i1-1 of the window (rows < i0 are known, i0 >= 1), stopping after the
    first row where m >= m_stop. The lags 1..n_copy are copied from the previous row, or
    (``gapped``, T = 0 only) given by :func:`_gapped_strip`.

    Returns (status, row, total Jacobi sweeps): ``row`` is the first row not solved (the bad
    row on failure).
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
        strip = gapped and n_c > 0
        if n_c > 0 and not strip:
            _copy_near_diagonal(i, n_c, C, X, S)
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
            mu0, _, _, _ = row_observables(0, T, qs, S, m)
            dm0 = -mu0 * m[0] + dpoly(qs, m[0])
        converged = False
        omega = 1.0  # under-relaxation, halved whenever a sweep increases the change
        prev = np.inf
        for _ in range(max_iter):
            _row_intervals(i, lo, qn, C, X, S)
            if strip:
                far = 0.0
                for l in range(1, lo + 1):
                    far += S[KM, i, l]
                _gapped_strip(i, n_c, h, qs, qn, m, far, C, X, S)
            for l in range(i + 1):
                f1[l] = dpoly(qn, C[i, l])
            mu_i, _, mm, a = row_observables(i, T, qs, S, m)
            _sweep(i, h, T, qs, S, C, X, m, mu_i, f1, lo, Cn, Xn)
            m_new = _solve_m(i, h, T, qs, m, mu_i - T - dpoly(qs, m[i]) * m[i], mm, a, dm0)
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
        _row_intervals(i, lo, qn, C, X, S)
        for j in range(lo):  # column means on the new interval I_i
            S[CM, j, i] = 0.5 * (C[i - 1, j] + C[i, j])
            S[XM, j, i] = 0.5 * (X[i - 1, j] + X[i, j])
        mu[i], e[i], _, _ = row_observables(i, T, qs, S, m)
        if m[i] >= m_stop:
            return OK, i + 1, sweeps
    return OK, i1, sweeps


@nb.njit(cache=True)
def decimate(W, C, X, S, m, mu, e):
    """Keep the even grid points 0, 2, .., W as 0..W/2 (the step doubles) [S3.4]; the interval
    quantities of each new interval combine those of its two halves exactly."""
    half = W // 2
    for a in range(half + 1):
        for l in range(1, half + 1):
            f, g = 2 * l - 1, 2 * l  # the two fine intervals of the coarse I_l
            for q in (CM, XM):
                S[q, a, l] = 0.5 * (S[q, 2 * a, f] + S[q, 2 * a, g])
            if l <= a:
                k0 = X[2 * a, f] - X[2 * a, g]
                S[P0, a, l] = 0.5 * (S[P0, 2 * a, f] + k0 + S[P0, 2 * a, g])
                S[P2, a, l] = 0.5 * (S[P2, 2 * a, f] + S[K2, 2 * a, g] + S[P2, 2 * a, g])
                for q in (K2, KM, K1):
                    S[q, a, l] = S[q, 2 * a, f] + S[q, 2 * a, g]
    for a in range(half + 1):
        for b in range(half + 1):
            C[a, b] = C[2 * a, 2 * b]
            X[a, b] = X[2 * a, 2 * b]
        m[a] = m[2 * a]
        mu[a] = mu[2 * a]
        e[a] = e[2 * a]
