"""Reading YAML with positions: every mapping key, value and list item remembers its file:line:col.

Speed matters on the pre-commit path, so we parse with PyYAML's C-accelerated composer (libyaml), which
gives node marks at a fraction of ruamel's cost, and build plain dicts and lists ourselves. Building
them ourselves is also how we refuse what PyYAML would silently accept: duplicate keys (PyYAML keeps the
last one), alias bombs (PyYAML expands them without limit), unknown tags. ruamel.yaml is used elsewhere
only where a comment-preserving round trip is needed (``meshcharts init``).

meshcharts' own tags:

- ``!append [..]`` appends to the list of the layer below instead of replacing it;
- ``!var NAME`` is the cluster's ``vars.NAME``;
- ``!env NAME`` is an environment variable read at apply time, a secret never printed or stored.
"""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import ConfigError, Diagnostic, InvalidInput, Location
from meshcharts.core.fs import os_error
from meshcharts.core.model import EnvRef

try:  # libyaml is in every PyYAML wheel; the pure-Python loader is only a fallback
    from yaml import CSafeLoader as _FastLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _FastLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 8 * 1024 * 1024  # the 6,000-line kube-prometheus-stack values are ~250 KB
MAX_NODES = 2_000_000  # counts nodes as aliases expand them: a billion-laughs file stops here
MAX_DEPTH = 100  # nesting levels per file; real values files nest ~15, and every later walk stays far from Python's limit

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BINARY = "tag:yaml.org,2002:binary"
_MERGE = "tag:yaml.org,2002:merge"
#: YAML's own scalar tags, which mean what Helm's parser makes of them; any other tag is refused
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "binary"))
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"


class YMap(dict):  # type: ignore[type-arg]
    """A mapping that knows where it and each of its keys and values were written."""

    location: Location
    key_locations: dict[str, Location]
    value_locations: dict[str, Location]


class YList(list):  # type: ignore[type-arg]
    """A list that knows where it and each of its items were written."""

    location: Location
    item_locations: list[Location]


@dataclass(frozen=True)
class Append:
    """``!append [..]``: items to add to the list set by a lower layer."""

    items: YList
    location: Location


@dataclass(frozen=True)
class VarRef:
    """``!var NAME``: replaced by the cluster's ``vars.NAME`` when composing."""

    name: str
    location: Location


@dataclass(frozen=True)
class LoadedYAML:
    """One parsed file: its content (``None`` when it holds only comments) and its display name."""

    display_name: str
    content: Any


def _error(message: str, location: Location, rule: str) -> InvalidInput:
    return InvalidInput(Diagnostic(message=message, rule=rule, location=location))


