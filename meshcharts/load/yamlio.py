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

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from meshcharts.core.collector import collector_paused
from meshcharts.core.diagnostics import Diagnostic, InvalidInput, Location
from meshcharts.core.model import EnvRef

try:  # libyaml is in every PyYAML wheel; the pure-Python loader is only a fallback
    from yaml import CSafeLoader as _FastLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _FastLoader  # type: ignore[assignment]

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


def yaml_error(message: str, location: Location, rule: str) -> InvalidInput:
    """A finding about a YAML file, at its position (exit 1)."""
    return InvalidInput(Diagnostic(message=message, rule=rule, location=location))


def load_text(text: str, display_name: str) -> Any:
    """Parse YAML text (one document) into located values; ``None`` for a comments-only document."""
    with collector_paused():  # the values built here are kept and hold no cycles
        try:
            nodes = list(yaml.compose_all(text, Loader=_FastLoader))
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, text, display_name) from None
        except yaml.reader.ReaderError as exc:  # a control character: PyYAML gives an offset, not a mark
            line = text.count("\n", 0, exc.position) + 1
            column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
            raise yaml_error(
                f"invalid YAML: control character #x{exc.character:04x} is not allowed (YAML text holds printable characters only)",
                Location(display_name, line, column),
                "yaml.syntax",
            ) from None
        except yaml.YAMLError as exc:
            raise yaml_error(f"invalid YAML: {exc}", Location(display_name), "yaml.syntax") from None
        if not nodes:
            return None
        if len(nodes) > 1:
            raise yaml_error(
                "holds several YAML documents (---); a values file is one document",
                _mark(nodes[1].start_mark, display_name),
                "yaml.multiple-documents",
            )
        return _Builder(display_name).build(nodes[0])


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display_name: str) -> InvalidInput:
    mark = exc.problem_mark or exc.context_mark
    location = _mark(mark, display_name) if mark else Location(display_name)
    problem = exc.problem or "invalid YAML"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        problem = "a tab character; YAML indents with spaces only"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    return yaml_error(f"invalid YAML: {problem}", location, "yaml.syntax")


def _mark(mark: Any, display_name: str) -> Location:
    return Location(display_name, mark.line + 1, mark.column + 1)


_SCALARS: dict[str, Callable[[Any, yaml.Node], Any]] = {
    tag: yaml.constructor.SafeConstructor.yaml_constructors[tag]
    for tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
}


