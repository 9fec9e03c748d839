"""The package's shape as checks: the public names of each layer, and the import rules.

- Public names: each layer's ``__all__`` is pinned here, so that dropping or renaming a name is a
  visible decision (edit the list in the same change).
- Imports go downward only: comparison -> simulation, theory; simulation -> theory's model
  modules only; theory -> neither. ``theory.spherical`` and ``theory.phase_retrieval`` never
  import each other. Every import statement is read (function-local ones too), from the source.
"""

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "saddlesurf.theory": {
        "AccuracyWarning", "BoundedLoss", "ComplexityResult", "CriticalRatio", "CustomLoss",
        "DMFTConvergenceError", "DMFTOptions", "DMFTResult", "FixedPoint", "GLMSpectrum",
        "HessianSpectrum", "IntegrationError", "JointLaw", "Loss", "MixedSpherical",
        "PRDMFTOptions", "PRDMFTResult", "PRThresholds", "PhaseRetrieval", "RegularisedLoss",
        "RelaxationRateFit", "RelaxationTimeFit", "SphericalModel", "SpikedMatrixTensor",
        "SpikedThresholds",
        "SquareLoss", "ThresholdState", "TwoTimeFunction", "amp_state_evolution", "bbp_ratio",
        "complexity", "critical_ratio", "fit_relaxation_times", "glm_spectrum",
        "gradient_flow_fixed_point", "hessian_spectrum", "initial_law", "minimum_mu",
        "nishimori_fixed_point", "optimal_preprocessing", "relaxation_time_fit", "solve_dmft",
        "spectral_law", "spectral_threshold", "state_law", "threshold_state", "thresholds",
        "escape_time_map", "EscapeTimeMap",
    },
    "saddlesurf.theory.spherical": {
        "ComplexityResult", "DMFTOptions", "DMFTResult", "FixedPoint", "HessianSpectrum",
        "MixedSpherical", "RelaxationRateFit", "RelaxationTimeFit", "SphericalModel",
        "SpikedMatrixTensor",
        "SpikedThresholds", "ThresholdState", "TwoTimeFunction", "complexity",
        "fit_relaxation_times", "gradient_flow_fixed_point", "hessian_spectrum", "minimum_mu",
        "nishimori_fixed_point", "relaxation_time_fit", "solve_dmft", "threshold_state",
        "thresholds", "escape_time_map", "EscapeTimeMap",
    },
    "saddlesurf.theory.phase_retrieval": {
        "BoundedLoss", "CriticalRatio", "CustomLoss", "DMFTConvergenceError", "GLMSpectrum",
        "JointLaw", "Loss", "PRDMFTOptions", "PRDMFTResult", "PRThresholds", "PhaseRetrieval",
        "RegularisedLoss", "SquareLoss", "amp_state_evolution", "bbp_ratio", "critical_ratio",
        "glm_spectrum", "initial_law", "optimal_preprocessing", "pr_thresholds", "solve_pr_dmft",
        "spectral_law", "spectral_threshold", "state_law",
    },
    "saddlesurf.simulation": {
        "ArmijoGradientDescent", "GradientDescent", "GradientFlow", "Langevin", "PersistentSGD",
        "SimulationError", "SimulationOptions", "SimulationResult", "simulate", "wilson_interval",
    },
    "saddlesurf.comparison": {
        "CriticalRatioReport", "Estimate", "METHODS", "OBSERVABLES", "Overlay", "SuccessCurves",
        "SweepResult", "locate_critical_ratio", "overlay", "point_model", "success_curves",
        "success_point", "sweep", "predict_success", "SuccessPrediction",
    },
}

# the only theory modules the simulator may use: the models and the loss kernels it evaluates
SIMULATION_MAY_USE = {
    "saddlesurf.theory.spherical.models",
    "saddlesurf.theory.phase_retrieval.model",
    "saddlesurf.theory.phase_retrieval.losses",
    "saddlesurf.theory.phase_retrieval._loss_kernels",
}


