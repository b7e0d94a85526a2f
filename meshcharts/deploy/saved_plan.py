"""Saved plans: ``meshcharts plan --out PLAN`` writes one, ``meshcharts apply PLAN`` applies exactly it.

The file is the plan's JSON (:data:`~meshcharts.deploy.plan.PLAN_FORMAT`): the stack's digest and, per
cluster and release, the chart digest, the values identity, the live revision it was computed against
and the action, with the object diffs for a reviewer. No secret is in it: diffs are redacted and
values are identified by hash.

Applying it does not trust it: apply plans afresh and refuses, naming the release, when anything the
saved plan was computed from has moved (the stack's files, a chart, a live revision: a ``helm
upgrade`` by hand), or when the fresh plan would do anything the saved one did not say. A file that
is not a plan, or was edited into something inconsistent, is a config error.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic, ExitCode, Location, MeshchartsError
from meshcharts.core.fs import os_errors
from meshcharts.deploy.plan import ACTIONS, PLAN_FORMAT, Plan

#: What a saved release must agree on with the fresh plan, and how a reviewer would call it.
_COMPARED = (("chartDigest", "its chart"), ("valuesIdentity", "its values"), ("liveRevision", "its live revision"), ("action", "what apply would do"))


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from disk: only what apply compares."""

    path: Path
    stack: str
    stack_digest: str
    releases: dict[tuple[str, str], dict[str, Any]]  # (cluster, release) -> the compared fields


def write_plan(plan: Plan, path: Path) -> Path:
    """Write ``plan`` to ``path`` whole or not at all (a temporary file renamed over it), readable by its owner only."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(Diagnostic(message=f"{target} is a folder; --out takes a file name", rule="plan.out"))
    text = json.dumps(plan.as_json(), indent=2, sort_keys=True) + "\n"
    with os_errors("write the plan", target, writing=True):
        folder = target.parent if str(target.parent) else Path(".")
        handle, temporary = tempfile.mkstemp(prefix=".meshcharts-plan-", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)  # replaces a link itself, never the file it points to
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    return target


def _bad(path: Path, message: str) -> ConfigError:
    return ConfigError(Diagnostic(message=f"not a usable meshcharts plan: {message}", rule="plan.unreadable", location=Location(str(path))))


def read_plan(path: Path) -> SavedPlan:
    """Read a saved plan; anything but a well-formed plan of this format is a config error (exit 2)."""
    with os_errors("read the plan", Path(path)):
        raw = Path(path).read_bytes()
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(path, f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise _bad(path, f"format is not {PLAN_FORMAT}")
    stack, digest, clusters = document.get("stack"), document.get("stackDigest"), document.get("clusters")
    if not isinstance(stack, str) or not isinstance(digest, str) or not isinstance(clusters, dict):
        raise _bad(path, "stack, stackDigest or clusters is missing")
    releases: dict[tuple[str, str], dict[str, Any]] = {}
    for cluster, body in clusters.items():
        if not isinstance(body, dict) or not isinstance(body.get("releases"), list):
            raise _bad(path, f"cluster {cluster!r} has no releases list")
        if body.get("error"):
            raise MeshchartsError(
                Diagnostic(message=f"the plan could not see cluster {cluster} ({body['error']}); plan again", rule="plan.incomplete", location=Location(str(path))),
                ExitCode.INVALID,
            )
        for entry in body["releases"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("release"), str) or entry.get("action") not in ACTIONS:
                raise _bad(path, f"a release of cluster {cluster!r} is malformed")
            releases[(str(cluster), entry["release"])] = {key: entry.get(key) for key, _ in _COMPARED}
    return SavedPlan(Path(path), stack, digest, releases)


def check_saved_plan(saved: SavedPlan, fresh: Plan) -> None:
    """Refuse (exit 1), naming what moved, unless ``fresh`` is exactly the saved plan."""
    location = Location(str(saved.path))
    problems: list[Diagnostic] = []

    def refuse(message: str, cluster: str | None = None) -> None:
        problems.append(Diagnostic(message=message, rule="plan.stale", location=location, cluster=cluster, hint="run meshcharts plan again, review it, and apply the new plan"))

    if saved.stack != fresh.stack:
        refuse(f"the plan is for stack {saved.stack}, not {fresh.stack}")
    elif saved.stack_digest != fresh.stack_digest:
        refuse("the stack's files changed since the plan was made")
    now: dict[tuple[str, str], dict[str, Any]] = {}
    for name, planned in fresh.clusters.items():
        if planned.error is not None:
            refuse(f"cluster {name} cannot be planned now: {planned.error}", name)
            continue
        for release_plan in planned.releases:
            entry = release_plan.as_json()
            now[(name, release_plan.name)] = {key: entry.get(key) for key, _ in _COMPARED}
    for key in sorted(set(saved.releases) | set(now)):
        cluster, release = key
        if key not in now:
            if not any(problem.cluster == cluster for problem in problems):
                refuse(f"release {release} is in the plan but not in the stack now", cluster)
            continue
        if key not in saved.releases:
            refuse(f"release {release} is not in the plan", cluster)
            continue
        for field, what in _COMPARED:
            if saved.releases[key][field] != now[key][field]:
                refuse(f"{release}: {what} changed since the plan was made ({saved.releases[key][field]} then, {now[key][field]} now)", cluster)
                break
    if problems:
        raise MeshchartsError(problems, ExitCode.INVALID)
