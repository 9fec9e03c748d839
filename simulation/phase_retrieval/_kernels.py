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
DOPRI = 5  # Dormand-Prince 5(4); prm[1] != 0: RKC2 on stiff stretches

# why run() returned; also the per-sample stop reason
REACHED = 0      # reached t_end
SUCCESS = 1      # |m| >= success level and e/alpha <= loss_tol [P7]
STATIONARY = 2   # |grad_sphere L|/sqrt(N) <= grad_tol [P7]
BUDGET = 3       # max_steps
NONFINITE = 4
NEED_RANDOM = 5  # the random block is used up: refill and call again
UNDERFLOW = 6    # adaptive step below 1e-14 (or Armijo step below 1e-14)
LOSS_ROSE = 7    # a fixed gradient step raised the loss by more than stop[6] |L|: unstable [P3.2]

# layout of the float64 state array shared with the caller. MODE: 0 Dormand-Prince, 1 RKC;
# COUNT: steps that asked for the other mode, CALM: consecutive steps that did not; RHO, SINCE:
# the spectral radius estimate and (RKC) the accepted steps since it was made
T, DT, ESCAPE, STEPS, EVALS, POS, MODE, COUNT, CALM, RHO, SINCE = range(11)
STATE_SIZE = 11

_RKC_EPS = 2.0 / 13.0   # damping of the RKC2 Chebyshev polynomial [Sommeijer et al. 1998]
_RKC_MAX_STAGES = 200
_RHO_EVERY = 25         # accepted steps between spectral radius estimates
_SWITCH_AFTER = 15      # steps that ask for the other mode before a switch ...
_CALM_RESET = 6         # ... unless this many in a row did not [Hairer's DOPRI5 test]
_DP_STABLE = 3.25       # dt rho at the edge of Dormand-Prince's stability region [HW II, IV.2]

# Dormand-Prince 5(4) tableau [Dormand & Prince 1980]: rows of a (stage 7 = the 5th-order
# weights, FSAL) and e = b5 - b4, the weights of the embedded error estimate
_DP_A = np.array([
    [1 / 5, 0, 0, 0, 0, 0],
    [3 / 40, 9 / 40, 0, 0, 0, 0],
    [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]])
_DP_E = np.array([71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])

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
def _field(A, y, p, z, xs, project, active, xr, g, h, f):
    """f = F(z) = v(R(z)): the gradient-flow velocity at the retraction xr = R(z) of an ambient
    point z (a projection method: the sphere is invariant under F). Returns L(xr), NaN when z
    is not finite."""
    if not retract(z, xr, xs, project):
        return math.nan
    loss, _ = loss_pass(A, y, p, xr, active, False, g, h)
    velocity(xr, g, xs, project, f)
    return loss


@nb.njit(cache=True, nogil=True)
def _spectral_radius(A, y, p, x, f0, xs, project, active, z, buf, xr, g, h, f, st):
    """Spectral radius of dF/dx at x by power iteration on differences F(x + z) - F(x), with z
    warm-started from the previous call's vector; 1.2 x the estimate (a safety margin: the
    iteration approaches the edge of a continuous spectrum from below)."""
    n = x.shape[0]
    if not np.dot(z, z) > 0.0:
        z[:] = f0
        if not np.dot(z, z) > 0.0:
            for i in range(n):
                z[i] = 1.0 + (i % 7)
    delta = 1e-6 * math.sqrt(n)
    rho_old = rho = 0.0
    for it in range(20):
        c = np.dot(z, x) / n  # tangent part: the radial direction has eigenvalue 0
        for i in range(n):
            z[i] -= c * x[i]
        nz = math.sqrt(np.dot(z, z))
        if not nz > 0.0:
            break
        for i in range(n):
            buf[i] = x[i] + (delta / nz) * z[i]
        _field(A, y, p, buf, xs, project, active, xr, g, h, f)
        st[EVALS] += 1
        for i in range(n):
            z[i] = f[i] - f0[i]
        rho = math.sqrt(np.dot(z, z)) / delta
        if not math.isfinite(rho):
            return math.inf
        if it > 0 and abs(rho - rho_old) <= 0.01 * rho:
            break
        rho_old = rho
    return 1.2 * rho


