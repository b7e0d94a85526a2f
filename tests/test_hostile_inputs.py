"""The hostile-input table: small variations of a stack, each run as the CLI runs, none of them a crash.

Every case writes a few files over a base stack in ``tmp_path`` (the minimal stack, the bundled example,
a kube-prometheus-stack cluster or an istio-addons one) and runs ``validate``, ``explain`` and ``render``
through click with ``catch_exceptions=False``, so an exception is a failed test rather than a line on
stderr. Each run must exit with the code the case names (never 3, never "internal error", never a
traceback), and where the input has a position, a line of the output must start with that
``file:line:col``.

The table is built from four families: YAML the loader must refuse (or accept), the stack file with
every key wrongly typed, values wrongly typed at every key the wiring reads for each component type (the
wiring must read only what the schema accepted), and odd command lines.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from meshcharts.cli import main
from tests.conftest import MINIMAL_STACK, REPO_ROOT

ADDONS_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"

KPS_STACK = """\
name: lab
clusters:
  east: {kubernetes: "1.23", vars: {port: 9090, text: abc, items: [1], table: {a: 1}}}   # istiod 1.13 predates 1.25
components:
  monitoring: {type: kube-prometheus-stack, version: 45.1.1, release: prom, namespace: monitoring}
  kiali: {type: kiali-server, version: 1.89.3}
  tracing: {type: rancher-tracing, version: 100.0.0}
  istiod: {type: istiod, version: 1.13.9}
  extras: {type: mesh-extras}
"""

ADDONS_STACK = """\
name: lab
clusters:
  east: {}
components:
  addons: {type: istio-addons, version: 1.0.0, source: istio-1.99.0}
"""

KIALI2_STACK = MINIMAL_STACK.replace("version: 1.89.3", "version: 2.29.0")


def _base(name: str, root: Path) -> None:
    """Lay out a base stack in ``root``."""
    if name == "example":
        shutil.copy(REPO_ROOT / "meshcharts.yaml", root / "meshcharts.yaml")
        shutil.copytree(REPO_ROOT / "values", root / "values")
        return
    if name == "addons":
        shutil.copytree(ADDONS_FIXTURE, root / "istio-1.99.0")
    text = {"minimal": MINIMAL_STACK, "kps": KPS_STACK, "kps88": KPS_STACK.replace("45.1.1", "88.5.3"), "addons": ADDONS_STACK, "kiali2": KIALI2_STACK}[name]
    (root / "meshcharts.yaml").write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One hostile input: files written over a base stack, and what each command must answer."""

    name: str
    files: Mapping[str, str | bytes]
    code: int  # validate's exit code, and render's
    where: str | None = None  # file:line:col a line of validate's output starts with
    base: str = "minimal"
    explain: tuple[str, str] = ("east", "kiali")
    explain_code: int | None = None  # default: 2 for a broken stack (code 2), else 0
    runs: Sequence[tuple[tuple[str, ...], int]] = field(default_factory=tuple)  # CLI-level: just these


# --- YAML the loader refuses (or accepts): values/kiali.yaml on the minimal stack -------------------


def _yaml(name: str, content: str | bytes, code: int = 1, where: str | None = None, *, broken: bool = True) -> Case:
    return Case(f"yaml-{name}", {"values/kiali.yaml": content}, code, where, explain_code=2 if broken else 0)


def _alias_bomb() -> str:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        previous, current = chr(96 + index), chr(97 + index)
        levels.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(levels) + "\n"


