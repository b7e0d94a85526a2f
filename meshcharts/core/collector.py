"""Keeping Python's cyclic garbage collector out of the loading and composing passes.

Loading and composing a stack allocates hundreds of thousands of dicts, lists, locations and
provenance nodes that all stay alive until the command ends. Each of the collector's passes over them
finds nothing to free, and its full passes walk every object loaded so far: with twenty 6,000-line
values files, half of ``validate``'s time after start-up went into the collector. These structures
hold no reference cycles (reference counting frees whatever a pass drops), so the passes pause the
collector; the rare cycle made meanwhile (an alias inside its own anchor, refused and dropped) waits
for the collector's next run, which follows as soon as the outermost pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then leave it as it was.

    Only the pause that turned the collector off turns it back on, so a pause inside another, or an
    application that keeps the collector off, keeps that setting.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
