"""meshcharts: declare the Istio observability stack once, override per cluster, validate and wire it
before anything is deployed, then apply it and keep a ledger of what went where.

The public API is re-exported here lazily, so ``import meshcharts`` stays cheap on the pre-commit
path: the offline half (open_project, validate, explain, render) from :mod:`meshcharts.api`, the live
half (pull, apply, verify, history, the sandbox) from its stage modules, loaded only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(
        (
            "open_project",
            "compose",
            "explain_values",
            "validate_project",
            "validate_files",
            "render_project",
            "Project",
            "Composition",
            "ValidationReport",
            "ExplainedValue",
        ),
        "meshcharts.api",
    ),
    **dict.fromkeys(("Diagnostic", "MeshchartsError", "ConfigError", "InvalidInput", "ExitCode"), "meshcharts.core.diagnostics"),
    **dict.fromkeys(("apply_project", "ApplyOptions", "ApplyResult"), "meshcharts.deploy.apply"),
    **dict.fromkeys(("plan_project", "drift_project", "PlanOptions"), "meshcharts.deploy.planning"),
    **dict.fromkeys(("Plan", "ClusterPlan", "ReleasePlan", "ObjectChange", "ValueChange"), "meshcharts.deploy.plan"),
    **dict.fromkeys(("read_plan", "write_plan"), "meshcharts.deploy.saved_plan"),
    **dict.fromkeys(("verify_project", "verify_cluster", "VerifyOptions", "VerifyResult"), "meshcharts.deploy.verify"),
    "pull_charts": "meshcharts.deploy.pull",
    **dict.fromkeys(("export_project", "ExportOptions", "ExportResult"), "meshcharts.gitops.export"),
    **dict.fromkeys(("release_history",), "meshcharts.deploy.history"),
    **dict.fromkeys(("Sandbox", "SandboxCluster"), "meshcharts.sandbox"),
}

#: Short names from DESIGN.md's Python API (``meshcharts.apply(...)``, ``meshcharts.history(...)``).
_ALIASES = {
    "apply": "apply_project", "plan": "plan_project", "drift": "drift_project", "pull": "pull_charts",
    "history": "release_history", "verify": "verify_project", "export": "export_project",
}


def __getattr__(name: str) -> Any:
    target = _ALIASES.get(name, name)
    module = _LAZY.get(target)
    if module is None:
        raise AttributeError(f"module 'meshcharts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), target)


__all__ = sorted({*_LAZY, *_ALIASES, "__version__"})
