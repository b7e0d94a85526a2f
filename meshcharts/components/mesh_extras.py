"""mesh-extras: the chart meshcharts generates for what the write-ups kubectl-apply beside the mesh.

NetworkPolicies (seed 000), the Istio PodMonitor/ServiceMonitor, istiod/envoy scrape jobs for a
Prometheus outside the operator (seed 004), Grafana dashboard ConfigMaps and exposure (NodePort
Services, Rancher NavLinks, Istio Gateway + VirtualService). The chart is written by
:mod:`meshcharts.charts.mesh_extras`; values format 1.x is ``mesh-extras-1.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.charts.chartwriter import GeneratedChart
from meshcharts.charts.mesh_extras import (
    default_values,
    generate_mesh_extras,
    required_crds,
)
from meshcharts.components import mesh_extras_wiring
from meshcharts.components.base import SchemaLine
from meshcharts.components.generated import GeneratedComponentType, stack_root
from meshcharts.core.diagnostics import Diagnostic
from meshcharts.core.model import Component, CompositionView, DerivedValue, WiringView
from meshcharts.core.versions import VersionRange


@dataclass
class MeshExtrasType(GeneratedComponentType):
    """The mesh-extras type: generated chart, CRD needs that follow the values."""

    def required_crds(self, component: Component, values: dict[str, Any]) -> dict[str, list[str]]:
        """monitoring.coreos.com for the monitors, ui.cattle.io for NavLinks, networking.istio.io for exposure."""
        return required_crds(values)

    def derive_extra(self, composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
        """Monitor labels, scrape jobs, Kiali NetworkPolicy ports, dashboard labels from the cluster."""
        return mesh_extras_wiring.derive(composition, wiring)

    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
        return mesh_extras_wiring.check(composition, wiring)

    def write(self, values: dict[str, Any], chart_dir: Path, composition: CompositionView) -> GeneratedChart:
        return generate_mesh_extras(
            values,
            chart_dir.parent,
            base_dir=stack_root(composition),
            version=composition.component.version,
            dir_name=chart_dir.name,
        )


COMPONENT_TYPE = MeshExtrasType(
    name="mesh-extras",
    chart="mesh-extras",
    repo="",
    default_release="mesh-extras",
    default_namespace="istio-system",
    description="Generated chart: NetworkPolicies, Istio monitors and scrape jobs, Grafana dashboards, UI exposure",
    schema_lines=(SchemaLine("mesh-extras-1.schema.json", VersionRange("1.0.0", "2.0.0"), "mesh-extras 1.x"),),
    defaults=default_values(),
    generated=True,
)
