"""Spherical models of the theory layer: a general mixed spherical model and the spiked
matrix-tensor model built on it.

Normalization [S1.1]: with m = x.x*/N the loss is

    H(x) = -N Q_s(m) + (centred Gaussian field with covariance N Q_n(x.y/N)),

so the energy density is e = H/N. ``Q_n`` (``Q``, ``dQ``, ``d2Q``) is the noise covariance and
``Q_s`` (``Qs``, ``dQs``, ``d2Qs``) the signal part. For the Bayes likelihood of the spiked
matrix-tensor model the two coincide, Q(q) = q^2/(2 Delta2) + q^p/(p Delta_p).

Both polynomials are stored as coefficient tuples ``c`` with Q(q) = sum_k c[k] q^k; the
numba kernels of ``theory.spherical._dmft_kernels`` evaluate them from plain float64 arrays
(``noise_coeffs``/``signal_coeffs``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..._validate import integer, numbers, real

__all__ = ["SphericalModel", "MixedSpherical", "SpikedMatrixTensor"]


def _check_positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float or raise an error that names the parameter (inf switches a
    channel off where allowed)."""
    return real(value, name, low=0.0, allow_inf=allow_inf)


def _check_overlaps(m) -> np.ndarray:
    """Overlaps m as a float array, or a ValueError unless every value lies in [0, 1)."""
    ms = np.asarray(numbers(m, "m"), dtype=float)
    if not np.all(np.isfinite(ms)) or np.any(ms < 0) or np.any(ms >= 1):
        raise ValueError(f"m must lie in [0, 1), got {m!r}")
    return ms


def _coefficients(name: str, spec: Mapping[int, float] | Sequence[float]) -> tuple[float, ...]:
    """Normalise ``{power: coefficient}`` or a coefficient sequence to a trimmed tuple."""
    items = spec.items() if isinstance(spec, Mapping) else enumerate(spec)
    coeffs: dict[int, float] = {}
    for k, c in items:
        if int(k) != k or k < 0:
            raise ValueError(f"{name}: powers must be non-negative integers, got {k!r}")
        c = float(c)
        if not math.isfinite(c) or c < 0:
            raise ValueError(
                f"{name}: coefficient of q^{k} must be finite and >= 0 (a covariance on the "
                f"sphere has non-negative coefficients), got {c!r}")
        coeffs[int(k)] = coeffs.get(int(k), 0.0) + c
    if coeffs.get(0, 0.0) != 0.0:
        raise ValueError(f"{name}: the constant term must be 0 (it only shifts the energy)")
    degree = max((k for k, c in coeffs.items() if c != 0.0), default=0)
    return tuple(coeffs.get(k, 0.0) for k in range(degree + 1))


def _poly(c: tuple[float, ...], q, order: int):
    """Evaluate the ``order``-th derivative of sum_k c[k] q^k (Horner; numpy/mpmath friendly)."""
    out = 0 * q
    for k in range(len(c) - 1, order - 1, -1):
        factor = math.perm(k, order)
        out = out * q + factor * c[k]
    return out


class SphericalModel:
    """Interface shared by every spherical model of the theory layer.

    Subclasses provide ``noise`` and ``signal`` coefficient tuples. All methods accept scalars,
    numpy arrays or mpmath numbers.
    """

    noise: tuple[float, ...]
    signal: tuple[float, ...]

    # noise covariance Q_n [S1.1]
    def Q(self, q):
        """Noise covariance Q_n(q) (energy-density units: Cov[H(x), H(y)] = N Q_n(x.y/N))."""
        return _poly(self.noise, q, 0)

    def dQ(self, q):
        """Q_n'(q)."""
        return _poly(self.noise, q, 1)

    def d2Q(self, q):
        """Q_n''(q)."""
        return _poly(self.noise, q, 2)

    # signal part Q_s [S1.1]
    def Qs(self, m):
        """Signal part Q_s(m): the planted energy density is -Q_s(m)."""
        return _poly(self.signal, m, 0)

    def dQs(self, m):
        """Q_s'(m)."""
        return _poly(self.signal, m, 1)

    def d2Qs(self, m):
        """Q_s''(m)."""
        return _poly(self.signal, m, 2)

    @property
    def noise_coeffs(self) -> np.ndarray:
        """Coefficients of Q_n as a float64 array (index = power), for numba kernels."""
        return np.array(self.noise, dtype=np.float64)

    @property
    def signal_coeffs(self) -> np.ndarray:
        """Coefficients of Q_s as a float64 array (index = power), for numba kernels."""
        return np.array(self.signal or (0.0,), dtype=np.float64)

    @property
    def is_bayes(self) -> bool:
        """True when signal and noise covariance coincide (Bayes likelihood, Nishimori line)."""
        return self.noise == self.signal

    def to_dict(self) -> dict:
        """JSON-ready description from which :func:`model_from_dict` rebuilds the model."""
        raise NotImplementedError


