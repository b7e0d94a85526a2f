"""The sandbox's one kubeconfig: kwokctl's per-cluster kubeconfigs merged, renamed to the stack's context names.

Written 0600 through a temporary file and a rename, so a reader never sees half a file and no other
user can read the client keys in it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, InvalidInput


def write_kubeconfig(target: Path, sources: Sequence[tuple[str, Path]]) -> None:
    """Write ``target`` from ``(context name, kwokctl's kubeconfig.yaml)`` pairs; the first is the current context."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, source in sources:
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
            server = data["clusters"][0]["cluster"]
            user = data["users"][0]["user"]
        except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
            raise InvalidInput(
                Diagnostic(message=f"cannot read kwokctl's kubeconfig {source}: {exc}", rule="sandbox.kubeconfig")
            ) from exc
        merged["clusters"].append({"name": name, "cluster": server})
        merged["users"].append({"name": name, "user": user})
        merged["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    if sources:
        merged["current-context"] = sources[0][0]
    temporary = target.with_name(".kubeconfig.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(merged, handle, sort_keys=False)
    os.replace(temporary, target)


__all__ = ["write_kubeconfig"]