def read_text(path: Path, display_name: str) -> str:
    """Read a YAML file as UTF-8 text, refusing what would otherwise crash or hang later."""
    where = Location(display_name)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(
                f"file is {size / 1024 / 1024:.1f} MiB; meshcharts reads YAML files up to "
                f"{MAX_FILE_BYTES // 1024 // 1024} MiB",
                where,
                "yaml.too-large",
            )
        if not path.is_file():  # a FIFO would block the read, a folder fail it: a file-system error, exit 2
            raise ConfigError(
                Diagnostic(message="is not a regular file; a values file must be a plain YAML file", rule="yaml.not-a-file", location=where)
            )
        data = path.read_bytes()
    except RuntimeError:  # pathlib reports symlink loops this way on some Pythons
        raise os_error(OSError(errno.ELOOP, os.strerror(errno.ELOOP)), "read", display_name) from None
    except OSError as exc:  # permission denied, a link loop ...: the machine says no, exit 2
        raise os_error(exc, "read", display_name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(
            f"is not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            Location(display_name, line, column),
            "yaml.encoding",
        ) from None


def load_file(path: Path, display_name: str | None = None, *, allow_empty: bool = False) -> LoadedYAML:
    """Parse one YAML file into YMap/YList/scalars with positions."""
    name = display_name or str(path)
    text = read_text(path, name)
    if not text.strip() and not allow_empty:
        raise _error(
            "file is empty; write {} if it is meant to set nothing", Location(name, 1, 1), "yaml.empty"
        )
    return LoadedYAML(name, load_text(text, name))


def load_text(text: str, display_name: str) -> Any:
    """Parse YAML text (one document) into located values; ``None`` for a comments-only document."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_FastLoader))
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, display_name) from None
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML gives an offset, not a mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise _error(
            f"invalid YAML: control character #x{exc.character:04x} is not allowed (YAML text holds printable characters only)",
            Location(display_name, line, column),
            "yaml.syntax",
        ) from None
    except yaml.YAMLError as exc:
        raise _error(f"invalid YAML: {exc}", Location(display_name), "yaml.syntax") from None
    if not nodes:
        return None
    if len(nodes) > 1:
        raise _error(
            "holds several YAML documents (---); a values file is one document",
            _mark(nodes[1].start_mark, display_name),
            "yaml.multiple-documents",
        )
    _refuse_alias_bombs(nodes[0], display_name)
    return _Builder(display_name).build(nodes[0])


def _refuse_alias_bombs(root: yaml.Node, display_name: str) -> None:
    """Count the nodes the document expands to, each shared (aliased) node sized once.

    PyYAML's composer shares one node object per anchor, so this costs as much as the file is long,
    while expanding a billion-laughs file would not finish.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the ancestors of the node at hand: an alias to one of them is a loop
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_nodes:
            raise _error(
                "an alias refers to the node it stands in (a recursive structure); Helm values cannot be recursive",
                _mark(node.start_mark, display_name),
                "yaml.recursive-alias",
            )
        children = _children(node)
        if children_done or not children:
            open_nodes.discard(id(node))
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_NODES:
                raise _error(
                    f"expands to more than {MAX_NODES:,} nodes through aliases (an alias bomb?); "
                    "refusing to read it",
                    _mark(node.start_mark, display_name),
                    "yaml.too-many-nodes",
                )
            sizes[id(node)] = size
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display_name: str) -> InvalidInput:
    mark = exc.problem_mark or exc.context_mark
    location = _mark(mark, display_name) if mark else Location(display_name)
    problem = exc.problem or "invalid YAML"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        problem = "a tab character; YAML indents with spaces only"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    return _error(f"invalid YAML: {problem}", location, "yaml.syntax")


def _mark(mark: Any, display_name: str) -> Location:
    return Location(display_name, mark.line + 1, mark.column + 1)