@dataclass(frozen=True)
class MixedSpherical(SphericalModel):
    """General mixed spherical model (mixed p-spin with an optional planted signal).

    Parameters
    ----------
    noise : mapping {power: coefficient} or sequence
        Q_n(q) = sum_k c_k q^k, the covariance of the random energy [S1.1]. Coefficients >= 0,
        no constant term.
    signal : mapping or sequence, optional
        Q_s(m) = sum_k s_k m^k; the deterministic energy is -N Q_s(m). Empty (default) for a
        model without a planted direction, where m(t) is a passive tracer.

    Examples
    --------
    Pure 3-spin with Q = q^3/2 and a 2+3+4 mixture:

    >>> MixedSpherical(noise={3: 0.5})
    >>> MixedSpherical(noise={2: 0.5, 3: 0.3, 4: 0.2}, signal={2: 0.5, 3: 0.3, 4: 0.2})
    """

    noise: tuple[float, ...]
    signal: tuple[float, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "noise", _coefficients("noise", self.noise))
        object.__setattr__(self, "signal", _coefficients("signal", self.signal or {}))
        if len(self.noise) < 3:
            raise ValueError(
                "noise: Q_n needs a term of degree >= 2 (a random linear field alone has no "
                "landscape); e.g. noise={2: 0.5} for the spherical SK model")
        if self.signal == (0.0,):
            object.__setattr__(self, "signal", ())

    def to_dict(self) -> dict:
        return {"type": "MixedSpherical", "noise": list(self.noise), "signal": list(self.signal)}


@dataclass(frozen=True)
class SpikedMatrixTensor(SphericalModel):
    """Spherical spiked matrix-tensor model [S1].

    A signal x* with |x*|^2 = N is observed through Y = x* x*^T/sqrt(N) + noise of variance
    ``delta2`` and an order-``p`` tensor sqrt((p-1)!) x*^{(x)p}/N^((p-1)/2) + noise of variance
    ``delta_p``. The loss is the negative log-likelihood, so [S1.1]

        Q(q) = q^2/(2 delta2) + q^p/(p delta_p)

    is both the signal part and the noise covariance.

    Parameters
    ----------
    p : int
        Tensor order, p >= 3.
    delta2 : float
        Matrix noise variance Delta2 > 0 (``inf`` removes the matrix channel). Phase diagrams
        use the signal-to-noise ratio 1/Delta2.
    delta_p : float
        Tensor noise variance Delta_p > 0 (``inf`` removes the tensor: spiked Wigner model).
    """

    p: int
    delta2: float
    delta_p: float

    def __post_init__(self):
        object.__setattr__(self, "p", integer(
            self.p, "p", low=3, hint="3 (for a pure matrix model use delta_p=inf or "
            "MixedSpherical(noise={2: ...}))"))
        d2 = _check_positive("delta2", self.delta2, allow_inf=True)
        dp = _check_positive("delta_p", self.delta_p, allow_inf=True)
        if math.isinf(d2) and math.isinf(dp):
            raise ValueError("delta2 and delta_p cannot both be inf: the model would be empty")
        object.__setattr__(self, "delta2", d2)
        object.__setattr__(self, "delta_p", dp)

    @property
    def noise(self) -> tuple[float, ...]:  # type: ignore[override]
        c = [0.0] * (self.p + 1)
        c[2] = 1.0 / (2.0 * self.delta2)
        c[self.p] = 1.0 / (self.p * self.delta_p)
        return tuple(c)

    @property
    def signal(self) -> tuple[float, ...]:  # type: ignore[override]
        return self.noise

    @property
    def snr(self) -> float:
        """1/Delta2, the vertical axis of the phase diagrams."""
        return 1.0 / self.delta2

    def with_snr(self, inv_delta2: float) -> SpikedMatrixTensor:
        """The same model at another 1/Delta2."""
        return SpikedMatrixTensor(self.p, 1.0 / _check_positive("inv_delta2", inv_delta2),
                                  self.delta_p)

    def to_dict(self) -> dict:
        return {"type": "SpikedMatrixTensor", "p": self.p, "delta2": self.delta2,
                "delta_p": self.delta_p}


_MODEL_TYPES = {"MixedSpherical": MixedSpherical, "SpikedMatrixTensor": SpikedMatrixTensor}


def model_from_dict(d: Mapping) -> SphericalModel:
    """Rebuild a model from :meth:`SphericalModel.to_dict`."""
    d = dict(d)
    cls = _MODEL_TYPES[d.pop("type")]
    return cls(**d)
