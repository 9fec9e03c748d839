"""Losses of phase retrieval [P2]: l(h; y) with its first two h-derivatives.

One object per loss serves the theory (quadratures, DMFT) and the simulator: ``kernel_args``
gives the numba triple (l, l', l'') and the parameter array the compiled kernels call, and
``value``/``d1``/``d2`` evaluate it on numpy arrays. Energy L(x) = sum_mu l(h_mu; y_mu), with
h_mu = a_mu.x/sqrt(N) and labels y_mu = (h*_mu)^2 [P1]; energy density e = L/N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numba as nb
import numpy as np

from ..._validate import real
from . import _loss_kernels as _lk

__all__ = ["Loss", "SquareLoss", "RegularisedLoss", "BoundedLoss", "CustomLoss", "loss_from_dict"]

# (h, y) points where every loss must be finite with finite derivatives
_H_CHECK = np.linspace(-6.0, 6.0, 49)
_Y_CHECK = np.array([0.0, 1e-8, 0.01, 0.5, 1.0, 4.0, 25.0])


class Loss:
    """Interface of a loss l(h; y) [P2]; subclasses define ``name``, ``params`` and ``ev``."""

    @property
    def params(self) -> np.ndarray:
        """Float64 parameter array passed to the numba triple."""
        raise NotImplementedError

    @property
    def ev(self):
        """The numba function ev(order, h, y, params) -> l, l' or l'' (order 0, 1, 2)."""
        raise NotImplementedError

    def _eval(self, order: int, h, y) -> np.ndarray:
        h, y = np.broadcast_arrays(np.asarray(h, dtype=np.float64), np.asarray(y, dtype=np.float64))
        shape = h.shape
        h, y = np.ascontiguousarray(h).ravel(), np.ascontiguousarray(y).ravel()
        out = np.empty_like(h)
        _lk.kernel(_lk, "evaluate", self.ev)(order, h, y, self.params, out)
        return out.reshape(shape)

    def value(self, h, y) -> np.ndarray:
        """l(h; y), elementwise."""
        return self._eval(0, h, y)

    def d1(self, h, y) -> np.ndarray:
        """l'(h; y) = dl/dh, elementwise."""
        return self._eval(1, h, y)

    def d2(self, h, y) -> np.ndarray:
        """l''(h; y) = d^2 l/dh^2, elementwise."""
        return self._eval(2, h, y)

    def check(self) -> None:
        """Raise ValueError unless l, l', l'' are finite on a grid of (h, y) with y >= 0."""
        h, y = np.meshgrid(_H_CHECK, _Y_CHECK)
        for order, what in enumerate(("l", "l'", "l''")):
            try:
                v = self._eval(order, h, y)
            except Exception as exc:
                raise ValueError(f"loss {self.name!r}: evaluating {what} failed: {exc!r}") from exc
            bad = ~np.isfinite(v)
            if bad.any():
                i = np.argmax(bad.ravel())
                raise ValueError(
                    f"loss {self.name!r}: {what}(h={h.ravel()[i]:g}, y={y.ravel()[i]:g}) = "
                    f"{v.ravel()[i]}; a loss must be finite with finite derivatives for all h "
                    "and y >= 0")

    def to_dict(self) -> dict:
        raise NotImplementedError


class _Builtin(Loss):
    @property
    def ev(self):
        return _lk.builtin


@dataclass(frozen=True)
class SquareLoss(_Builtin):
    """Square loss on intensities [P2.1]: l = (h^2 - y)^2/4, l' = h(h^2 - y), l'' = 3h^2 - y.

    Warning: l'' is unbounded below (samples with large y), so the large-N Hessian bulk has no
    finite lower edge; finite-N spectra and thresholds drift like log N. Prefer
    :class:`RegularisedLoss` for threshold studies.
    """

    name: ClassVar[str] = "square"

    @property
    def params(self) -> np.ndarray:
        return np.array([_lk.SQUARE], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"type": "SquareLoss"}


@dataclass(frozen=True)
class RegularisedLoss(_Builtin):
    """Regularised loss [P2.2]: l_a = (h^2 - y)^2/(a + y), a > 0.

    l_a' = 4h(h^2 - y)/(a + y), l_a'' = (12h^2 - 4y)/(a + y) >= -4: curvature bounded below, so
    the BBP threshold is sharp. The start is stiff for small a (curvature ~ 12 h^2/a).

    Parameters
    ----------
    a : float
        Regulariser a > 0 (default 0.01, the Biroli-Cammarota choice).
    """

    a: float = 0.01
    name: ClassVar[str] = "regularised"

    def __post_init__(self):
        object.__setattr__(self, "a", real(self.a, "a", low=0.0,
                                           hint="0.01 (the loss divides by a + y)"))

    @property
    def params(self) -> np.ndarray:
        return np.array([_lk.REGULARISED, self.a], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"type": "RegularisedLoss", "a": self.a}


@dataclass(frozen=True)
class BoundedLoss(_Builtin):
    """Bounded test loss [P2.3]: l = 1 - exp(-(h^2 - y)^2/2); little Monte Carlo noise in DMFT."""

    name: ClassVar[str] = "bounded"

    @property
    def params(self) -> np.ndarray:
        return np.array([_lk.BOUNDED], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"type": "BoundedLoss"}


def _jit(fn: Callable) -> Callable:
    if isinstance(fn, nb.core.registry.CPUDispatcher):
        return fn
    if not callable(fn):
        raise TypeError(f"loss functions must be callables f(h, y, params), got {fn!r}")
    return nb.njit(nogil=True, error_model="numpy")(fn)


@dataclass(frozen=True)
class CustomLoss(Loss):
    """A user loss l(h; y) from three scalar functions ``f(h, y, params) -> float``.

    Plain Python functions are compiled with ``numba.njit``; they must use only what numba
    supports (math, numpy scalars). The loss is checked for finite values on a grid of (h, y).

    Parameters
    ----------
    name : str
        Label stored in results.
    value_fn, d1_fn, d2_fn : callable
        l(h, y, params), dl/dh and d^2l/dh^2.
    parameters : tuple of float
        Passed to the functions as a float64 array ``params``.

    Examples
    --------
    >>> loss = CustomLoss("abs2", lambda h, y, p: (abs(h) - y ** 0.5) ** 2, ...)
    """

    name: str
    value_fn: Callable = field(repr=False)
    d1_fn: Callable = field(repr=False)
    d2_fn: Callable = field(repr=False)
    parameters: tuple[float, ...] = ()

    def __post_init__(self):
        for attr in ("value_fn", "d1_fn", "d2_fn"):
            object.__setattr__(self, attr, _jit(getattr(self, attr)))
        object.__setattr__(self, "_ev", _lk.make_ev(self.value_fn, self.d1_fn, self.d2_fn))
        object.__setattr__(self, "parameters", tuple(float(v) for v in self.parameters))
        self.check()

    @property
    def params(self) -> np.ndarray:
        return np.array(self.parameters or (0.0,), dtype=np.float64)

    @property
    def ev(self):
        return self._ev

    def to_dict(self) -> dict:
        return {"type": "CustomLoss", "name": self.name, "parameters": list(self.parameters)}


_LOSSES = {"SquareLoss": SquareLoss, "RegularisedLoss": RegularisedLoss,
           "BoundedLoss": BoundedLoss}


def loss_from_dict(d: dict) -> Loss | dict:
    """Rebuild a built-in loss from ``to_dict``; a custom loss comes back as its dict."""
    d = dict(d)
    cls = _LOSSES.get(d.pop("type"))
    return cls(**d) if cls is not None else {"type": "CustomLoss", **d}
