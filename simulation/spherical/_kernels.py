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

from .._sphere_kernels import retract, velocity

OK = 0
NONFINITE = 1
ENERGY_ROSE = 2  # a deterministic step raised H: the step is beyond the stability limit

# relative energy rise per step that counts as unstable (rounding stays ~1e-15)
_RISE = 1e-9

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


@nb.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _fiber(wr, xr, gr, coef):
    """One fiber of the packed tensor: returns sum_k wr[k] xr[k] and adds coef wr[k] to gr[k].
    Contiguous views let LLVM prove the arrays disjoint and vectorise."""
    s = 0.0
    for k in range(wr.shape[0]):
        wk = wr[k]
        s += wk * xr[k]
        gr[k] += wk * coef
    return s


@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def _tensor3(w, x, g):
    """g += grad of S(x) = sum_packed w x_i x_j x_k; returns S(x). One pass over w.

    The innermost loop is a fiber k >= j (:func:`_fiber`): s = sum_k w x_k, g_k += w x_i x_j.
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
            s = _fiber(w[e:e + length], x[j:], g[j:], xij)
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
                s = _fiber(w[e:e + length], x[k:], g[k:], xijk)
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
def steps(J, w, p, x, dt, n_steps, scheme, temperature, noise, xs, level, t0, escape, stop,
          energy):
    """Advance x by ``n_steps`` steps of size dt in place; returns (status, steps done).

    At T = 0 every step must lower H: a rise by more than ``_RISE`` |H| returns ENERGY_ROSE with
    the step index, x at the state before that step and ``energy`` = [H before, H after].

    Gradient flow [S2]: "euler" x <- R(x + dt v(x)), "heun" x <- R(x + dt (v(x) + v(x~))/2) with
    the predictor x~ = R(x + dt v(x)); R(y) = sqrt(N) y/|y| and v the tangent velocity.
    Langevin (temperature > 0, Euler-Maruyama): x <- R(x + dt v(x) + sqrt(2 T dt) xi), xi the
    rows of ``noise``.
    While escape[0] < 0, the first time |m| = |x.xs|/N reaches ``level`` (linear interpolation
    between steps, t0 the time at entry) is written to escape[0]; with ``stop`` the call then
    returns at once.
    """
    n = x.shape[0]
    m_prev = abs(np.dot(x, xs)) / n
    g = np.empty(n)
    v1 = np.empty(n)
    v2 = np.empty(n)
    y = np.empty(n)
    xp = np.empty(n)
    amp = math.sqrt(2.0 * temperature * dt)
    x_last = x.copy()
    h_prev = math.inf
    for step in range(n_steps + 1):
        h2, hp = gradient(J, w, p, x, g)
        if temperature == 0.0:
            if h2 + hp > h_prev + _RISE * max(abs(h_prev), n):
                x[:] = x_last  # back to the state before the step that raised H
                energy[0], energy[1] = h_prev, h2 + hp
                return ENERGY_ROSE, step - 1
            h_prev = h2 + hp
            x_last[:] = x
        if step == n_steps:  # the last state is checked too
            break
        velocity(x, g, xs, False, v1)
        for i in range(n):
            y[i] = x[i] + dt * v1[i]
        if temperature > 0.0:
            for i in range(n):
                y[i] += amp * noise[step, i]
        elif scheme == HEUN:
            if not retract(y, xp, xs, False):
                return NONFINITE, step
            gradient(J, w, p, xp, g)
            velocity(xp, g, xs, False, v2)
            for i in range(n):
                y[i] = x[i] + 0.5 * dt * (v1[i] + v2[i])
        if not retract(y, x, xs, False):
            return NONFINITE, step
        if escape[0] < 0.0:
            m_now = abs(np.dot(x, xs)) / n
            if m_now >= level:
                frac = (level - m_prev) / (m_now - m_prev) if m_now > m_prev else 1.0
                escape[0] = t0 + dt * (step + frac)
                if stop:
                    return OK, step + 1
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
