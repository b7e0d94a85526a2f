"""Deprecated keys that still work are warnings naming the new key; the same key where it is ignored is an error.

Istio's istiod chart writes ``global.tracer.zipkin.address`` into the mesh config only when
``global.proxy.tracer`` is ``zipkin`` (templates/configmap.yaml, 1.13.9 and 1.30.3 alike), and merges
``meshConfig`` over it ("meshConfig.foo becomes the API"). The default tracer was ``zipkin`` up to
Istio 1.21 and is ``none`` since 1.22, and the ``global.tracer`` block left values.yaml in 1.18.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import StackDir

ISTIOD_STACK = """\
name: demo
clusters:
  east: {{kubernetes: "1.23"}}   # istiod 1.13 renders APIs that Kubernetes 1.25 removed
components:
  tracing: {{type: rancher-tracing, version: 100.0.0, namespace: istio-system}}
  istiod: {{type: istiod, version: {version}, namespace: istio-system}}
"""

LEGACY = "global:\n  {proxy}tracer:\n    zipkin:\n      address: tracing-zipkin.istio-system.svc:9411\n"


def _findings(stack: StackDir, version: str, proxy_tracer: str | None = None) -> list[dict[str, object]]:
    stack.write("meshcharts.yaml", ISTIOD_STACK.format(version=version))
    proxy = f"proxy: {{tracer: {proxy_tracer}}}\n  " if proxy_tracer else ""
    stack.write("values/istiod.yaml", LEGACY.format(proxy=proxy))
    document = json.loads(stack.cli("validate", "-o", "json").output)
    return [finding for finding in document["errors"] + document["warnings"] if finding["component"] == "istiod"]


@pytest.mark.parametrize(("version", "proxy_tracer"), [("1.13.9", None), ("1.30.3", "zipkin"), ("1.21.6", None)])
def test_global_tracer_zipkin_address_where_the_chart_reads_it_is_a_warning_naming_the_new_key(
    stack_dir: StackDir, version: str, proxy_tracer: str | None
) -> None:
    findings = _findings(stack_dir, version, proxy_tracer)
    assert [(f["severity"], f["rule"], f["path"]) for f in findings] == [("warning", "istiod.deprecated-key", "global.tracer.zipkin.address")]
    message = str(findings[0]["message"])
    assert "use meshConfig.defaultConfig.tracing.zipkin.address" in message
    line = 5 if proxy_tracer else 4
    assert (findings[0]["file"], findings[0]["line"]) == ("values/istiod.yaml", line)


@pytest.mark.parametrize(("version", "proxy_tracer"), [("1.30.3", None), ("1.22.0", None), ("1.13.9", "none")])
def test_global_tracer_zipkin_address_the_chart_ignores_is_an_error(stack_dir: StackDir, version: str, proxy_tracer: str | None) -> None:
    findings = _findings(stack_dir, version, proxy_tracer)
    assert [(f["severity"], f["rule"]) for f in findings] == [("error", "istiod.ignored-key")]
    message = str(findings[0]["message"])
    assert "global.proxy.tracer" in message and "use meshConfig.defaultConfig.tracing.zipkin.address" in message


def test_the_text_line_says_warning_and_validate_passes(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", ISTIOD_STACK.format(version="1.13.9"))
    stack_dir.write("values/istiod.yaml", LEGACY.format(proxy=""))
    result = stack_dir.cli("validate")
    assert result.exit_code == 0, result.output
    assert "values/istiod.yaml:4:7: east/istiod: global.tracer.zipkin.address: warning: " in result.stderr
