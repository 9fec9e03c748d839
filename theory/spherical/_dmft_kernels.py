"""numba kernels of the theory layer (private).

Two-time functions live on the fixed grid t_i = i h in *packed lower-triangular* storage:
entry (i, j), j <= i, sits at ``i*(i+1)//2 + j``. Row i holds C(t_i, t_j) and R(t_i, t_j); rows
are contiguous, so every O(i^2) sweep below reads memory in order and touches the lower triangle
only once per evaluation.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

# status codes returned by the steppers
OK = 0
NONFINITE = 1
BLOWUP = 2
NOT_CONVERGED = 3

NEGATIVE_RESPONSE = 4

# a run stops once an invariant [S3.2] is broken by more than this: |m| <= 1 and |C| <= 1
# (Cauchy-Schwarz), and on the fixed grid R >= 0 at T = 0 (gradient flow). Smaller breaches are
# discretisation errors (Heun at dt = 0.05, easy case: C - 1 = 6.6e-3), which the error estimate
# reports with an AccuracyWarning.
INVARIANT_SLACK = 1e-2


@nb.njit(cache=True, inline="always")
def poly(c, q):
    """Q(q) = sum_k c[k] q^k."""
    out = 0.0
    for k in range(c.shape[0] - 1, -1, -1):
        out = out * q + c[k]
    return out


@nb.njit(cache=True, inline="always")
def dpoly(c, q):
    """Q'(q)."""
    out = 0.0
    for k in range(c.shape[0] - 1, 0, -1):
        out = out * q + k * c[k]
    return out


@nb.njit(cache=True, inline="always")
def d2poly(c, q):
    """Q''(q)."""
    out = 0.0
    for k in range(c.shape[0] - 1, 1, -1):
        out = out * q + k * (k - 1) * c[k]
    return out


@nb.njit(cache=True, inline="always")
def _row(i):
    return i * (i + 1) // 2


# Quadrature rules for the memory integrals, as (end weights, small-n weights), in units of h.
# A rule on n intervals weighs point k by ends[k] or ends[n - k] near the ends and 1 inside
# (n >= 2 len(ends) - 1); shorter intervals use small[n, :n + 1].
# Trapezoid: error O(h^2).
TRAPEZOID_RULE = (np.array([0.5]), np.zeros((1, 1)))
# Gregory's end corrections [3/8, 7/6, 23/24] (exact for cubics, error O(h^4)); Newton-Cotes
# (trapezoid, Simpson, 3/8, Boole) below 5 intervals, all exact for polynomials of degree >= 1.
GREGORY_RULE = (np.array([3 / 8, 7 / 6, 23 / 24]), np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1 / 2, 1 / 2, 0.0, 0.0, 0.0],
    [1 / 3, 4 / 3, 1 / 3, 0.0, 0.0],
    [3 / 8, 9 / 8, 9 / 8, 3 / 8, 0.0],
    [14 / 45, 64 / 45, 24 / 45, 64 / 45, 14 / 45]]))


@nb.njit(cache=True, inline="always")
def weight(n, k, ends, small):
    """Weight (units of h) of point k of the rule on n intervals."""
    if n < small.shape[0]:
        return small[n, k]
    if k < ends.shape[0]:
        return ends[k]
    if n - k < ends.shape[0]:
        return ends[n - k]
    return 1.0


@nb.njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
def _sweep(i, kw, hk, f, Cp, Rp, A, B, D, part_A, part_D, bounds):
    """One fused pass over rows r = 0..i of the stored triangle [S3.1]:

    A[j] = sum_r kw[r] C(r, j)          (C symmetric: row r gives j <= r, the dot gives j = r)
    D[j] = sum_{r >= j} hk[r] R(r, j)
    B[r] = sum_{u <= r} R(r, u) f[u]

    Rows are split between threads in ``bounds`` (balanced by work ~ r); each thread keeps its
    own partial A and D, summed afterwards.
    """
    nchunks = bounds.shape[0] - 1
    for c in nb.prange(nchunks):
        pa = part_A[c]
        pd = part_D[c]
        for u in range(i + 1):
            pa[u] = 0.0
            pd[u] = 0.0
        for r in range(bounds[c], bounds[c + 1]):
            base = _row(r)
            kr = kw[r]
            hr = hk[r]
            dot_a = 0.0
            dot_b = 0.0
            for u in range(r):
                cv = Cp[base + u]
                rv = Rp[base + u]
                pa[u] += kr * cv
                dot_a += kw[u] * cv
                pd[u] += hr * rv
                dot_b += rv * f[u]
            # diagonal u = r: C(r, r) and R(r, r) as stored
            cv = Cp[base + r]
            rv = Rp[base + r]
            pa[r] += kr * cv + dot_a
            pd[r] += hr * rv
            B[r] = dot_b + rv * f[r]
    for u in range(i + 1):
        a = 0.0
        d = 0.0
        for c in range(nchunks):
            a += part_A[c, u]
            d += part_D[c, u]
        A[u] = a
        D[u] = d