@nb.njit(cache=True, nogil=True)
def rkc_coefficients(s):
    """(mu, nu, mus, gam), index j = 1..s, of the s-stage RKC2 recurrence [Sommeijer, Shampine &
    Verwer 1998]: Y_1 = Y_0 + mus_1 dt F(Y_0), Y_j = (1 - mu_j - nu_j) Y_0 + mu_j Y_{j-1}
    + nu_j Y_{j-2} + mus_j dt F(Y_{j-1}) + gam_j dt F(Y_0); second order, stable for
    dt rho <= 0.65 s^2 (the damped Chebyshev polynomial, eps = 2/13)."""
    mu, nu, mus, gam = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    w0 = 1.0 + _RKC_EPS / (s * s)
    q1 = w0 * w0 - 1.0
    q2 = math.sqrt(q1)
    arg = s * math.log(w0 + q2)
    w1 = math.sinh(arg) * q1 / (math.cosh(arg) * s * q2 - w0 * math.sinh(arg))
    bjm1 = bjm2 = 1.0 / (4.0 * w0 * w0)  # b_0 = b_1 = b_2
    mus[1] = w1 * bjm1
    # T_j(w0) and its first two derivatives, by the Chebyshev recurrence
    zjm1, zjm2, dzjm1, dzjm2, d2zjm1, d2zjm2 = w0, 1.0, 1.0, 0.0, 0.0, 0.0
    for j in range(2, s + 1):
        zj = 2.0 * w0 * zjm1 - zjm2
        dzj = 2.0 * w0 * dzjm1 - dzjm2 + 2.0 * zjm1
        d2zj = 2.0 * w0 * d2zjm1 - d2zjm2 + 4.0 * dzjm1
        bj = d2zj / (dzj * dzj)
        mu[j] = 2.0 * w0 * bj / bjm1
        nu[j] = -bj / bjm2
        mus[j] = mu[j] * w1 / w0
        gam[j] = -(1.0 - zjm1 * bjm1) * mus[j]
        bjm2, bjm1 = bjm1, bj
        zjm2, zjm1, dzjm2, dzjm1, d2zjm2, d2zjm1 = zjm1, zj, dzjm1, dzj, d2zjm1, d2zj
    return mu, nu, mus, gam


@nb.njit(cache=True, nogil=True, inline="always")
def _step_factor(err, tol, safety, order, low):
    """Step multiplier safety (tol/err)^(1/order) of an embedded pair of local order ``order``,
    clamped to [low, 5]: 5 for err = 0, ``low`` for a non-finite err."""
    if err == 0.0:
        return 5.0
    if not math.isfinite(err):
        return low
    return min(5.0, max(low, safety * (tol / err) ** (1.0 / order)))


@nb.njit(cache=True, nogil=True, inline="always")
def _next_step(dt, proposal, factor, rejected):
    """The step proposed after an accepted one: no growth right after a rejection, and a step
    cut short to land on a recording time keeps the proposal it interrupted."""
    grown = dt * (min(1.0, factor) if rejected else factor)
    return max(proposal, grown) if dt < proposal else grown


