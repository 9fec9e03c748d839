"""numba kernels of the phase-retrieval losses [P2] (private).

A loss is one scalar function ``ev(order, h, y, p)`` returning l (order 0), dl/dh (1) or
d^2l/dh^2 (2), with a float64 parameter array ``p``. The built-in losses share :func:`builtin`,
which switches on the code ``p[0]``; kernels call the loss by the module-level name ``ev`` and
:func:`kernel` rebinds it for a user loss.
"""

from __future__ import annotations

import types

import numba as nb
import numpy as np

SQUARE = 0       # [P2.1] (h^2 - y)^2 / 4
REGULARISED = 1  # [P2.2] (h^2 - y)^2 / (a + y), p[1] = a
BOUNDED = 2      # [P2.3] 1 - exp(-(h^2 - y)^2 / 2)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def builtin(order, h, y, p):
    """l, l' or l'' (``order`` 0, 1, 2) of the built-in loss with code ``p[0]``."""
    r = h * h - y
    code = int(p[0])
    if code == SQUARE:
        if order == 0:
            return 0.25 * r * r
        return h * r if order == 1 else 3.0 * h * h - y
    if code == REGULARISED:
        if order == 0:
            return r * r / (p[1] + y)
        return 4.0 * h * r / (p[1] + y) if order == 1 else (12.0 * h * h - 4.0 * y) / (p[1] + y)
    gauss = np.exp(-0.5 * r * r)
    if order == 0:
        return 1.0 - gauss
    if order == 1:
        return 2.0 * h * r * gauss
    # d/dh [2 h r E] with E = exp(-r^2/2), dr/dh = 2h, dE/dh = -2 h r E
    return (2.0 * r + 4.0 * h * h * (1.0 - r * r)) * gauss


def make_ev(value, d1, d2):
    """One ``ev(order, h, y, p)`` from a user's three jitted functions (not cached)."""

    @nb.njit(nogil=True, error_model="numpy")
    def ev(order, h, y, p):
        if order == 0:
            return value(h, y, p)
        return d1(h, y, p) if order == 1 else d2(h, y, p)

    return ev


_SPECIALISED: dict = {}


def kernel(module, name: str, loss_ev):
    """The njit function ``name`` of a kernel ``module`` that calls the loss ``loss_ev``.

    Kernel modules call the loss through their module-level name ``ev`` (bound to
    :func:`builtin`, so those kernels are cached on disk). For a user loss every njit function
    of the module is recompiled once per process with ``ev`` bound to it: numba cannot cache a
    kernel that receives a function as an argument.
    """
    if loss_ev is builtin:
        return getattr(module, name)
    key = (module.__name__, loss_ev)
    if key not in _SPECIALISED:
        namespace = dict(vars(module), ev=loss_ev)
        for attr, obj in vars(module).items():
            py = getattr(obj, "py_func", None)
            if attr != "ev" and py is not None and py.__module__ == module.__name__:
                fn = types.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__,
                                        py.__closure__)
                namespace[attr] = nb.njit(nogil=True, error_model="numpy")(fn)
        _SPECIALISED[key] = namespace
    return _SPECIALISED[key][name]


ev = builtin


@nb.njit(cache=True, nogil=True, error_model="numpy")
def evaluate(order, h, y, p, out):
    """out[i] = ev(order, h[i], y[i], p): l, l' or l'' on arrays."""
    for i in range(h.shape[0]):
        out[i] = ev(order, h[i], y[i], p)
