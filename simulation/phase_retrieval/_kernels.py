"""numba kernels of the finite-N phase-retrieval simulator (private).

The loss is called through the module-level name ``ev`` (the built-in losses, cached);
``theory.phase_retrieval._loss_kernels.kernel`` recompiles this module's functions for a user
loss. One pass over the rows of the sensing matrix A (M x N, float64 or float32) computes
h = A x/sqrt(N), the loss and grad L = sum_mu l'(h_mu) a_mu/sqrt(N) together [P3.1], so a
gradient streams A once (the two BLAS mat-vecs A@x and A.T@v stream it twice).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ...theory.phase_retrieval._loss_kernels import builtin
from .._sphere_kernels import retract, velocity

ev = builtin

# algorithms
GD = 0
ADAPTIVE = 1
ARMIJO = 2
PSGD = 3
LANGEVIN = 4

# why run() returned; also the per-sample stop reason
REACHED = 0      # reached t_end
SUCCESS = 1      # |m| >= success level and e/alpha <= loss_tol [P7]
STATIONARY = 2   # |grad_sphere L|/sqrt(N) <= grad_tol [P7]
BUDGET = 3       # max_steps
NONFINITE = 4
NEED_RANDOM = 5  # the random block is used up: refill and call again
UNDERFLOW = 6    # adaptive step below 1e-14 (or Armijo step below 1e-14)
LOSS_ROSE = 7    # a fixed gradient step raised the loss by more than stop[6] |L|: unstable [P3.2]

# layout of the float64 state array shared with the caller
T, DT, ESCAPE, STEPS, EVALS, POS = range(6)

_FAST = {"reassoc", "contract"}


@nb.njit(cache=True, nogil=True, inline="always")
def _sample(hm, ym, p, use, acc):
    """Loss of one sample into acc[0]; its l' (0 when inactive) into acc[1] += l' h."""
    acc[0] += ev(0, hm, ym, p)
    if not use:
        return 0.0
    d = ev(1, hm, ym, p)
    acc[1] += d * hm
    return d


@nb.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def loss_pass(A, y, p, x, active, use_active, g, h):
    """h = A x/sqrt(N); g = grad L over the active samples; returns (L, sum_mu l'_mu h_mu).

    L sums all samples (persistent SGD records the full loss). Rows are taken four at a time:
    the four dot products share the loads of x, the four axpys the loads and stores of g.
    """
    m, n = A.shape
    isq = 1.0 / math.sqrt(n)
    for i in range(n):
        g[i] = 0.0
    acc = np.zeros(2)
    c = np.empty(4)
    top = m - m % 4
    for mu in range(0, top, 4):
        s0 = s1 = s2 = s3 = 0.0
        for i in range(n):
            xi = x[i]
            s0 += A[mu, i] * xi
            s1 += A[mu + 1, i] * xi
            s2 += A[mu + 2, i] * xi
            s3 += A[mu + 3, i] * xi
        for k, s in enumerate((s0, s1, s2, s3)):
            h[mu + k] = s * isq
            use = not use_active or active[mu + k] != 0
            c[k] = _sample(s * isq, y[mu + k], p, use, acc) * isq
        for i in range(n):
            g[i] += c[0] * A[mu, i] + c[1] * A[mu + 1, i] + c[2] * A[mu + 2, i] + c[3] * A[
                mu + 3, i]
    for mu in range(top, m):
        s = 0.0
        for i in range(n):
            s += A[mu, i] * x[i]
        h[mu] = s * isq
        use = not use_active or active[mu] != 0
        c0 = _sample(s * isq, y[mu], p, use, acc) * isq
        for i in range(n):
            g[i] += c0 * A[mu, i]
    return acc[0], acc[1]


@nb.njit(cache=True, nogil=True)
def run(A, y, p, xs, x, algo, prm, t_end, max_steps, stop, noise, unif, active, st):
    """Advance x in place until t_end or a stop condition; returns the reason (codes above).

    prm: GD/PSGD/LANGEVIN [step, temperature, p01, p10]; ADAPTIVE [tol]; ARMIJO [shrink, c,
    grow, max_step]. stop: [project, success_level, loss_tol, grad_tol, escape_level,
    stop_at_success, relative loss rise that stops a fixed step]. st holds t, the current step,
    the escape time (< 0 until |m| first reaches escape_level), steps, evaluations and the
    position in the random blocks.
    """
    m, n = A.shape
    project = stop[0] != 0.0
    g = np.empty(n)
    g2 = np.empty(n)
    v = np.empty(n)
    v2 = np.empty(n)
    yv = np.empty(n)
    xe = np.empty(n)
    xh = np.empty(n)
    h = np.empty(m)
    x_last = x.copy()
    loss, _ = loss_pass(A, y, p, x, active, algo == PSGD, g, h)
    st[EVALS] += 1
    while True:
        if not math.isfinite(loss):
            return NONFINITE
        vv = velocity(x, g, xs, project, v)
        m_prev = abs(np.dot(x, xs)) / n
        if math.sqrt(vv / n) <= stop[3]:
            return STATIONARY
        if stop[5] != 0.0 and m_prev >= stop[1] and loss / m <= stop[2]:
            return SUCCESS
        fixed = algo != ADAPTIVE and algo != ARMIJO
        if st[T] >= t_end - (0.5 * st[DT] if fixed else 1e-12 * t_end):
            return REACHED
        if st[STEPS] >= max_steps:
            return BUDGET
        dt = st[DT]
        if algo == ADAPTIVE:
            # Heun step with an embedded Euler estimate of the local error [P3.2]
            proposal = st[DT]
            while True:
                dt = min(proposal, t_end - st[T])
                for i in range(n):
                    yv[i] = x[i] + dt * v[i]
                if not retract(yv, xe, xs, project):
                    return NONFINITE
                loss_pass(A, y, p, xe, active, False, g2, h)
                st[EVALS] += 1
                velocity(xe, g2, xs, project, v2)
                for i in range(n):
                    yv[i] = x[i] + 0.5 * dt * (v[i] + v2[i])
                if not retract(yv, xh, xs, project):
                    return NONFINITE
                err = math.sqrt(np.sum((xh - xe) ** 2) / n)
                factor = 0.9 * math.sqrt(prm[0] / err) if err > 0 else 5.0
                if err <= prm[0]:
                    x[:] = xh
                    st[T] += dt
                    grown = dt * min(5.0, factor)
                    st[DT] = max(proposal, grown) if dt < proposal else grown
                    break
                proposal = dt * max(0.2, factor)
                if proposal < 1e-14:
                    return UNDERFLOW
        elif algo == ARMIJO:
            eta = st[DT]
            while True:
                for i in range(n):
                    yv[i] = x[i] + eta * v[i]
                if not retract(yv, xe, xs, project):
                    return NONFINITE
                trial, _ = loss_pass(A, y, p, xe, active, False, g2, h)
                st[EVALS] += 1
                if trial <= loss - prm[1] * eta * vv:
                    break
                eta *= prm[0]
                if eta < 1e-14:
                    return UNDERFLOW
            x[:] = xe
            g[:] = g2
            loss = trial
            dt = eta
            st[T] += dt
            st[DT] = min(eta * prm[2], prm[3])
        else:
            pos = int(st[POS])
            if (algo == LANGEVIN and pos >= noise.shape[0]) or (algo == PSGD
                                                                and pos >= unif.shape[0]):
                return NEED_RANDOM
            for i in range(n):
                yv[i] = x[i] + dt * v[i]
            if algo == LANGEVIN:
                amp = math.sqrt(2.0 * prm[1] * dt)
                for i in range(n):
                    yv[i] += amp * noise[pos, i]
            if not retract(yv, x, xs, project):
                return NONFINITE
            if algo == PSGD:
                # two-state chains s_mu [P3.4]: P(0 -> 1) = prm[2], P(1 -> 0) = prm[3]
                for mu in range(m):
                    u = unif[pos, mu]
                    if active[mu] == 0:
                        if u < prm[2]:
                            active[mu] = 1
                    elif u < prm[3]:
                        active[mu] = 0
            st[POS] = pos + 1
            st[T] = (st[STEPS] + 1) * dt  # t = k dt exactly, no accumulated round-off
        st[STEPS] += 1
        if algo != ARMIJO:
            before = loss
            loss, _ = loss_pass(A, y, p, x, active, algo == PSGD, g, h)
            st[EVALS] += 1
            if algo == GD and loss > before + stop[6] * max(abs(before), n):
                x[:] = x_last  # back to the state before the step that raised L
                st[STEPS] -= 1
                st[T] = st[STEPS] * dt
                return LOSS_ROSE
            if algo == GD:
                x_last[:] = x
        if st[ESCAPE] < 0.0:
            m_now = abs(np.dot(x, xs)) / n
            if m_now >= stop[4]:
                t1 = st[T]
                t0 = t1 - dt
                frac = (stop[4] - m_prev) / (m_now - m_prev) if m_now > m_prev else 1.0
                st[ESCAPE] = t0 + (t1 - t0) * frac
