"""What a component type is: one chart's coordinates, schemas per chart line, defaults and version rules.

Each built-in type lives in its own module beside this one and exposes ``COMPONENT_TYPE``; the registry
(``meshcharts.components``) finds them by scanning the package, so adding a chart means adding one
module and one schema in ``meshcharts/schemas/`` and nothing else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import semver

from meshcharts.core.diagnostics import Diagnostic, Severity
from meshcharts.core.endpoints import Endpoint, Need
from meshcharts.core.kubeapis import RendersApi
from meshcharts.core.model import (
    Component,
    CompositionView,
    DerivedValue,
    KeyRule,
    Prerequisite,
    SchemaChoice,
    SchemaLine,
    WiringView,
    dotted,
)
from meshcharts.core.versions import parse_chart_version, upstream_version


@dataclass
class ComponentType:
    """A built-in component type. Subclasses override behaviour that differs per chart."""

    name: str
    chart: str
    repo: str
    default_release: str
    default_namespace: str
    description: str
    schema_lines: tuple[SchemaLine, ...]
    prerequisites: tuple[Prerequisite, ...] = ()
    key_rules: tuple[KeyRule, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    generated: bool = False  # meshcharts writes this chart itself (charts-out/)
    default_version: str = "1.0.0"  # generated charts only: the values format when the stack pins none
    rendered_apis: tuple[RendersApi, ...] = ()  # values that make the chart render an API Kubernetes removed

    def app_version(self, chart_version: str) -> semver.Version:
        """The application version a chart version ships; charts that track their app 1:1 return it as is."""
        parsed = parse_chart_version(chart_version)
        return upstream_version(parsed) or parsed.replace(build=None)

    def choose_schema(self, chart_version: str) -> SchemaChoice:
        """The schema line for a chart version; outside every line, the nearest one with a warning."""
        parsed = parse_chart_version(chart_version)
        for line in self.schema_lines:
            if parsed in line.versions:
                return SchemaChoice(line)
        nearest = self._nearest_line(parsed)
        return SchemaChoice(
            nearest,
            f"{self.name} chart version {chart_version} is not one meshcharts knows; "
            f"validating against the {nearest.label} schema ({nearest.schema}) instead",
        )

    def _nearest_line(self, version: semver.Version) -> SchemaLine:
        def distance(line: SchemaLine) -> tuple[int, int]:
            low = line.versions.minimum
            high = line.versions.below
            if low is not None and version.replace(build=None) < parse_chart_version(low).replace(build=None):
                return (0, parse_chart_version(low).major - version.major)
            if high is not None:
                return (1, version.major - parse_chart_version(high).major)
            return (2, 0)

        return min(self.schema_lines, key=distance)

    def default_values(self, chart_version: str) -> dict[str, Any]:
        """Values meshcharts starts every composition with (layer 1). A fresh copy each call."""
        return copy.deepcopy(self.defaults)

    def running_version(self, component: Component, values: dict[str, Any]) -> semver.Version:
        """The application version that will run; types whose image can be overridden refine this."""
        return self.app_version(component.version)

    def rules_for(self, component: Component, values: dict[str, Any]) -> list[KeyRule]:
        """Rules in force: app-scoped ones by the version that runs, chart-scoped ones by the chart's."""
        running = self.running_version(component, values)
        packaged = self.app_version(component.version)
        return [
            rule
            for rule in self.key_rules
            if (running if rule.scope == "app" else packaged) in rule.app_versions
        ]

    # --- wiring: what a release creates and what it expects of others. Types override what applies. ---

    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]:
        """The Services this release creates that others may consume (none by default)."""
        return []

    def needs(self, component: Component, values: dict[str, Any]) -> list[Need]:
        """The addresses of other releases this one expects in its values (none by default)."""
        return []

    def provided_crds(self, component: Component, values: dict[str, Any]) -> set[str]:
        """CRD API groups this release installs (monitoring.coreos.com, ...)."""
        return set()

    def required_crds(self, component: Component, values: dict[str, Any]) -> dict[str, list[str]]:
        """CRD API groups this release's objects need, with the kinds, e.g. {"monitoring.coreos.com": ["PodMonitor"]}."""
        return {}

    def derive_extra(self, composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
        """Wired values that are not a plain address (monitor labels, scrape jobs ...)."""
        return []

    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
        """Checks of those values against the cluster's providers."""
        return []

    # --- generated charts: types whose chart meshcharts writes (mesh-extras, istio-addons) override this. ---

    def generate(self, composition: CompositionView, out_dir: Path) -> str | None:
        """Write the chart for this composition into ``out_dir``; return its version (None: not generated)."""
        return None


def key_problem(composition: CompositionView, path: tuple[str, ...], message: str, rule: str, severity: Severity = Severity.ERROR, hint: str | None = None) -> Diagnostic:
    """A finding about one key of a composition, at the line of the layer that set it (types' own checks)."""
    return Diagnostic(
        message=message,
        rule=rule,
        location=composition.locate(path, True),
        cluster=composition.cluster.name,
        component=composition.component.name,
        path=dotted(path),
        severity=severity,
        hint=hint,
    )
