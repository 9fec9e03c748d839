"""Results as pandas / xarray tables (the ``tables`` extra)."""

import numpy as np
import pytest

from saddlesurf import _tables
from saddlesurf.comparison import CriticalRatioReport, Estimate, success_point, sweep
from saddlesurf.simulation import SimulationOptions, simulate
from saddlesurf.theory import SpikedMatrixTensor, solve_dmft

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")
MODEL = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)


def test_dmft_tables():
    r = solve_dmft(MODEL, 2.0, m0=0.2, dt=0.05, scheme="heun")
    df = r.to_dataframe()
    assert list(df.columns) == ["m", "mu", "e"] and df.index.name == "t"
    np.testing.assert_array_equal(df["mu"].to_numpy(), r.mu)
    ds = r.to_xarray()
    np.testing.assert_array_equal(ds["C"].values, r.C.dense())
    assert ds["R"].sel(t=1.0, t_prime=0.5).item() == pytest.approx(r.R[20, 10])
    assert ds["C"].sel(t=1.0, t_prime=1.0).item() == pytest.approx(1.0)
    assert ds.attrs["m0"] == 0.2


def test_simulation_tables():
    r = simulate(MODEL, 16, t_max=1.0, n_samples=3, start="warm", m0=0.2, rng=1,
                 options=SimulationOptions(times=(0.5, 1.0)))
    df = r.to_dataframe()
    assert df.shape[0] == 3 * r.times.size
    assert df.loc[(2, 1.0), "m"] == r.m[2, -1]
    per = r.to_dataframe(per="sample")
    np.testing.assert_array_equal(per["final_m"].to_numpy(), r.final_m)
    with pytest.raises(ValueError, match="per"):
        r.to_dataframe(per="run")


def test_sweep_and_report_tables():
    res = sweep(success_point, {"model": ["spiked"], "n": [12], "x": [2.0, 2.5],
                                "n_samples": [2], "t_max": [5.0]}, rng=1)
    df = res.to_dataframe()
    assert list(df["x"]) == [2.0, 2.5] and "successes" in df
    rep = CriticalRatioReport("m", "1/Delta2", {"bbp": Estimate("bbp", 2.0, 2.0, 2.0, "closed")},
                              {})
    assert rep.to_dataframe().loc["bbp", "value"] == 2.0


def test_missing_extra_says_how_to_install(monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name: (_ for _ in ()).throw(ImportError(name))
                        if name == "pandas" else real(name))
    with pytest.raises(ImportError, match=r"saddlesurf\[tables\]"):
        _tables.pandas()
