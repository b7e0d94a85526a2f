"""``kubernetes.removed-api``: values that make a chart render an API version the cluster no longer serves.

Each component type lists, as :class:`~meshcharts.core.kubeapis.RendersApi` facts, which values make
its chart render which ``apiVersion``/kind (found by ``helm template`` of the real chart). This one rule
judges every type's facts against the cluster's ``kubernetes:``: Helm would only find out at install
time ("no matches for kind PodSecurityPolicy in version policy/v1beta1"). A cluster whose version the
stack does not state is not judged here: plan and apply ask the cluster what it serves
(:mod:`meshcharts.deploy.preflight`).

The finding points at the line that switched the object on: the values key a layer set (the API
version key first, when the user typed a removed one). When only the chart's own defaults do it, it
points at the component in the stack file and says which key to set.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.core.kubeapis import RemovedApi, RendersApi, removal, served_by
from meshcharts.core.model import CompositionView, Leaf, dotted

RULE = "kubernetes.removed-api"


def removed_api_findings(composition: CompositionView) -> list[Diagnostic]:
    """One error per fact whose switches all hold and whose API the cluster's Kubernetes removed."""
    component = composition.component
    if composition.broken or composition.cluster.kubernetes is None:  # nothing known offline: plan asks the cluster
        return []
    found: list[Diagnostic] = []
    for fact in component.type.rendered_apis:
        if component.version not in fact.chart_versions:
            continue
        if not all(switch.holds(_value(composition, switch.path, switch.default)) for switch in fact.when):
            continue
        api_version = fact.api_version or _value(composition, fact.api_path or (), fact.api_default)
        if not isinstance(api_version, str):
            continue
        entry = removal(api_version, fact.kind)
        if entry is None or served_by(entry, composition.cluster.kubernetes):
            continue
        diagnostic = _finding(composition, fact, entry)
        if diagnostic not in found:
            found.append(diagnostic)
    return found


def _value(composition: CompositionView, path: tuple[str, ...], default: Any) -> Any:
    """The value the chart's template sees: the composed one, ``null`` as absent, else the chart default."""
    node = composition.node(path)
    if node is None:
        return default
    if isinstance(node, Leaf):
        return node.value
    return composition.get(path)


def _user_set(composition: CompositionView, path: tuple[str, ...]) -> bool:
    origin = composition.origin(path)
    return origin is not None and origin.layer not in ("defaults", "derived") and origin.location is not None


def _finding(composition: CompositionView, fact: RendersApi, entry: RemovedApi) -> Diagnostic:
    component = composition.component
    chart = f"{component.type.name} {component.version}"
    api = f"{entry.api_version} {fact.kind}"
    kubernetes = composition.cluster.kubernetes
    gone = f"which Kubernetes {entry.removed_in} removed (cluster {composition.cluster.name} runs {kubernetes})"
    trigger = _trigger(composition, fact)
    if fact.api_path is not None and trigger != fact.api_path:
        api += f" ({_phrase(fact.api_path, entry.api_version)})"
    if trigger is None:
        defaults = ", ".join(_phrase(switch.path, switch.default) for switch in fact.when)
        message = f"with the chart's defaults ({defaults}) {chart} renders {api}, {gone}"
        location: Location | None = component.location
        path = dotted(fact.when[0].path)
    else:
        value = _value(composition, trigger, None)
        told = f"{_shown(value)} here makes" if _shown(value) else "setting it makes"
        message = f"{told} {chart} render {api}, {gone}"
        location = composition.locate(trigger, False)
        path = dotted(trigger)
    hint = fact.fix or (f"use {entry.replacement}" if entry.replacement else None)
    return Diagnostic(
        message=message,
        rule=RULE,
        location=location,
        cluster=composition.cluster.name,
        component=component.name,
        path=path,
        hint=hint,
    )


def _trigger(composition: CompositionView, fact: RendersApi) -> tuple[str, ...] | None:
    """The key a layer set that turned the object on: a typed API version first, then the switches."""
    if fact.api_path is not None and _user_set(composition, fact.api_path):
        return fact.api_path
    return next((switch.path for switch in fact.when if _user_set(composition, switch.path)), None)


class RenderingKey(NamedTuple):
    """The values key that switches an object on, whether a layer set it, and the fix the facts name."""

    path: tuple[str, ...]
    user_set: bool
    fix: str


def rendering_key(composition: CompositionView, api_version: str, kind: str) -> RenderingKey | None:
    """Which key makes this component's chart render ``kind`` at ``api_version``, by its type's facts.

    The pre-flight checks see the rendered object (a ``policy/v1beta1`` PodSecurityPolicy the cluster
    does not serve) and use this to point at the line that caused it, as this rule does.
    """
    component = composition.component
    for fact in component.type.rendered_apis:
        if fact.kind != kind or component.version not in fact.chart_versions or not fact.when:
            continue
        if (fact.api_version or _value(composition, fact.api_path or (), fact.api_default)) != api_version:
            continue
        trigger = _trigger(composition, fact)
        return RenderingKey(trigger or fact.when[0].path, trigger is not None, fact.fix)
    return None


def _shown(value: Any) -> str:
    """A scalar as YAML shows it (``true``, ``"1.20.0"``); "" for maps and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    return ""


def _phrase(path: tuple[str, ...], value: Any) -> str:
    return f"{dotted(path)}: {_shown(value) or 'set'}"


__all__ = ["RULE", "RenderingKey", "removed_api_findings", "rendering_key"]
