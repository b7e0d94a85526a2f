"""Charts meshcharts writes itself: ``mesh-extras`` and ``istio-addons``.

What the write-ups otherwise ``kubectl apply`` by hand becomes a Helm chart, generated per cluster
from composed values, so it is installed, upgraded, planned and recorded like every other release.

Entry points (all take composed values; ``None`` values delete defaults as in Helm):

* :func:`generate_chart` -- dispatch by component type name, for render code;
* :func:`generate_mesh_extras` / :func:`mesh_extras_spec`;
* :func:`generate_istio_addons` / :func:`istio_addons_spec` (``source`` = Istio release or samples/addons);
* :func:`istio_scrape_jobs` -- the istiod and envoy-stats scrape jobs as data;
* :func:`kps_grafana_dashboard_values` -- kube-prometheus-stack ``grafana`` values for Istio's grafana.com dashboards;
* :func:`write_chart` / :class:`ChartSpec` / :class:`GeneratedChart` -- the deterministic, atomic writer.
"""

from __future__ import annotations

import os
from typing import Any

from meshcharts.charts.chartwriter import (
    ChartSpec,
    GeneratedChart,
    GeneratorError,
    merge_values,
    write_chart,
)
from meshcharts.charts.dashboards import (
    ISTIO_GRAFANA_DASHBOARDS,
    GrafanaComDashboard,
    kps_grafana_dashboard_values,
)
from meshcharts.charts.istio_addons import generate_istio_addons, istio_addons_spec
from meshcharts.charts.mesh_extras import (
    generate_mesh_extras,
    istio_scrape_jobs,
    mesh_extras_spec,
    scrape_jobs_from_values,
)

GENERATED_TYPES = ("istio-addons", "mesh-extras")


def generate_chart(
    type_name: str,
    values: dict[str, Any] | None,
    out_dir: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    version: str = "1.0.0",
    dir_name: str | None = None,
) -> GeneratedChart:
    """Write the chart of a generated component type into ``out_dir/<dir_name or chart name>``.

    ``source`` is required for ``istio-addons`` (the component's ``source:``) and ignored otherwise;
    ``base_dir`` (the stack folder) resolves relative paths; ``version`` is the component's pinned
    values-format version, the base of the chart version.
    """
    if type_name == "mesh-extras":
        return generate_mesh_extras(values, out_dir, base_dir=base_dir, version=version, dir_name=dir_name)
    if type_name == "istio-addons":
        if source is None:
            raise GeneratorError([("source", "istio-addons needs source: the Istio release (or its samples/addons) to generate from")])
        return generate_istio_addons(values, out_dir, source=source, base_dir=base_dir, version=version, dir_name=dir_name)
    raise ValueError(f"{type_name!r} is not a generated component type ({', '.join(GENERATED_TYPES)})")


__all__ = [
    "GENERATED_TYPES",
    "ISTIO_GRAFANA_DASHBOARDS",
    "ChartSpec",
    "GeneratedChart",
    "GeneratorError",
    "GrafanaComDashboard",
    "generate_chart",
    "generate_istio_addons",
    "generate_mesh_extras",
    "istio_addons_spec",
    "istio_scrape_jobs",
    "kps_grafana_dashboard_values",
    "merge_values",
    "mesh_extras_spec",
    "scrape_jobs_from_values",
    "write_chart",
]