@nb.njit(cache=True)
def _balanced_bounds(i, nchunks):
    """Row boundaries splitting rows 0..i into chunks of about equal work (row r costs ~ r)."""
    b = np.empty(nchunks + 1, dtype=np.int64)
    b[0] = 0
    for c in range(1, nchunks):
        b[c] = min(i + 1, int((i + 1) * np.sqrt(c / nchunks)))
    b[nchunks] = i + 1
    return b


@nb.njit(cache=True)
def _edge_corrections(i, j, b, d, a, reach, ends, small, Cp, Rp, f, hk):
    """The corrections of :func:`derivatives` for j within ``reach`` of 0 or t_i, where the
    intervals are short and their weights come from ``small``: every weight that differs from
    the sweep's, point by point."""
    base_j = _row(j)
    for u in range(min(reach, j + 1)):
        b += (weight(j, u, ends, small) - 1.0) * Rp[base_j + u] * f[u]
    for u in range(max(reach, j - reach + 1), j + 1):
        b += (weight(j, u, ends, small) - 1.0) * Rp[base_j + u] * f[u]
    top = min(j + reach, i + 1)
    for r in range(j, top):
        d += (weight(i - j, r - j, ends, small) - 1.0) * hk[r] * Rp[_row(r) + j]
    for r in range(max(top, i - reach + 1), i + 1):
        d += (weight(i - j, r - j, ends, small) - 1.0) * hk[r] * Rp[_row(r) + j]
    lo = 0  # the points near 0, t_j and t_i, each once
    for part in range(3):
        if part == 0:
            a0, a1 = 0, min(reach, i + 1)
        elif part == 1:
            a0, a1 = max(lo, j - reach + 1), min(j + reach, i + 1)
        else:
            a0, a1 = max(lo, i - reach + 1), i + 1
        for s in range(a0, a1):
            dw = -weight(i, s, ends, small)
            if s <= j:
                dw += weight(j, s, ends, small)
                cv = Cp[base_j + s]
            else:
                cv = Cp[_row(s) + j]
            if s >= j:
                dw += weight(i - j, s - j, ends, small)
            a += dw * hk[s] * cv
        lo = max(lo, a1)
    return b, d, a


@nb.njit(cache=True)
def derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR):
    """Right-hand sides of [S3.1] on row i, memory integrals by the rule in ``ws``.

    Fills dC[j] = d/dt C(t_i, t_j) and dR[j] = d/dt R(t_i, t_j) for j = 0..i and returns
    (dm/dt, mu, e) at t_i. ``ws`` is a scratch tuple of work arrays and the quadrature rule (see
    :func:`workspace`). The fused sweep sums with the weights of the whole interval (or 1); the
    weights that differ near the ends of each integral are corrected here, O(1) points per j.
    The integral over s of C(s, t_j) is split at s = t_j, where C has a kink at T > 0.
    """
    kw, hk, f, A, B, D, part_A, part_D, ends, small = ws
    reach = max(ends.shape[0], small.shape[0])  # points from an end whose weight is not 1
    base_i = _row(i)
    mi = m[i]
    sum_g = 0.0
    sum_e = 0.0
    sum_m = 0.0
    for s in range(i + 1):
        c = Cp[base_i + s]
        r = Rp[base_i + s]
        q1 = dpoly(qn, c)
        q2 = d2poly(qn, c)
        w = h * weight(i, s, ends, small)
        k = r * q2
        kw[s] = w * k  # weights on [0, t_i]
        hk[s] = h * k
        f[s] = q1
        sum_g += w * r * (q1 + c * q2)
        sum_e += w * r * q1
        sum_m += w * k * m[s]
    dqs = dpoly(qs, mi)
    mu = T + dqs * mi + sum_g
    e = -poly(qs, mi) - sum_e
    dm = -mu * mi + dqs + sum_m

    bounds = _balanced_bounds(i, part_A.shape[0])
    _sweep(i, kw, hk, f, Cp, Rp, A, B, D, part_A, part_D, bounds)

    n_end = ends.shape[0]
    for j in range(i + 1):
        base_j = _row(j)
        b = B[j]  # int_0^{t_j} R(t_j, s) Q'(C(t_i, s)) ds: the sweep weighs every point by 1
        d = D[j]  # int_{t_j}^{t_i} R(t_i, s) Q''(C(t_i, s)) R(s, t_j) ds: every point by h
        a = A[j]  # int_0^{t_i} R(t_i, s) Q''(C(t_i, s)) C(s, t_j) ds: weights of [0, t_i]
        if reach <= j <= i - reach:
            # interior j: every interval is long, the corrections are the end weights - 1
            for k in range(n_end):
                dw = ends[k] - 1.0
                b += dw * (Rp[base_j + k] * f[k] + Rp[base_j + j - k] * f[j - k])
                d += dw * (hk[j + k] * Rp[_row(j + k) + j] + hk[i - k] * Rp[_row(i - k) + j])
                if k == 0:  # [0, t_j] + [t_j, t_i] both end at s = t_j
                    a += (2.0 * ends[0] - 1.0) * hk[j] * Cp[base_j + j]
                else:
                    a += dw * (hk[j - k] * Cp[base_j + j - k] + hk[j + k] * Cp[_row(j + k) + j])
        else:
            b, d, a = _edge_corrections(i, j, b, d, a, reach, ends, small, Cp, Rp, f, hk)
        dC[j] = -mu * Cp[base_i + j] + dqs * m[j] + a + h * b
        dR[j] = -mu * Rp[base_i + j] + d
    return dm, mu, e


