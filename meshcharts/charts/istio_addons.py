"""The ``istio-addons`` chart: an Istio release's ``samples/addons`` as one Helm release.

People ``kubectl apply -f samples/addons``, then re-create Services as NodePort (seed 001) and edit the
kiali ConfigMap to point at their own Prometheus and Grafana (seed 004). Here the manifests of the
release the stack points at (``source:`` in meshcharts.yaml) are parsed, grouped per addon and written
as templates, with what people change by hand turned into values:

* ``<addon>.enabled`` per addon (zipkin and the Prometheus Operator monitors are off by default);
* ``namespace`` for every object (ServiceAccount subjects of the RBAC bindings follow);
* ``<addon>.services.<Service>.type`` / ``.nodePorts.<port name>`` per Service;
* ``<addon>.labels`` added to each object (``release: <kps release>`` on the sample monitors);
* ``kiali.config``: Kiali's whole config.yaml, seeded from the addon's own and merged by Helm, so
  ``kiali.config.external_services.prometheus.url`` overrides one key and keeps the rest.

Entry points: :func:`generate_istio_addons` writes the chart, :func:`istio_addons_spec` builds it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import jsonschema_rs

from meshcharts.charts.addons_apis import upgrade_removed_apis
from meshcharts.charts.addons_render import (
    RenderContext,
    port_key,
    render_addon_template,
    render_checks,
    render_crd,
    render_kiali_config_helper,
)
from meshcharts.charts.addons_source import (
    KNOWN_ADDONS,
    Addon,
    AddonSource,
    load_addons,
    load_yaml,
)
from meshcharts.charts.chartwriter import (
    ChartSpec,
    GeneratedChart,
    GeneratorError,
    merge_values,
    write_chart,
)
from meshcharts.charts.common import check_schema, packaged_templates

CHART_NAME = "istio-addons"
SCHEMA_NAME = "istio-addons-1.schema.json"
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
_KEYS = {kind.name: kind.values_key for kind in KNOWN_ADDONS}


def _kiali_config(addon: Addon) -> tuple[dict[str, Any] | None, bool]:
    """Kiali's config from the addon's ConfigMap, without ``deployment.namespace`` (the template sets it)."""
    for obj in addon.objects:
        if obj.kind == "ConfigMap" and obj.name == "kiali":
            text = (obj.body.get("data") or {}).get("config.yaml")
            if not isinstance(text, str):
                return None, False
            config = load_yaml(text) or {}
            if not isinstance(config, dict):
                raise GeneratorError([("source", "kiali.yaml: the kiali ConfigMap's config.yaml is not a YAML map")])
            deployment = config.get("deployment")
            had_namespace = isinstance(deployment, dict) and "namespace" in deployment
            if isinstance(deployment, dict) and had_namespace:
                del deployment["namespace"]
            return config, had_namespace
    return None, False


def chart_defaults(source: AddonSource) -> dict[str, Any]:
    """The values the chart starts from: every addon found, its switch, Services and (Kiali) config."""
    defaults: dict[str, Any] = {"namespace": ""}
    for name, addon in source.addons.items():
        services: dict[str, dict[str, Any]] = {
            obj.name: {"type": obj.body.get("spec", {}).get("type") or "ClusterIP", "nodePorts": {}} for obj in addon.services()
        }
        entry: dict[str, Any] = {"enabled": addon.kind.default_enabled, "labels": {}}
        if services:
            entry["services"] = services
        if name == "kiali":
            config, _ = _kiali_config(addon)
            if config is not None:
                entry["config"] = config
        defaults[addon.kind.values_key] = entry
    return defaults


def _conflicts(source: AddonSource) -> list[tuple[str, str, list[str]]]:
    """Pairs of addons creating the same object (jaeger and zipkin: Services tracing and zipkin)."""
    found = []
    names = list(source.addons)
    for i, first in enumerate(names):
        mine = {obj.identity for obj in source.addons[first].objects}
        for second in names[i + 1 :]:
            shared = sorted(mine & {obj.identity for obj in source.addons[second].objects})
            if shared:
                found.append((first, second, [f"{kind} {name}" for kind, name in shared]))
    return found


def chart_values_schema(source: AddonSource) -> dict[str, Any]:
    """The generated chart's values.schema.json (draft-07): exactly the addons, Services and ports found."""
    properties: dict[str, Any] = {
        "namespace": {
            "description": "Namespace of every addon object; empty means the release namespace.",
            "type": "string",
            "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$",
            "maxLength": 63,
        }
    }
    for addon in source.addons.values():
        services: dict[str, Any] = {}
        for obj in addon.services():
            ports = {
                port_key(port): {"description": f"nodePort of port {port_key(port)} ({port.get('port')})", "type": "integer", "minimum": 1, "maximum": 65535}
                for port in obj.body.get("spec", {}).get("ports") or []
            }
            services[obj.name] = {
                "description": f"The {obj.name} Service.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "type": {"description": "Service type.", "enum": list(SERVICE_TYPES)},
                    "nodePorts": {
                        "description": "nodePort per port name (NodePort and LoadBalancer only).",
                        "type": "object",
                        "additionalProperties": False,
                        "properties": ports,
                    },
                },
            }
        addon_props: dict[str, Any] = {
            "enabled": {"description": f"Install {addon.name}.", "type": "boolean"},
            "labels": {"description": "Labels added to every object of the addon.", "type": "object", "additionalProperties": {"type": "string"}},
        }
        if services:
            addon_props["services"] = {
                "description": "The addon's Services by name.",
                "type": "object",
                "additionalProperties": False,
                "properties": services,
            }
        if addon.name == "kiali":
            addon_props["config"] = {"description": "Kiali's config.yaml (maps merge over the addon's own).", "type": "object"}
        properties[addon.kind.values_key] = {
            "description": addon.kind.description,
            "type": "object",
            "additionalProperties": False,
            "properties": addon_props,
        }
    return {"title": "istio-addons values", "type": "object", "additionalProperties": False, "properties": properties}


