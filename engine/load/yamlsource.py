"""YAML documents that remember where each value was written.

PyYAML composes a node graph with marks; we build plain Python values from it
and, beside them, a map from JSON path to (line, column), so any later stage
can point a contract manager at the exact place in the file.

Hostile input is refused, not expanded: aliases are counted as the nodes they
copy, and documents deeper or larger than any policy needs are errors.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlwords import explained

MAX_DEPTH = 32
MAX_NODES = 500_000  # a 10,000-case test suite holds about 250,000
MAX_ALIASED = 10_000  # values reached again through aliases: where "billion laughs" bombs grow
MAX_BYTES = 2 * 1024 * 1024
MAX_INT_BITS = 63  # far beyond any count, hour or amount a policy holds, and within what Python prints
PRESCAN_BYTES = 64 * 1024  # a smaller file holds too few values to be slow to compose
MAX_REPEATS = 100  # keys repeated in a large file before it is refused without composing it
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # the line breaks YAML counts

# Scalars are built by tag; timestamps stay strings so the schemas see exactly
# what was written ("2026-01-01"), and floats become Decimal so "200.00" keeps
# its cents.
_constructor = yaml.SafeLoader(b"")


def _scalar(node: ScalarNode):
    # The tag's constructor, called directly: construct_object() would keep every
    # node in the loader's cache, which is never emptied here (memory grew with
    # every reload), and is shared between threads.
    return _constructor.yaml_constructors[node.tag](_constructor, node)


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


def _construct_quietly(node: ScalarNode):
    try:
        return _scalar(node)
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


@dataclass(frozen=True)
class Source:
    """A parsed file: its data and where each part of it was written."""

    path: str
    data: object
    positions: dict  # JSON path -> (line, column), both 1-based
    text: bytes

    def position(self, json_path: str) -> tuple[int, int]:
        """The position of the value at ``json_path``, or of its nearest parent."""
        path = json_path
        while path not in self.positions and path != "$":
            path = _parent(path)
        return self.positions.get(path, (1, 1))

    def error(self, json_path: str, code: str, message: str, severity: str = "error") -> PolicyError:
        line, column = self.position(json_path)
        return PolicyError(self.path, line, column, code, message, json_path, severity)


def _parent(json_path: str) -> str:
    cut = max(json_path.rfind("."), json_path.rfind("["))
    return json_path[:cut] if cut > 0 else "$"


def child_path(parent: str, key) -> str:
    """The JSON path of ``key`` under ``parent``, in jsonschema's notation."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    key = str(key)
    if key.isidentifier():
        return f"{parent}.{key}"
    return f"{parent}[{key!r}]"


def _shared(text: str) -> str:
    """One copy of a short string for every file that holds it: keys and JSON paths repeat in each of
    thousands of customer files, and the positions of a loaded set keep every one of them."""
    return sys.intern(text) if len(text) <= 200 else text


class _TooBig(Exception):
    def __init__(self, mark, code, message):
        super().__init__(message)
        self.mark = mark
        self.code = code
        self.message = message


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.positions: dict = {}
        self.errors: list[PolicyError] = []
        self.nodes = 0
        self.aliased = 0  # values built again because an alias refers to them
        self.seen: set = set()  # collections already built once

    def build(self, node, json_path: str, depth: int = 0):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(node.start_mark, "too_large", f"the document has more than {MAX_NODES} values; split it")
        if id(node) in self.seen:
            self.aliased += 1
            if self.aliased > MAX_ALIASED:
                raise _TooBig(node.start_mark, "too_large", f"aliases (*name) here expand to more than "
                              f"{MAX_ALIASED} values; write the values out instead")
        elif not isinstance(node, ScalarNode):
            self.seen.add(id(node))
        if depth > MAX_DEPTH:  # reachable through aliases of deep values
            raise _TooBig(node.start_mark, "too_deep", f"values are nested more than {MAX_DEPTH} levels deep")
        self.positions.setdefault(json_path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, MappingNode):
            return self._mapping(node, json_path, depth)
        if isinstance(node, SequenceNode):
            return [self.build(item, _shared(child_path(json_path, i)), depth + 1)
                    for i, item in enumerate(node.value)]
        return self._scalar(node, json_path)

    def _mapping(self, node: MappingNode, json_path: str, depth: int) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._error(key_node, json_path, "invalid_key", "a key must be a plain word, not a list or mapping")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._error(key_node, json_path, "unsupported_yaml",
                            "merge keys (<<) are not supported; write the values out")
                continue
            key = _shared(key_node.value)
            path = _shared(child_path(json_path, key))
            if key in result:
                self._error(key_node, path, "duplicate_key", f"key {key!r} appears twice in this mapping; keep one")
                continue
            self.positions[path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, path, depth + 1)
        return result

    def _scalar(self, node: ScalarNode, json_path: str):
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":  # what its constructor gives (construct_scalar), without the calls
            return node.value
        if tag == "tag:yaml.org,2002:timestamp":
            return node.value
        if tag in _NUMBERS and not node.style and _SEXAGESIMAL.match(node.value):
            # YAML 1.1 reads 18:00 as 18 * 60 + 0: a time written without quotes.
            self._error(node, json_path, "unquoted_time",
                        f"{node.value} without quotes is read by YAML as the number {_construct_quietly(node)} "
                        f'(base 60); write it in quotes: "{node.value}"')
            return None
        if tag == "tag:yaml.org,2002:float":
            try:
                value = Decimal(node.value.replace("_", ""))
            except InvalidOperation:  # 1:30.5 (base 60), .inf, .nan: PyYAML reads them as floats
                value = self._construct(node, json_path)
            finite = value is None or (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value))
            if not finite:  # NaN passes every bound (its comparisons are false); a Decimal NaN raises in them
                self._error(node, json_path, "invalid_number", f"{node.value} is not a number a policy can use")
                return None
            return value
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool",
                   "tag:yaml.org,2002:null"):
            value = self._construct(node, json_path)
            if type(value) is int and value.bit_length() > MAX_INT_BITS:  # Python cannot print one of 4,300 digits
                self._error(node, json_path, "out_of_range", "this number is larger than any a policy holds")
                return None
            return value
        self._error(node, json_path, "unsupported_yaml", f"the tag {tag} is not supported in policy files")
        return None

    def _construct(self, node: ScalarNode, json_path: str):
        """The value PyYAML builds for the node's tag, or None with an error (`!!int abc`, 5,000 digits, ...)."""
        try:
            return _scalar(node)
        except (ValueError, KeyError, IndexError, TypeError):
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            self._error(node, json_path, "invalid_value",
                        f"{shown!r} cannot be read as {node.tag.rsplit(':', 1)[-1]}")
            return None

    def _error(self, node, json_path, code, message):
        mark = node.start_mark
        self.errors.append(PolicyError(self.path, mark.line + 1, mark.column + 1, code, message, json_path))


