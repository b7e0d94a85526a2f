"""Which dashboard ConfigMaps a Grafana's dashboard sidecar loads: its label, label value and namespaces.

kube-prometheus-stack and rancher-monitoring run Grafana with the k8s-sidecar container, configured by
the grafana chart from ``sidecar.dashboards.label`` (env LABEL), ``labelValue`` (LABEL_VALUE, only when
non-empty: empty means any value of the label) and ``searchNamespace`` (NAMESPACE, a list or a
comma-separated string; ``ALL`` means every namespace; unset means the sidecar's own namespace). A
dashboard ConfigMap outside those namespaces, or without that label, is never loaded, and nothing says so.

:func:`dashboard_sidecar` turns those three values into a :class:`DashboardSidecar`; the facts per chart
(defaults per version) live with whoever knows the chart: the kube-prometheus-stack type for its values,
:func:`rancher_monitoring_sidecar` here for the rancher-monitoring a stack declares under ``external:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshcharts.core.versions import (
    InvalidVersion,
    VersionRange,
    parse_chart_version,
    upstream_version,
)

DEFAULT_LABEL = "grafana_dashboard"
ALL_NAMESPACES = "ALL"


@dataclass(frozen=True)
class DashboardSidecar:
    """What one Grafana's dashboard sidecar watches.

    ``namespaces`` is None when the sidecar searches every namespace (or when meshcharts cannot know which);
    ``label_value`` is None when any value of ``label`` will do.
    """

    label: str
    label_value: str | None
    namespaces: tuple[str, ...] | None
    source: str  # who runs it, for messages: "component monitoring", "external grafana (rancher-monitoring 102.0.3+up40.1.2)"

    def searches(self, namespace: str) -> bool:
        return self.namespaces is None or namespace in self.namespaces

    def selects(self, labels: Mapping[str, Any]) -> bool:
        if self.label not in labels:
            return False
        return self.label_value is None or str(labels[self.label]) == self.label_value

    def wanted_labels(self) -> dict[str, str]:
        """The label a dashboard ConfigMap should carry (``"1"`` where any value would do)."""
        return {self.label: self.label_value if self.label_value is not None else "1"}

    def describe_labels(self) -> str:
        return f"{self.label}={self.label_value}" if self.label_value is not None else f"{self.label} (any value)"

    def home(self, own_namespace: str) -> str:
        """Where dashboards should go: the sidecar's own namespace if it searches it, else the first it searches."""
        if self.namespaces is None or own_namespace in self.namespaces:
            return own_namespace
        return self.namespaces[0]


def dashboard_sidecar(label: Any, label_value: Any, search_namespace: Any, own_namespace: str, source: str) -> DashboardSidecar:
    """A sidecar from the grafana chart's three values, read the way its deployment template passes them on."""
    value = None if label_value in (None, "") else str(label_value)
    if isinstance(search_namespace, str):
        names = [part.strip() for part in search_namespace.split(",") if part.strip()]
    elif isinstance(search_namespace, (list, tuple)):
        names = [str(part).strip() for part in search_namespace if str(part).strip()]
    else:
        names = []
    if names == [ALL_NAMESPACES]:
        namespaces: tuple[str, ...] | None = None
    else:
        namespaces = tuple(names) if names else (own_namespace,)
    return DashboardSidecar(str(label or DEFAULT_LABEL), value, namespaces, source)


#: rancher-monitoring's grafana.sidecar.dashboards, by the kube-prometheus-stack version it wraps (+upX):
#: (label, labelValue, searchNamespace), read from rancher/charts and checked with ``helm template``
#: (100.1.0+up19.0.3, 102.0.3+up40.1.2, 103.0.4+up45.31.1; 103.x sets searchNamespace twice, ALL last).
RANCHER_MONITORING_DASHBOARDS: tuple[tuple[VersionRange, str, str | None, str], ...] = (
    (VersionRange(None, "40.0.0"), DEFAULT_LABEL, None, "cattle-dashboards"),
    (VersionRange("40.0.0", "45.0.0"), DEFAULT_LABEL, "1", "cattle-dashboards"),
    (VersionRange("45.0.0", "57.0.0"), DEFAULT_LABEL, "1", ALL_NAMESPACES),
    (VersionRange("57.0.0", None), DEFAULT_LABEL, "1", "cattle-dashboards"),
)


def rancher_monitoring_sidecar(version: str, own_namespace: str, source: str) -> DashboardSidecar | None:
    """The dashboard sidecar of a rancher-monitoring chart version (None for a version that does not parse)."""
    try:
        parsed = parse_chart_version(version)
    except InvalidVersion:
        return None
    wrapped = upstream_version(parsed) or parsed
    for versions, label, label_value, namespace in RANCHER_MONITORING_DASHBOARDS:
        if wrapped in versions:
            return dashboard_sidecar(label, label_value, namespace, own_namespace, source)
    return None
