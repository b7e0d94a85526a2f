#!/usr/bin/env python3
"""Benchmark: the push path's ceiling on this machine: `meshcharts apply` to 2, 4 and 8 sandbox clusters.

A copy of the bundled example stack whose clusters are repeated to N (each a copy of `east`, with its
own name, context and layer files), on a sandbox of N real API servers on 127.0.0.1 with the stand-in
charts. Per N and per `--concurrency` C, a fresh apply (every release uninstalled first) is one whole
`meshcharts apply --yes` process; its wall time and the wall time per cluster are printed. Nothing
is asserted.

    .venv/bin/python benchmarks/apply_scale.py --clusters 2,4,8 --concurrency 1,2,4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import meshcharts
from meshcharts.deploy.pull import pull_charts
from meshcharts.helm import find_helm
from meshcharts.sandbox import Sandbox, SandboxCluster

REPO = Path(__file__).resolve().parent.parent


def stack_with(clusters: int, folder: Path) -> Path:
    """The example stack with ``clusters`` copies of its cluster ``east`` (c1, c2, ...)."""
    shutil.copytree(REPO / "values", folder / "values", ignore=shutil.ignore_patterns("clusters"))
    text = (REPO / "meshcharts.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("clusters:\n")
    body, _, tail = rest.partition("components:\n")
    east = re.search(r"^  east:\n((?:    .*\n)+)", body, re.M)
    assert east is not None, "the example's cluster east"
    copies = "".join(f"  c{index}:\n" + east.group(1).replace("context: rancher-east", f"context: c{index}") for index in range(1, clusters + 1))
    (folder / "meshcharts.yaml").write_text(head + "clusters:\n" + copies + "components:\n" + tail, encoding="utf-8")
    for index in range(1, clusters + 1):
        shutil.copytree(REPO / "values" / "clusters" / "east", folder / "values" / "clusters" / f"c{index}")
    return folder


def uninstall(helm: str, contexts: list[str]) -> None:
    def one(context: str) -> None:
        listing = subprocess.run([helm, "list", "-A", "--kube-context", context, "-o", "json"], check=True, capture_output=True, text=True)
        for release in json.loads(listing.stdout or "[]"):
            subprocess.run([helm, "uninstall", release["name"], "-n", release["namespace"], "--wait", "--kube-context", context], check=True, stdout=subprocess.DEVNULL)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, contexts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", default="2,4,8")
    parser.add_argument("--concurrency", default="1,2,4")
    args = parser.parse_args()
    sizes = [int(item) for item in args.clusters.split(",")]
    levels = [int(item) for item in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="meshcharts-scale-") as scratch:
        work = Path(scratch)
        charts = work / "charts"
        subprocess.run([sys.executable, str(REPO / "scripts" / "standin-charts"), str(charts)], check=True, stdout=subprocess.DEVNULL)
        os.environ["MESHCHARTS_CHARTS"] = str(charts)
        largest = stack_with(max(sizes), work / "stack")
        project = meshcharts.open_project(largest)
        clusters = [SandboxCluster(c.name, context=c.context, crd_groups=(*c.crds, "monitoring.coreos.com")) for c in project.stack.clusters.values()]
        sandbox = Sandbox(work / "sandbox", clusters, storage_classes=("standard", "sata"), nodes=1)
        os.environ["KUBECONFIG"] = str(sandbox.up())
        helm = str(find_helm())
        try:
            pull_charts(project)
            print(f"helm {helm}; one fresh apply per cell, whole processes")
            print(f"{'clusters':>8} {'concurrency':>11} {'wall':>8} {'per cluster':>12}")
            for size in sizes:
                stack = stack_with(size, work / f"stack-{size}")
                shutil.copy(largest / "meshcharts.lock", stack / "meshcharts.lock")
                for level in levels:
                    uninstall(helm, [f"c{index}" for index in range(1, size + 1)])
                    started = time.perf_counter()
                    run = subprocess.run([sys.executable, "-m", "meshcharts", "apply", "--yes", "--concurrency", str(level)], cwd=stack,
                                         capture_output=True, text=True, check=False)
                    wall = time.perf_counter() - started
                    state = "" if run.returncode == 0 else f"  (exit {run.returncode}: {run.stdout.strip().splitlines()[-1:] or run.stderr.strip()[-200:]})"
                    print(f"{size:>8} {level:>11} {wall:>7.1f}s {wall / size:>11.2f}s{state}", flush=True)
        finally:
            sandbox.down()


if __name__ == "__main__":
    main()