@nb.njit(cache=True, nogil=True)
def _rkc_step(A, y, p, xs, x, g, f0, tol, t_end, project, active, z, work, h, st):
    """One accepted RKC2 step of F = v(R(.)) from x (gradient g, velocity f0), cut to land on
    t_end; x, g and f0 hold the new state on return [Sommeijer, Shampine & Verwer 1998].

    s stages damp the stiff directions up to dt rho <= 0.65 s^2, at s evaluations per step.
    Error control per step, |est|/sqrt(N) <= tol with est = 0.8 (x - Y_s) + 0.4 dt (F(x)
    + F(Y_s)) = O(dt^3), the same bound as Dormand-Prince's, so that neither hands the other
    a step it would reject (a per-unit-time bound here sent stiff stretches back to
    Dormand-Prince, which then chattered at its stability edge with |grad| stuck at ~1e-4).
    Returns (dt, L at the new x, s); dt = -1: non-finite state, dt = -2: step underflow.
    """
    n = x.shape[0]
    f, xr, g2, buf = work[3], work[4], work[5], work[6]
    rejected = False
    while True:
        if st[RHO] <= 0.0 or st[SINCE] >= _RHO_EVERY:
            rho = _spectral_radius(A, y, p, x, f0, xs, project, active, z, buf, xr, g2, h, f, st)
            if not math.isfinite(rho):
                return -1.0, math.nan, 0
            st[RHO] = max(rho, 1e-12)
            st[SINCE] = 0
        proposal = st[DT]
        dt = min(proposal, t_end - st[T])
        s = max(2, 1 + int(math.sqrt(1.0 + 1.54 * dt * st[RHO])))
        if s > _RKC_MAX_STAGES:
            s = _RKC_MAX_STAGES
            dt = (s * s - 1.0) / (1.54 * st[RHO])
        mu, nu, mus, gam = rkc_coefficients(s)
        im2, im1, ij = 0, 1, 2
        work[im2][:] = x
        for i in range(n):
            work[im1][i] = x[i] + dt * mus[1] * f0[i]
        ok = True
        for j in range(2, s + 1):
            ok = math.isfinite(_field(A, y, p, work[im1], xs, project, active, xr, g2, h, f))
            st[EVALS] += 1
            if not ok:
                break
            a, b, c = work[im1], work[im2], work[ij]
            for i in range(n):
                c[i] = (mu[j] * a[i] + nu[j] * b[i] + (1.0 - mu[j] - nu[j]) * x[i]
                        + dt * (mus[j] * f[i] + gam[j] * f0[i]))
            im2, im1, ij = im1, ij, im2
        err = math.inf
        loss = math.nan
        if ok:
            ys = work[im1]
            loss = _field(A, y, p, ys, xs, project, active, xr, g2, h, f)
            st[EVALS] += 1
            if math.isfinite(loss):
                e2 = 0.0
                for i in range(n):
                    d = 0.8 * (x[i] - ys[i]) + 0.4 * dt * (f0[i] + f[i])
                    e2 += d * d
                err = math.sqrt(e2 / n)
        if err <= tol:
            x[:] = xr
            g[:] = g2
            f0[:] = f
            st[T] += dt
            st[SINCE] += 1
            st[DT] = _next_step(dt, proposal, _step_factor(err, tol, 0.8, 3.0, 0.1), rejected)
            return dt, loss, s
        rejected = True
        st[DT] = dt * _step_factor(err, tol, 0.8, 3.0, 0.1)
        st[SINCE] = _RHO_EVERY  # a rejection may mean an outdated rho: estimate it again
        if st[DT] < 1e-14:
            return -2.0, math.nan, 0