def _too_deep(text: str):
    """The mark where nesting first goes deeper than MAX_DEPTH, or None.

    Read from the event stream, which PyYAML produces without recursion, so a
    hostile document is refused quickly and at the right place.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _prescan(text: str):
    """For a large file, refuse it on libyaml's event stream (a tenth of the cost of composing) when it holds
    more than MAX_NODES values, or repeats keys more than MAX_REPEATS times; None when it does neither."""
    stack = []  # for each open collection: [is a mapping, children so far, keys seen]
    values = repeats = 0
    first_repeat = None
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER or yaml.SafeLoader):
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            is_key = bool(stack) and stack[-1][0] and stack[-1][1] % 2 == 0
            if stack:
                stack[-1][1] += 1
            if is_key and isinstance(event, yaml.ScalarEvent):
                if event.value in stack[-1][2]:
                    repeats += 1
                    first_repeat = first_repeat or (event.start_mark, event.value)
                    if repeats > MAX_REPEATS:
                        mark, key = first_repeat
                        return _TooBig(mark, "duplicate_key", f"key {key!r} appears twice in this mapping, and "
                                       f"more than {MAX_REPEATS} keys repeat in this file; keep one of each")
                stack[-1][2].add(event.value)
            elif not is_key:
                values += 1
                if values > MAX_NODES:
                    return _TooBig(event.start_mark, "too_large",
                                   f"the document has more than {MAX_NODES} values; split it")
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([isinstance(event, yaml.MappingStartEvent), 0, set()])
    except (yaml.YAMLError, RecursionError):
        return None  # composing reports it, with the usual message
    return None


def _compose(text: str) -> list:
    """The document nodes, composed by libyaml (fast) when it can.

    Anything libyaml refuses is composed again by PyYAML's own parser, whose
    messages are clearer; it recurses per level of nesting, so the depth is
    measured first on its (iterative) event stream.
    """
    if len(text) > PRESCAN_BYTES:
        refused = _prescan(text)
        if refused:
            raise refused
    if _FAST_LOADER is not None:
        try:
            return list(yaml.compose_all(text, Loader=_FAST_LOADER))
        except (yaml.YAMLError, RecursionError):
            pass
    too_deep = _too_deep(text)
    if too_deep:
        raise _TooBig(too_deep, "too_deep", f"values are nested more than {MAX_DEPTH} levels deep")
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


def parse(path: str, text: bytes) -> tuple[Source | None, list[PolicyError]]:
    """Parse one YAML document; return it with its positions, or the errors."""
    if len(text) > MAX_BYTES:
        return None, [PolicyError(path, 1, 1, "file_too_large",
                                  f"the file is larger than {MAX_BYTES // 1024} KiB; split it")]
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [PolicyError(path, 1, 1, "invalid_encoding",
                                  f"the file is not UTF-8 (byte {exc.start}); save it as UTF-8")]
    try:
        documents = [d for d in _compose(decoded) if d is not None]
        if len(documents) != 1:
            what = "is empty" if not documents else f"holds {len(documents)} documents"
            return None, [PolicyError(path, 1, 1, "not_one_document",
                                      f"the file {what}; a policy file holds exactly one YAML document")]
        builder = _Builder(path)
        data = builder.build(documents[0], "$", 0)
    except _TooBig as exc:
        return None, [PolicyError(path, exc.mark.line + 1, exc.mark.column + 1, exc.code, exc.message)]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, most control characters)
        before = _BREAK.split(decoded[:exc.position])
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return None, [PolicyError(path, len(before), len(before[-1]) + 1, "yaml_syntax",
                                  f"YAML syntax: the character #x{ord(character):04x} is not allowed in YAML; "
                                  "remove it")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [PolicyError(path, line, column, "yaml_syntax", explained(exc.context, exc.problem))]
    except yaml.YAMLError as exc:
        return None, [PolicyError(path, 1, 1, "yaml_syntax", f"YAML syntax: {exc}")]
    if builder.errors:
        return None, builder.errors
    return Source(path, data, builder.positions, text), []