FREE = "deployment:\n  pod_annotations:\n    note: "  # a free-form key: the schema says string
YAML_CASES = [
    _yaml("tab", "auth:\n\tstrategy: token\n", where="values/kiali.yaml:2:1"),
    _yaml("unclosed-flow", "auth: [token\n", where="values/kiali.yaml:2:1"),
    _yaml("unclosed-quote", 'auth:\n  strategy: "token\n', where="values/kiali.yaml:3:1"),
    _yaml("bad-indent", "auth:\n  strategy: token\n strategy: x\n", where="values/kiali.yaml:3:2"),
    _yaml("bom-valid", b"\xef\xbb\xbfauth:\n  strategy: token\n", 0, broken=False),
    _yaml("bom-unknown-key", b"\xef\xbb\xbfauth:\n  strategi: token\n", 1, "values/kiali.yaml:2:3", broken=False),
    _yaml("crlf", "auth:\r\n  strategy: token\r\n", 0, broken=False),
    _yaml("duplicate-key", "auth:\n  strategy: token\n  strategy: anonymous\n", where="values/kiali.yaml:3:3"),
    _yaml("duplicate-top-key", "auth: {}\nauth: {}\n", where="values/kiali.yaml:2:1"),
    _yaml("duplicate-after-merge", "base: &b {strategy: token}\nauth:\n  <<: *b\n  strategy: token\n  strategy: x\n", where="values/kiali.yaml:5:3"),
    _yaml("anchor-alias-ok", "deployment:\n  pod_labels: &l {team: mesh}\n  pod_annotations: *l\n", 0, broken=False),
    _yaml("merge-key-ok", "x: &x {strategy: token}\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("merge-scalar", "a: &x 1\nauth:\n  <<: *x\n", where="values/kiali.yaml:3:3"),
    _yaml("alias-bomb", _alias_bomb(), where="values/kiali.yaml:"),
    _yaml("recursive-list", "deployment:\n  pod_labels: &x [*x]\n", where="values/kiali.yaml:2:15"),
    _yaml("recursive-map", "deployment:\n  pod_labels: &x {a: *x}\n", where="values/kiali.yaml:2:15"),
    _yaml("nan", FREE + ".nan\n", where="values/kiali.yaml:3:11"),
    _yaml("inf", FREE + ".inf\n", where="values/kiali.yaml:3:11"),
    _yaml("minus-inf", "deployment:\n  replicas: -.Inf\n", where="values/kiali.yaml:2:13"),
    _yaml("huge-int-free", FREE + "1" + "0" * 400 + "\n", 1, "values/kiali.yaml:3:11", broken=False),
    _yaml("huge-int-replicas", "deployment:\n  replicas: 1" + "0" * 400 + "\n", 0, broken=False),
    _yaml("int-too-long", "deployment:\n  replicas: 1" + "0" * 5000 + "\n", where="values/kiali.yaml:2:13"),
    _yaml("explicit-int-bad", "deployment:\n  replicas: !!int many\n", where="values/kiali.yaml:2:13"),
    _yaml("explicit-bool-bad", "auth:\n  strategy: !!bool maybe\n", where="values/kiali.yaml:2:13"),
    _yaml("explicit-str-on-map", "auth: !!str {strategy: token}\n", where="values/kiali.yaml:1:7"),
    _yaml("explicit-str-ok", "auth:\n  strategy: !!str token\n", 0, broken=False),
    _yaml("binary-garbage", bytes(range(256)), where="values/kiali.yaml:"),
    _yaml("latin-1", "auth:\n  strategy: t\xe4st\n".encode("latin-1"), where="values/kiali.yaml:2:14"),
    _yaml("utf-16", "auth: {}\n".encode("utf-16"), where="values/kiali.yaml:1:1"),
    _yaml("nul-byte", b"auth:\n  strategy: \x00\n", where="values/kiali.yaml:2:13"),
    _yaml("bell-char", b"auth:\n  strategy: a\x07b\n", where="values/kiali.yaml:2:14"),
    _yaml("empty", "", where="values/kiali.yaml:1:1"),
    _yaml("whitespace-only", "  \n\n", where="values/kiali.yaml:1:1"),
    _yaml("comments-only", "# nothing set here yet\n", 0, broken=False),
    _yaml("two-documents", "auth: {}\n---\nserver: {}\n", where="values/kiali.yaml:3:1"),
    _yaml("list-at-top", "- auth\n", where="values/kiali.yaml:1:1"),
    _yaml("scalar-at-top", "just text\n", where="values/kiali.yaml:1:1"),
    _yaml("unknown-local-tag", "auth:\n  strategy: !secret x\n", where="values/kiali.yaml:2:13"),
    _yaml("python-object", "auth: !!python/object:os.system {}\n", where="values/kiali.yaml:1:7"),
    _yaml("python-tuple", "auth: !!python/tuple [1]\n", where="values/kiali.yaml:1:7"),
    _yaml("python-name", "auth: !!python/name:os.system\n", where="values/kiali.yaml:1:7"),
    _yaml("percent-tag-map", "%TAG !e! tag:example.com,2000:\n---\nauth: !e!thing {strategy: token}\n", where="values/kiali.yaml:3:7"),
    _yaml("percent-tag-scalar", "%TAG !e! tag:example.com,2000:\n---\nauth:\n  strategy: !e!thing token\n", where="values/kiali.yaml:4:13"),
    _yaml("verbatim-tag", "auth: !<tag:example.com,2000:x> {strategy: token}\n", where="values/kiali.yaml:1:7"),
    _yaml("set-tag", "auth: !!set {a, b}\n", where="values/kiali.yaml:1:7"),
    _yaml("omap-tag", "auth: !!omap [a: 1]\n", where="values/kiali.yaml:1:7"),
    _yaml("complex-key", "? [a]\n: b\n", where="values/kiali.yaml:1:3"),
    _yaml("null-key", "~: b\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("int-key", "1: b\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("bool-key", "yes: b\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("unicode-key", "ключ: 1\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("dotted-key", "auth.strategy: token\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("deep-flow-map", FREE + "{a: " * 150 + "1" + "}" * 150 + "\n", where="values/kiali.yaml:3:"),
    _yaml("deep-flow-list", FREE + "[" * 300 + "]" * 300 + "\n", where="values/kiali.yaml:3:"),
    _yaml("deep-block", "deployment:\n  pod_annotations:\n" + "".join("  " * (level + 2) + f"k{level}:\n" for level in range(120)), where="values/kiali.yaml:"),
    _yaml("deeper-than-libyaml", FREE + "[" * 1200 + "]" * 1200 + "\n", where="values/kiali.yaml:3:"),
    _yaml("nested-99-ok", FREE + "[" * 96 + "]" * 96 + "\n", 1, "values/kiali.yaml:3:11", broken=False),
    _yaml("long-string", FREE + "x" * 200_000 + "\n", 0, broken=False),
    _yaml("yaml-1-1-bool", "external_services:\n  tracing:\n    use_grpc: no\n", 0, broken=False),
    _yaml("timestamp-value", FREE + "2024-01-01\n", 0, broken=False),
    _yaml("binary-value", FREE + "!!binary aGVsbG8=\n", 0, broken=False),
    _yaml("misspelt-key-null", "deploymnet: null\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("misspelt-nested-key-null", "auth:\n  strategi: ~\n", 1, "values/kiali.yaml:2:3", broken=False),
    _yaml("null-key-null", "~: null\n", 1, "values/kiali.yaml:1:1", broken=False),
    _yaml("known-key-null", "deployment:\n  resources: null\n", 0, broken=False),
    _yaml("null-under-free-form", "deployment:\n  pod_annotations: {a: null}\n", 0, broken=False),
    _yaml("null-in-a-list", "deployment:\n  accessible_namespaces: [null]\n", 1, "values/kiali.yaml:2:27", broken=False),
]


# --- the stack file: every key wrongly typed, plus what a schema cannot say ---------------------------


def _stack(name: str, text: str, code: int = 2, where: str | None = None, *, base: str = "minimal", **extra: object) -> Case:
    return Case(f"stack-{name}", {"meshcharts.yaml": text}, code, where, base=base, **extra)  # type: ignore[arg-type]


M = MINIMAL_STACK
KIALI = "    type: kiali-server\n"
PROM = "url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090"
STACK_CASES = [
    _stack("empty", "", where="meshcharts.yaml:1:1"),
    _stack("list", "- a\n", where="meshcharts.yaml:1:1"),
    _stack("scalar", "mesh\n", where="meshcharts.yaml:1:1"),
    _stack("tab", M.replace("  east:\n", "\teast:\n"), where="meshcharts.yaml:3:1"),
    _stack("not-utf8", M.encode().replace(b"name: demo", b"name: d\xe9mo"), where="meshcharts.yaml:1:8"),  # type: ignore[arg-type]
    _stack("bom", "\ufeff" + M, 0),
    _stack("alias-bomb", M + _alias_bomb().replace("a:", "x-a:", 1), where="meshcharts.yaml:"),
    _stack("name-int", M.replace("name: demo", "name: 5"), where="meshcharts.yaml:1:7"),
    _stack("name-pattern", M.replace("name: demo", "name: Demo_1"), where="meshcharts.yaml:1:7"),
    _stack("name-long", M.replace("name: demo", "name: " + "a" * 100), where="meshcharts.yaml:1:7"),
    _stack("name-missing", M.replace("name: demo\n", ""), where="meshcharts.yaml:1:1"),
    _stack("name-null", M.replace("name: demo", "name:"), where="meshcharts.yaml:1:6"),
    _stack("misspelt-top-key-null", M + "externl:\n", where="meshcharts.yaml:17:1"),
    _stack("misspelt-top-key", M + "componets: {}\n", where="meshcharts.yaml:17:1"),
    _stack("duplicate-top-key", M + "name: other\n", where="meshcharts.yaml:17:1"),
    _stack("clusters-empty", M.replace("clusters:\n  east:\n    vars: {clusterId: c-east}\n  west:\n    vars: {clusterId: c-west}\n", "clusters: {}\n"), where="meshcharts.yaml:2:11"),
    _stack("clusters-list", M.replace("clusters:\n  east:\n    vars: {clusterId: c-east}\n  west:\n    vars: {clusterId: c-west}\n", "clusters: [east]\n"), where="meshcharts.yaml:2:11"),
    _stack("cluster-null", M.replace("  west:\n    vars: {clusterId: c-west}\n", "  west:\n"), where="meshcharts.yaml:5:8"),
    _stack("cluster-name-upper", M.replace("  west:", "  West:"), where="meshcharts.yaml:5:3"),
    _stack("cluster-name-unicode", M.replace("  west:", "  wëst:"), where="meshcharts.yaml:5:3"),
    _stack("cluster-unknown-key", M.replace("    vars: {clusterId: c-west}", "    contxt: west"), where="meshcharts.yaml:6:5"),
    _stack("context-int", M.replace("    vars: {clusterId: c-west}", "    context: 5"), where="meshcharts.yaml:6:14"),
    _stack("context-empty", M.replace("    vars: {clusterId: c-west}", "    context: ''"), where="meshcharts.yaml:6:14"),
    _stack("kubeconfig-list", M.replace("    vars: {clusterId: c-west}", "    kubeconfig: [a]"), where="meshcharts.yaml:6:17"),
    _stack("env-int", M.replace("    vars: {clusterId: c-west}", "    env: 5"), where="meshcharts.yaml:6:10"),
    _stack("env-pattern", M.replace("    vars: {clusterId: c-west}", "    env: Prod"), where="meshcharts.yaml:6:10"),
    _stack("labels-list", M.replace("    vars: {clusterId: c-west}", "    labels: [a]"), where="meshcharts.yaml:6:13"),
    _stack("labels-nested", M.replace("    vars: {clusterId: c-west}", "    labels: {a: {b: c}}"), where="meshcharts.yaml:6:17"),
    _stack("vars-list", M.replace("    vars: {clusterId: c-west}", "    vars: [a]"), where="meshcharts.yaml:6:11"),
    _stack("vars-nan", M.replace("    vars: {clusterId: c-west}", "    vars: {x: .nan}"), where="meshcharts.yaml:6:15"),
    _stack("vars-too-deep", M.replace("    vars: {clusterId: c-west}", "    vars: {x: " + "[" * 100 + "]" * 100 + "}"), where="meshcharts.yaml:6:"),
    _stack("crds-string", M.replace("    vars: {clusterId: c-west}", "    crds: ui.cattle.io"), where="meshcharts.yaml:6:11"),
    _stack("crds-pattern", M.replace("    vars: {clusterId: c-west}", "    crds: [NavLink]"), where="meshcharts.yaml:6:12"),
    _stack("crds-duplicate", M.replace("    vars: {clusterId: c-west}", "    crds: [ui.cattle.io, ui.cattle.io]"), where="meshcharts.yaml:6:11"),
    _stack("components-empty", M.split("components:")[0] + "components: {}\n", where="meshcharts.yaml:7:13"),
    _stack("components-list", M.split("components:")[0] + "components: [kiali]\n", where="meshcharts.yaml:7:13"),
    _stack("component-null", M.replace("  tracing:\n    type: rancher-tracing\n    version: 100.0.0\n", "  tracing:\n"), where="meshcharts.yaml:11:11"),
    _stack("component-name-upper", M.replace("  kiali:\n", "  Kiali:\n"), where="meshcharts.yaml:8:3"),
    _stack("component-unknown-key", M.replace(KIALI, KIALI + "    namespce: istio-system\n"), where="meshcharts.yaml:10:5"),
    _stack("type-missing", M.replace(KIALI, ""), where="meshcharts.yaml:9:5"),
    _stack("type-int", M.replace("type: kiali-server", "type: 5"), where="meshcharts.yaml:9:11"),
    _stack("type-list", M.replace("type: kiali-server", "type: [kiali-server]"), where="meshcharts.yaml:9:11"),
    _stack("type-unknown", M.replace("type: kiali-server", "type: kiali-servr"), where="meshcharts.yaml:9:11"),
    _stack("version-missing", M.replace("    version: 1.89.3\n", ""), where="meshcharts.yaml:8:3"),
    _stack("version-int", M.replace("version: 1.89.3", "version: 1"), where="meshcharts.yaml:10:14"),
    _stack("version-float", M.replace("version: 1.89.3", "version: 1.89"), where="meshcharts.yaml:10:14"),
    _stack("version-latest", M.replace("version: 1.89.3", "version: latest"), where="meshcharts.yaml:10:14"),
    _stack("version-map", M.replace("version: 1.89.3", "version: {major: 1}"), where="meshcharts.yaml:10:14"),
    _stack("version-empty", M.replace("version: 1.89.3", "version: ''"), where="meshcharts.yaml:10:14"),
    _stack("version-unknown-line", M.replace("version: 1.89.3", "version: 99999999999999999999.0.0"), 0),
    _stack("namespace-pattern", M.replace(KIALI, KIALI + "    namespace: Istio_System\n"), where="meshcharts.yaml:10:16"),
    _stack("release-int", M.replace(KIALI, KIALI + "    release: 5\n"), where="meshcharts.yaml:10:14"),
    _stack("repo-empty", M.replace(KIALI, KIALI + "    repo: ''\n"), where="meshcharts.yaml:10:11"),
    _stack("chart-list", M.replace(KIALI, KIALI + "    chart: [a]\n"), where="meshcharts.yaml:10:12"),
    _stack("clusters-string", M.replace(KIALI, KIALI + "    clusters: east\n"), where="meshcharts.yaml:10:15"),
    _stack("clusters-none", M.replace(KIALI, KIALI + "    clusters: []\n"), 0, explain_code=2),
    _stack("clusters-unknown", M.replace(KIALI, KIALI + "    clusters: [eats]\n"), where="meshcharts.yaml:10:16"),
    _stack("clusters-duplicate", M.replace(KIALI, KIALI + "    clusters: [east, east]\n"), where="meshcharts.yaml:10:15"),
    _stack("needs-string", M.replace(KIALI, KIALI + "    needs: tracing\n"), where="meshcharts.yaml:10:12"),
    _stack("needs-unknown", M.replace(KIALI, KIALI + "    needs: [tracng]\n"), where="meshcharts.yaml:10:13"),
    _stack("needs-itself", M.replace(KIALI, KIALI + "    needs: [kiali]\n"), where="meshcharts.yaml:10:13"),
    _stack("needs-cycle", M.replace(KIALI, KIALI + "    needs: [tracing]\n").replace("    type: rancher-tracing\n", "    type: rancher-tracing\n    needs: [kiali]\n"), where="meshcharts.yaml:10:13"),
    _stack("source-empty", M.replace(KIALI, KIALI + "    source: ''\n"), where="meshcharts.yaml:10:13"),
    _stack("external-null", M.replace("external:\n  prometheus:\n    " + PROM + "\n", "external:\n  prometheus:\n"), where="meshcharts.yaml:15:14"),
    # every top-level key given the wrong kind of value: an empty list must not pass as an empty mapping
    _stack("external-list", M.replace("external:\n  prometheus:\n    " + PROM + "\n", "external: []\n"), where="meshcharts.yaml:14:11"),
    _stack("external-list-of-entries", M.replace("external:\n  prometheus:\n    " + PROM + "\n", "external:\n  - prometheus\n"), where="meshcharts.yaml:15:3"),
    _stack("external-top-null", M.replace("external:\n  prometheus:\n    " + PROM + "\n", "external:\n"), where="meshcharts.yaml:14:10"),
    _stack("external-string", M.replace("external:\n  prometheus:\n    " + PROM + "\n", "external: prometheus\n"), where="meshcharts.yaml:14:11"),
    _stack("clusters-null", M.replace("clusters:\n  east:\n    vars: {clusterId: c-east}\n  west:\n    vars: {clusterId: c-west}\n", "clusters:\n"), where="meshcharts.yaml:2:10"),
    _stack("components-null", M.split("components:")[0] + "components:\n", where="meshcharts.yaml:7:12"),
    _stack("name-list", M.replace("name: demo", "name: [demo]"), where="meshcharts.yaml:1:7"),
    _stack("ledger-list", M + "ledger: [a.sqlite]\n", where="meshcharts.yaml:17:9"),
    _stack("ledger-map", M + "ledger: {}\n", where="meshcharts.yaml:17:9"),
    _stack("charts-map", M + "charts: {}\n", where="meshcharts.yaml:17:9"),
    _stack("charts-string", M + "charts: ./offline\n", where="meshcharts.yaml:17:9"),
    _stack("external-url-missing", M.replace("    " + PROM + "\n", "    provides: prometheus\n"), where="meshcharts.yaml:16:5"),
    _stack("external-url-int", M.replace(PROM, "url: 9090"), where="meshcharts.yaml:16:10"),
    _stack("external-url-ftp", M.replace(PROM, "url: ftp://prometheus:9090"), where="meshcharts.yaml:16:10"),
    _stack("external-url-no-host", M.replace(PROM, "url: 'http://'"), where="meshcharts.yaml:16:10"),
    _stack("external-url-ipv6", M.replace(PROM, "url: 'http://[::1'"), where="meshcharts.yaml:16:10"),
    _stack("external-url-port-range", M.replace(":9090", ":99999"), where="meshcharts.yaml:16:10"),
    _stack("external-url-port-text", M.replace(":9090", ":http"), where="meshcharts.yaml:16:10"),
    _stack("external-url-port-zero", M.replace(":9090", ":0"), where="meshcharts.yaml:16:10"),
    _stack("external-public-url-no-host", M + "    publicUrl: 'https://'\n", where="meshcharts.yaml:17:16"),
    _stack("external-provides-unknown", M + "    provides: loki\n", where="meshcharts.yaml:17:15"),
    _stack("external-role-unknown", M + "  loki: {url: 'http://loki:3100'}\n", where="meshcharts.yaml:17:3"),
    _stack("external-target-port-text", M + "    targetPort: web\n", where="meshcharts.yaml:17:17"),
    _stack("external-target-port-zero", M + "    targetPort: 0\n", where="meshcharts.yaml:17:17"),
    _stack("external-grpc-text", M + "    grpc: sometimes\n", where="meshcharts.yaml:17:11"),
    _stack("external-monitors-list", M + "    monitors: [operator]\n", where="meshcharts.yaml:17:15"),
    _stack("external-monitors-mode", M + "    monitors: {mode: magic}\n", where="meshcharts.yaml:17:22"),
    _stack("external-monitors-labels", M + "    monitors: {mode: operator, labels: {release: 5}}\n", where="meshcharts.yaml:17:50"),
    _stack("external-dashboards-list", M + "    grafanaDashboards: [a]\n", where="meshcharts.yaml:17:24"),
    _stack("external-clusters-none", M + "    clusters: []\n", 1, "meshcharts.yaml:8:3"),
    _stack("external-clusters-unknown", M + "    clusters: [wets]\n", where="meshcharts.yaml:17:16"),
    _stack("var-tag", M.replace("name: demo", "name: !var name"), where="meshcharts.yaml:1:7"),
    _stack("env-tag", M.replace("version: 1.89.3", "version: !env KIALI_VERSION"), where="meshcharts.yaml:10:14"),
    _stack("append-tag", M.replace(KIALI, KIALI + "    needs: !append [tracing]\n"), where="meshcharts.yaml:10:12"),
    _stack("var-refers-to-itself", M.replace("vars: {clusterId: c-east}", "vars: {clusterId: !var clusterId}"), where="meshcharts.yaml:4:23"),
    _stack("python-tag", M + "x: !!python/object:os.system {}\n", where="meshcharts.yaml:17:4"),
]


# --- values wrongly typed at every key the wiring reads, per component type ---------------------------

#: (base stack, component, cluster to explain, dotted key, the type the chart wants)
WIRED_KEYS: list[tuple[str, str, str, str, str]] = [
    ("minimal", "kiali", "east", "deployment", "object"),
    ("minimal", "kiali", "east", "deployment.image_version", "string"),
    ("minimal", "kiali", "east", "deployment.instance_name", "string"),
    ("minimal", "kiali", "east", "fullnameOverride", "string"),
    ("minimal", "kiali", "east", "server", "object"),
    ("minimal", "kiali", "east", "server.port", "integer"),
    ("minimal", "kiali", "east", "server.web_root", "string"),
    ("minimal", "kiali", "east", "external_services", "object"),
    ("minimal", "kiali", "east", "external_services.prometheus", "object"),
    ("minimal", "kiali", "east", "external_services.prometheus.url", "string"),
    ("minimal", "kiali", "east", "external_services.grafana.in_cluster_url", "string"),
    ("minimal", "kiali", "east", "external_services.tracing", "object"),
    ("minimal", "kiali", "east", "external_services.tracing.in_cluster_url", "string"),
    ("minimal", "kiali", "east", "external_services.tracing.use_grpc", "boolean"),
    ("minimal", "kiali", "east", "external_services.tracing.enabled", "boolean"),
    ("kiali2", "kiali", "east", "external_services.tracing.internal_url", "string"),
    ("kiali2", "kiali", "east", "external_services.grafana.internal_url", "string"),
    ("kiali2", "kiali", "east", "deployment.image_version", "string"),
    ("minimal", "tracing", "east", "service", "object"),
    ("minimal", "tracing", "east", "service.externalPort", "integer"),
    ("minimal", "tracing", "east", "zipkin", "object"),
    ("minimal", "tracing", "east", "zipkin.queryPort", "integer"),
    ("minimal", "tracing", "east", "contextPath", "string"),
    ("example", "kiali", "east", "deployment.tag", "string"),
    ("example", "kiali", "east", "deployment.repository", "string"),
    ("example", "kiali", "east", "server.web_root", "string"),
    ("example", "extras", "east", "monitors", "object"),
    ("example", "extras", "east", "monitors.enabled", "boolean"),
    ("example", "extras", "east", "monitors.labels", "object"),
    ("example", "extras", "east", "monitors.envoy", "object"),
    ("example", "extras", "east", "networkPolicies", "object"),
    ("example", "extras", "east", "networkPolicies.kiali", "object"),
    ("example", "extras", "east", "networkPolicies.kiali.podSelector", "object"),
    ("example", "extras", "east", "dashboards", "object"),
    ("example", "extras", "east", "dashboards.items", "object"),
    ("example", "extras", "east", "dashboards.grafanaCom", "object"),
    ("example", "extras", "east", "dashboards.grafanaCom.revisions", "object"),
    ("example", "extras", "east", "exposure", "object"),
    ("example", "extras", "east", "scrapeConfigs.enabled", "boolean"),
    ("kps", "monitoring", "east", "prometheus", "object"),
    ("kps", "monitoring", "east", "prometheus.enabled", "boolean"),
    ("kps", "monitoring", "east", "prometheus.service.port", "integer"),
    ("kps", "monitoring", "east", "prometheus.prometheusSpec", "object"),
    ("kps", "monitoring", "east", "prometheus.prometheusSpec.routePrefix", "string"),
    ("kps", "monitoring", "east", "prometheus.prometheusSpec.serviceMonitorSelector", "object"),
    ("kps", "monitoring", "east", "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues", "boolean"),
    ("kps", "monitoring", "east", "prometheusOperator.tls.enabled", "boolean"),
    ("kps", "monitoring", "east", "alertmanager.enabled", "boolean"),
    ("kps", "monitoring", "east", "grafana", "object"),
    ("kps", "monitoring", "east", "grafana.service.port", "integer"),
    ("kps", "monitoring", "east", "grafana.sidecar.dashboards.label", "string"),
    ("kps", "monitoring", "east", "namespaceOverride", "string"),
    ("kps", "monitoring", "east", "fullnameOverride", "string"),
    ("kps88", "monitoring", "east", "crds", "object"),
    ("kps88", "monitoring", "east", "crds.enabled", "boolean"),
    ("kps88", "monitoring", "east", "prometheus.service.port", "integer"),
    ("kps88", "monitoring", "east", "grafana.sidecar.dashboards.label", "string"),
    ("kps", "istiod", "east", "revision", "string"),
    ("kps", "istiod", "east", "meshConfig", "object"),
    ("kps", "istiod", "east", "meshConfig.defaultConfig.tracing.zipkin.address", "string"),
    ("addons", "addons", "east", "namespace", "string"),
    ("addons", "addons", "east", "kiali", "object"),
    ("addons", "addons", "east", "kiali.enabled", "boolean"),
    ("addons", "addons", "east", "prometheusOperatorMonitors.enabled", "boolean"),
]

#: values of the wrong type for each type: a string for numbers, numbers for strings, lists and maps
#: for anything, and the ``!env`` placeholder, which is text
WRONG: dict[str, tuple[str, ...]] = {
    "object": ("abc", "[1]", "5", "!env SECRET"),
    "string": ("[1]", "{a: 1}", "5"),
    "integer": ("abc", "1.5e3", "[1]", "!env PORT"),
    "boolean": ("maybe", "[1]", "{a: 1}"),
}


def _nested(dotted: str, value: str) -> tuple[str, str]:
    """A values file setting ``dotted`` to ``value`` and the line:col of the value."""
    parts = dotted.split(".")
    text = "".join("  " * depth + f"{part}:\n" for depth, part in enumerate(parts[:-1]))
    text += "  " * (len(parts) - 1) + f"{parts[-1]}: {value}\n"
    return text, f"{len(parts)}:{2 * (len(parts) - 1) + len(parts[-1]) + 3}"


def _wired_cases() -> list[Case]:
    cases = []
    for base, component, cluster, dotted, wanted in WIRED_KEYS:
        for value in WRONG[wanted]:
            text, position = _nested(dotted, value)
            cases.append(
                Case(f"values-{base}-{component}-{dotted}={value}", {f"values/{component}.yaml": text}, 1, f"values/{component}.yaml:{position}", base=base, explain=(cluster, component))
            )
    return cases


# --- !var, !env and !append where they do not fit ---------------------------------------------------

TAG_CASES = [
    Case("tag-var-unknown", {"values/kiali.yaml": "auth:\n  strategy: !var strategy\n"}, 1, "values/kiali.yaml:2:13"),
    Case("tag-var-typo", {"values/kiali.yaml": "deployment:\n  pod_labels: {cluster: !var clusterID}\n"}, 1, "values/kiali.yaml:2:25"),
    Case("tag-var-on-map", {"values/kiali.yaml": "auth: !var {a: 1}\n"}, 1, "values/kiali.yaml:1:7", explain_code=2),
    Case("tag-var-empty", {"values/kiali.yaml": "auth:\n  strategy: !var ''\n"}, 1, "values/kiali.yaml:2:13", explain_code=2),
    Case("tag-var-as-key", {"values/kiali.yaml": "!var clusterId: 1\n"}, 1, "values/kiali.yaml:1:1", explain_code=2),
    Case("tag-var-top", {"values/kiali.yaml": "!var clusterId\n"}, 1, "values/kiali.yaml:1:1", explain_code=2),
    Case("tag-var-list-for-map", {"values/tracing.yaml": "service: !var items\n"}, 1, "values/tracing.yaml:1:10", base="kps", explain=("east", "tracing")),
    Case("tag-var-text-for-port", {"values/tracing.yaml": "service:\n  externalPort: !var text\n"}, 1, "values/tracing.yaml:2:17", base="kps", explain=("east", "tracing")),
    Case("tag-var-map-for-url", {"values/kiali.yaml": "external_services:\n  prometheus:\n    url: !var table\n"}, 1, "values/kiali.yaml:3:10", base="kps"),
    Case("values-kps-crds-unknown-in-45", {"values/monitoring.yaml": "crds: 5\n"}, 1, "values/monitoring.yaml:1:1", base="kps", explain=("east", "monitoring")),
    Case("tag-var-port-ok", {"values/tracing.yaml": "service:\n  externalPort: !var port\n"}, 0, base="kps", explain=("east", "tracing")),
    Case("tag-env-empty", {"values/kiali.yaml": "auth:\n  strategy: !env ''\n"}, 1, "values/kiali.yaml:2:13", explain_code=2),
    Case("tag-env-on-list", {"values/kiali.yaml": "auth: !env [a]\n"}, 1, "values/kiali.yaml:1:7", explain_code=2),
    Case("tag-env-for-map", {"values/kiali.yaml": "deployment: !env DEPLOYMENT\n"}, 1, "values/kiali.yaml:1:13"),
    Case("tag-env-for-url", {"values/kiali.yaml": "external_services:\n  prometheus:\n    url: !env PROMETHEUS_URL\n"}, 0),
    Case("tag-env-as-key", {"values/kiali.yaml": "!env X: 1\n"}, 1, "values/kiali.yaml:1:1", explain_code=2),
    Case("tag-append-on-map", {"values/kiali.yaml": "deployment: !append {a: 1}\n"}, 1, "values/kiali.yaml:1:13", explain_code=2),
    Case("tag-append-on-scalar", {"values/kiali.yaml": "deployment:\n  accessible_namespaces: !append a\n"}, 1, "values/kiali.yaml:2:26", explain_code=2),
    Case("tag-append-in-list", {"values/kiali.yaml": "deployment:\n  accessible_namespaces: [!append [a]]\n"}, 1, "values/kiali.yaml:2:27"),
    Case("tag-append-over-map", {"values/kiali.yaml": "deployment: !append [a]\n"}, 1, "values/kiali.yaml:1:13"),
    Case("tag-append-top", {"values/kiali.yaml": "!append [a]\n"}, 1, "values/kiali.yaml:1:1", explain_code=2),
    Case("tag-append-ok", {"values/kiali.yaml": "deployment:\n  accessible_namespaces: [a]\n", "values/clusters/east/kiali.yaml": "deployment:\n  accessible_namespaces: !append [b]\n"}, 0),
]


# --- command lines ------------------------------------------------------------------------------------

CLI_CASES = [
    Case("cli-validate-missing-file", {}, 2, "nope.yaml", runs=((("validate", "nope.yaml"), 2),)),
    Case("cli-validate-missing-file-json", {}, 2, runs=((("validate", "-o", "json", "values/nope.yaml"), 2),)),
    Case("cli-validate-folder", {"values/kiali.yaml": "{}\n"}, 2, "values", runs=((("validate", "values"), 2),)),
    Case("cli-validate-dot", {}, 2, ".", runs=((("validate", "."), 2),)),
    Case("cli-validate-stack-file", {}, 0, runs=((("validate", "meshcharts.yaml"), 0),)),
    Case("cli-validate-non-layer-file", {"README.md": "# stack\n"}, 0, runs=((("validate", "README.md"), 0),)),
    Case("cli-validate-outside-stack", {"../elsewhere/values/prod.yaml": "a: 1\n"}, 0, runs=((("validate", "../elsewhere/values/prod.yaml"), 0),)),
    Case("cli-validate-mixed", {"values/kiali.yaml": "auth: {strategy: token}\n", "../elsewhere/values/prod.yaml": "a: 1\n"}, 0, runs=((("validate", "values/kiali.yaml", "../elsewhere/values/prod.yaml"), 0),)),
    Case("cli-validate-stack-missing", {}, 2, "nope", runs=((("validate", "--stack", "nope"), 2),)),
    Case("cli-validate-stack-and-missing-file", {}, 2, "x.yaml", runs=((("validate", "--stack", "meshcharts.yaml", "x.yaml"), 2),)),
    Case("cli-validate-bad-output", {}, 2, runs=((("validate", "-o", "xml"), 2),)),
    Case("cli-validate-bad-option", {}, 2, runs=((("validate", "--bogus"), 2),)),
    Case("cli-explain-double-dot", {}, 2, runs=((("explain", "east", "kiali", "external_services..prometheus"), 2),)),
    Case("cli-explain-index-first", {}, 2, runs=((("explain", "east", "kiali", "[0]"), 2),)),
    Case("cli-explain-dot-bracket", {}, 2, runs=((("explain", "east", "kiali", "a.[x]"), 2),)),
    Case("cli-explain-word-index", {}, 2, runs=((("explain", "east", "kiali", "deployment[x]"), 2),)),
    Case("cli-explain-stray-bracket", {}, 2, runs=((("explain", "east", "kiali", "a]"), 2),)),
    Case("cli-explain-trailing-dot", {}, 2, runs=((("explain", "east", "kiali", "external_services."), 2),)),
    Case("cli-explain-empty-path", {}, 2, runs=((("explain", "east", "kiali", ""), 2),)),
    Case("cli-explain-unicode", {}, 2, runs=((("explain", "east", "kiali", "ключ.ü"), 2),)),
    Case("cli-explain-very-long", {}, 2, runs=((("explain", "east", "kiali", "a." * 5000 + "b"), 2),)),
    Case("cli-explain-nul", {}, 2, runs=((("explain", "east", "kiali", "a\x00b"), 2),)),
    Case("cli-explain-huge-index", {"values/kiali.yaml": "deployment:\n  accessible_namespaces: [a]\n"}, 0, runs=((("explain", "east", "kiali", "deployment.accessible_namespaces[99999999999999999999]"), 2),)),
    Case("cli-explain-list-item", {"values/kiali.yaml": "deployment:\n  accessible_namespaces: [a]\n"}, 0, runs=((("explain", "east", "kiali", "deployment.accessible_namespaces[0]"), 0),)),
    Case("cli-explain-dotted-key", {"values/kiali.yaml": "deployment:\n  pod_annotations: {prometheus.io/scrape: 'true'}\n"}, 0, runs=((("explain", "east", "kiali", 'deployment.pod_annotations["prometheus.io/scrape"]'), 0),)),
    Case("cli-explain-unknown-cluster", {}, 2, runs=((("explain", "eats", "kiali"), 2),)),
    Case("cli-explain-empty-cluster", {}, 2, runs=((("explain", "", "kiali"), 2),)),
    Case("cli-explain-unknown-component", {}, 2, runs=((("explain", "east", "kaili"), 2),)),
    Case("cli-explain-missing-args", {}, 2, runs=((("explain", "east"), 2),)),
    Case("cli-render-unknown-cluster", {}, 2, runs=((("render", "--cluster", "nope"), 2),)),
    Case("cli-no-command", {}, 0, runs=(((), 2),)),
    Case("cli-unknown-command", {}, 2, runs=((("frobnicate",), 2),)),
]

TABLE = YAML_CASES + STACK_CASES + _wired_cases() + TAG_CASES + CLI_CASES


def _invoke(root: Path, args: Sequence[str]) -> Result:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MESHCHARTS_DEBUG", raising=False)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _never_crashes(result: Result, args: Sequence[str]) -> None:
    assert result.exit_code != 3, f"{args}: {result.output}"
    assert "internal error" not in result.output and "Traceback" not in result.output, f"{args}: {result.output}"


def _json_if_any(result: Result) -> None:
    """Every ``-o json`` document is strict JSON (no NaN, no Infinity)."""
    text = result.stdout.strip()
    if text.startswith("{"):
        json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 150
    assert len({case.name for case in TABLE}) == len(TABLE), "case names must be unique"


@pytest.mark.parametrize("case", TABLE, ids=[case.name for case in TABLE])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    _base(case.base, root)
    for relative, content in case.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    runs = case.runs or (
        (("validate",), case.code),
        (("explain", *case.explain), case.explain_code if case.explain_code is not None else (2 if case.code == 2 else 0)),
        (("explain", *case.explain, "-o", "json"), case.explain_code if case.explain_code is not None else (2 if case.code == 2 else 0)),
        (("render",), case.code),
    )
    for args, code in runs:
        result = _invoke(root, args)
        _never_crashes(result, args)
        assert result.exit_code == code, f"{args}: exit {result.exit_code}, wanted {code}\n{result.output}"
        if "json" in args:
            _json_if_any(result)
    if case.where is not None:
        result = _invoke(root, runs[0][0])
        lines = result.stderr.splitlines()
        assert any(line.startswith(case.where) for line in lines), f"no line at {case.where}:\n{result.stderr}"


def test_symlink_loop_in_the_table_of_fs_cases(tmp_path: Path) -> None:
    """The one file-system case that belongs here: a values file that is a link to itself."""
    _base("minimal", tmp_path)
    (tmp_path / "values").mkdir()
    os.symlink(tmp_path / "values" / "kiali.yaml", tmp_path / "values" / "kiali.yaml")
    for args in (("validate",), ("explain", "east", "kiali"), ("render",)):
        result = _invoke(tmp_path, args)
        _never_crashes(result, args)
        assert result.exit_code in (1, 2)
        assert "values/kiali.yaml: cannot read" in result.stderr