def aligned_zeros(shape) -> np.ndarray:
    """Zeros starting on a 64-byte boundary. The sweeps are vectorised with reassociation, so
    their last bits depend on where an array starts: fixed alignment keeps a resumed run
    bit-identical to an uninterrupted one (numpy guarantees 16 bytes only)."""
    count = int(np.prod(shape))
    raw = np.zeros(count + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip:skip + count].reshape(shape)


def workspace(n_rows: int, nchunks: int, rule=TRAPEZOID_RULE):
    """Scratch arrays for :func:`derivatives` on up to ``n_rows`` rows, and the quadrature rule
    of its memory integrals."""
    return (*(aligned_zeros(n_rows) for _ in range(6)), aligned_zeros((nchunks, n_rows)),
            aligned_zeros((nchunks, n_rows)), *rule)


@nb.njit(cache=True)
def _check_row(i, Cp, Rp, m, T):
    """Status of row i: finite, |C|, |m| <= 1 + INVARIANT_SLACK, R >= -INVARIANT_SLACK at T = 0."""
    base = _row(i)
    if not np.isfinite(m[i]):
        return NONFINITE
    top = 1.0 + INVARIANT_SLACK
    for j in range(i + 1):
        if not (np.isfinite(Cp[base + j]) and np.isfinite(Rp[base + j])):
            return NONFINITE
        if abs(Cp[base + j]) > top:
            return BLOWUP
        if T == 0.0 and Rp[base + j] < -INVARIANT_SLACK:
            return NEGATIVE_RESPONSE
    if abs(m[i]) > top:
        return BLOWUP
    return OK


