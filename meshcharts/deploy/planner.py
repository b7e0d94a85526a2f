"""Computing a cluster's plan from the desired state (the releases) and the live state (the API server).

Per release, as Flux's helm-controller reconciles: read the latest revision helm stored (one list call
per cluster), decide whether the inputs changed (chart digest, values identity, secrets), and compare
objects:

* inputs unchanged: the objects wanted are exactly the deployed revision's manifest, so no helm runs;
  each live object is compared with it (drift);
* inputs changed: ``helm template`` renders the release with the cluster's own Capabilities, and each
  object is compared with the live one as the API server would apply it (a server-side dry run),
  removing what helm's three-way merge removes (fields the previous revision rendered and the new one
  does not).

An object whose every field already has the wanted value needs no dry run (:func:`objdiff.contains`),
which keeps an unchanged plan to one GET per object. Objects of the previous revision the new one no
longer renders are destroyed. Plan never writes: only GETs and dry runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from meshcharts.core.diagnostics import MeshchartsError
from meshcharts.core.secrets import REDACTED, redact
from meshcharts.deploy.chartfiles import chart_metadata
from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.live import DeployedRelease
from meshcharts.deploy.liveobjects import LiveObjects, ObjectKey, object_key
from meshcharts.deploy.objdiff import (
    contains,
    field_changes,
    mask_secret_data,
    normalized,
    remove_paths,
    removed_paths,
    unified,
)
from meshcharts.deploy.plan import ObjectChange, ReleasePlan, ValueChange
from meshcharts.deploy.releases import ClusterRelease, path_steps, placeholder_config, value_at, values_identity
from meshcharts.helm.failures import HelmError
from meshcharts.helm.manifests import parse_manifests
from meshcharts.helm.ondemand import OnDemandHelm

#: Renders one release's objects for the cluster (``helm template`` with its Capabilities).
Renderer = Callable[[ClusterRelease, bool], list[dict[str, Any]]]


def helm_renderer(helm: OnDemandHelm, facts: ClusterFacts) -> Renderer:
    """The renderer apply and plan use: the release's resolved chart and values, the cluster's Capabilities."""

    def render(item: ClusterRelease, is_upgrade: bool) -> list[dict[str, Any]]:
        assert item.chart is not None and item.resolved is not None, "charts and secrets are resolved before planning"
        return helm.render_for_cluster(
            item.name, item.chart.path, item.resolved, namespace=item.namespace, kube_version=f"v{facts.version}",
            api_versions=facts.api_versions, is_upgrade=is_upgrade, component=item.component,
        )

    return render


def chart_marker(digest: str) -> str:
    return f"sha256:{digest[:32]}"


def same_chart(item: ClusterRelease, live: DeployedRelease) -> bool:
    """The live revision runs this chart: by the digest apply records in the revision's description, or,
    for a revision another tool installed (Flux's helm-controller writes no description of ours), by
    chart name and version: a pinned repository chart's bytes are checked against meshcharts.lock,
    and a generated chart's version carries a digest of its content."""
    if item.chart is None:
        return False
    recorded = live.marker().get("chart")
    if recorded is not None:
        return recorded == chart_marker(item.chart.digest)
    meta = chart_metadata(item.chart.path)
    return live.chart == str(meta.get("name")) and live.chart_version == str(meta.get("version"))


def same_inputs(item: ClusterRelease, live: DeployedRelease) -> bool:
    """The live revision runs this chart with exactly these values, secrets included."""
    if not same_chart(item, live):
        return False
    if values_identity(placeholder_config(live.config, item.values, item.secret_paths)) != item.identity:
        return False
    return not _secret_changes(item, live)


def _secret_changes(item: ClusterRelease, live: DeployedRelease) -> list[str]:
    """Secret paths whose resolved value differs from the deployed one (compared in memory, never shown)."""
    resolved = item.resolved.values if item.resolved is not None else {}
    changed = []
    for path in item.secret_paths:
        if value_at(resolved, path) != value_at(live.config, path):
            changed.append(path)
    return changed


def plan_release(
    item: ClusterRelease,
    live: DeployedRelease | None,
    facts: ClusterFacts,
    objects: LiveObjects,
    render: Renderer,
    *,
    drift_only: bool = False,
) -> tuple[ReleasePlan, list[dict[str, Any]]]:
    """The plan of one release, and the objects it would apply (for the pre-flight checks)."""
    digest = item.chart.digest if item.chart is not None else None
    previous = _without_hooks(parse_manifests(live.manifest.encode(), f"release {item.name}'s manifest")) if live else []
    unchanged_inputs = live is not None and live.status == "deployed" and same_inputs(item, live)
    error = None
    if drift_only or unchanged_inputs:
        desired = previous
    else:
        try:
            desired = _without_hooks(render(item, live is not None))
        except HelmError as failed:  # this release cannot be rendered for this cluster: what would fail, not a crash
            desired, error = [], "; ".join(diagnostic.message for diagnostic in failed.diagnostics)
    hide = _redactor(item, live)
    changes = _object_changes(hide, item.namespace, previous, desired, facts, objects, inputs_changed=not (drift_only or unchanged_inputs))
    values = [] if drift_only or live is None or unchanged_inputs else value_changes(item, live)
    if live is None:
        action, reason = "install", "not on the cluster"
    elif live.pending:
        action, reason = "recover", f"revision {live.revision} is {live.status} (an interrupted run)"
    elif drift_only or unchanged_inputs:
        drifted = [change for change in changes if change.drift]
        if drifted or (live.status != "deployed" and not drift_only):
            action = "restore"
            reason = f"{len(drifted)} object(s) changed outside meshcharts" if drifted else f"revision {live.revision} is {live.status}"
        else:
            action, reason = "unchanged", "same chart, values and objects as deployed"
    else:
        action, reason = "upgrade", _why_upgrade(item, live, values)
    plan = ReleasePlan(item, action, reason, live, changes, values, chart_digest=f"sha256:{digest}" if digest else None, error=error)
    return plan, desired


def _why_upgrade(item: ClusterRelease, live: DeployedRelease, values: list[ValueChange]) -> str:
    if live.status != "deployed":
        return f"revision {live.revision} is {live.status}"
    reasons = []
    if not same_chart(item, live):
        reasons.append("chart changed")
    if values:
        reasons.append(f"{len(values)} value(s) changed")
    return ", ".join(reasons) or "values changed"


def _without_hooks(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hooks (tests, pre-install jobs) are not part of a release's objects: helm runs and forgets them."""
    return [obj for obj in objects if "helm.sh/hook" not in ((obj.get("metadata") or {}).get("annotations") or {})]


def _redactor(item: ClusterRelease, live: DeployedRelease | None) -> Callable[[str], str]:
    """Redacts the release's secrets from text: the values resolved now and the ones deployed (the live
    objects hold those), so neither plan nor drift needs the environment to keep a secret out of a diff."""
    secrets = set(item.resolved.secrets if item.resolved is not None else ())
    if live is not None:
        secrets |= {value for value in (value_at(live.config, path) for path in item.secret_paths) if isinstance(value, str) and value}
    ordered = sorted(secrets)
    return lambda text: redact(text, ordered)


def _object_changes(
    hide: Callable[[str], str],
    namespace: str,
    previous: list[dict[str, Any]],
    desired: list[dict[str, Any]],
    facts: ClusterFacts,
    objects: LiveObjects,
    *,
    inputs_changed: bool,
) -> list[ObjectChange]:
    before = {object_key(obj, namespace, facts): obj for obj in previous}
    wanted = {object_key(obj, namespace, facts): obj for obj in desired}
    objects.prefetch({*before, *wanted})
    changes = []
    for key, obj in wanted.items():
        change = _compare(hide, key, obj, before.get(key), objects, inputs_changed)
        if change is not None:
            changes.append(change)
    for key in before:
        if key not in wanted and objects.get(key) is not None:
            current = normalized(objects.get(key))
            changes.append(ObjectChange(key, "destroy", diff=hide(unified(*mask_secret_data(current, None), str(key)))))
    return changes


def _compare(
    hide: Callable[[str], str], key: ObjectKey, obj: dict[str, Any], previous: dict[str, Any] | None, objects: LiveObjects, inputs_changed: bool
) -> ObjectChange | None:
    current = objects.get(key)
    drift = previous is not None and (not inputs_changed or previous == obj)
    if current is None:
        shown = normalized(obj)
        return ObjectChange(key, "add", drift=drift, diff=hide(unified(*mask_secret_data(None, shown), str(key))))
    removed = removed_paths(previous, obj) if previous is not None else []
    if not removed and contains(obj, current):
        return None
    predicted, error = objects.dry_run_apply(key, obj)
    if predicted is None:
        return ObjectChange(key, "change", drift=drift, error=hide(error or "refused"))
    remove_paths(predicted, removed)
    live_view, planned_view = mask_secret_data(normalized(current), normalized(predicted))
    fields = field_changes(live_view, planned_view)
    if not fields:
        return None
    redacted = tuple(type(field)(field.path, _redacted(hide, field.before), _redacted(hide, field.after)) for field in fields)
    return ObjectChange(key, "change", drift=drift, fields=redacted, diff=hide(unified(live_view, planned_view, str(key))))


def _redacted(hide: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, str):
        return hide(value)
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        cleaned = hide(text)
        return value if cleaned == text else json.loads(cleaned)
    return value


def value_changes(item: ClusterRelease, live: DeployedRelease) -> list[ValueChange]:
    """The composed values that differ from the deployed revision's, each with the file:line that sets it now."""
    old = _flatten(placeholder_config(live.config, item.values, item.secret_paths))
    new = _flatten(item.values)
    changes = []
    for path in sorted(set(old) | set(new)):
        if path in new and path in old and _same(old[path], new[path]):
            continue
        changes.append(_value_change(item, path, old.get(path), new.get(path)))
    for secret in _secret_changes(item, live):
        changes.append(_value_change(item, secret, REDACTED, f"{REDACTED} (changed)"))
    return changes


def _value_change(item: ClusterRelease, path: tuple[Any, ...] | str, before: Any, after: Any) -> ValueChange:
    name = ".".join(str(part) for part in path) if isinstance(path, tuple) else path
    location = source = None
    composition = item.composition
    if composition is not None and after is not None:
        origin = composition.origin(path if isinstance(path, tuple) else tuple(path_steps(path)))
        if origin is not None:
            source = origin.describe() if origin.layer in ("defaults", "derived") else origin.layer
            location = origin.location or None
    elif composition is not None:
        source = "removed"
    return ValueChange(name, before, after, location, source)


def _flatten(values: Any, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Leaves by path; lists are leaves (helm replaces them whole)."""
    if isinstance(values, dict) and values:
        flat: dict[tuple[Any, ...], Any] = {}
        for key, value in values.items():
            flat.update(_flatten(value, (*prefix, str(key))))
        return flat
    return {prefix: values} if prefix else {}


def _same(a: Any, b: Any) -> bool:
    return values_identity(a) == values_identity(b)


def plan_releases(
    items: list[ClusterRelease],
    deployed: Mapping[tuple[str, str], DeployedRelease],
    facts: ClusterFacts,
    objects: LiveObjects,
    render: Renderer,
    *,
    drift_only: bool = False,
    workers: int = 4,
) -> list[tuple[ReleasePlan, list[dict[str, Any]]]]:
    """Every release of a cluster planned at once (its releases are independent reads); install order kept."""

    def one(item: ClusterRelease) -> tuple[ReleasePlan, list[dict[str, Any]]]:
        return plan_release(item, deployed.get((item.namespace, item.name)), facts, objects, render, drift_only=drift_only)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))), thread_name_prefix="meshcharts-plan") as pool:
        return list(pool.map(one, items))


def failure(cluster: str, error: MeshchartsError) -> str:
    """One line for a cluster that could not be planned."""
    return "; ".join(diagnostic.message for diagnostic in error.diagnostics) or f"cluster {cluster} could not be planned"

