"""One check for every number a public entry takes: reals refuse bool and str and accept numpy
scalars, integers refuse non-integral values, NaN and inf are refused unless allowed, and every
message names the parameter and what it accepts."""

from __future__ import annotations

import math
import numbers as _numbers

__all__ = ["real", "integer", "is_number", "numbers"]


def is_number(value) -> bool:
    """A real number: int, float or a numpy scalar, not bool or str."""
    return isinstance(value, _numbers.Real) and not isinstance(value, bool)


def real(value, name: str, *, low: float | None = None, high: float | None = None,
         low_open: bool = True, high_open: bool = True, allow_inf: bool = False,
         hint: str = "") -> float:
    """``value`` as a float, or a TypeError (not a number) / ValueError (out of range) that
    names ``name``. ``low``/``high`` bound it, open unless ``low_open``/``high_open`` is
    False; inf passes only with ``allow_inf``."""
    if low == 0 and high is None:  # the common cases, in words
        kind = f"a {'positive' if low_open else 'non-negative'} {'' if allow_inf else 'finite '}"
        what = f"{name} must be {kind}number{' (or inf)' if allow_inf else ''}"
    else:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        where = (f" in {lo}{'-inf' if low is None else f'{low:g}'}, "
                 f"{'inf' if high is None else f'{high:g}'}{hi}") if (low, high) != (
            None, None) else ""
        what = f"{name} must be a real number{where}{' (or inf)' if allow_inf else ''}"
    tail = f", e.g. {hint}" if hint else ""
    if not is_number(value):
        raise TypeError(f"{what}{tail}; got {value!r} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{what}{tail}; got {value!r}")
    below = low is not None and (v < low or (low_open and v == low))
    above = high is not None and (v > high or (high_open and v == high))
    if below or above:
        raise ValueError(f"{what}{tail}; got {value!r}")
    return v


def numbers(value, name: str):
    """``value`` (a number or an array of them) unchanged, or a TypeError naming ``name`` for
    bool, str or other non-numeric entries (range checks are the caller's)."""
    import numpy as np

    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or (arr.ndim == 0 and not is_number(value)):
        raise TypeError(f"{name} must be a real number or an array of them; got {value!r}")
    return value


def integer(value, name: str, *, low: int | None = None, high: int | None = None,
            hint: str = "") -> int:
    """``value`` as an int (numpy integers and integral floats pass, bool and 2.5 do not),
    within [low, high], or an error that names ``name``."""
    bounds = (f" >= {low}" if high is None else f" in [{low}, {high}]") if low is not None \
        else (f" <= {high}" if high is not None else "")
    what = f"{name} must be an integer{bounds}{f', e.g. {hint}' if hint else ''}"
    if not is_number(value):
        raise TypeError(f"{what}; got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and float(value) == int(value)):
        raise ValueError(f"{what}; got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{what}; got {value!r}")
    return v
