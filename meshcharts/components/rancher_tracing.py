"""Rancher's Jaeger all-in-one chart (rancher-tracing 100.0.0, Jaeger 1.20): HTTP query on 16686 under /jaeger, no gRPC."""

from __future__ import annotations

from meshcharts.components.base import ComponentType, SchemaLine
from meshcharts.versions import VersionRange

COMPONENT_TYPE = ComponentType(
    name="rancher-tracing",
    chart="rancher-tracing",
    repo="https://charts.rancher.io",
    default_release="rancher-tracing",
    default_namespace="istio-system",
    description="Jaeger all-in-one as packaged by Rancher",
    schema_lines=(
        SchemaLine("rancher-tracing-100.schema.json", VersionRange("100.0.0", "101.0.0"), "rancher-tracing 100.x"),
    ),
)
