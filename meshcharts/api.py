"""The Python API: everything the CLI does, importable and typed, no click needed.

    import meshcharts
    project = meshcharts.open_project("path/to/stack")
    report = meshcharts.validate_project(project)
    kiali = project.compose("east", "kiali")
    kiali.values(secrets="placeholder")
"""

from __future__ import annotations

from pathlib import Path

from meshcharts.diagnostics import ConfigError, Diagnostic
from meshcharts.explain import ExplainedValue, explain
from meshcharts.project import Composition, Project
from meshcharts.render import RenderResult, render_project
from meshcharts.suggest import did_you_mean
from meshcharts.validate import ValidationReport, validate_project


def open_project(path: Path | str | None = None) -> Project:
    """Load a stack (file or folder; default: search upwards from the current folder) and its values files."""
    return Project.open(path)


def compose(project: Project, cluster: str, component: str) -> Composition:
    """The composed values of one component on one cluster (checks the names first)."""
    require_pair(project, cluster, component)
    return project.compose(cluster, component)


def explain_values(project: Project, cluster: str, component: str, key_path: str | None = None) -> list[ExplainedValue]:
    """Each composed value under ``key_path`` with the layer and file:line that set it."""
    return explain(compose(project, cluster, component), key_path)


def require_cluster(project: Project, cluster: str) -> None:
    """A usage error (exit 2) for a cluster the stack does not declare."""
    stack = project.stack
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
    "validate_project",
]
