"""deploy.waves without a cluster: dependencies first, independent items side by side, and after a
failure nothing new starts while what runs finishes."""

from __future__ import annotations

import threading
import time

from meshcharts.deploy.waves import run_in_waves

ORDER = ["crd", "kiali", "tracing", "extras"]
AFTER = {"crd": set(), "kiali": {"crd"}, "tracing": set(), "extras": {"kiali"}}


class Recorder:
    def __init__(self, fail: str | None = None, pause: float = 0.05) -> None:
        self.fail = fail
        self.pause = pause
        self.events: list[str] = []
        self.skipped: dict[str, str | None] = {}
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def run(self, item: str) -> bool:
        with self._lock:
            self.events.append(f"start {item}")
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.pause)
        with self._lock:
            self.running -= 1
            self.events.append(f"end {item}")
        return item != self.fail

    def skip(self, item: str, failed: str | None) -> None:
        self.skipped[item] = failed


def test_limit_one_is_install_order_exactly() -> None:
    seen = Recorder()
    run_in_waves(ORDER, AFTER, seen.run, seen.skip, limit=1)
    assert seen.events == [f"{edge} {item}" for item in ORDER for edge in ("start", "end")]
    assert seen.most == 1 and seen.skipped == {}


def test_independent_items_run_side_by_side_and_dependencies_first() -> None:
    seen = Recorder()
    run_in_waves(ORDER, AFTER, seen.run, seen.skip, limit=4)
    events = seen.events
    assert seen.most >= 2  # crd and tracing at once
    assert events.index("end crd") < events.index("start kiali") < events.index("end kiali") < events.index("start extras")
    assert events.index("start tracing") < events.index("end crd")


def test_after_a_failure_nothing_new_starts_and_the_rest_is_skipped_naming_it() -> None:
    seen = Recorder(fail="kiali")
    run_in_waves(ORDER, AFTER, seen.run, seen.skip, limit=4)
    assert "end tracing" in seen.events  # already running beside the failure: it finishes
    assert seen.skipped == {"extras": "kiali"}
    sequential = Recorder(fail="kiali")
    run_in_waves(ORDER, AFTER, sequential.run, sequential.skip, limit=1)
    assert sequential.skipped == {"tracing": "kiali", "extras": "kiali"}


def test_an_item_whose_dependency_is_not_in_the_order_is_skipped_not_run() -> None:
    seen = Recorder()
    run_in_waves(["a", "b"], {"a": set(), "b": {"missing"}}, seen.run, seen.skip, limit=2)
    assert seen.events == ["start a", "end a"] and seen.skipped == {"b": None}


def test_a_stop_starts_nothing_more_and_lets_what_runs_finish() -> None:
    stop = threading.Event()
    recorder = Recorder(pause=0.05)

    def run(item: str) -> bool:
        if item == "kiali":
            stop.set()  # the user presses Ctrl-C while kiali runs
        return recorder.run(item)

    run_in_waves(ORDER, AFTER, run, recorder.skip, limit=1, stop=stop)
    assert recorder.events == ["start crd", "end crd", "start kiali", "end kiali"]
    assert recorder.skipped == {"tracing": None, "extras": None}
