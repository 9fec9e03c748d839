"""Command line: ``python -m saddlesurf <command>``.

Commands
--------
phase-diagram  all lines of the spiked matrix-tensor phase diagram (p = 3, 4 by default):
               CSV of the lines + PNG/PDF figure.
dmft           integrate the large-N dynamics at one point; result (.npz + .json) + figure.
simulate       a finite-N ensemble of either model; result (.npz + .json) + quick figure.
phase-retrieval  thresholds of phase retrieval (alpha_IT, AMP, spectral, alpha_BBP^init per
               loss, alpha_c from signal-projected gradient flow and optionally the DMFT):
               JSON + CSV table, figure of the random-start Hessian spectrum and of alpha_c.
compare        theory against simulation: "overlay" (DMFT over ensemble means, residuals in
               SEM units, CSV/JSON + figure) or "critical" (the critical ratio by the BBP
               criterion, the relaxation time and the finite-size crossing; report + figure).
figures        rebuild every figure of the docs gallery (quick by default, --full for
               publication settings) into saddlesurf-output/gallery (docs/gallery: --out).

Each command writes to its own default under ./saddlesurf-output (or --out) and refuses to
replace an earlier output there unless given --force.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from . import __version__, _io

# the choices of `dmft --scheme` (theory.spherical.dmft._SCHEMES; a test keeps them equal)
DMFT_SCHEMES = ["extrapolated", "gregory", "heun", "trapezoid", "euler", "doubling"]
# the choices of `critical --methods` (comparison.METHODS; the first three are the default)
CRITICAL_METHODS = ["bbp", "relaxation", "crossing", "finite_size"]

DEFAULT_OUT = Path("saddlesurf-output")


def _save_figure(fig, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [_io.with_ext(stem, ".png"), _io.with_ext(stem, ".pdf")]
    for p in paths:  # no creation date in the PDF: a rebuild gives the same bytes
        fig.savefig(p, dpi=150, bbox_inches="tight",
                    metadata={"CreationDate": None} if p.suffix == ".pdf" else {})
    return paths


def cmd_phase_diagram(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._progress import progress_bar
    from .theory import thresholds
    from .theory.figures import plot_phase_diagram

    delta_p = np.geomspace(args.delta_p_min, args.delta_p_max, args.points)
    _check_out(args)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(args.p), figsize=(5.2 * len(args.p), 4.2), squeeze=False)
    rows = []
    with progress_bar(len(args.p), "phase diagram", not args.quiet) as bar:
        for ax, p in zip(axes[0], args.p, strict=True):
            lines = thresholds(p, delta_p, precision=args.precision)
            plot_phase_diagram(lines, ax=ax)
            ax.set_xscale("log")
            table = lines.table()
            header = ["p", *table]
            rows += [[p, *(repr(float(table[k][i])) for k in table)] for i in range(delta_p.size)]
            bar.update(1)
    csv_path = _io.with_ext(stem, ".csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    figs = _save_figure(fig, stem)
    print(f"lines (1/Delta2) -> {csv_path}\nfigure -> {', '.join(map(str, figs))}")
    return 0


def cmd_dmft(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .theory import SpikedMatrixTensor, solve_dmft
    from .theory.figures import plot_dmft
    from .theory.spherical.threshold_states import threshold_state
    from .theory.spherical.thresholds import gf_threshold

    model = SpikedMatrixTensor(args.p, args.delta2, args.delta_p)
    _check_out(args)
    res = solve_dmft(model, args.t_max, m0=args.m0, temperature=args.temperature, dt=args.dt,
                     scheme=args.scheme, rtol=args.rtol, progress=not args.quiet,
                     checkpoint=args.checkpoint,
                     store_two_time=not args.no_two_time)
    stem = Path(args.out)
    res.save(stem)
    fig, axes = plt.subplots(1, 3, figsize=(12.6, 3.6))
    plot_dmft(res, axes=axes)
    figs = _save_figure(fig, stem)
    ts = threshold_state(model)
    print(res)
    print(f"1/Delta2 = {model.snr:g}; gradient-flow threshold 1/Delta2^GF = "
          f"{gf_threshold(model.p, model.delta_p):.6g}; mu_th = {ts.mu:.6g}, "
          f"e_th = {ts.energy_aging:.6g}")
    print(f"result -> {stem}.npz/.json\nfigure -> {', '.join(map(str, figs))}")
    return 0


def _simulation_inputs(args):
    """Model, algorithm and options of ``simulate`` from the command line."""
    from .simulation import (
        ArmijoGradientDescent,
        GradientDescent,
        GradientFlow,
        Langevin,
        PersistentSGD,
        SimulationOptions,
    )
    from .theory import BoundedLoss, PhaseRetrieval, RegularisedLoss, SpikedMatrixTensor, SquareLoss

    if args.model == "spiked":
        model = SpikedMatrixTensor(args.p, args.delta2, args.delta_p)
    else:
        loss = {"regularised": lambda: RegularisedLoss(args.a), "square": SquareLoss,
                "bounded": BoundedLoss}[args.loss]()
        model = PhaseRetrieval(args.alpha, loss)
    step = args.step
    algorithm = {
        "gf": lambda: GradientFlow(dt=step, tol=args.tol),
        "gd": lambda: GradientDescent(step=step or 1e-3),
        "armijo": lambda: ArmijoGradientDescent(step=step or 1e-3),
        "psgd": lambda: PersistentSGD(step=step or 1e-3, batch_fraction=args.batch_fraction,
                                      persistence=args.persistence),
        "langevin": lambda: Langevin(temperature=args.temperature, dt=step or 0.005),
    }[args.algorithm]()
    options = SimulationOptions(n_times=args.n_times, convention=args.convention,
                                hessian_times=(float("inf"),) if args.hessian else (),
                                dtype=args.dtype)
    return model, algorithm, options


def cmd_simulate(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .simulation import simulate
    from .simulation.figures import plot_simulation

    model, algorithm, options = _simulation_inputs(args)
    _check_out(args)
    res = simulate(model, args.n, t_max=args.t_max, n_samples=args.samples, algorithm=algorithm,
                   start=args.start, m0=args.m0, options=options, rng=args.seed,
                   workers=args.workers, checkpoint=args.checkpoint, progress=not args.quiet)
    stem = Path(args.out)
    res.save(stem)
    fig, axes = plt.subplots(1, 3, figsize=(12.6, 3.6))
    plot_simulation(res, axes=axes)
    fig.tight_layout()
    figs = _save_figure(fig, stem)
    esc = res.escape_time_summary()
    print(res)
    print(f"escape time (|m| >= {options.escape_level}): median {esc['median']:.4g}, quartiles "
          f"[{esc['q25']:.4g}, {esc['q75']:.4g}], {esc['escaped']}/{res.n_samples} escaped")
    print(f"result -> {stem}.npz/.json\nfigure -> {', '.join(map(str, figs))}")
    return 0


def cmd_phase_retrieval(args) -> int:

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._progress import progress_bar
    from .simulation import SimulationOptions, simulate
    from .theory import (
        BoundedLoss,
        PhaseRetrieval,
        PRDMFTOptions,
        RegularisedLoss,
        SquareLoss,
        critical_ratio,
        glm_spectrum,
        initial_law,
        solve_dmft,
        thresholds,
    )
    from .theory.figures import plot_critical_ratio, plot_glm_spectrum

    loss = RegularisedLoss(args.a)
    _check_out(args)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    table = {"loss": repr(loss), **thresholds(loss).table(),
             "bbp_init": {repr(lo): thresholds(lo).bbp_init
                          for lo in (loss, SquareLoss(), BoundedLoss())}}
    routes = {}
    with progress_bar(len(args.alphas) * (1 + args.dmft), "alpha_c", not args.quiet) as bar:
        states = {}
        for a in args.alphas:  # route (b): signal-projected gradient flow [P4.5b]
            states[a] = simulate(PhaseRetrieval(a, loss), args.n, t_max=args.t_max,
                                 n_samples=args.samples, start="projected", rng=args.seed,
                                 options=SimulationOptions(keep_final_state=True, n_times=3))
            bar.update(1)
        routes["simulation"] = critical_ratio(loss, states=states, rng=args.seed)
        if args.dmft:  # route (a): DMFT from m0 = 0 [P4.5a]
            opts = PRDMFTOptions(n_times=args.dmft_points, n_paths=args.dmft_paths,
                                 law_times=(args.t_max / 4, args.t_max / 2, args.t_max))
            runs = []
            for a in args.alphas:
                runs.append(solve_dmft(PhaseRetrieval(a, loss), args.t_max, m0=0.0,
                                       options=opts, rng=args.seed))
                bar.update(1)
            routes["dmft"] = critical_ratio(loss, dmft=runs, rng=args.seed)
    table["alpha_c"] = {k: {"alpha_c": v.alpha_c, "error": v.error, "route": v.route,
                            "alphas": v.alphas.tolist(), "margins": v.margins.tolist(),
                            "trend": {t: np.asarray(x).tolist() for t, x in v.trend.items()}}
                        for k, v in routes.items()}
    _io.with_ext(stem, ".json").write_text(_io.json_text(table, indent=2))
    with open(_io.with_ext(stem, ".csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["threshold", "alpha", "error"])
        for k in ("it", "amp_weak", "amp", "spectral"):
            w.writerow([k, repr(float(table[k])), ""])
        for k, v in table["bbp_init"].items():
            w.writerow([f"bbp_init {k}", repr(float(v)), ""])
        for k, v in routes.items():
            w.writerow([f"alpha_c ({k}, N = {args.n})" if k == "simulation" else
                        f"alpha_c ({k})", repr(float(v.alpha_c)), repr(float(v.error))])
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    plot_glm_spectrum(glm_spectrum(initial_law(loss), args.alpha), ax=axes[0])
    axes[0].set_title(f"random-start Hessian, {loss!r}, alpha = {args.alpha:g}", fontsize=9)
    plot_critical_ratio(routes["simulation"], ax=axes[1])
    figs = _save_figure(fig, stem)
    for k in ("it", "amp_weak", "amp", "spectral"):
        print(f"{k:>10s}: alpha = {table[k]:.6g}")
    for k, v in table["bbp_init"].items():
        print(f"  bbp_init: alpha = {v:.6g}  {k}")
    for k, v in routes.items():
        print(f"   alpha_c: {v.alpha_c:.4g} +- {v.error:.2g}  ({k} route)")
    print(f"table -> {stem}.json/.csv\nfigure -> {', '.join(map(str, figs))}")
    return 0


def _compare_model(args, x=None):
    from .comparison import point_model

    if args.model == "spiked":
        return point_model("spiked", 1.0 / args.delta2 if x is None else x, p=args.p,
                           delta_p=args.delta_p)
    return point_model("pr", args.alpha if x is None else x, loss=args.loss, a=args.a)


def cmd_compare(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .comparison import locate_critical_ratio, overlay
    from .comparison.figures import (
        plot_overlay,
        plot_residuals,
        plot_success_curves,
        save_figure,
    )
    from .simulation import SimulationOptions, simulate
    from .theory import PRDMFTOptions, solve_dmft

    stem = Path(args.out)
    model = _compare_model(args)
    _check_out(args)
    if args.what == "critical":
        rep = locate_critical_ratio(model, args.grid, sizes=args.sizes, n_samples=args.samples,
                                    t_max=args.t_max, rng=args.seed, store=args.store,
                                    client=args.dask, workers=args.workers,
                                    progress=not args.quiet, methods=args.methods)
        rep.save(stem)
        print(rep)
        if rep.curves is not None:
            fig, ax = plt.subplots(figsize=(6.0, 4.2), layout="constrained")
            plot_success_curves(rep.curves, ax=ax, report=rep, xlabel=rep.quantity)
            save_figure(fig, stem.with_name(stem.name + "_curves"))
        print(f"report -> {stem}.json/.csv")
        return 0
    t_max = args.t_max or 10.0
    spiked = args.model == "spiked"
    if spiked:
        theory = solve_dmft(model, t_max, m0=args.m0, dt=args.dt, scheme="extrapolated")
    else:
        theory = solve_dmft(model, t_max, m0=args.m0, rng=args.seed,
                            options=PRDMFTOptions(n_times=args.dmft_points,
                                                  n_paths=args.dmft_paths))
    sim = simulate(model, args.n, t_max=t_max, n_samples=args.samples, start="warm", m0=args.m0,
                   rng=args.seed, progress=not args.quiet,
                   options=SimulationOptions(n_times=args.n_times, t_min=t_max / 200))
    names = ("m", "e", "mu", "c0")
    ovs = [overlay(theory, sim, name) for name in names]
    fig, axes = plt.subplots(1, 5, figsize=(16.0, 3.4), layout="constrained")
    for ax, ov in zip(axes, ovs, strict=False):
        plot_overlay(ov, ax=ax)
        ov.save(stem.with_name(f"{stem.name}_{ov.observable}"))
    plot_residuals(ovs, ax=axes[4])
    figs = save_figure(fig, stem)
    for ov in ovs:
        print(ov.summary())
    print(f"data -> {stem}_<observable>.csv/.json\nfigure -> {', '.join(map(str, figs))}")
    return 0


def cmd_figures(args) -> int:
    from .comparison.gallery import build_gallery

    _check_out(args)
    written = build_gallery(args.out, full=args.full, only=args.only, rng=args.seed,
                            progress=not args.quiet)
    for name, paths in written.items():
        print(f"{name}: {', '.join(str(p) for p in paths)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m saddlesurf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"saddlesurf {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    pd = sub.add_parser("phase-diagram", help="lines of the spiked matrix-tensor phase diagram")
    pd.add_argument("--p", type=int, nargs="+", default=[3, 4], help="tensor orders (3 4)")
    pd.add_argument("--delta-p-min", type=float, default=0.05)
    pd.add_argument("--delta-p-max", type=float, default=20.0)
    pd.add_argument("--points", type=int, default=60, help="Delta_p values (log grid)")
    pd.add_argument("--precision", choices=["double", "mpmath"], default="double")
    pd.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    pd.add_argument("--out", default=str(DEFAULT_OUT / "phase_diagram"),
                    help="output stem (.csv, .png, .pdf)")
    pd.add_argument("--quiet", action="store_true", help="no progress bar")
    pd.set_defaults(func=cmd_phase_diagram)

    dm = sub.add_parser("dmft", help="large-N dynamics at one point (spiked matrix-tensor)")
    dm.add_argument("--p", type=int, default=3)
    dm.add_argument("--delta2", type=float, default=0.4)
    dm.add_argument("--delta-p", type=float, default=1.0)
    dm.add_argument("--m0", type=float, default=1e-4)
    dm.add_argument("--temperature", type=float, default=0.0)
    dm.add_argument("--t-max", type=float, default=100.0)
    dm.add_argument("--dt", type=float, default=None,
                    help="grid step (default: from the model's fast scale)")
    dm.add_argument("--scheme", choices=DMFT_SCHEMES, default="extrapolated",
                    help="integration scheme (default: %(default)s)")
    dm.add_argument("--rtol", type=float, default=1e-5,
                    help="accuracy target of m, mu, e (default: %(default)s)")
    dm.add_argument("--checkpoint", default=None, help="checkpoint stem (resume after a kill)")
    dm.add_argument("--no-two-time", action="store_true", help="do not store C and R")
    dm.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    dm.add_argument("--out", default=str(DEFAULT_OUT / "dmft"), help="output stem")
    dm.add_argument("--quiet", action="store_true", help="no progress bar")
    dm.set_defaults(func=cmd_dmft)

    si = sub.add_parser("simulate", help="finite-N ensemble (spiked model or phase retrieval)")
    si.add_argument("model", choices=["spiked", "pr"])
    si.add_argument("--n", type=int, default=100, help="system size N")
    si.add_argument("--samples", type=int, default=8)
    si.add_argument("--t-max", type=float, default=20.0)
    si.add_argument("--p", type=int, default=3, help="spiked: tensor order (3 or 4)")
    si.add_argument("--delta2", type=float, default=0.4, help="spiked: matrix noise")
    si.add_argument("--delta-p", type=float, default=1.0, help="spiked: tensor noise")
    si.add_argument("--convention", choices=["all", "distinct"], default="all",
                    help="spiked: finite-N index convention [S1.2]")
    si.add_argument("--alpha", type=float, default=4.0, help="pr: M/N")
    si.add_argument("--loss", choices=["regularised", "square", "bounded"],
                    default="regularised", help="pr: loss [P2]")
    si.add_argument("--a", type=float, default=0.01, help="pr: regulariser of l_a")
    si.add_argument("--algorithm", choices=["gf", "gd", "armijo", "psgd", "langevin"],
                    default="gf")
    si.add_argument("--step", type=float, default=None,
                    help="dt / eta (gf: fixed step for spiked, initial step for pr)")
    si.add_argument("--tol", type=float, default=1e-6, help="pr gf: local error tolerance")
    si.add_argument("--temperature", type=float, default=1.0, help="langevin: T")
    si.add_argument("--batch-fraction", type=float, default=0.5, help="psgd: b")
    si.add_argument("--persistence", type=float, default=0.01, help="psgd: tau")
    si.add_argument("--start", choices=["random", "warm", "projected"], default="random")
    si.add_argument("--m0", type=float, default=None, help="warm start overlap")
    si.add_argument("--n-times", type=int, default=60, help="log-spaced recording times")
    si.add_argument("--hessian", action="store_true", help="Hessian spectrum at the end")
    si.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                    help="pr: storage of the sensing matrix")
    si.add_argument("--seed", type=int, default=0)
    si.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    si.add_argument("--checkpoint", default=None, help="directory of completed samples")
    si.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    si.add_argument("--out", default=str(DEFAULT_OUT / "simulation"), help="output stem")
    si.add_argument("--quiet", action="store_true", help="no progress bar")
    si.set_defaults(func=cmd_simulate)

    pr = sub.add_parser("phase-retrieval", help="thresholds of phase retrieval and alpha_c")
    pr.add_argument("--a", type=float, default=0.01, help="regulariser of l_a [P2.2]")
    pr.add_argument("--alpha", type=float, default=6.0, help="alpha of the Hessian plot")
    pr.add_argument("--alphas", type=float, nargs="+", default=[2.0, 4.0, 6.0, 9.0],
                    help="alpha grid of the alpha_c routes")
    pr.add_argument("--n", type=int, default=150, help="N of the projected-GF route")
    pr.add_argument("--samples", type=int, default=4, help="samples per alpha")
    pr.add_argument("--t-max", type=float, default=60.0, help="length of the GF runs")
    pr.add_argument("--dmft", action="store_true",
                    help="also the DMFT route from m0 = 0 (slow; see docs for its limits)")
    pr.add_argument("--dmft-points", type=int, default=60)
    pr.add_argument("--dmft-paths", type=int, default=4000)
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    pr.add_argument("--out", default=str(DEFAULT_OUT / "phase_retrieval"), help="output stem")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_phase_retrieval)

    co = sub.add_parser("compare", help="theory vs simulation: overlay or critical ratio")
    co.add_argument("what", choices=["overlay", "critical"])
    co.add_argument("model", choices=["spiked", "pr"])
    co.add_argument("--p", type=int, default=3, help="spiked: tensor order")
    co.add_argument("--delta2", type=float, default=0.4, help="spiked overlay: matrix noise")
    co.add_argument("--delta-p", type=float, default=1.0, help="spiked: tensor noise")
    co.add_argument("--alpha", type=float, default=4.0, help="pr overlay: M/N")
    co.add_argument("--loss", choices=["regularised", "square", "bounded"],
                    default="regularised", help="pr: loss [P2]")
    co.add_argument("--a", type=float, default=0.01, help="pr: regulariser of l_a")
    co.add_argument("--m0", type=float, default=0.3, help="overlay: warm-start overlap")
    co.add_argument("--n", type=int, default=200, help="overlay: system size N")
    co.add_argument("--samples", type=int, default=24, help="samples per point")
    co.add_argument("--t-max", type=float, default=None,
                    help="time budget (default 10 overlay; 1000 / 200 critical)")
    co.add_argument("--dt", type=float, default=0.05,
                    help="spiked overlay: DMFT output grid step (extrapolated scheme)")
    co.add_argument("--n-times", type=int, default=24, help="overlay: recording times")
    co.add_argument("--dmft-points", type=int, default=60, help="pr overlay: DMFT grid")
    co.add_argument("--dmft-paths", type=int, default=20000, help="pr overlay: DMFT paths")
    co.add_argument("--grid", type=float, nargs="+", default=None,
                    help="critical: values of 1/Delta2 (spiked) or alpha (pr)")
    co.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128],
                    help="critical: system sizes")
    co.add_argument("--methods", nargs="+", default=CRITICAL_METHODS[:3],
                    choices=CRITICAL_METHODS)
    co.add_argument("--store", default=None, help="critical: directory of per-point results "
                    "(a restart recomputes nothing)")
    co.add_argument("--dask", default=None, help="critical: Dask scheduler address")
    co.add_argument("--workers", type=int, default=1, help="critical: local processes")
    co.add_argument("--seed", type=int, default=0)
    co.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    co.add_argument("--out", default=str(DEFAULT_OUT / "compare"), help="output stem")
    co.add_argument("--quiet", action="store_true", help="no progress bar")
    co.set_defaults(func=cmd_compare)

    fi = sub.add_parser("figures", help="rebuild every figure of the docs gallery")
    fi.add_argument("--full", action="store_true", help="publication settings (hours)")
    fi.add_argument("--only", nargs="+", default=None, help="names of figures to build")
    fi.add_argument("--seed", type=int, default=0)
    fi.add_argument("--force", action="store_true",
                    help="replace the results already at --out")
    fi.add_argument("--out", default=str(DEFAULT_OUT / "gallery"),
                    help="output directory (the docs' gallery: --out docs/gallery --force)")
    fi.add_argument("--quiet", action="store_true", help="no progress bar")
    fi.set_defaults(func=cmd_figures)
    return ap


def _check_out(args) -> None:
    """Before any computing (after the inputs are checked): --out must be writable, and an
    earlier output is replaced only with --force."""
    folder = args.func is cmd_figures
    out = Path(args.out)
    _io.check_writable(out, "--out", directory=folder)
    # every command writes <stem>.<ext> next to any <stem>_<part> files; a glob on the stem
    # would also match the dotted name of another run (d2_0 against d2_0.4.npz)
    existing = ([p for p in out.iterdir() if not p.name.startswith(".")] if folder else
                [p for ext in (".npz", ".json", ".csv", ".png", ".pdf")
                 if (p := _io.with_ext(out, ext)).exists()])
    if existing and not args.force:
        raise ValueError(f"--out {out} already holds results ({existing[0].name}"
                         f"{' and more' if len(existing) > 1 else ''}): pass --force to replace "
                         "them or another --out")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, ArithmeticError, MemoryError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
