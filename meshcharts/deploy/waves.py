"""The releases of one cluster, each started as soon as what it depends on is done, a few at a time.

Install order (``wiring.order``) is one valid sequence; the dependencies behind it are looser: the
Kiali CRD chart must precede Kiali, but Jaeger waits for neither. Running the independent ones at the
same time takes a cluster's apply from the sum of its releases to its longest chain (helm spends most
of a release waiting for Pods). Helm itself is safe here: each release is its own record and lock,
and ``--create-namespace`` tolerates a namespace another release just created.

On the first failure nothing new starts; what is already running finishes (killing helm mid-release
would leave it pending), and everything not started is handed to ``skip`` with the reason. ``stop``
(set when the user interrupts the apply) does the same for every cluster at once. With ``limit=1``
this is exactly install order, one release after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def run_in_waves(
    order: Sequence[K],
    after: Mapping[K, set[K]],
    run: Callable[[K], bool],
    skip: Callable[[K, K | None], None],
    *,
    limit: int,
    stop: threading.Event | None = None,
) -> None:
    """Run every item of ``order`` (a topological order of ``after``) once its dependencies succeeded.

    ``run`` returns whether the item succeeded. Once one fails, ``skip(item, failed)`` is called for
    every item not yet started, naming the first failure (``None`` if an item's dependencies are not
    in ``order`` at all, which a caller's bug would cause: it is skipped rather than run early, or if
    ``stop`` was set: nothing starts after that).
    Items start in ``order`` when several are ready, so a limit of one reproduces ``order`` exactly.
    """
    done: set[K] = set()
    started: set[K] = set()
    failed: K | None = None
    with ThreadPoolExecutor(max_workers=max(1, limit), thread_name_prefix="meshcharts-release") as pool:
        running: dict[Future[bool], K] = {}
        while True:
            if failed is None and not (stop is not None and stop.is_set()):
                for item in order:
                    if len(running) >= limit:
                        break
                    if item not in started and after.get(item, set()) <= done:
                        started.add(item)
                        running[pool.submit(run, item)] = item
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                item = running.pop(future)
                if future.result():
                    done.add(item)
                elif failed is None:
                    failed = item
    for item in order:
        if item not in started:
            skip(item, failed)
