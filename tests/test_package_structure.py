"""The package shows its pipeline: stages import only stages below them, and nothing imports in a loop.

Read from the source with ``ast`` (no module is imported), so a loop hidden behind ``TYPE_CHECKING`` or
an import inside a function counts as much as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "meshcharts"

# Lower numbers sit lower in the pipeline; a module may import its own stage and any lower one.
STAGE_RANKS = {
    "core": 0,
    "schema": 1,
    "helm": 1,
    "ledger": 1,
    "sandbox": 1,
    "kube": 1,
    "load": 2,
    "charts": 3,
    "components": 4,
    "wiring": 5,
    "compose": 6,
    "checks": 7,
    "presets": 7,
    "deploy": 8,
    "gitops": 9,
    "api": 10,
    "cli": 11,
    "docgen": 11,
    "__main__": 12,
}

# Imports inside functions are allowed only to keep start-up cheap (the pre-commit path must not
# import render, helm or rich), never to dodge a loop: the rank check below applies to them too.
LAZY_IMPORTERS = {"meshcharts", "meshcharts.api", "meshcharts.schema.store", "meshcharts.deploy.apply", "meshcharts.helm.ondemand"}
LAZY_PACKAGES = ("meshcharts.cli",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[str, int, bool, bool]]:
    """(imported meshcharts module, line, inside a function, under TYPE_CHECKING) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            checking = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("meshcharts"):
                for alias in child.names:
                    candidate = f"{child.module}.{alias.name}"
                    target = candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or (
                        PACKAGE.parent / candidate.replace(".", "/")
                    ).is_dir() else child.module
                    found.append((target, child.lineno, in_function, type_checking))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("meshcharts"):
                        found.append((alias.name, child.lineno, in_function, type_checking))
            visit(child, function, checking)

    visit(tree, False, False)
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_stage_has_a_rank() -> None:
    stages = {stage(name) for name in MODULES} - {None}
    assert stages <= set(STAGE_RANKS), f"give these stages a rank: {sorted(stages - set(STAGE_RANKS))}"


@pytest.mark.parametrize("importer", sorted(MODULES))
def test_imports_point_down_the_pipeline(importer: str) -> None:
    own = stage(importer)
    for target, line, in_function, type_checking in imports_of(MODULES[importer]):
        where = f"{MODULES[importer].relative_to(PACKAGE.parent)}:{line}"
        assert not type_checking, f"{where}: an import under TYPE_CHECKING hides a loop; use the Protocols in meshcharts.core.model"
        if in_function:
            assert importer in LAZY_IMPORTERS or importer.startswith(LAZY_PACKAGES), (
                f"{where}: import of {target} inside a function; import at the top (lazy imports belong to the CLI)"
            )
        if target == "meshcharts" or own is None:
            continue  # the package itself (``__version__``) and the lazy top-level API
        target_stage = stage(target)
        assert target_stage is not None
        assert STAGE_RANKS[target_stage] <= STAGE_RANKS[own], (
            f"{where}: {importer} ({own}, rank {STAGE_RANKS[own]}) imports {target} ({target_stage}, rank {STAGE_RANKS[target_stage]}), "
            "which is further up the pipeline"
        )
        assert STAGE_RANKS[target_stage] < STAGE_RANKS[own] or target_stage == own, (
            f"{where}: {own} and {target_stage} share a rank and must not import each other"
        )


def test_no_import_loops() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for importer, path in MODULES.items():
        for target, _, _, _ in imports_of(path):
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != importer and target != "meshcharts":
                graph[importer].add(target)
    loops: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                loops.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert not loops, "import loops: " + "; ".join(" -> ".join(loop) for loop in loops)


def test_the_data_model_imports_only_core() -> None:
    for target, line, _, _ in imports_of(MODULES["meshcharts.core.model"]):
        assert target.startswith("meshcharts.core."), f"meshcharts/core/model.py:{line} imports {target}"
