"""Help curate the chart schemas: list the keys of a chart's values.yaml and check a values file.

This is a maintainer's aid, not part of the package. It prints what a reference values file declares
(so a hand-written schema can be compared with it) and which keys a schema would reject; it never writes
schema files.

Usage::

    python tools/schema_keys.py keys VALUES.yaml [--path a.b.c] [--depth N]
    python tools/schema_keys.py diff OLD.yaml NEW.yaml [--path a.b.c] [--depth N]
    python tools/schema_keys.py check SCHEMA_NAME VALUES.yaml [--path _internal_defaults_do_not_set]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def load_values(path: Path, subpath: str | None = None) -> Any:
    """Parse a values file and descend into ``subpath`` (dot-separated keys), if given."""
    with path.open(encoding="utf-8") as handle:
        data: Any = yaml.safe_load(handle) or {}
    for part in (subpath or "").split("."):
        if part:
            data = data[part]
    return data


def type_name(value: Any) -> str:
    """A JSON-schema-ish type name for a parsed YAML value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def walk(data: Any, depth: int, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(dotted.key, type)`` for every mapping key down to ``depth`` levels."""
    if not isinstance(data, dict) or depth <= 0:
        return
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        yield dotted, type_name(value)
        yield from walk(value, depth - 1, dotted + ".")


def cmd_keys(args: argparse.Namespace) -> int:
    """Print the key tree of one values file."""
    for dotted, kind in walk(load_values(Path(args.values), args.path), args.depth):
        print(f"{dotted}\t{kind}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print keys only in the old file (``-``) or only in the new file (``+``)."""
    old = dict(walk(load_values(Path(args.old), args.path), args.depth))
    new = dict(walk(load_values(Path(args.new), args.path), args.depth))
    for dotted in sorted(set(old) | set(new)):
        if dotted not in new:
            print(f"- {dotted}\t{old[dotted]}")
        elif dotted not in old:
            print(f"+ {dotted}\t{new[dotted]}")
        elif old[dotted] != new[dotted]:
            print(f"~ {dotted}\t{old[dotted]} -> {new[dotted]}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a values file against a packaged schema with both validators; print every error."""
    from meshcharts.schema.store import fast_validator, reference_validator

    values = load_values(Path(args.values), args.path)
    fast = sorted(
        ("/".join(str(p) for p in err.instance_path), err.message) for err in fast_validator(args.schema).iter_errors(values)
    )
    ref = sorted(
        ("/".join(str(p) for p in err.absolute_path), err.message)
        for err in reference_validator(args.schema).iter_errors(values)
    )
    for where, message in ref:
        print(f"{where}: {message[:200]}")
    print(f"{len(ref)} error(s) from jsonschema, {len(fast)} from jsonschema-rs", file=sys.stderr)
    return 1 if ref or fast else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys", help="list the keys of a values file")
    keys.add_argument("values")
    keys.add_argument("--path")
    keys.add_argument("--depth", type=int, default=1)
    keys.set_defaults(func=cmd_keys)
    diff = sub.add_parser("diff", help="compare the keys of two values files")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--path")
    diff.add_argument("--depth", type=int, default=1)
    diff.set_defaults(func=cmd_diff)
    check = sub.add_parser("check", help="validate a values file against a packaged schema")
    check.add_argument("schema")
    check.add_argument("values")
    check.add_argument("--path")
    check.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