@nb.njit(cache=True)
def advance(i0, i1, max_corr, tol, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, dC2, dR2):
    """Integrate [S3.1]-[S3.2] from row i0 to row i1 on the fixed grid.

    max_corr = 0: explicit Euler with trapezoid memory integrals in the authors' convention
    [S3.4]: the stored diagonal is R(t, t) = 0 and R(t + h, t) = 1 is set after each step, so the
    discrete sums of R are geometric and the stationary state is the continuous fixed point
    [S3.3] at every h. max_corr = 1, tol = inf: Heun predictor-corrector (PECE); max_corr > 1:
    the trapezoid corrector iterated until the largest change of the new row is <= tol
    (implicit trapezoid rule). Both store R(t, t) = R(t+, t) = 1 [S3.2].

    Fills rows i0+1..i1 of C, R, m and mu[i], e[i] for i = i0..i1-1. Returns
    (status, row, corrector evaluations): status OK, or NONFINITE/BLOWUP/NOT_CONVERGED with the
    first bad row (rows before it stay valid).
    """
    n_corr = 0
    for i in range(i0, i1):
        dm, mu_i, e_i = derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
        mu[i] = mu_i
        e[i] = e_i
        base_i = _row(i)
        base_n = _row(i + 1)
        # predictor / Euler step; the new diagonal obeys C(t,t) = 1, R(t+,t) = 1 [S3.2]
        for j in range(i + 1):
            Cp[base_n + j] = Cp[base_i + j] + h * dC[j]
            Rp[base_n + j] = Rp[base_i + j] + h * dR[j]
        Cp[base_n + i + 1] = 1.0
        if max_corr == 0:
            Rp[base_n + i] = 1.0
            Rp[base_n + i + 1] = 0.0
        else:
            Rp[base_n + i + 1] = 1.0
        m[i + 1] = m[i] + h * dm
        # corrector: trapezoid in time with the derivative at the new row, applied once (Heun,
        # PECE) or iterated to ``tol`` (implicit trapezoid)
        for _ in range(max_corr):
            dm2, _, _ = derivatives(i + 1, h, T, qs, qn, Cp, Rp, m, ws, dC2, dR2)
            change = 0.0
            for j in range(i + 1):
                c_new = Cp[base_i + j] + 0.5 * h * (dC[j] + dC2[j])
                r_new = Rp[base_i + j] + 0.5 * h * (dR[j] + dR2[j])
                change = max(change, abs(c_new - Cp[base_n + j]), abs(r_new - Rp[base_n + j]))
                Cp[base_n + j] = c_new
                Rp[base_n + j] = r_new
            m_new = m[i] + 0.5 * h * (dm + dm2)
            change = max(change, abs(m_new - m[i + 1]))
            m[i + 1] = m_new
            n_corr += 1
            if change <= tol:
                break
        if max_corr > 1 and change > tol:
            return NOT_CONVERGED, i + 1, n_corr
        status = _check_row(i + 1, Cp, Rp, m, T)
        if status != OK:
            return status, i + 1, n_corr
    return OK, i1, n_corr


# Adams coefficients, newest point first: AM[q, :q + 1] is Adams-Moulton through the new row
# and q earlier ones (order q + 1), AB[q - 1, :q] Adams-Bashforth through q rows (order q).
AM = np.array([[1.0, 0.0, 0.0, 0.0], [1 / 2, 1 / 2, 0.0, 0.0], [5 / 12, 8 / 12, -1 / 12, 0.0],
               [9 / 24, 19 / 24, -5 / 24, 1 / 24]])
AB = np.array([[1.0, 0.0, 0.0], [3 / 2, -1 / 2, 0.0], [23 / 12, -16 / 12, 5 / 12]])


@nb.njit(cache=True, inline="always")
def _mu_integral(r, mu_new, mu, h):
    """int_{t_r}^{t_{r+1}} mu dt by Adams-Moulton through mu_new = mu(t_{r+1}) and mu[r], ..."""
    q = min(r, 2) + 1  # earlier rows
    out = AM[q, 0] * mu_new
    for k in range(1, q + 1):
        out += AM[q, k] * mu[r + 1 - k]
    return h * out


@nb.njit(cache=True, inline="always")
def _adams_sums(q, F, j, i, g2, g3):
    """Sums over the q newest rows of column j of the history F (slot r % 3 holds row r), each
    older row decayed by g2, g3: (Adams-Bashforth with q points, the explicit part of
    Adams-Moulton with q + 1 points)."""
    ab = AB[q - 1, 0] * F[i % 3, j]
    am = AM[q, 1] * F[i % 3, j]
    if q >= 2:
        ab += AB[q - 1, 1] * g2 * F[(i - 1) % 3, j]
        am += AM[q, 2] * g2 * F[(i - 1) % 3, j]
    if q >= 3:
        ab += AB[q - 1, 2] * g3 * F[(i - 2) % 3, j]
        am += AM[q, 3] * g3 * F[(i - 2) % 3, j]
    return ab, am


@nb.njit(cache=True)
def gregory_history(i, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR, Fm, M):
    """Start of step i of :func:`advance_gregory`: (mu, e) at t_i, the integrated multiplier
    M(t_i) = int_0^{t_i} mu, and the right-hand sides without the -mu term on row i, kept in
    slot i % 3 of FC, FR, Fm (the last three rows; Fm has one column, m's). The evaluation is
    of the final row i, not reused from the corrector's last pass on the row before it
    converged, so that a resumed run rebuilds exactly this history from the stored rows."""
    dm, mu_i, e_i = derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
    mu[i] = mu_i
    e[i] = e_i
    M[i] = 0.0 if i == 0 else M[i - 1] + _mu_integral(i - 1, mu_i, mu, h)
    base = _row(i)
    slot = i % 3
    for j in range(i + 1):
        FC[slot, j] = dC[j] + mu_i * Cp[base + j]
        FR[slot, j] = dR[j] + mu_i * Rp[base + j]
    Fm[slot, 0] = dm + mu_i * m[i]


