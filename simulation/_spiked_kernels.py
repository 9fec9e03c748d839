"""numba kernels of the finite-N spiked matrix-tensor simulator (private).

The order-p tensor is stored packed: one float64 weight w per multi-index i1 <= ... <= ip, in
lexicographic order, with every prefactor folded in so that the tensor part of the loss is
H_p(x) = -sum_packed w x_i1 ... x_ip [S1, S1.2]. The matrix part is a dense symmetric J with
H_2(x) = -x.J.x/2. Gradients are of H (so dx/dt = -grad H - mu x [S2]).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

OK = 0
NONFINITE = 1

EULER = 0
HEUN = 1

_FAST = {"reassoc", "contract"}


def packed_size(n: int, p: int) -> int:
    """Number of multi-indices i1 <= ... <= ip in range(n): C(n + p - 1, p)."""
    return math.comb(n + p - 1, p)


@nb.njit(cache=True, nogil=True, inline="always")
def _advance(idx, n):
    """Next non-decreasing multi-index (lexicographic); False after the last one."""
    k = idx.shape[0] - 1
    while k >= 0 and idx[k] == n - 1:
        k -= 1
    if k < 0:
        return False
    idx[k] += 1
    for l in range(k + 1, idx.shape[0]):
        idx[l] = idx[k]
    return True


@nb.njit(cache=True, nogil=True)
def fill_tensor(w, z, xs, p, delta_p, all_index):
    """Packed weights w from iid N(0,1) draws z (one per stored entry) and the signal xs.

    Spec [S1]: T = sqrt((p-1)!) xs^(x)p / N^((p-1)/2) + noise, prefactor
    c = sqrt((p-1)!)/(Delta_p N^((p-1)/2)).
    all_index [S1.2]: the symmetric noise sqrt(Delta_p) Sym(G)/sqrt(p!) has, at a multi-index
    with repeat counts n_a, variance Delta_p prod(n_a!); the loss sums all p! orderings with 1/p!,
    so w = c (T_signal + sqrt(Delta_p prod n_a!) z) / prod(n_a!).
    distinct indices: w = c (T_signal + sqrt(Delta_p) z) for i1 < ... < ip, 0 otherwise.
    """
    n = xs.shape[0]
    fact = 1.0
    for k in range(2, p):
        fact *= k
    scale = math.sqrt(fact) / n ** ((p - 1) / 2.0)  # sqrt((p-1)!)/N^((p-1)/2)
    c = scale / delta_p
    idx = np.zeros(p, dtype=np.int64)
    for e in range(w.shape[0]):
        signal = scale
        repeats = 1.0
        run = 1
        for a in range(p):
            signal *= xs[idx[a]]
            if a > 0 and idx[a] == idx[a - 1]:
                run += 1
                repeats *= run
            else:
                run = 1
        if all_index:
            w[e] = c * (signal + math.sqrt(delta_p * repeats) * z[e]) / repeats
        elif repeats == 1.0:
            w[e] = c * (signal + math.sqrt(delta_p) * z[e])
        else:
            w[e] = 0.0
        _advance(idx, n)


@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def _tensor3(w, x, g):
    """g += grad of S(x) = sum_packed w x_i x_j x_k; returns S(x). One pass over w.

    The innermost loop runs over k >= j on contiguous views of w, x and g (views let LLVM
    prove them disjoint and vectorise): s = sum_k w x_k and g_k += w x_i x_j.
    """
    n = x.shape[0]
    e = 0
    total = 0.0
    for i in range(n):
        xi = x[i]
        gi = 0.0
        for j in range(i, n):
            xj = x[j]
            xij = xi * xj
            length = n - j
            wr, xr, gr = w[e:e + length], x[j:], g[j:]
            s = 0.0
            for k in range(length):
                wk = wr[k]
                s += wk * xr[k]
                gr[k] += wk * xij
            e += length
            gi += xj * s
            g[j] += xi * s
            total += xij * s
        g[i] += gi
    return total


@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def _tensor4(w, x, g):
    """As :func:`_tensor3` for p = 4: S(x) = sum_packed w x_i x_j x_k x_l."""
    n = x.shape[0]
    e = 0
    total = 0.0
    for i in range(n):
        xi = x[i]
        for j in range(i, n):
            xj = x[j]
            xij = xi * xj
            for k in range(j, n):
                xk = x[k]
                xijk = xij * xk
                length = n - k
                wr, xr, gr = w[e:e + length], x[k:], g[k:]
                s = 0.0
                for l in range(length):
                    wl = wr[l]
                    s += wl * xr[l]
                    gr[l] += wl * xijk
                e += length
                g[i] += xj * xk * s
                g[j] += xi * xk * s
                g[k] += xij * s
                total += xijk * s
    return total


@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def gradient(J, w, p, x, g):
    """g = grad H(x); returns (H_2, H_p), the matrix and tensor energies (not per N)."""
    n = x.shape[0]
    h2 = 0.0
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += J[i, j] * x[j]
        g[i] = -s
        h2 -= 0.5 * x[i] * s
    hp = 0.0
    if w.shape[0] > 0:
        tmp = np.zeros(n)
        if p == 3:
            hp = -_tensor3(w, x, tmp)
        else:
            hp = -_tensor4(w, x, tmp)
        for i in range(n):
            g[i] -= tmp[i]
    return h2, hp


@nb.njit(cache=True, nogil=True)
def _retract(y, x):
    """x = sqrt(N) y/|y|; returns False when y is not finite."""
    n = y.shape[0]
    s = 0.0
    for i in range(n):
        s += y[i] * y[i]
    if not math.isfinite(s) or s == 0.0:
        return False
    f = math.sqrt(n / s)
    for i in range(n):
        x[i] = f * y[i]
    return True


@nb.njit(cache=True, nogil=True)
def _tangent(x, g, out):
    """out = -grad H + (x.grad H/N) x: the spherical gradient-flow velocity [S2]."""
    n = x.shape[0]
    d = 0.0
    for i in range(n):
        d += x[i] * g[i]
    d /= n
    for i in range(n):
        out[i] = -g[i] + d * x[i]


@nb.njit(cache=True, nogil=True)
def steps(J, w, p, x, dt, n_steps, scheme, temperature, noise, xs, level, t0, escape):
    """Advance x by ``n_steps`` steps of size dt in place; returns (status, steps done).

    Gradient flow [S2]: "euler" x <- R(x + dt v(x)), "heun" x <- R(x + dt (v(x) + v(x~))/2) with
    the predictor x~ = R(x + dt v(x)); R(y) = sqrt(N) y/|y| and v the tangent velocity.
    Langevin (temperature > 0, Euler-Maruyama): x <- R(x + dt v(x) + sqrt(2 T dt) xi), xi the
    rows of ``noise``.
    While escape[0] < 0, the first time |m| = |x.xs|/N reaches ``level`` (linear interpolation
    between steps, t0 the time at entry) is written to escape[0].
    """
    n = x.shape[0]
    m_prev = abs(np.dot(x, xs)) / n
    g = np.empty(n)
    v1 = np.empty(n)
    v2 = np.empty(n)
    y = np.empty(n)
    xp = np.empty(n)
    amp = math.sqrt(2.0 * temperature * dt)
    for step in range(n_steps):
        gradient(J, w, p, x, g)
        _tangent(x, g, v1)
        for i in range(n):
            y[i] = x[i] + dt * v1[i]
        if temperature > 0.0:
            for i in range(n):
                y[i] += amp * noise[step, i]
        elif scheme == HEUN:
            if not _retract(y, xp):
                return NONFINITE, step
            gradient(J, w, p, xp, g)
            _tangent(xp, g, v2)
            for i in range(n):
                y[i] = x[i] + 0.5 * dt * (v1[i] + v2[i])
        if not _retract(y, x):
            return NONFINITE, step
        if escape[0] < 0.0:
            m_now = abs(np.dot(x, xs)) / n
            if m_now >= level:
                frac = (level - m_prev) / (m_now - m_prev) if m_now > m_prev else 1.0
                escape[0] = t0 + dt * (step + frac)
            m_prev = m_now
    return OK, n_steps


@nb.njit(cache=True, nogil=True)
def hessian(J, w, p, x, out):
    """out = Euclidean Hessian of H at x (dense N x N)."""
    n = x.shape[0]
    for i in range(n):
        for j in range(n):
            out[i, j] = -J[i, j]
    if w.shape[0] == 0:
        return
    idx = np.zeros(p, dtype=np.int64)
    for e in range(w.shape[0]):
        for a in range(p):
            for b in range(a + 1, p):
                prod = w[e]
                for c in range(p):
                    if c != a and c != b:
                        prod *= x[idx[c]]
                out[idx[a], idx[b]] -= prod
                out[idx[b], idx[a]] -= prod
        _advance(idx, n)