class _Builder:
    """Turns a composed node tree into located Python values, with meshcharts' checks, in one pass.

    The composer shares one node object per anchor, so an alias is the very node it names again. The
    builder builds each mapping and list node once and hands out that value for every alias of it,
    while counting what the document expands to (the node and, for an alias, its whole expanded size)
    against :data:`MAX_NODES`: a billion-laughs file stops after a few thousand steps, not after
    expanding, and an alias inside the node it names (a cycle) is refused instead of looping.
    """

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self.nodes_seen = 0  # nodes the document expands to, aliases counted at their full size
        self.built: dict[int, tuple[Any, int]] = {}  # id(node) -> (value, expanded size) of built containers
        self.building: set[int] = set()  # containers being built: meeting one again is a cycle
        self.constructor = yaml.constructor.SafeConstructor()

    def where(self, node: yaml.Node) -> Location:
        mark = node.start_mark  # _mark, inlined: this runs for every key and value
        return Location(self.display_name, mark.line + 1, mark.column + 1)

    def _count(self, size: int, node: yaml.Node) -> None:
        self.nodes_seen += size
        if self.nodes_seen > MAX_NODES:
            raise yaml_error(
                f"expands to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to read it",
                self.where(node),
                "yaml.too-many-nodes",
            )

    def build(self, node: yaml.Node, location: Location | None = None) -> Any:
        """The value of ``node``; ``location`` is its position when the caller has computed it already."""
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            self.nodes_seen += 1  # checked with the container that holds it
            if tag == _STR:
                return node.value
            if tag.startswith("!") and not tag.startswith("!!"):
                return self._tagged(node, location or self.where(node))
            if tag not in _SCALAR_TAGS:
                raise _wrong_tag(tag, node, location or self.where(node))
            return self._scalar(node)
        key = id(node)
        done = self.built.get(key)
        if done is not None:  # an alias of a node built before: the same value, counted at its full size
            self._count(done[1], node)
            return done[0]
        if key in self.building:
            raise yaml_error(
                "an alias refers to the mapping or list that contains it (a cycle); YAML values must be finite",
                location or self.where(node),
                "yaml.recursive-alias",
            )
        where = location or self.where(node)
        if len(self.building) >= MAX_DEPTH:
            raise yaml_error(f"nests deeper than {MAX_DEPTH} levels; meshcharts reads values nested up to {MAX_DEPTH} levels", where, "yaml.too-deep")
        local = tag.startswith("!") and not tag.startswith("!!")
        if not local and tag != _KNOWN_TAG.get(type(node)):
            raise _wrong_tag(tag, node, where)
        start = self.nodes_seen
        self._count(1, node)
        self.building.add(key)
        if local:
            value = self._tagged(node, where)
        elif isinstance(node, yaml.MappingNode):
            value = self._mapping(node, where)
        else:
            assert isinstance(node, yaml.SequenceNode)
            value = self._sequence(node, where)
        self.building.discard(key)
        self._count(0, node)
        self.built[key] = (value, self.nodes_seen - start)
        return value

    def _tagged(self, node: yaml.Node, location: Location) -> Any:
        """A node with a local tag: one of meshcharts' own, or refused."""
        tag = node.tag
        if tag == "!append":
            if not isinstance(node, yaml.SequenceNode):
                raise yaml_error("!append takes a list, e.g. !append [a, b]", location, "yaml.append")
            return Append(self._sequence(node, location), location)
        if tag in ("!var", "!env"):
            return self._reference(node)
        raise _wrong_tag(tag, node, location)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_TIMESTAMP, _BINARY):
            return node.value  # Helm keeps dates as strings; so do we (and JSON has no date)
        construct = _SCALARS.get(tag)
        try:
            if construct is not None:  # the plain YAML scalars, without construct_object's bookkeeping
                value = construct(self.constructor, node)
            else:
                value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise yaml_error(f"invalid value: {exc.problem}", self.where(node), "yaml.value") from None
        except (ValueError, KeyError):  # an explicit tag the text does not fit (!!int x), or 5,000 digits
            text = node.value if len(node.value) <= 40 else f"{node.value[:20]}...({len(node.value)} characters)"
            raise yaml_error(f"invalid value: {text!r} is not a valid {_short_tag(tag)}", self.where(node), "yaml.value") from None
        finally:
            self.constructor.constructed_objects.clear()
        if isinstance(value, float) and not math.isfinite(value):
            raise yaml_error(
                f"{node.value} is not a number Helm can read: it turns values into JSON, which has no NaN or infinity "
                f"(helm: \"json: unsupported value\"); quote it if you mean the text",
                self.where(node),
                "yaml.value",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, location: Location) -> YMap:
        result = YMap()
        result.location = location
        key_locations: dict[str, Location] = {}
        value_locations: dict[str, Location] = {}
        result.key_locations = key_locations
        result.value_locations = value_locations
        merged: list[YMap] = []
        name, build, scalar = self.display_name, self.build, yaml.ScalarNode
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, self.where(key_node)))
                continue
            if not isinstance(key_node, scalar) or key_node.tag not in _SCALAR_TAGS:
                raise yaml_error("a mapping key must be a plain string", self.where(key_node), "yaml.key-type")
            key = key_node.value if key_node.tag == _STR else _key_text(self._scalar(key_node))
            if key in result:
                first = key_locations[key]
                raise yaml_error(
                    f'duplicate key "{key}" (first set at line {first.line}); YAML parsers keep only '
                    "one of them, silently",
                    self.where(key_node),
                    "yaml.duplicate-key",
                )
            key_mark, value_mark = key_node.start_mark, value_node.start_mark  # self.where, inlined: per key
            key_locations[key] = Location(name, key_mark.line + 1, key_mark.column + 1)
            value_locations[key] = value_location = Location(name, value_mark.line + 1, value_mark.column + 1)
            if value_node.tag == _STR and isinstance(value_node, scalar):  # most values: plain text
                self.nodes_seen += 2
                result[key] = value_node.value
            else:
                self.nodes_seen += 1
                result[key] = build(value_node, value_location)
        for source in merged:  # << merge keys: explicit keys win, earlier sources win (as go-yaml)
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    key_locations[key] = source.key_locations[key]
                    value_locations[key] = source.value_locations[key]
        return result

    def _merge_sources(self, node: yaml.Node, where: Location) -> list[YMap]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        built = [self.build(source) for source in sources]
        if not all(isinstance(source, YMap) for source in built):  # at the <<: an alias has no position of its own
            raise yaml_error("<< merges mappings only", where, "yaml.merge-key")
        return built

    def _sequence(self, node: yaml.SequenceNode, location: Location) -> YList:
        item_locations = [self.where(item) for item in node.value]
        result = YList(self.build(item, where) for item, where in zip(node.value, item_locations))
        result.location = location
        result.item_locations = item_locations
        return result

    def _reference(self, node: yaml.Node) -> VarRef | EnvRef:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise yaml_error(f"{node.tag} takes a name, e.g. {node.tag} NAME", self.where(node), "yaml.reference")
        name = str(node.value).strip()
        if node.tag == "!var":
            return VarRef(name, self.where(node))
        return EnvRef(name, self.where(node))


_KNOWN_TAG: dict[type, str] = {yaml.MappingNode: _MAP, yaml.SequenceNode: _SEQ}
_NODE_NOUN: dict[type, str] = {yaml.MappingNode: "mapping", yaml.SequenceNode: "list", yaml.ScalarNode: "scalar"}


def _wrong_tag(tag: str, node: yaml.Node, where: Location) -> InvalidInput:
    """A tag meshcharts refuses: one of YAML's own on the wrong kind of node, or any other."""
    misplaced = tag in _SCALAR_TAGS or tag in _KNOWN_TAG.values()
    return yaml_error(
        f"tag {_short_tag(tag)} cannot stand on a {_NODE_NOUN[type(node)]}"
        if misplaced
        else f"unknown tag {_short_tag(tag)}; meshcharts knows !append, !var and !env, and YAML's plain maps, lists and scalars",
        where,
        "yaml.unknown-tag",
    )


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
