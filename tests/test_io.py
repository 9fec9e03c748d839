"""Storage: dotted names kept whole, one atomic file per save, damaged files named on load."""

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from saddlesurf import _io
from saddlesurf.theory import DMFTResult, SpikedMatrixTensor, solve_dmft


def test_dotted_names_keep_their_own_result(tmp_path):
    """"run_delta2_0.4" and "run_delta2_0.5" used to both write run_delta2_0.{npz,json}."""
    for d2 in (0.4, 0.5):
        res = solve_dmft(SpikedMatrixTensor(3, d2, 1.0), 0.5, m0=0.1, dt=0.05, scheme="heun")
        assert res.save(tmp_path / f"run_delta2_{d2}") == tmp_path / f"run_delta2_{d2}"
    for d2 in (0.4, 0.5):
        assert DMFTResult.load(tmp_path / f"run_delta2_{d2}").model.delta2 == d2
        assert (tmp_path / f"run_delta2_{d2}.npz").exists()
    assert not (tmp_path / "run_delta2_0.npz").exists()
    assert _io.stem_of(tmp_path / "a.b.npz") == tmp_path / "a.b"
    assert _io.with_ext(tmp_path / "a.b", ".csv") == tmp_path / "a.b.csv"


_WRITER = """
import sys
import numpy as np
from saddlesurf import _io
stem = sys.argv[1]
big = [np.full(300_000, float(k)) for k in (1, 2)]
k = 0
while True:
    _io.save_pair(stem, {"x": big[k % 2]}, {"which": k % 2})
    k += 1
"""


def test_a_kill_during_save_leaves_the_old_or_the_new_result(tmp_path):
    """SIGKILL at random points of alternating saves: the result always loads whole (its
    metadata and arrays from the same save), and the next save removes the temporaries."""
    stem = tmp_path / "run_0.5"
    _io.save_pair(stem, {"x": np.full(300_000, 1.0)}, {"which": 0})
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(stem)], env=env)
        time.sleep(0.4 + rng.random() * 0.6)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        arrays, meta = _io.load_pair(stem)
        assert np.all(arrays["x"] == meta["which"] + 1.0)
    _io.save_pair(stem, {"x": np.full(3, 2.0)}, {"which": 1})
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_damaged_file_is_named(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"bad\.npz cannot be read"):
        _io.load_pair(tmp_path / "bad")
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        DMFTResult.load(tmp_path / "missing")


def test_files_of_the_earlier_two_file_format_still_load(tmp_path):
    np.savez(tmp_path / "old.npz", x=np.arange(3.0), __token__=np.array("ab12"))
    (tmp_path / "old.json").write_text(json.dumps({"kind": "k", "__token__": "ab12"}))
    arrays, meta = _io.load_pair(tmp_path / "old")
    assert meta == {"kind": "k"} and np.array_equal(arrays["x"], [0.0, 1.0, 2.0])
    (tmp_path / "old.json").write_text(json.dumps({"kind": "k", "__token__": "ffff"}))
    with pytest.raises(ValueError, match="different saves"):
        _io.load_pair(tmp_path / "old")


def test_the_json_sidecar_is_a_readable_copy(tmp_path):
    _io.save_pair(tmp_path / "r", {"x": np.ones(2)}, {"kind": "demo", "a": 1})
    assert json.loads(Path(tmp_path / "r.json").read_text()) == {"kind": "demo", "a": 1}


def _rewrite(npz, change):
    """Rewrite ``npz`` with ``change(arrays)`` applied and every other entry (the stored
    checksum and version included) kept as it was."""
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with open(npz, "wb") as fh:
        np.savez(fh, **arrays)


def test_a_tampered_file_fails_its_checksum(tmp_path):
    _io.save_pair(tmp_path / "r", {"x": np.arange(4.0)}, {"successes": 6})
    assert _io.load_pair(tmp_path / "r")[1] == {"successes": 6}

    def edit(arrays):
        arrays["__meta__"] = np.array(str(arrays["__meta__"]).replace("6", "999"))

    _rewrite(tmp_path / "r.npz", edit)
    with pytest.raises(ValueError, match=r"r\.npz fails its checksum"):
        _io.load_pair(tmp_path / "r")


def test_stores_refuse_files_of_another_version(tmp_path):
    _io.save_pair(tmp_path / "r", {"x": np.arange(4.0)}, {"k": 1})

    def older(arrays):
        arrays["__version__"] = np.array("0.0.1")
        arrays["__checksum__"] = np.array(_io._checksum(arrays))

    _rewrite(tmp_path / "r.npz", older)
    assert _io.load_pair(tmp_path / "r")[1] == {"k": 1}  # a result still loads
    with pytest.raises(ValueError, match="written by saddlesurf 0.0.1"):
        _io.load_pair(tmp_path / "r", same_version=True)


def _point(*, x, rng):
    return {"successes": int(x), "trials": 6}


