"""numba kernels of the theory layer (private).

Two-time functions live on the fixed grid t_i = i h in *packed lower-triangular* storage:
entry (i, j), j <= i, sits at ``i*(i+1)//2 + j``. Row i holds C(t_i, t_j) and R(t_i, t_j); rows
are contiguous, so every O(i^2) sweep below reads memory in order and touches the lower triangle
only once per evaluation.
"""

from __future__ import annotations

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
def derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR):
    """Right-hand sides of [S3.1] on row i, trapezoid rule for the memory integrals.

    Fills dC[j] = d/dt C(t_i, t_j) and dR[j] = d/dt R(t_i, t_j) for j = 0..i and returns
    (dm/dt, mu, e) at t_i. ``ws`` is a scratch tuple of work arrays (see :func:`workspace`).
    """
    kw, hk, f, A, B, D, part_A, part_D = ws
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
        w = h if (0 < s < i) else 0.5 * h
        if i == 0:
            w = 0.0
        k = r * q2
        kw[s] = w * k  # trapezoid weights on [0, t_i]
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

    f0 = f[0]
    k_i = hk[i]
    for j in range(i + 1):
        # int_0^{t_j} R(t_j, s) Q'(C(t_i, s)) ds: remove half of the two end points
        b = 0.0
        if j > 0:
            b = h * B[j] - 0.5 * h * (Rp[_row(j)] * f0 + Rp[_row(j) + j] * f[j])
        # int_{t_j}^{t_i} R(t_i, s) Q''(C(t_i, s)) R(s, t_j) ds, trapezoid on [t_j, t_i]
        d = 0.0
        if j < i:
            d = D[j] - 0.5 * (hk[j] * Rp[_row(j) + j] + k_i * Rp[base_i + j])
        dC[j] = -mu * Cp[base_i + j] + dqs * m[j] + A[j] + b
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


def workspace(n_rows: int, nchunks: int):
    """Scratch arrays for :func:`derivatives` on up to ``n_rows`` rows."""
    return (*(aligned_zeros(n_rows) for _ in range(6)), aligned_zeros((nchunks, n_rows)),
            aligned_zeros((nchunks, n_rows)))


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


@nb.njit(cache=True)
def observables(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR):
    """(mu, e) at row i (used for the last row of a run)."""
    _, mu_i, e_i = derivatives(i, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
    return mu_i, e_i
