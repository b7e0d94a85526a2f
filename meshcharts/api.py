"""The Python API: everything the CLI does, importable and typed, no click needed.

    import meshcharts
    project = meshcharts.open_project("path/to/stack")
    report = meshcharts.validate_project(project)
    kiali = project.compose("east", "kiali")
    kiali.values(secrets="placeholder")
"""

from __future__ import annotations

from pathlib import Path

from meshcharts.checks.validate import ValidationReport, require_files, validate_project
from meshcharts.compose.explain import ExplainedValue, explain
from meshcharts.compose.project import Composition, Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.suggest import did_you_mean
from meshcharts.deploy.render import RenderResult, render_project
from meshcharts.load.stack import find_stack_file


def open_project(path: Path | str | None = None) -> Project:
    """Load a stack (file or folder; default: search upwards from the current folder) and its values files."""
    return Project.open(path)


def validate_files(files: list[Path]) -> ValidationReport:
    """The pre-commit path: validate the compositions the files take part in, in whatever stacks hold them.

    A repository may hold several stacks; each file belongs to the nearest meshcharts.yaml above it.
    Files under no stack are not meshcharts' (another tool's values/ folder) and are left alone.
    """
    require_files(files)
    groups: dict[Path, list[Path]] = {}
    outside: list[str] = []
    for file in files:
        try:
            stack_file = find_stack_file(file.resolve().parent)
        except ConfigError:
            outside.append(str(file))
            continue
        groups.setdefault(stack_file, []).append(file)
    reports = [(stack_file, validate_project(Project.open(stack_file), members)) for stack_file, members in groups.items()]
    if len(reports) == 1:
        report = reports[0][1]
        return ValidationReport(report.diagnostics, report.checked, outside)
    diagnostics = [d for _, report in reports for d in report.diagnostics]
    checked = [f"{Project.open(stack_file).stack.name}:{label}" for stack_file, report in reports for label in report.checked]
    return ValidationReport(diagnostics, checked, outside)


def compose(project: Project, cluster: str, component: str) -> Composition:
    """The composed values of one component on one cluster (checks the names first)."""
    require_pair(project, cluster, component)
    return project.compose(cluster, component)


def explain_values(project: Project, cluster: str, component: str, key_path: str | None = None) -> list[ExplainedValue]:
    """Each composed value under ``key_path`` with the layer and file:line that set it.

    A layer file that cannot be read or parsed is a ConfigError (exit 2) with validate's own finding:
    values composed without it would be explained as if the file said nothing.
    """
    composition = compose(project, cluster, component)
    if composition.broken:
        raise ConfigError([problem for problem in composition.problems if problem.is_error])
    return explain(composition, key_path)


def require_cluster(project: Project, cluster: str) -> None:
    """A usage error (exit 2) for a cluster the stack does not declare."""
    stack = project.stack
    if not cluster:
        raise ConfigError(Diagnostic(message=f"--cluster needs a cluster name: {', '.join(stack.clusters)}", rule="usage.empty-cluster"))
    if cluster not in stack.clusters:
        raise ConfigError(Diagnostic(message=f'no cluster "{cluster}" in stack {stack.name}', rule="usage.unknown-cluster", hint=did_you_mean(cluster, stack.clusters)))


def require_pair(project: Project, cluster: str, component: str) -> None:
    """Usage errors (exit 2) for a cluster or component the stack does not have."""
    stack = project.stack
    require_cluster(project, cluster)
    if component not in stack.components:
        raise ConfigError(Diagnostic(message=f'no component "{component}" in stack {stack.name}', rule="usage.unknown-component", hint=did_you_mean(component, stack.components)))
    if cluster not in stack.components[component].clusters:
        raise ConfigError(Diagnostic(message=f'component "{component}" is not installed on cluster "{cluster}"', rule="usage.component-not-on-cluster"))


__all__ = [
    "Composition",
    "ExplainedValue",
    "Project",
    "RenderResult",
    "ValidationReport",
    "compose",
    "explain_values",
    "open_project",
    "render_project",
    "require_cluster",
    "validate_files",
    "validate_project",
]