class _Builder:
    """Turns a composed node tree into located Python values, with meshcharts' checks."""

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self.nodes_seen = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def where(self, node: yaml.Node) -> Location:
        return _mark(node.start_mark, self.display_name)

    def build(self, node: yaml.Node, depth: int = 1) -> Any:
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise _error(
                f"expands to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to read it",
                self.where(node),
                "yaml.too-many-nodes",
            )
        if depth > MAX_DEPTH:
            raise _error(
                f"nests deeper than {MAX_DEPTH} levels; meshcharts reads values nested up to {MAX_DEPTH} levels",
                self.where(node),
                "yaml.too-deep",
            )
        tag = node.tag
        if tag == "!append":
            return self._append(node, depth)
        if tag in ("!var", "!env"):
            return self._reference(node)
        if tag != _KNOWN_TAG.get(type(node)) and not (isinstance(node, yaml.ScalarNode) and tag in _SCALAR_TAGS):
            misplaced = tag in _SCALAR_TAGS or tag in _KNOWN_TAG.values()
            raise _error(
                f"tag {_short_tag(tag)} cannot stand on a {_NODE_NOUN[type(node)]}"
                if misplaced
                else f"unknown tag {_short_tag(tag)}; meshcharts knows !append, !var and !env, and YAML's plain maps, lists and scalars",
                self.where(node),
                "yaml.unknown-tag",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, depth)
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in (_TIMESTAMP, _BINARY):
            return node.value  # Helm keeps dates as strings; so do we (and JSON has no date)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise _error(f"invalid value: {exc.problem}", self.where(node), "yaml.value") from None
        except (ValueError, KeyError):  # an explicit tag the text does not fit (!!int x), or 5,000 digits
            text = node.value if len(node.value) <= 40 else f"{node.value[:20]}...({len(node.value)} characters)"
            raise _error(f"{text!r} is not a valid {_short_tag(node.tag)}", self.where(node), "yaml.value") from None
        finally:
            self.constructor.constructed_objects.clear()
        if isinstance(value, float) and not math.isfinite(value):
            raise _error(
                f"{node.value} is not a number Helm can read: it turns values into JSON, which has no NaN or infinity "
                f"(helm: \"json: unsupported value\"); quote it if you mean the text",
                self.where(node),
                "yaml.value",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> YMap:
        result = YMap()
        result.location = self.where(node)
        result.key_locations = {}
        result.value_locations = {}
        merged: list[YMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, depth, self.where(key_node)))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise _error("a mapping key must be a plain string", self.where(key_node), "yaml.key-type")
            key = _key_text(self._scalar(key_node))
            if key in result:
                first = result.key_locations[key]
                raise _error(
                    f'duplicate key "{key}" (first set at line {first.line}); YAML parsers keep only '
                    "one of them, silently",
                    self.where(key_node),
                    "yaml.duplicate-key",
                )
            result[key] = self.build(value_node, depth + 1)
            result.key_locations[key] = self.where(key_node)
            result.value_locations[key] = self.where(value_node)
        for source in merged:  # << merge keys: explicit keys win, earlier sources win (as go-yaml)
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    result.key_locations[key] = source.key_locations[key]
                    result.value_locations[key] = source.value_locations[key]
        return result

    def _merge_sources(self, node: yaml.Node, depth: int, where: Location) -> list[YMap]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        built = [self.build(source, depth) for source in sources]
        if not all(isinstance(source, YMap) for source in built):  # at the <<: an alias has no position of its own
            raise _error("<< merges mappings only", where, "yaml.merge-key")
        return built

    def _sequence(self, node: yaml.SequenceNode, depth: int) -> YList:
        result = YList(self.build(item, depth + 1) for item in node.value)
        result.location = self.where(node)
        result.item_locations = [self.where(item) for item in node.value]
        return result

    def _append(self, node: yaml.Node, depth: int) -> Append:
        if not isinstance(node, yaml.SequenceNode):
            raise _error("!append takes a list, e.g. !append [a, b]", self.where(node), "yaml.append")
        return Append(self._sequence(node, depth), self.where(node))

    def _reference(self, node: yaml.Node) -> VarRef | EnvRef:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise _error(f"{node.tag} takes a name, e.g. {node.tag} NAME", self.where(node), "yaml.reference")
        name = str(node.value).strip()
        if node.tag == "!var":
            return VarRef(name, self.where(node))
        return EnvRef(name, self.where(node))


_KNOWN_TAG: dict[type, str] = {yaml.MappingNode: _MAP, yaml.SequenceNode: _SEQ}
_NODE_NOUN: dict[type, str] = {yaml.MappingNode: "mapping", yaml.SequenceNode: "list", yaml.ScalarNode: "scalar"}


def _short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:python/object:os.system`` as it was written: ``!!python/object:os.system``."""
    return "!!" + tag[len(_YAML_TAG_PREFIX):] if tag.startswith(_YAML_TAG_PREFIX) else tag


def _key_text(key: Any) -> str:
    """Helm turns every key into a string; YAML 1.1 booleans become "true"/"false" as Go prints them."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def to_plain(value: Any) -> Any:
    """Located values back to plain dicts and lists (positions dropped, references kept)."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value