@pytest.mark.parametrize("layer", sorted(PUBLIC))
def test_public_names_are_pinned(layer):
    module = importlib.import_module(layer)
    assert set(module.__all__) == PUBLIC[layer], (
        f"{layer}.__all__ changed: added {set(module.__all__) - PUBLIC[layer]}, "
        f"dropped {PUBLIC[layer] - set(module.__all__)}; update PUBLIC if that is intended")
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{layer}.__all__ names {missing}, which the module does not define"


def _module_name(path: Path) -> str:
    parts = ("saddlesurf",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """Absolute names of the saddlesurf modules that ``source`` (module ``module``) imports."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return {name for name in found if name.split(".")[0] == "saddlesurf"}


def rule_broken(importer: str, imported: str) -> str | None:
    """The import rule that ``importer`` breaks by importing ``imported``, or None."""
    def within(name, prefix):
        return name == prefix or name.startswith(prefix + ".")

    if within(importer, "saddlesurf.theory"):
        for high in ("saddlesurf.simulation", "saddlesurf.comparison", "saddlesurf.cli"):
            if within(imported, high):
                return f"theory imports {high} (layers import downward only)"
        for a, b in (("spherical", "phase_retrieval"), ("phase_retrieval", "spherical")):
            if within(importer, f"saddlesurf.theory.{a}") and within(
                    imported, f"saddlesurf.theory.{b}"):
                return f"theory.{a} imports theory.{b} (the two models stay independent)"
    if within(importer, "saddlesurf.simulation"):
        if within(imported, "saddlesurf.comparison") or within(imported, "saddlesurf.cli"):
            return "simulation imports comparison or cli (layers import downward only)"
        if within(imported, "saddlesurf.theory") and imported not in SIMULATION_MAY_USE:
            return "simulation imports theory beyond its model modules"
    if within(importer, "saddlesurf.comparison") and within(imported, "saddlesurf.cli"):
        return "comparison imports cli (layers import downward only)"
    return None


def test_imports_follow_the_layer_rules():
    broken = []
    for layer in ("theory", "simulation", "comparison"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            module = _module_name(path)
            for imported in imports_of(path.read_text(), module, path.name == "__init__.py"):
                why = rule_broken(module, imported)
                if why:
                    broken.append(f"{module} -> {imported}: {why}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("importer, source, expected", [
    ("saddlesurf.theory.spherical.dmft", "from ..phase_retrieval import losses",
     "stay independent"),
    ("saddlesurf.theory.phase_retrieval.dmft", "from ..spherical.dmft import solve_dmft",
     "stay independent"),
    ("saddlesurf.theory.figures", "from ..simulation import simulate", "downward only"),
    ("saddlesurf.simulation.ensemble", "from ..theory.spherical.dmft import solve_dmft",
     "beyond its model modules"),
    ("saddlesurf.simulation.spherical.sample", "from ...comparison import overlay",
     "downward only"),
    ("saddlesurf.simulation.ensemble", "def f():\n    import saddlesurf.theory.dispatch\n",
     "beyond its model modules"),
])
def test_the_rule_check_catches_a_broken_rule(importer, source, expected):
    """Mutation check of the checker: each synthetic import breaks one rule and is caught."""
    whys = [rule_broken(importer, m) for m in imports_of(source, importer, False)]
    assert any(w and expected in w for w in whys), whys


def test_the_rule_check_allows_what_the_layers_do():
    allowed = [("saddlesurf.simulation.phase_retrieval.sample",
                "from ...theory.phase_retrieval import _loss_kernels"),
               ("saddlesurf.theory.dispatch", "from .spherical import dmft"),
               ("saddlesurf.comparison.critical", "from ..simulation import simulate")]
    for importer, source in allowed:
        assert all(rule_broken(importer, m) is None
                   for m in imports_of(source, importer, False)), (importer, source)


@pytest.mark.parametrize("script", sorted(p.relative_to(ROOT).as_posix()
                                          for p in (ROOT / "benchmarks").rglob("*.py")))
def test_benchmark_scripts_import(script):
    """The benchmark scripts are not run by the tests, so a moved module once broke
    benchmarks/simulation.py unnoticed: each must at least import (its main() is not run)."""
    spec = importlib.util.spec_from_file_location("_benchmark", ROOT / script)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
