"""Optional progress bars: tqdm when it is installed (``pip install saddlesurf[progress]``)."""

from __future__ import annotations

__all__ = ["progress_bar"]


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_bar(total: float, desc: str, enabled: bool, unit: str = "step"):
    """A tqdm bar when ``enabled`` and tqdm is importable, otherwise a silent stand-in."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _Silent()
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)
    return _Silent()
