"""Turning parsed addon objects into Helm template text.

The objects are dumped as YAML with a few values replaced by *sentinels*; after dumping, every
``{{`` of the manifests is escaped (Grafana dashboards are full of ``{{ legend }}`` formats, which Helm
would otherwise try to execute) and each sentinel line is swapped for the template code it stands
for: the namespace, a Service's type, its nodePorts, the labels and Kiali's config. Working on data
rather than on text means nothing depends on how upstream formatted its YAML.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meshcharts.charts.addons_source import Addon, ManifestObject
from meshcharts.charts.chartwriter import dump_yaml

NAMESPACE_EXPR = '{{ include "istio-addons.namespace" . }}'
KIALI_CONFIG_TEMPLATE = "istio-addons.kialiConfig"

_TOKEN_PREFIX = "__meshcharts_sentinel_"
_SENTINEL_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[^\n]*?): (?P<value>[^\n]*)$")

# A replacement gets the indentation of the line's content and the key on the line.
Replacement = Callable[[str, str], str]


def go_string(text: str) -> str:
    """A Go template string literal (JSON string syntax is a subset Go accepts)."""
    return json.dumps(str(text))


def escape_braces(text: str) -> str:
    """Make literal ``{{`` survive Helm: each becomes an action that prints it."""
    return text.replace("{{", '{{ "{{" }}')


@dataclass
class _Sentinels:
    """Issues unique placeholders and remembers what each one becomes."""

    replacements: dict[str, Replacement] = field(default_factory=dict)

    def new(self, replacement: Replacement) -> str:
        token = f"{_TOKEN_PREFIX}{len(self.replacements)}__"
        self.replacements[token] = replacement
        return token

    def scalar(self, expression: str) -> str:
        """A value that becomes ``key: <expression>``."""
        return self.new(lambda indent, key: f"{indent}{key}: {expression}")

    def apply(self, text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            key, value = match.group("key"), match.group("value")
            token = value if value in self.replacements else key if key in self.replacements else None
            if token is None:
                return match.group(0)
            indent = match.group("indent")
            dash = match.group("dash") or ""
            content_indent = indent + " " * len(dash)
            rendered = self.replacements[token](content_indent, key)
            if dash:
                # The first key of a list item keeps the dash on its first line.
                rendered = indent + dash + rendered[len(content_indent):]
            return rendered

        lines = text.split("\n")
        for index, line in enumerate(lines):
            if _TOKEN_PREFIX in line:
                match = _SENTINEL_LINE.match(line)
                if match:
                    lines[index] = swap(match)
        result = "\n".join(lines)
        leftover = re.search(r"__meshcharts_sentinel_\d+__", result)
        if leftover:
            raise AssertionError(f"template placeholder {leftover.group(0)} was not replaced")
        return result


@dataclass(frozen=True)
class RenderContext:
    """What object rendering needs to know about the addon and the chart."""

    addon: Addon
    source_namespace: str
    service_types: dict[str, str]  # Service name -> default type (for documentation only)
    kiali_sets_namespace: bool = False


def port_key(port: dict[str, Any]) -> str:
    """How a Service port is named in values: its name, else its number."""
    return str(port.get("name") or port.get("port"))


def _labels_replacement(values_key: str, labels: dict[str, Any]) -> Replacement:
    pairs = " ".join(f"{go_string(k)} {go_string(v)}" for k, v in labels.items())
    base = f"(dict {pairs})" if pairs else "(dict)"

    def render(indent: str, key: str) -> str:
        width = len(indent) + 2
        return f'{indent}{key}:\n{indent}  {{{{- include "istio-addons.labels" (list {base} .Values.{values_key}.labels) | nindent {width} }}}}'

    return render


def _node_port_replacement(values_key: str, service: str, key: str) -> Replacement:
    where = f"{values_key}.services.{service}"

    def render(indent: str, _key: str) -> str:
        call = f'include "istio-addons.nodePort" (list .Values.{values_key}.services {go_string(service)} {go_string(key)} {go_string(where)})'
        return f"{indent}{{{{- with {call} }}}}\n{indent}nodePort: {{{{ . }}}}\n{indent}{{{{- end }}}}"

    return render


def _kiali_config_replacement(indent: str, key: str) -> str:
    width = len(indent) + 2
    return f'{indent}{key}: |\n{indent}  {{{{- include "{KIALI_CONFIG_TEMPLATE}" . | nindent {width} }}}}'


def render_object(obj: ManifestObject, context: RenderContext) -> str:
    """Template text of one object (without the ``---`` separator)."""
    sentinels = _Sentinels()
    values_key = context.addon.kind.values_key
    body = copy.deepcopy(obj.body)
    metadata = body["metadata"]
    for optional in ("labels", "annotations"):
        if optional in metadata and not metadata[optional]:
            del metadata[optional]
    if not obj.cluster_scoped:
        metadata["namespace"] = sentinels.scalar(NAMESPACE_EXPR)
    labels = {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()}
    metadata["labels"] = sentinels.new(_labels_replacement(values_key, labels))
    if obj.kind in ("RoleBinding", "ClusterRoleBinding"):
        for subject in body.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount" and subject.get("namespace") == context.source_namespace:
                subject["namespace"] = sentinels.scalar(NAMESPACE_EXPR)
    if obj.kind == "Service":
        _template_service(body, obj.name, values_key, sentinels)
    if context.addon.name == "kiali":
        _template_kiali(obj, body, sentinels)
    text = escape_braces(dump_yaml(body, sort_keys=False))
    return sentinels.apply(text)


def _template_service(body: dict[str, Any], name: str, values_key: str, sentinels: _Sentinels) -> None:
    spec = body.setdefault("spec", {})
    spec.pop("clusterIP", None)
    spec.pop("clusterIPs", None)
    spec["type"] = sentinels.scalar(f'{{{{ include "istio-addons.serviceType" (list .Values.{values_key}.services {go_string(name)}) }}}}')
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
        port[sentinels.new(_node_port_replacement(values_key, name, port_key(port)))] = 0


def _template_kiali(obj: ManifestObject, body: dict[str, Any], sentinels: _Sentinels) -> None:
    if obj.kind == "ConfigMap" and obj.name == "kiali" and "config.yaml" in (body.get("data") or {}):
        body["data"]["config.yaml"] = sentinels.new(_kiali_config_replacement)
    if obj.kind == "Deployment":
        annotations = (((body.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and "checksum/config" in annotations:
            annotations["checksum/config"] = sentinels.scalar(f'{{{{ include "{KIALI_CONFIG_TEMPLATE}" . | sha256sum }}}}')


def render_addon_template(addon: Addon, context: RenderContext) -> str:
    """The ``templates/<addon>.yaml`` of one addon: every object, inside the addon's enabled switch."""
    values_key = addon.kind.values_key
    parts = [
        f"{{{{- /* {addon.kind.description}: generated by meshcharts from samples/addons/{addon.kind.file}. */ -}}}}",
        f"{{{{- if .Values.{values_key}.enabled }}}}",
    ]
    for obj in addon.objects:
        if obj.kind in ("CustomResourceDefinition", "Namespace"):
            continue
        parts.append("---")
        parts.append(render_object(obj, context).rstrip("\n"))
    parts.append("{{- end }}")
    return "\n".join(parts) + "\n"


def render_kiali_config_helper(sets_namespace: bool) -> str:
    """``templates/_kiali.tpl``: Kiali's config.yaml from ``kiali.config``.

    The addon's config sits in values (so Helm's own merge applies overrides, ``false`` and ``null``
    included); only ``deployment.namespace`` follows the chart namespace, when the addon's config had it.
    """
    lines = [
        "{{/* Kiali's config.yaml: kiali.config from values, deployment.namespace set to the chart namespace. */}}",
        f'{{{{- define "{KIALI_CONFIG_TEMPLATE}" -}}}}',
        "{{- $config := deepCopy (.Values.kiali.config | default dict) -}}",
    ]
    if sets_namespace:
        lines.append(
            '{{- if kindIs "map" $config.deployment }}{{ $_ := set $config.deployment "namespace" (include "istio-addons.namespace" .) }}{{ end -}}'
        )
    lines += ["{{- toYaml $config -}}", "{{- end -}}"]
    return "\n".join(lines) + "\n"


def render_crd(obj: ManifestObject) -> str:
    """A CRD for the chart's ``crds/`` folder, which Helm installs first and never templates."""
    return dump_yaml(obj.body, sort_keys=False)


def render_checks(conflicts: list[tuple[str, str, list[str]]], addon_keys: dict[str, str]) -> str:
    """``templates/checks.yaml``: fail when two enabled addons create the same object."""
    lines = ["{{- /* Addons that create the same objects cannot be enabled together. */ -}}"]
    for first, second, objects in conflicts:
        message = f"{first} and {second} both create {', '.join(objects)}: enable only one of them"
        lines.append(
            f"{{{{- if and .Values.{addon_keys[first]}.enabled .Values.{addon_keys[second]}.enabled }}}}"
            f"{{{{ fail {go_string(message)} }}}}{{{{ end }}}}"
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "RenderContext",
    "escape_braces",
    "go_string",
    "port_key",
    "render_addon_template",
    "render_checks",
    "render_crd",
    "render_kiali_config_helper",
    "render_object",
]
