"""How to apply: the options of one ``meshcharts apply`` run, and how it reports progress.

Kept apart from the engine (:mod:`meshcharts.deploy.apply`) so the settings checks and callers can
build and read them without the engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshcharts.core.model import Component

@dataclass(frozen=True)
class ApplyOptions:
    """How to apply. ``kubeconfig`` overrides every cluster's (a sandbox, a CI runner's file).

    ``concurrency``: clusters at once; ``release_concurrency``: releases of one cluster at once (1:
    strictly one after the other, in install order). ``environ`` is where ``!env`` secrets are read.
    ``atomic``, ``wait`` and ``timeout`` set for the run apply to every release; left None, each
    component's ``helm:`` settings in the stack file decide, then helm's usual (no rollback, wait, 5m).
    """

    def helm_settings(self, component: Component) -> tuple[bool, bool, str]:
        """(atomic, wait, timeout) for one component's releases."""
        own = component.helm
        atomic = self.atomic if self.atomic is not None else bool(own.atomic)
        wait = self.wait if self.wait is not None else (own.wait if own.wait is not None else True)
        timeout = self.timeout or own.timeout or DEFAULT_TIMEOUT
        return atomic, wait, timeout

    cluster: str | None = None
    concurrency: int = 4
    release_concurrency: int = 4
    atomic: bool | None = None  # None: each component's helm.atomic, else False
    wait: bool | None = None  # None: each component's helm.wait, else True
    timeout: str | None = None  # None: each component's helm.timeout, else 5m
    lock_timeout: float = 60.0
    kubeconfig: str | None = None
    ledger_url: str | None = None
    output_dir: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)


DEFAULT_TIMEOUT = "5m"

#: Progress callbacks: (cluster, release or None for the cluster itself, state text).
Observer = Callable[[str, str | None, str], None]


def quiet(cluster: str, release: str | None, state: str) -> None:
    """The default observer: apply reports through its result only."""




__all__ = ["DEFAULT_TIMEOUT", "ApplyOptions", "Observer", "quiet"]