def test_a_tampered_sweep_point_is_refused(tmp_path):
    from saddlesurf.comparison import sweep

    sweep(_point, [{"x": 3.0}], store=tmp_path)
    (stored,) = tmp_path.glob("*.npz")
    _rewrite(stored, lambda a: a.update(
        __meta__=np.array(str(a["__meta__"]).replace('"successes": 3', '"successes": 999'))))
    with pytest.raises(ValueError, match="fails its checksum"):
        sweep(_point, [{"x": 3.0}], store=tmp_path)


def test_a_second_writer_is_refused(tmp_path):
    from saddlesurf.comparison import sweep
    from saddlesurf.simulation import simulate

    with _io.locked(tmp_path, "store"):
        with pytest.raises(RuntimeError, match="store=.* is in use by another process"):
            sweep(_point, [{"x": 3.0}], store=tmp_path)
        with pytest.raises(RuntimeError, match="checkpoint=.* is in use"):
            simulate(SpikedMatrixTensor(3, 0.5, 1.0), 16, n_samples=1, t_max=1.0,
                     checkpoint=tmp_path, rng=0)
    with _io.locked(tmp_path / "run", "checkpoint"):
        with pytest.raises(RuntimeError, match="checkpoint=.* is in use"):
            solve_dmft(SpikedMatrixTensor(3, 0.5, 1.0), 1.0, m0=0.1, checkpoint=tmp_path / "run")
    sweep(_point, [{"x": 3.0}], store=tmp_path)  # released


def test_unwritable_outputs_fail_before_any_computing(tmp_path):
    from saddlesurf.cli import main
    from saddlesurf.comparison import sweep
    from saddlesurf.simulation import simulate

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    model = SpikedMatrixTensor(3, 0.5, 1.0)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="checkpoint=.* is not writable"):
        solve_dmft(model, 1e4, m0=0.1, scheme="doubling", checkpoint=blocked / "run")
    with pytest.raises(ValueError, match="checkpoint=.* is not writable"):
        simulate(model, 300, n_samples=8, t_max=1e4, checkpoint=blocked / "ckpt", rng=0)
    with pytest.raises(ValueError, match="store=.* is not writable"):
        sweep(_point, [{"x": 3.0}], store=blocked / "store")
    assert main(["dmft", "--delta2", "0.5", "--t-max", "1e4", "--out",
                 str(blocked / "out")]) == 2
    assert time.perf_counter() - t0 < 1.0


def _strict_load(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_readable_json_is_strict_and_says_where_numbers_were_not_finite(tmp_path):
    meta = {"a": float("nan"), "b": [1.0, float("inf")], "c": 0.5}
    _io.save_pair(tmp_path / "r", {"x": np.zeros(1)}, meta)
    readable = _strict_load((tmp_path / "r.json").read_text())
    assert readable["a"] is None and readable["b"] == [1.0, None] and readable["c"] == 0.5
    assert readable["_nonfinite"] == {"/a": "nan", "/b/1": "inf"}
    numpy_values = _strict_load(_io.json_text({"f": np.float32(0.5), "v": np.array([1, 2]),
                                               "n": np.float64(-np.inf)}))
    assert numpy_values == {"f": 0.5, "v": [1, 2], "n": None, "_nonfinite": {"/n": "-inf"}}
    arrays, back = _io.load_pair(tmp_path / "r")  # the result itself keeps NaN and inf
    assert math.isnan(back["a"]) and back["b"][1] == float("inf")


def test_report_csv_and_json_hold_plain_numbers(tmp_path):
    import csv

    from saddlesurf.comparison import CriticalRatioReport, Estimate

    rep = CriticalRatioReport("model", "1/Delta2", {
        "bbp": Estimate("bbp", np.float64(2.0), np.float64(2.0), np.float64(2.0), "closed form"),
        "relaxation": Estimate("relaxation", np.float64(1.99), np.float64("nan"),
                               np.float64(2.01), 'DMFT, "quoted", source')}, {})
    rep.save(tmp_path / "rep")
    with open(tmp_path / "rep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["value"]) for r in rows] == [2.0, 1.99]
    assert math.isnan(float(rows[1]["low"])) and rows[1]["source"] == 'DMFT, "quoted", source'
    text = _strict_load((tmp_path / "rep.json").read_text())
    assert text["_nonfinite"] == {"/estimates/relaxation/low": "nan"}


def test_a_failed_checkpoint_write_keeps_the_result_and_says_where(tmp_path):
    """Issue 22: a checkpoint write that fails mid-run (here the target name is taken by a
    directory) warns, naming the path, and the run finishes with every sample in memory."""
    from saddlesurf.simulation import SimulationOptions, simulate
    from saddlesurf.theory import PhaseRetrieval

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "sample_000000.npz").mkdir()
    kwargs = dict(t_max=2.0, n_samples=3, rng=5, workers=1,
                  options=SimulationOptions(n_times=4))
    with pytest.warns(RuntimeWarning, match=r"could not write the checkpoint .*sample_000000"):
        res = simulate(PhaseRetrieval(3.0), 40, checkpoint=ckpt, **kwargs)
    assert res.status == "ok" and res.n_samples == 3
    assert "could not write" in res.message and "checkpoint_error" in res.stats
    plain = simulate(PhaseRetrieval(3.0), 40, **kwargs)
    np.testing.assert_array_equal(res.m, plain.m)
