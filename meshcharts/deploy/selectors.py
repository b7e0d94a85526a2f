"""Kubernetes label selectors, and which monitors a live Prometheus object really selects.

The Prometheus operator builds a Prometheus' scrape configuration from the ServiceMonitors and
PodMonitors that two selectors of the Prometheus object pick: ``serviceMonitorSelector`` (labels of
the monitor) and ``serviceMonitorNamespaceSelector`` (labels of the monitor's namespace), and the
same pair for PodMonitors. Their null and empty forms mean different things (prometheus-operator
API reference, PrometheusSpec): a null monitor selector selects no monitor, an empty one selects
every monitor; a null namespace selector means the Prometheus' own namespace only, an empty one
every namespace. Istio's monitors in istio-system and a Prometheus in another namespace with the
chart's defaults is the "Kiali shows no traffic" of the write-ups; this module says why, in words.

Pure functions of plain dicts (the Kubernetes client returns custom objects as dicts), so the rules
are tested without a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: LabelSelectorRequirement operators (apimachinery's metav1.LabelSelectorOperator).
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    """A selector the API server would reject (an unknown operator, In without values ...)."""


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector (``matchLabels`` and ``matchExpressions``, all ANDed) selects ``labels``.

    ``None`` selects nothing and ``{}`` everything, as ``metav1.LabelSelectorAsSelector`` reads them.
    """
    if selector is None:
        return False
    given = {str(key): str(value) for key, value in (labels or {}).items()}
    for key, value in (selector.get("matchLabels") or {}).items():
        if given.get(str(key)) != str(value):
            return False
    for requirement in selector.get("matchExpressions") or []:
        if not _requirement_matches(requirement, given):
            return False
    return True


def _requirement_matches(requirement: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = str(requirement.get("key", ""))
    operator = requirement.get("operator")
    values = [str(value) for value in requirement.get("values") or []]
    if operator not in OPERATORS:
        raise SelectorError(f"unknown operator {operator!r} for key {key!r} (one of {', '.join(OPERATORS)})")
    if operator in ("In", "NotIn") and not values:
        raise SelectorError(f"operator {operator} for key {key!r} needs values")
    if operator in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"operator {operator} for key {key!r} takes no values")
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    return key not in labels


def describe_selector(selector: Mapping[str, Any] | None) -> str:
    """A selector as one short line: ``null``, ``{}`` or its JSON (matchLabels first)."""
    if selector is None:
        return "null"
    return json.dumps(dict(selector), sort_keys=True, separators=(", ", ": "))


def _field(kind: str) -> str:
    """``serviceMonitor`` for ServiceMonitor, ``podMonitor`` for PodMonitor."""
    return kind[0].lower() + kind[1:]


@dataclass(frozen=True)
class Selection:
    """Whether a Prometheus selects one monitor, and if not, which of its fields says no and why."""

    selected: bool
    field: str = ""  # the Prometheus spec field that excludes the monitor
    reason: str = ""


def monitor_selection(
    spec: Mapping[str, Any],
    prometheus_namespace: str,
    kind: str,
    monitor_namespace: str,
    monitor_labels: Mapping[str, Any],
    namespace_labels: Mapping[str, Any],
) -> Selection:
    """Whether the Prometheus with ``spec`` (in ``prometheus_namespace``) picks up one monitor.

    ``kind`` is ServiceMonitor or PodMonitor; ``namespace_labels`` are the labels of the monitor's
    namespace (the API server adds ``kubernetes.io/metadata.name`` to every namespace).
    """
    name = _field(kind)
    selector_field = f"{name}Selector"
    namespace_field = f"{name}NamespaceSelector"
    selector = spec.get(selector_field)
    if selector is None:
        return Selection(False, selector_field, f"{selector_field} is null, which selects no {kind}s")
    try:
        if not selector_matches(selector, monitor_labels):
            return Selection(
                False, selector_field,
                f"{selector_field} {describe_selector(selector)} does not match the {kind}'s labels {describe_selector(dict(monitor_labels))}",
            )
    except SelectorError as error:
        return Selection(False, selector_field, f"{selector_field} is invalid: {error}")
    namespaces = spec.get(namespace_field)
    if namespaces is None:
        if monitor_namespace == prometheus_namespace:
            return Selection(True)
        return Selection(
            False, namespace_field,
            f"{namespace_field} is null, which selects {kind}s in the Prometheus' own namespace {prometheus_namespace} only, not {monitor_namespace}",
        )
    try:
        if selector_matches(namespaces, namespace_labels):
            return Selection(True)
    except SelectorError as error:
        return Selection(False, namespace_field, f"{namespace_field} is invalid: {error}")
    return Selection(
        False, namespace_field,
        f"{namespace_field} {describe_selector(namespaces)} does not match namespace {monitor_namespace} (labels {describe_selector(dict(namespace_labels))})",
    )


def plain_labels_fix(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> dict[str, str] | None:
    """The labels a monitor should add to be selected, when the selector is plain ``matchLabels``."""
    if not selector or set(selector) - {"matchLabels"}:
        return None
    wanted = {str(key): str(value) for key, value in (selector.get("matchLabels") or {}).items()}
    missing = {key: value for key, value in wanted.items() if key not in labels or str(labels[key]) != value}
    return missing or None
