"""Istio's Grafana dashboards for a Grafana that downloads them itself (kube-prometheus-stack's grafana).

Seed 004 imports the Istio dashboards by grafana.com ID (7645, 7639, 11829, 7636, 7630, 13277). The
grafana chart does that at Pod start from ``grafana.dashboards.<provider>.<key>: {gnetId, revision,
datasource}`` plus a file provider under ``grafana.dashboardProviders``; meshcharts only writes those
values, so nothing is fetched when charts are generated.

The revision is required on purpose: the grafana chart downloads revision **1** when it is missing,
which for Istio's dashboards is the 2018 (Mixer-era) JSON that shows nothing on a current mesh. Istio
publishes a new revision of every dashboard with each release, so pick the one matching your Istio
(grafana.com lists them; 7639/7636/7630/7645/11829 share one revision number per release, 13277 has
its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GrafanaComDashboard:
    """A dashboard published on grafana.com: its ID and the key/title meshcharts gives it."""

    gnet_id: int
    key: str
    title: str


ISTIO_GRAFANA_DASHBOARDS: tuple[GrafanaComDashboard, ...] = (
    GrafanaComDashboard(7645, "istio-control-plane", "Istio Control Plane Dashboard"),
    GrafanaComDashboard(7639, "istio-mesh", "Istio Mesh Dashboard"),
    GrafanaComDashboard(11829, "istio-performance", "Istio Performance Dashboard"),
    GrafanaComDashboard(7636, "istio-service", "Istio Service Dashboard"),
    GrafanaComDashboard(7630, "istio-workload", "Istio Workload Dashboard"),
    GrafanaComDashboard(13277, "istio-wasm-extension", "Istio Wasm Extension Dashboard"),
)

DASHBOARD_ROOT = "/var/lib/grafana/dashboards"


def kps_grafana_dashboard_values(
    revisions: int | Mapping[int, int],
    *,
    datasource: str = "Prometheus",
    provider: str = "istio",
    folder: str = "Istio",
    dashboards: Iterable[GrafanaComDashboard] = ISTIO_GRAFANA_DASHBOARDS,
) -> dict[str, Any]:
    """Values for kube-prometheus-stack (``{"grafana": {...}}``) that make its Grafana fetch the dashboards.

    ``revisions`` is one revision for all dashboards or a map ``gnetId -> revision``; every dashboard
    needs one (see the module docstring for why there is no default). ``datasource`` is the name of
    the Prometheus data source in that Grafana (kube-prometheus-stack names it ``Prometheus``).
    ``dashboardproviders.yaml``'s ``providers`` is a list, and lists replace when values merge: a
    user's own providers have to be listed again beside this one.
    """
    chosen = list(dashboards)
    if isinstance(revisions, int):
        by_id = {board.gnet_id: revisions for board in chosen}
    else:
        by_id = dict(revisions)
    missing = [board.gnet_id for board in chosen if board.gnet_id not in by_id]
    if missing:
        raise ValueError(
            f"no revision for grafana.com dashboard(s) {', '.join(map(str, missing))}: "
            "the grafana chart would download revision 1 (Istio 1.0-era JSON)"
        )
    bad = {gnet_id: rev for gnet_id, rev in by_id.items() if not isinstance(rev, int) or isinstance(rev, bool) or rev < 1}
    if bad:
        raise ValueError(f"revisions must be positive integers: {bad}")
    entries = {
        board.key: {"gnetId": board.gnet_id, "revision": by_id[board.gnet_id], "datasource": datasource}
        for board in chosen
    }
    provider_entry = {
        "name": provider,
        "orgId": 1,
        "folder": folder,
        "type": "file",
        "disableDeletion": False,
        "editable": True,
        "options": {"path": f"{DASHBOARD_ROOT}/{provider}"},
    }
    return {
        "grafana": {
            "dashboardProviders": {"dashboardproviders.yaml": {"apiVersion": 1, "providers": [provider_entry]}},
            "dashboards": {provider: entries},
        }
    }


__all__ = ["DASHBOARD_ROOT", "GrafanaComDashboard", "ISTIO_GRAFANA_DASHBOARDS", "kps_grafana_dashboard_values"]
