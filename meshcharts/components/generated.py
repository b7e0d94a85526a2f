"""The component-type side of generated charts: how ``render`` asks a type for its chart.

``render`` calls ``component.type.generate(composition, chart_dir)`` for every generated release. This
base turns the composition into the generator's inputs (composed values with secrets as placeholders,
the stack folder for relative paths, the pinned values-format version) and the generator's
:class:`GeneratorError` into diagnostics that point at the layer file that set the offending key.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.charts.chartwriter import GeneratedChart, GeneratorError
from meshcharts.components.base import ComponentType
from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.core.model import CompositionView


def stack_root(composition: CompositionView) -> Path:
    """The folder of the stack file: relative paths in values and ``source:`` are relative to it."""
    return Path(composition.component.location.file).resolve().parent


def _path_tuple(dotted: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for part in dotted.split(".") if dotted else []:
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def diagnostics_for(error: GeneratorError, composition: CompositionView, rule: str) -> list[Diagnostic]:
    """One diagnostic per problem, located at the closest key a layer set."""
    found = []
    for dotted, message in error.problems:
        path = _path_tuple(dotted)
        location = None
        for end in range(len(path), 0, -1):
            origin = composition.origin(path[:end])
            if origin is not None and origin.location is not None:
                location = origin.location
                break
        if dotted == "source" or location is None:
            location = composition.component.location
        found.append(
            Diagnostic(
                message=message,
                rule=rule,
                location=location,
                cluster=composition.cluster.name,
                component=composition.component.name,
                path=dotted,
            )
        )
    return found


@dataclass
class GeneratedComponentType(ComponentType, abc.ABC):
    """A component type whose chart meshcharts writes; subclasses implement :meth:`write`."""

    @abc.abstractmethod
    def write(self, values: dict[str, Any], chart_dir: Path, composition: CompositionView) -> GeneratedChart:
        """Write the chart for ``values`` into ``chart_dir`` (a folder that is replaced as a whole)."""

    def generate(self, composition: CompositionView, out_dir: Path) -> str | None:
        """Write the chart into ``out_dir`` and return its content-derived version."""
        values = composition.values(secrets="placeholder")
        try:
            chart = self.write(values, Path(out_dir), composition)
        except GeneratorError as exc:
            raise InvalidInput(diagnostics_for(exc, composition, f"generate.{self.name}")) from None
        return chart.version


__all__ = ["GeneratedComponentType", "diagnostics_for", "stack_root"]
