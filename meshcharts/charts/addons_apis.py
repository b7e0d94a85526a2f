"""The istio-addons chart never carries an API version Kubernetes removed.

The chart is copied from whichever Istio release the user downloaded, and older releases' samples/addons
hold objects current clusters refuse (Istio 1.7 has ``rbac.authorization.k8s.io/v1beta1`` RoleBindings,
1.7 to 1.9 an ``apiextensions.k8s.io/v1beta1`` CRD in kiali.yaml). Where the newer API has the same
fields, the object is moved to it and a note says so; where it does not (a v1beta1 CRD needs a
structural schema, a PodSecurityPolicy has no successor), the generator refuses with the object named.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

from meshcharts.charts.addons_source import (
    KNOWN_ADDONS,
    Addon,
    AddonSource,
    ManifestObject,
)
from meshcharts.core.kubeapis import RemovedApi, removal

_TOP_LEVEL = re.compile(r"^(apiVersion|kind):[ \t]*['\"]?([^'\"\s#]+)", re.MULTILINE)
_DOCUMENT = re.compile(r"^---", re.MULTILINE)


def upgrade_removed_apis(source: AddonSource) -> tuple[AddonSource, list[str], list[tuple[str, str]]]:
    """``source`` with removed-but-convertible API versions moved on; notes of what moved; problems of what cannot."""
    notes: list[str] = []
    problems: list[tuple[str, str]] = []
    addons: dict[str, Addon] = {}
    for name, addon in source.addons.items():
        objects: list[ManifestObject] = []
        for obj in addon.objects:
            entry = removal(obj.api_version, obj.kind)
            if entry is None:
                objects.append(obj)
                continue
            where = f"samples/addons/{addon.kind.file}: {obj.kind} {obj.name} is {obj.api_version}, which Kubernetes {entry.removed_in} removed"
            if entry.convertible and entry.replacement:
                body = copy.deepcopy(obj.body)
                body["apiVersion"] = entry.replacement
                objects.append(dataclasses.replace(obj, api_version=entry.replacement, body=body))
                notes.append(f"{where}: written as {entry.replacement}")
            else:
                problems.append(("source", _refusal(where, entry)))
        addons[name] = dataclasses.replace(addon, objects=tuple(objects))
    return dataclasses.replace(source, addons=addons), notes, problems




def _refusal(where: str, entry: RemovedApi) -> str:
    instead = f" ({entry.replacement} is not a drop-in replacement)" if entry.replacement else " and has no successor"
    return f"{where}{instead}; use the samples/addons of a newer Istio release"


def refused_objects(addons_dir: Path) -> list[str]:
    """What :func:`upgrade_removed_apis` would refuse, from a plain text scan (for validate: no YAML parse).

    Only each document's top-level ``apiVersion:`` and ``kind:`` lines are read, which is all the
    addon manifests hold at column 0 besides ``metadata``/``spec``.
    """
    found: list[str] = []
    for kind in KNOWN_ADDONS:
        path = addons_dir / kind.file
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the generator reports unreadable files with their reason
        for document in _DOCUMENT.split(text):
            fields = dict(_TOP_LEVEL.findall(document))
            entry = removal(fields.get("apiVersion", ""), fields.get("kind", ""))
            if entry is not None and not entry.convertible:
                name = re.search(r"^  name:[ \t]*['\"]?([^'\"\s#]+)", document, re.MULTILINE)
                what = f"{fields.get('kind')} {name.group(1) if name else ''}".strip()
                found.append(_refusal(f"samples/addons/{kind.file}: {what} is {entry.api_version}, which Kubernetes {entry.removed_in} removed", entry))
    return found


__all__ = ["refused_objects", "upgrade_removed_apis"]