def _value_problems(source: AddonSource, given: dict[str, Any], effective: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for kind in KNOWN_ADDONS:
        entry = given.get(kind.values_key)
        if kind.name not in source.addons and isinstance(entry, dict) and entry.get("enabled"):
            problems.append((f"{kind.values_key}.enabled", f"{source.root} has no {kind.file}, so {kind.name} cannot be installed from it"))
    chart_values = {key: value for key, value in effective.items() if key == "namespace" or key in {a.kind.values_key for a in source.addons.values()}}
    validator = jsonschema_rs.validator_for(chart_values_schema(source))
    for error in validator.iter_errors(chart_values):
        problems.append((".".join(str(part) for part in error.instance_path), error.message))
    for first, second, objects in _conflicts(source):
        if effective.get(_KEYS[first], {}).get("enabled") and effective.get(_KEYS[second], {}).get("enabled"):
            problems.append((f"{_KEYS[second]}.enabled", f"{first} and {second} both create {', '.join(objects)}: enable only one of them"))
    for addon in source.addons.values():
        for service, settings in sorted((effective.get(addon.kind.values_key, {}).get("services") or {}).items()):
            if (settings or {}).get("nodePorts") and (settings or {}).get("type", "ClusterIP") == "ClusterIP":
                problems.append(
                    (f"{addon.kind.values_key}.services.{service}.type", "nodePorts are set but the type is ClusterIP; use NodePort or LoadBalancer")
                )
    return sorted(set(problems))


def istio_addons_spec(
    values: dict[str, Any] | None,
    *,
    source: str | os.PathLike[str],
    base_dir: str | os.PathLike[str] | None = None,
    version: str = "1.0.0",
) -> ChartSpec:
    """The istio-addons chart for ``values`` from the addons under ``source``.

    ``source`` is an Istio release directory or its ``samples/addons`` folder, relative to ``base_dir``
    (the stack directory) unless absolute. Raises :class:`GeneratorError` with every problem found.
    """
    given = dict(values or {})
    check_schema(SCHEMA_NAME, merge_values({}, given))
    source_path = Path(os.path.expanduser(os.fspath(source)))
    if not source_path.is_absolute() and base_dir is not None:
        source_path = Path(base_dir) / source_path
    addons = load_addons(source_path)
    if not addons.addons:
        raise GeneratorError([("source", f"{addons.root} holds none of the addon manifests meshcharts knows")])
    addons, upgraded, refused = upgrade_removed_apis(addons)
    if refused:
        raise GeneratorError(refused)
    defaults = chart_defaults(addons)
    known_keys = {addon.kind.values_key for addon in addons.addons.values()} | {"namespace"}
    notes = upgraded + [f"skipped {rel}: not an addon meshcharts knows" for rel in addons.skipped]
    chart_given = {}
    for key, value in given.items():
        if key in known_keys:
            chart_given[key] = value
        else:
            notes.append(f"dropped {key}: {addons.root} has no such addon")
    effective = merge_values(defaults, chart_given)
    problems = _value_problems(addons, given, effective)
    if problems:
        raise GeneratorError(problems)
    files = packaged_templates(CHART_NAME)
    _, kiali_sets_namespace = _kiali_config(addons.addons["kiali"]) if "kiali" in addons.addons else (None, False)
    for name, addon in addons.addons.items():
        context = RenderContext(addon, addons.source_namespace, {}, kiali_sets_namespace)
        files[f"templates/{name}.yaml"] = render_addon_template(addon, context)
        for obj in addon.objects:
            if obj.kind == "CustomResourceDefinition":
                files[f"crds/{name}-{obj.name}.yaml"] = render_crd(obj)
            elif obj.kind == "Namespace":
                notes.append(f"{addon.kind.file}: left out Namespace {obj.name} (the release namespace is used)")
    if "config" in defaults.get("kiali", {}):
        files["templates/_kiali.tpl"] = render_kiali_config_helper(kiali_sets_namespace)
    conflicts = _conflicts(addons)
    if conflicts:
        files["templates/checks.yaml"] = render_checks(conflicts, _KEYS)
    return ChartSpec(
        name=CHART_NAME,
        description=f"Istio {addons.istio_version or ''} samples/addons ({', '.join(addons.addons)}) as one release, generated by meshcharts".replace("  ", " "),
        base_version=version,
        files=files,
        defaults=defaults,
        values=chart_given,
        values_schema=chart_values_schema(addons),
        app_version=addons.istio_version,
        keywords=("istio", "kiali", "jaeger", "prometheus", "grafana", "meshcharts"),
        notes=tuple(notes),
    )


def generate_istio_addons(
    values: dict[str, Any] | None,
    out_dir: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str],
    base_dir: str | os.PathLike[str] | None = None,
    version: str = "1.0.0",
    dir_name: str | None = None,
) -> GeneratedChart:
    """Write the istio-addons chart to ``out_dir/<dir_name or istio-addons>`` and return what was written."""
    return write_chart(istio_addons_spec(values, source=source, base_dir=base_dir, version=version), out_dir, dir_name=dir_name)


def required_crds(values: dict[str, Any]) -> dict[str, list[str]]:
    """CRD groups the chart needs for these values: the operator monitors, when switched on."""
    entry = (values or {}).get("prometheusOperatorMonitors") or {}
    if entry.get("enabled"):
        return {"monitoring.coreos.com": ["PodMonitor", "ServiceMonitor"]}
    return {}


def default_values() -> dict[str, Any]:
    """Layer-1 defaults of the component type: the addon switches (the rest comes from the manifests)."""
    return copy.deepcopy({kind.values_key: {"enabled": kind.default_enabled} for kind in KNOWN_ADDONS})


__all__ = [
    "CHART_NAME",
    "chart_defaults",
    "chart_values_schema",
    "default_values",
    "generate_istio_addons",
    "istio_addons_spec",
    "required_crds",
]
