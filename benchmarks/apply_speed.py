#!/usr/bin/env python3
"""Benchmark: `meshcharts apply` against the same helm commands run by hand, on a real sandbox.

(Whole-process timings of plan, drift and the unchanged apply are in plan_speed.py, which builds on
this script's sandbox.) In one process, on a copy of the bundled example stack and a two-cluster sandbox of its own
(real API servers on 127.0.0.1, the stand-in charts as the offline chart source):

* overhead: a fresh apply of one cluster against the very helm commands apply runs (same charts,
  same values files, same flags), typed one after another as a person would; target <= 10 %;
* unchanged: a second apply with nothing changed against the first; target >= 5x faster;
* parallel: a fresh apply of both clusters against one cluster; target about 1x.

Between fresh runs every release is uninstalled. Each case runs --runs times, alternating, and the
medians are printed with their ratios. It asserts nothing.

    .venv/bin/python benchmarks/apply_speed.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import meshcharts
from meshcharts.deploy.apply import ApplyOptions, apply_project
from meshcharts.deploy.prepare import resolve_chart
from meshcharts.deploy.pull import pull_charts
from meshcharts.deploy.render import render_project
from meshcharts.deploy.sources import read_lock
from meshcharts.helm import find_helm
from meshcharts.sandbox import Sandbox, SandboxCluster

REPO = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class Bench:
    def __init__(self, work: Path) -> None:
        self.stack = work / "stack"
        self.stack.mkdir()
        shutil.copy(REPO / "meshcharts.yaml", self.stack / "meshcharts.yaml")
        shutil.copytree(REPO / "values", self.stack / "values")
        charts = work / "charts"
        subprocess.run(["python3", str(REPO / "scripts" / "standin-charts"), str(charts)], check=True, stdout=subprocess.DEVNULL)
        os.environ["MESHCHARTS_CHARTS"] = str(charts)
        self.project = meshcharts.open_project(self.stack)
        stack = self.project.stack
        clusters = [
            SandboxCluster(c.name, context=c.context, crd_groups=(*c.crds, "monitoring.coreos.com")) for c in stack.clusters.values()
        ]
        self.sandbox = Sandbox(work / "sandbox", clusters, storage_classes=("standard", "sata"))
        self.kubeconfig = str(self.sandbox.up())
        pull_charts(self.project)
        self.helm = str(find_helm())
        self.ledger = f"sqlite:///{work / 'ledger.sqlite'}"

    def apply(self, cluster: str | None) -> None:
        # one release at a time, as the hand-typed commands run: the overhead compares like with like
        options = ApplyOptions(cluster=cluster, kubeconfig=self.kubeconfig, ledger_url=self.ledger, concurrency=4, release_concurrency=1)
        result = apply_project(self.project, options)
        assert result.ok, result.as_json()

    def by_hand(self, cluster: str) -> None:
        """The helm commands apply runs for ``cluster``, one after another."""
        rendered = render_project(self.project, cluster)
        context = self.project.stack.clusters[cluster].context
        lock = read_lock(self.stack)
        for item in rendered.clusters[cluster]:
            chart = resolve_chart(self.project, item, rendered.output / cluster, lock)
            release = item.release
            assert item.files is not None
            with open(rendered.output / cluster / item.files.values_file, "rb") as values:
                subprocess.run(
                    [self.helm, "upgrade", "--install", release.name, str(chart.path), "--namespace", release.namespace,
                     "--create-namespace", "--wait", "--timeout", "5m", "--values", "-", "--output", "json",
                     "--kubeconfig", self.kubeconfig, "--kube-context", context],
                    stdin=values, check=True, stdout=subprocess.DEVNULL,
                )

    def uninstall(self) -> None:
        for cluster in self.project.stack.clusters.values():
            listing = subprocess.run(
                [self.helm, "list", "-A", "--kubeconfig", self.kubeconfig, "--kube-context", cluster.context, "-o", "json"],
                check=True, capture_output=True, text=True,
            )
            for release in json.loads(listing.stdout or "[]"):
                subprocess.run(
                    [self.helm, "uninstall", release["name"], "-n", release["namespace"], "--wait",
                     "--kubeconfig", self.kubeconfig, "--kube-context", cluster.context],
                    check=True, stdout=subprocess.DEVNULL,
                )


def report(name: str, ours: list[float], theirs: list[float], target: str, *, invert: bool = False) -> None:
    a, b = statistics.median(ours), statistics.median(theirs)
    ratio = b / a if invert else a / b
    print(f"{name:<44} {a:7.2f} s vs {b:7.2f} s   ratio {ratio:5.2f}   target {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshcharts-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            first, hand, unchanged, both = [], [], [], []
            for _ in range(args.runs):
                bench.uninstall()
                hand.append(timed(lambda: bench.by_hand("east")))
                bench.uninstall()
                first.append(timed(lambda: bench.apply("east")))
                unchanged.append(timed(lambda: bench.apply("east")))
                bench.uninstall()
                both.append(timed(lambda: bench.apply(None)))
            print(f"helm {bench.helm}; {args.runs} runs, medians")
            report("overhead: apply east vs helm by hand", first, hand, "<= 1.10")
            report("unchanged: second apply vs first (speed-up)", unchanged, first, ">= 5", invert=True)
            report("parallel: two clusters vs one", both, first, "about 1")
        finally:
            bench.sandbox.down()


if __name__ == "__main__":
    main()
