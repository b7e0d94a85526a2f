"""A plan as people read it: text for a terminal (Terraform's shape) and markdown for a merge request.

Both come from the same :class:`~meshcharts.deploy.plan.Plan`, already redacted; nothing here sees a
secret. Text: a line per release with its action and why, the values that changed with the file:line
that set them, each object to add (+), change (~) or destroy (-) with its fields, then a summary per
cluster and a total. Markdown: a summary table per cluster and each release's diff in a collapsed
``<details>`` block, as Atlantis shows Terraform plans.
"""

from __future__ import annotations

import json
from typing import Any

from meshcharts.core.diagnostics import Diagnostic
from meshcharts.deploy.plan import ClusterPlan, ObjectChange, Plan, ReleasePlan

_SIGN = {"add": "+", "change": "~", "destroy": "-"}
_RELEASE_SIGN = {"install": "+", "upgrade": "~", "restore": "~", "recover": "~", "unchanged": "="}


def _value(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem_line(problem: Diagnostic) -> str:
    where = f"{problem.location}: " if problem.location else ""
    hint = f" ({problem.hint})" if problem.hint else ""
    return f"{where}{problem.cluster or ''}/{problem.component or ''}: {problem.path + ': ' if problem.path else ''}{problem.message}{hint}"


def text_lines(plan: Plan, *, drift: bool = False, verbose: bool = True) -> list[str]:
    """The plan (or the drift report) as terminal lines."""
    lines: list[str] = []
    for name, cluster in plan.clusters.items():
        lines.append(_cluster_heading(name, cluster, drift))
        if cluster.error is not None:
            lines.append(f"  ! not planned: {cluster.error}")
            continue
        for release in cluster.releases:
            if drift and not release.objects:
                continue
            lines.extend(_release_lines(release, verbose, drift))
        for problem in cluster.problems:
            lines.append(f"  ! would fail: {_problem_line(problem)}")
        for problem in cluster.wiring:
            lines.append(f"  ! live wiring ({problem.severity.value}): {_problem_line(problem)}")
        lines.append("")
    unplanned = [name for name, cluster in plan.clusters.items() if cluster.error is not None]
    if unplanned:
        lines.append(f"Not planned: {', '.join(unplanned)} could not be read; nothing is known of {'it' if len(unplanned) == 1 else 'them'}.")
    if drift:
        drifted = sum(len(release.objects) for cluster in plan.clusters.values() for release in cluster.releases)
        if drifted:
            lines.append(f"Drift: {drifted} object(s) changed outside meshcharts on {len(plan.clusters) - len(unplanned)} cluster(s).")
        elif len(unplanned) < len(plan.clusters):
            lines.append("No drift: every object is as meshcharts deployed it." if not unplanned else "No drift on the clusters that could be read.")
    elif plan.changes:
        lines.append(f"Plan: {plan.summary()} on {len(plan.clusters) - len(unplanned)} cluster(s).")
    elif len(unplanned) < len(plan.clusters):
        lines.append("No changes: every release matches its deployed revision and the live objects." if not unplanned else "No changes on the clusters that could be read.")
    return lines


def _cluster_heading(name: str, cluster: ClusterPlan, drift: bool) -> str:
    version = f", Kubernetes {cluster.kubernetes}" if cluster.kubernetes else ""
    if cluster.error is not None or drift:
        return f"{name} ({cluster.context}{version})"
    return f"{name} ({cluster.context}{version}): {cluster.summary()}"


def _release_lines(release: ReleasePlan, verbose: bool, drift: bool) -> list[str]:
    item = release.item
    revision = f", revision {release.live.revision}" if release.live else ""
    head = f"  {_RELEASE_SIGN[release.action]} {item.name} ({item.release.chart} {item.chart_version}, {item.namespace}{revision})"
    lines = [head if drift else f"{head}: {release.action}: {release.reason}"]
    if release.action == "unchanged" and not drift:
        return lines
    if release.values:
        lines.append("      values:")
        for value in release.values:
            where = f"   {value.location}" if value.location else (f"   ({value.source})" if value.source else "")
            lines.append(f"        {value.path}: {_value(value.before)} -> {_value(value.after)}{where}")
    for change in release.objects:
        lines.extend(_object_lines(change, verbose))
    return lines


def _object_lines(change: ObjectChange, verbose: bool) -> list[str]:
    why = "  (changed outside meshcharts)" if change.drift else ""
    if change.drift and change.change == "add":
        why = "  (deleted outside meshcharts)"
    lines = [f"      {_SIGN[change.change]} {change.key}{why}"]
    if change.error:
        lines.append(f"          refused by the API server: {change.error}")
    if verbose:
        for field in change.fields:
            lines.append(f"          {field.path}: {_value(field.before)} -> {_value(field.after)}")
    return lines


def markdown(plan: Plan) -> str:
    """The plan as a merge-request comment: a table per cluster, diffs collapsed."""
    out = [f"### meshcharts plan: `{plan.stack}`", ""]
    out.append(f"**{plan.summary()}** on {len(plan.clusters)} cluster(s)" if plan.changes else "**No changes.**")
    out.append("")
    for name, cluster in plan.clusters.items():
        out.append(f"#### {name} (`{cluster.context}`{', Kubernetes ' + cluster.kubernetes if cluster.kubernetes else ''})")
        out.append("")
        if cluster.error is not None:
            out += [f"> :warning: not planned: {cluster.error}", ""]
            continue
        out += ["| release | chart | action | add | change | destroy | why |", "|---|---|---|---:|---:|---:|---|"]
        for release in cluster.releases:
            item = release.item
            out.append(
                f"| `{item.name}` | {item.release.chart} {item.chart_version} | {release.action} | {release.count('add')} | "
                f"{release.count('change')} | {release.count('destroy')} | {release.reason} |"
            )
        out.append("")
        for problem in cluster.problems:
            out.append(f"- :x: would fail: `{_problem_line(problem)}`")
        for problem in cluster.wiring:
            out.append(f"- :warning: live wiring: `{_problem_line(problem)}`")
        if cluster.problems or cluster.wiring:
            out.append("")
        for release in cluster.releases:
            if release.action == "unchanged":
                continue
            out += _markdown_release(release)
    return "\n".join(out).rstrip() + "\n"


def _markdown_release(release: ReleasePlan) -> list[str]:
    item = release.item
    out = ["<details>", f"<summary><code>{item.name}</code>: {release.action} ({release.reason})</summary>", ""]
    if release.values:
        out += ["| value | before | after | set at |", "|---|---|---|---|"]
        for value in release.values:
            out.append(f"| `{value.path}` | `{_value(value.before)}` | `{_value(value.after)}` | {value.location or value.source or ''} |")
        out.append("")
    if release.objects:
        out.append("```diff")
        for change in release.objects:
            out.append(f"{_SIGN[change.change]} {change.key}{'  (drift)' if change.drift else ''}")
            if change.diff:
                out.append(change.diff)
            if change.error:
                out.append(f"! refused by the API server: {change.error}")
        out.append("```")
    out += ["", "</details>", ""]
    return out