@nb.njit(cache=True, nogil=True)
def _dopri_step(A, y, p, xs, x, g, f0, tol, t_end, project, active, work, h, st):
    """One accepted Dormand-Prince 5(4) step of F = v(R(.)) from x (gradient g, velocity f0),
    cut to land on t_end; the 5th-order solution is kept and retracted (local extrapolation),
    with |dt sum_j e_j k_j|/sqrt(N) <= tol per step. x, g and f0 hold the new state on return;
    work[5] - work[6] = F(Y_6) - F(Y_7), the direction of the stiffness estimate. Returns (dt,
    L at the new x, dt rho) with rho = |F(Y_7) - F(Y_6)|/|Y_7 - Y_6| (Hairer's estimate of the
    spectral radius, free); dt = -1: non-finite state, dt = -2: step underflow."""
    n = x.shape[0]
    k = work[:7]
    yb, xr, g2 = work[7], work[8], work[9]
    rejected = False
    while True:
        proposal = st[DT]
        dt = min(proposal, t_end - st[T])
        k[0][:] = f0
        loss = math.nan
        for j in range(6):
            for i in range(n):
                acc = 0.0
                for q in range(j + 1):
                    acc += _DP_A[j, q] * k[q][i]
                yb[i] = x[i] + dt * acc
            loss = _field(A, y, p, yb, xs, project, active, xr, g2, h, k[j + 1])
            st[EVALS] += 1
            if not math.isfinite(loss):
                break
        err = math.inf
        if math.isfinite(loss):  # yb is the 5th-order solution, xr = R(yb), k[6] = F(yb)
            e2 = 0.0
            for i in range(n):
                d = 0.0
                for q in range(7):
                    d += _DP_E[q] * k[q][i]
                e2 += d * d
            err = dt * math.sqrt(e2 / n)
        if err <= tol:
            num = den = 0.0
            for i in range(n):
                d = 0.0  # Y_7 - Y_6 = dt sum_q (a_7q - a_6q) k_q
                for q in range(6):
                    d += (_DP_A[5, q] - _DP_A[4, q]) * k[q][i]
                den += d * d
                num += (k[6][i] - k[5][i]) ** 2
            stiff = math.sqrt(num / den) if den > 0.0 else 0.0
            x[:] = xr
            g[:] = g2
            f0[:] = k[6]
            st[T] += dt
            st[DT] = _next_step(dt, proposal, _step_factor(err, tol, 0.9, 5.0, 0.2), rejected)
            return dt, loss, stiff
        rejected = True
        st[DT] = dt * _step_factor(err, tol, 0.9, 5.0, 0.2)
        if st[DT] < 1e-14:
            return -2.0, math.nan, 0.0


@nb.njit(cache=True, nogil=True)
def _switch(st, other):
    """Count a step that asks for the other mode (``other``); True when it is time to switch."""
    if other:
        st[COUNT] += 1.0
        st[CALM] = 0.0
    else:
        st[CALM] += 1.0
        if st[CALM] >= _CALM_RESET:
            st[COUNT] = 0.0
    if st[COUNT] < _SWITCH_AFTER:
        return False
    st[COUNT] = st[CALM] = 0.0
    return True


@nb.njit(cache=True, nogil=True)
def run(A, y, p, xs, x, algo, prm, t_end, max_steps, stop, noise, unif, active, st):
    """Advance x in place until t_end or a stop condition; returns the reason (codes above).

    prm: GD/PSGD/LANGEVIN [step, temperature, p01, p10]; ADAPTIVE [tol]; DOPRI [tol, switch to
    RKC]; ARMIJO [shrink, c, grow, max_step]. stop: [project, success_level, loss_tol, grad_tol,
    escape_level, stop_at_success, relative loss rise that stops a fixed step]. noise: the
    Langevin noise block; for DOPRI its row 0 keeps RKC's power-iteration vector between calls.
    st holds t, the current step, the escape time (< 0 until |m| first reaches escape_level),
    steps, evaluations, the position in the random blocks and the DOPRI/RKC state.
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
    work = np.empty((10 if algo == DOPRI else 0, n))
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
        fixed = algo == GD or algo == PSGD or algo == LANGEVIN
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
        elif algo == DOPRI and st[MODE] == 0.0:
            dt, loss, stiff = _dopri_step(A, y, p, xs, x, g, v, prm[0], t_end, project, active,
                                          work, h, st)
            if dt < 0.0:
                return NONFINITE if dt == -1.0 else UNDERFLOW
            st[RHO] = stiff / dt
            if prm[1] != 0.0 and _switch(st, stiff > _DP_STABLE):  # stability-limited: to RKC
                st[MODE], st[RHO] = 1.0, 0.0
                noise[0][:] = work[5] - work[6]  # warm start of the power iteration
        elif algo == DOPRI:
            dt, loss, s = _rkc_step(A, y, p, xs, x, g, v, prm[0], t_end, project, active,
                                    noise[0], work, h, st)
            if dt < 0.0:
                return NONFINITE if dt == -1.0 else UNDERFLOW
            # back to Dormand-Prince once RKC is accuracy-limited at its fewest stages
            if _switch(st, s == 2 and dt * st[RHO] < 1.0):
                st[MODE] = 0.0
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
        if algo != ARMIJO and algo != DOPRI:
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