@nb.njit(cache=True)
def gregory_resume(i0, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR, Fm, M):
    """The history of rows < i0 from stored rows and mu, as the uninterrupted run made it."""
    for r in range(1, max(0, i0 - 2)):
        M[r] = M[r - 1] + _mu_integral(r - 1, mu[r], mu, h)
    for r in range(max(0, i0 - 2), i0):
        gregory_history(r, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR, Fm, M)


@nb.njit(cache=True)
def advance_gregory(i0, i1, max_corr, tol, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR,
                    Fm, M, PC, PR):
    """Integrate [S3.1]-[S3.2] from row i0 to row i1: integrating factor for -mu(t), Adams in t
    and Gregory-corrected memory integrals (``ws`` carries the rule).

    With M(t) = int_0^t mu, each column t' of C and R (and m) obeys d/dt [e^M X] = e^M F, F the
    right-hand side without -mu X, so the decay e^{-(M(t_{i+1}) - M(t_i))} is exact and the
    Adams-Moulton rule integrates the smooth rest [S3.1]. The entry (i + 1, j) uses the column's
    points since the diagonal: trapezoid one step from it (its local error h^3 sets the global
    order 3), 3 points two steps from it, 4 points (order 4) further. The implicit row is
    iterated to ``tol`` from an Adams-Bashforth predictor. Rows < i0 must have their history in
    FC, FR, Fm, M (:func:`gregory_resume`). Returns (status, row, corrector evaluations) as
    :func:`advance`.
    """
    n_corr = 0
    for i in range(i0, i1):
        gregory_history(i, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR, Fm, M)
        base_i = _row(i)
        base_n = _row(i + 1)
        # G_k = e^{-(M_i - M_{i+1-k})}: the decay from row i + 1 - k to row i
        g2 = math.exp(-(M[i] - M[i - 1])) if i >= 1 else 0.0
        g3 = math.exp(-(M[i] - M[i - 2])) if i >= 2 else 0.0
        # predictor: the decay over the step from mu(t_i), Adams-Bashforth for the rest
        e1 = math.exp(-h * mu[i])
        for j in range(i + 1):
            sc, pc = _adams_sums(min(i + 1 - j, 3), FC, j, i, g2, g3)
            sr, pr = _adams_sums(min(i + 1 - j, 3), FR, j, i, g2, g3)
            Cp[base_n + j] = e1 * (Cp[base_i + j] + h * sc)
            Rp[base_n + j] = e1 * (Rp[base_i + j] + h * sr)
            # the explicit part of the corrector, to be multiplied by e^{-(M_{i+1} - M_i)}
            PC[j] = Cp[base_i + j] + h * pc
            PR[j] = Rp[base_i + j] + h * pr
        Cp[base_n + i + 1] = 1.0  # C(t, t) = 1, R(t+, t) = 1 [S3.2]
        Rp[base_n + i + 1] = 1.0
        sm, pm = _adams_sums(min(i + 1, 3), Fm, 0, i, g2, g3)
        m[i + 1] = e1 * (m[i] + h * sm)
        pm = m[i] + h * pm
        change = 0.0
        for _ in range(max_corr):
            dm2, mu2, _ = derivatives(i + 1, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
            e1 = math.exp(-_mu_integral(i, mu2, mu, h))
            change = 0.0
            for j in range(i + 1):
                q = min(i + 1 - j, 3)
                c_new = e1 * PC[j] + h * AM[q, 0] * (dC[j] + mu2 * Cp[base_n + j])
                r_new = e1 * PR[j] + h * AM[q, 0] * (dR[j] + mu2 * Rp[base_n + j])
                change = max(change, abs(c_new - Cp[base_n + j]), abs(r_new - Rp[base_n + j]))
                Cp[base_n + j] = c_new
                Rp[base_n + j] = r_new
            m_new = e1 * pm + h * AM[min(i + 1, 3), 0] * (dm2 + mu2 * m[i + 1])
            change = max(change, abs(m_new - m[i + 1]))
            m[i + 1] = m_new
            n_corr += 1
            if change <= tol:
                break
        if change > tol:
            return NOT_CONVERGED, i + 1, n_corr
        status = _check_row(i + 1, Cp, Rp, m, T)
        if status != OK:
            return status, i + 1, n_corr
    return OK, i1, n_corr


@nb.njit(cache=True)
def observables(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR):
    """(mu, e) at row i (used for the last row of a run)."""
    _, mu_i, e_i = derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
    return mu_i, e_i
