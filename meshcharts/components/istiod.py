"""Istio's istiod chart, as far as meshcharts manages it: the mesh-wide tracing settings (seed 003)."""

from __future__ import annotations

from meshcharts.components.base import ComponentType, SchemaLine
from meshcharts.versions import VersionRange

COMPONENT_TYPE = ComponentType(
    name="istiod",
    chart="istiod",
    repo="https://istio-release.storage.googleapis.com/charts",
    default_release="istiod",
    default_namespace="istio-system",
    description="Istio control plane (meshcharts checks and derives its tracing settings)",
    schema_lines=(SchemaLine("istiod-1.schema.json", VersionRange("1.0.0", "2.0.0"), "istiod 1.x"),),
)
