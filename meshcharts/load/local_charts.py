"""Charts the stack file names on disk (``chart: ./kube-prometheus-stack-45.1.1.tgz``): they must exist.

Checked at validate time, at the ``chart:`` line, with the exact ``helm pull`` that fetches a missing one.
"""

from __future__ import annotations

import os
from pathlib import Path

from meshcharts.core.diagnostics import (
    Diagnostic,
)
from meshcharts.core.fs import is_within
from meshcharts.core.model import (
    Component,
    Stack,
)

LOCAL_CHART_SUFFIXES = (".tgz", ".tar.gz")


def local_chart_path(root: Path, component: Component) -> Path | None:
    """The file or folder the stack file's ``chart:`` names on disk, or None for a repository chart or oci://.

    As helm does, a reference is a path when it exists, or starts with ``.`` or ``/`` (``~`` too,
    expanded); an archive name (``.tgz``) is one as well, since no repository chart is called that.
    Relative paths start at the stack folder, wherever meshcharts runs. A type's default chart name
    (no ``chart:`` in the stack file) is always a repository chart.
    """
    chart = component.chart
    if component.type.generated or component.chart_location is None or "://" in chart:
        return None
    path = root / Path(chart).expanduser()
    if chart.startswith((".", "/", "~")) or chart.endswith(LOCAL_CHART_SUFFIXES) or os.path.lexists(path):
        return path
    return None


def local_chart_problems(stack: Stack, components: set[str] | None = None) -> list[Diagnostic]:
    """A local chart that is missing (or a folder with no Chart.yaml), at the ``chart:`` line, with the fetch command."""
    found: list[Diagnostic] = []
    for component in stack.components.values():
        path = local_chart_path(stack.root, component)
        if path is None or (components is not None and component.name not in components):
            continue
        try:
            problem = _chart_problem(component, path, stack.root)
        except OSError as exc:
            problem = f"{component.chart} cannot be read: {exc.strerror or exc}"
        if problem:
            found.append(
                Diagnostic(message=problem, rule="stack.local-chart", location=component.chart_location or component.location, component=component.name, path="chart")
            )
    return found


def _chart_problem(component: Component, path: Path, root: Path) -> str | None:
    chart = component.chart
    if path.is_dir():
        return None if (path / "Chart.yaml").is_file() else f"{chart} is a folder without Chart.yaml; point chart: at the chart's folder or its .tgz"
    if path.is_file():
        return None
    if os.path.lexists(path):
        return f"{chart} is not a file or a folder"
    message = f"{chart} does not exist (relative to the stack folder)"
    if not component.repo or "://" not in component.repo or component.repo.startswith("oci://"):
        return message
    destination = os.path.relpath(path.parent, root) if is_within(path.parent, root) else str(path.parent)
    fetch = f"helm pull {component.type.chart} --repo {component.repo} --version {component.version}"
    if chart.endswith(LOCAL_CHART_SUFFIXES):
        expected = f"{component.type.chart}-{component.version}.tgz"
        rename = "" if path.name == expected else f", then rename {expected} to {path.name}"
        return f"{message}; fetch it, in the stack folder: {fetch} --destination {destination}{rename}"
    rename = "" if path.name == component.type.chart else f", then rename {component.type.chart} to {path.name}"
    return f"{message}; fetch it, in the stack folder: {fetch} --untar --untardir {destination}{rename}"
