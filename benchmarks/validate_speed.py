#!/usr/bin/env python3
"""Benchmark: `meshcharts validate` against check-jsonschema on the same files and schemas.

Whole processes, as a user or pre-commit runs them, several runs each, medians and the ratio:

* one 6,000-line kube-prometheus-stack values file;
* twenty of them (twenty clusters, one values file each);
* composing 100 clusters x 6 components in-process (the API, no schema).

check-jsonschema gets the very schema meshcharts uses, bundled into one document (our schemas
reference shared definitions by $id, which it would otherwise try to download).

The values file: ../shared/reference/charts/kube-prometheus-stack/88.5.3/values.yaml when present,
else any file given with --values. Targets (from the issue): >= 2x on one file, >= 8x on twenty,
100x6 compositions under 1 s. This prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VALUES = REPO.parent / "shared" / "reference" / "charts" / "kube-prometheus-stack" / "88.5.3" / "values.yaml"
SCHEMA = "kube-prometheus-stack-88.schema.json"


def bundled_schema(target: Path) -> Path:
    """Our schema with every schema it references embedded under $defs (resolved by their $id)."""
    sys.path.insert(0, str(REPO))
    from meshcharts.schema.store import all_schemas

    schemas = all_schemas()
    document = dict(schemas[SCHEMA])
    embedded = {name: schema for name, schema in schemas.items() if name != SCHEMA and name != "stack.schema.json"}
    document["$defs"] = {**document.get("$defs", {}), **{f"bundled-{name}": schema for name, schema in embedded.items()}}
    path = target / "bundled.schema.json"
    path.write_text(json.dumps(document))
    return path


def make_stack(root: Path, values: Path, clusters: int) -> list[Path]:
    lines = ["name: bench", "clusters:"] + [f"  c{index}: {{}}" for index in range(clusters)]
    lines += ["components:", "  monitoring: {type: kube-prometheus-stack, version: 88.5.3, namespace: monitoring}"]
    (root / "meshcharts.yaml").write_text("\n".join(lines) + "\n")
    files = []
    for index in range(clusters):
        path = root / "values" / "clusters" / f"c{index}" / "monitoring.yaml"
        path.parent.mkdir(parents=True)
        shutil.copy(values, path)
        files.append(path)
    return files


def timed(command: list[str], cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        samples.append(time.perf_counter() - start)
        if process.returncode not in (0, 1):
            raise SystemExit(f"{command[0]} failed: {process.stderr[-500:]}")
    return statistics.median(samples)


def compose_many(clusters: int = 100) -> float:
    sys.path.insert(0, str(REPO))
    import meshcharts

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lines = ["name: bench", "clusters:"] + [f"  c{index}: {{env: prod, vars: {{clusterId: c-{index}}}}}" for index in range(clusters)]
        lines += [
            "components:",
            "  kiali: {type: kiali-server, version: 1.89.3}",
            "  tracing: {type: rancher-tracing, version: 100.0.0}",
            "  monitoring: {type: kube-prometheus-stack, version: 45.1.1}",
            "  istiod: {type: istiod, version: 1.13.9}",
            "  legacy-kiali: {type: rancher-kiali-server, version: 100.0.0+up1.35.0, release: legacy}",
            "  monitoring2: {type: kube-prometheus-stack, version: 88.5.3, release: m2, namespace: m2}",
        ]
        (root / "meshcharts.yaml").write_text("\n".join(lines) + "\n")
        (root / "values" / "env" / "prod").mkdir(parents=True)
        (root / "values" / "kiali.yaml").write_text("global: {cattle: {clusterId: !var clusterId}}\nauth: {strategy: token}\n")
        (root / "values" / "env" / "prod" / "kiali.yaml").write_text("deployment: {accessible_namespaces: !append [prod]}\n")
        start = time.perf_counter()
        project = meshcharts.open_project(root)
        compositions = project.compose_all()
        elapsed = time.perf_counter() - start
        assert len(compositions) == clusters * 6
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=Path, default=DEFAULT_VALUES, help="a large kube-prometheus-stack values file")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.values.is_file():
        raise SystemExit(f"no values file at {args.values}; pass --values")
    meshcharts_cmd = [sys.executable, "-m", "meshcharts", "validate"]
    checker = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    print(f"values file: {args.values} ({len(args.values.read_text().splitlines())} lines), {args.runs} runs each, medians")
    for count in (1, 20):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            files = make_stack(root, args.values, count)
            schema = bundled_schema(root)
            relative = [str(path.relative_to(root)) for path in files]
            ours = timed(meshcharts_cmd + relative, root, args.runs)
            theirs = timed([checker, "--schemafile", str(schema), *relative], root, args.runs)
            print(f"{count:>2} file(s): meshcharts {ours:6.3f}s   check-jsonschema {theirs:6.3f}s   ratio {theirs / ours:5.1f}x")
    print(f"compose 100 clusters x 6 components (in-process): {compose_many():.3f}s")


if __name__ == "__main__":
    main()
