"""kube-prometheus-stack: the Prometheus operator, Prometheus, Alertmanager and Grafana (45.x and the current 88.x)."""

from __future__ import annotations

from meshcharts.components.base import ComponentType, SchemaLine
from meshcharts.versions import VersionRange

COMPONENT_TYPE = ComponentType(
    name="kube-prometheus-stack",
    chart="kube-prometheus-stack",
    repo="https://prometheus-community.github.io/helm-charts",
    default_release="kube-prometheus-stack",
    default_namespace="monitoring",
    description="Prometheus operator, Prometheus, Alertmanager and Grafana",
    schema_lines=(
        SchemaLine("kube-prometheus-stack-45.schema.json", VersionRange("45.0.0", "46.0.0"), "kube-prometheus-stack 45.x"),
        SchemaLine("kube-prometheus-stack-88.schema.json", VersionRange("88.0.0", "89.0.0"), "kube-prometheus-stack 88.x"),
    ),
)
