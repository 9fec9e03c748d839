"""Results as tables: pandas and xarray, imported only when asked for (``pip install
'saddlesurf[tables]'``)."""

from __future__ import annotations

import importlib

__all__ = ["pandas", "xarray"]


def _require(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"this needs {name}: pip install 'saddlesurf[tables]' (or "
                          f"pip install {name})") from err


def pandas():
    """The pandas module, or an ImportError that says how to install it."""
    return _require("pandas")


def xarray():
    """The xarray module, or an ImportError that says how to install it."""
    return _require("xarray")
