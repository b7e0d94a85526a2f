"""Rancher's packaging of the Kiali 1.35 server chart, with its CRD chart installed first (seed 000)."""

from __future__ import annotations

from meshcharts.components.base import Prerequisite, SchemaLine
from meshcharts.components.kiali_server import KIALI_KEY_RULES, KialiType
from meshcharts.versions import VersionRange

RANCHER_REPO = "https://charts.rancher.io"

COMPONENT_TYPE = KialiType(
    name="rancher-kiali-server",
    chart="rancher-kiali-server",
    repo=RANCHER_REPO,
    default_release="rancher-kiali-server",
    default_namespace="istio-system",
    description="Kiali 1.35 as packaged by Rancher (plus the rancher-kiali-server-crd release)",
    schema_lines=(
        SchemaLine(
            "rancher-kiali-server-100.schema.json",
            VersionRange("100.0.0", "101.0.0"),
            "rancher-kiali-server 100.x (Kiali 1.35)",
        ),
    ),
    prerequisites=(
        Prerequisite(
            chart="rancher-kiali-server-crd",
            release="rancher-kiali-server-crd",
            description="the MonitoringDashboard CRD Kiali reads; must exist before the server release",
        ),
    ),
    key_rules=KIALI_KEY_RULES,
)
