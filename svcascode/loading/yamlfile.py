"""YAML text -> documents that remember the line and column of every node.

The text is composed once with libyaml (its C parser and composer); the Python data and the map from
JSON path to (line, column) are built from the same nodes. Hazards libyaml reports badly or not at all
(tab indentation, nesting deep enough to crash its recursion, alias bombs, unsafe tags, duplicate
keys) are found first or while building, and become located findings, never exceptions.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TYPE_CHECKING

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from svcascode.errors import SvcascodeError
from svcascode.finding import Finding, JsonPath
from svcascode.rules import RULE_YAML

if TYPE_CHECKING:  # the settings are pydantic models: not imported to read, parse or cache a file
    from svcascode.configfile import FileLimits


Marks = dict[JsonPath, tuple[int, int]]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _TAG + "str", _TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"
_TIMESTAMP, _MAP, _SEQ, _MERGE = _TAG + "timestamp", _TAG + "map", _TAG + "seq", _TAG + "merge"
_constructor = yaml.constructor.SafeConstructor()
_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    _INT: _constructor.construct_yaml_int,
    _FLOAT: _constructor.construct_yaml_float,
    _BOOL: _constructor.construct_yaml_bool,
}
_PLAIN_KEY_TAGS = frozenset((_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP))
_UNSAFE_TAG = re.compile(r"^tag:yaml\.org,2002:python/|^!!python/")


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1 implicit typing as PyYAML does it, without the path-resolver bookkeeping per node."""

    _implicit: dict[str, list[tuple[str, re.Pattern[str]]]] = yaml.resolver.Resolver.yaml_implicit_resolvers

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self._implicit.get(value[0] if value else "", ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: refuse rather than run ten times slower
    raise SvcascodeError("PyYAML was installed without libyaml (yaml.CSafeLoader is missing): reinstall it from "
                         "a wheel, e.g. `pip install --force-reinstall --only-binary pyyaml pyyaml`") from None


class _Loader(CParser, _Resolver):
    """libyaml's parser and composer; construction is ours (see _Builder)."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _Resolver.__init__(self)


# Marks are held compactly, since a catalogue has hundreds of thousands of nodes and a dict of path
# tuples to (line, column) tuples costs about 230 bytes a node: a document keeps a tuple of its nodes'
# paths, each path one object shared by every document that has it (every document parsed in this process;
# a parse worker's files arrive in chunks, each chunk's paths shared within it), and the lines and columns
# packed in one bytes object. Keys and short values are interned for the same reason: `spec`, `tier`, `tier-1`
# are then one string each, however many documents hold them.
PackedMarks = tuple[tuple[JsonPath, ...], bytes]
_PLACE = struct.Struct("<II")
_PATHS: dict[JsonPath, JsonPath] = {}  # every path seen in this process, to share one object per path
MAX_INTERNED = 64  # scalar values up to this many characters are interned (names, enums, durations)
MAX_SHARED_PATHS = 1 << 20  # past this many distinct paths, new ones are kept per document, not shared
_INDEXED = 256  # documents with more marks than this also get a dict index on first lookup


def _shared(path: JsonPath) -> JsonPath:
    found = _PATHS.get(path)
    if found is None:
        if len(_PATHS) >= MAX_SHARED_PATHS:
            return path
        found = _PATHS[path] = path
    return found


def pack_marks(marks: Marks) -> PackedMarks:
    """Marks as (paths, lines and columns packed), the form documents and the parse cache hold."""
    places = bytearray()
    for line, column in marks.values():
        places += _PLACE.pack(line, column)
    return tuple(_shared(path) for path in marks), bytes(places)


class RawDocument:
    """One YAML document as plain data, with where each of its nodes stands in its file.

    The marks are held packed (see PackedMarks): a lookup scans the document's path tuple and reads two
    numbers from the packed bytes, so asking where a finding stands never unpacks a dict.
    """

    __slots__ = ("file", "index", "data", "_paths", "_places", "_index", "_digest")

    def __init__(self, file: str, index: int, data: Any, marks: Marks | None = None,
                 packed: PackedMarks | None = None, digest: bytes | None = None) -> None:
        self.file, self.index, self.data = file, index, data
        self._digest = digest
        paths, places = packed if packed is not None else pack_marks(marks or {})
        if not isinstance(paths, tuple) or not isinstance(places, bytes) or len(places) != 8 * len(paths):
            raise ValueError("marks of an unexpected shape")
        self._paths, self._places = paths, places
        self._index: dict[JsonPath, int] | None = None

    @property
    def marks(self) -> Marks:
        """Every mark as a new dict (for callers that need them all; lookups use `mark` and `locate`)."""
        return {path: (int(line), int(column)) for path, (line, column)
                in zip(self._paths, _PLACE.iter_unpack(self._places))}

    def packed_marks(self) -> PackedMarks:
        return self._paths, self._places

    def content_digest(self) -> bytes:
        """A digest of the document's data and marks: equal for two texts that differ only in what YAML
        does not keep (a comment, the spacing of a flow collection, a quoting style) while every node
        stays where it was. Kept with the parse cache's entry, so a warm run does not compute it again."""
        if self._digest is None:
            try:  # marshal version 0 writes no references or interning flags: equal values, equal bytes
                body = marshal.dumps((self.data, self._paths, self._places), 0)
            except ValueError:  # a value marshal cannot write: a digest nothing else has
                body = os.urandom(32)
            self._digest = hashlib.blake2b(body, digest_size=16).digest()
        return self._digest

    def _position(self, path: JsonPath) -> int:
        if len(self._paths) > _INDEXED:
            if self._index is None:
                self._index = {p: i for i, p in reversed(list(enumerate(self._paths)))}
            return self._index.get(path, -1)
        try:
            return self._paths.index(path)
        except ValueError:
            return -1

    def mark(self, path: JsonPath) -> tuple[int, int] | None:
        """Line and column (1-based) of the node at exactly `path`, or None when there is none."""
        at = self._position(path)
        if at < 0:
            return None
        line, column = _PLACE.unpack_from(self._places, 8 * at)
        return int(line), int(column)

    def locate(self, path: Iterable[str | int]) -> tuple[int, int]:
        """Line and column (1-based) of the node at `path`, or of its nearest ancestor that exists."""
        key = tuple(path)
        while True:
            at = self._position(key)
            if at >= 0:
                line, column = _PLACE.unpack_from(self._places, 8 * at)
                return int(line), int(column)
            if not key:
                return 1, 1
            key = key[:-1]


@dataclass(slots=True)
class ParsedFile:
    path: str
    text: str
    documents: list[RawDocument] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


class _Refused(Exception):
    """A hazard in the text; carries its location."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


# ---------------------------------------------------------------------------------------------------
# Reading bytes


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        offset = data.index(b"\x00")
        line, column = _line_col(data[:offset].decode("utf-8", "replace"), offset)
        raise _Refused("NUL byte in the file: YAML text cannot hold NUL; remove it (is this a binary file?)",
                       line, column)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        head = data[: error.start].decode("utf-8", "replace")
        line, column = _line_col(head, len(head))
        raise _Refused(f"invalid UTF-8 (byte 0x{data[error.start]:02x}): save the file as UTF-8",
                       line, column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


_TAB_INDENT = re.compile(r"^[ ]*\t", re.M)
MAX_LINE = 32 * 1024  # characters in one line: longer lines are refused before libyaml scans them
MAX_PROBLEMS = 100  # hazards reported per file; past that, one line says how many more
MAX_INT_DIGITS = 1000  # an integer with more digits is refused ("number too large")


class _Stop(Exception):
    """Hazards found before parsing that stop it (tabs): all of them, located."""

    def __init__(self, problems: list[_Refused]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


def _check_text(text: str, limits: FileLimits) -> None:
    """Hazards that libyaml reports badly or not at all, found with C-speed scans first."""
    if "\t" in text:
        tabs = [_Refused("tab character used for indentation: YAML indents with spaces; replace the tab "
                         "with spaces", _line_col(text, match.start())[0], match.end() - match.start())
                for match in _TAB_INDENT.finditer(text)]
        if tabs:
            raise _Stop(_bounded(tabs))
    flows = text.count("[") + text.count("{")
    half = max(limits.max_depth // 2, 2)
    # Nesting needs brackets, indentation or "- - -" runs; plain substring scans rule most texts out.
    if flows > limits.max_depth or "\n" + " " * half in text or "- " * half in text:
        _check_depth(text, limits.max_depth)
    if len(text) > MAX_LINE:
        for line_number, line in enumerate(text.split("\n"), 1):
            if len(line) > MAX_LINE:
                raise _Refused(f"line is {len(line)} characters long, over the limit of {MAX_LINE}: break it "
                               "up (a long text can be a block scalar, `|` or `>`)", line_number, 1)


def _check_depth(text: str, max_depth: int) -> None:
    """Exact nesting depth from libyaml's event stream; only for texts the quick scan suspects.

    libyaml's composer recurses in C and crashes the process on very deep nesting, so the depth must be
    known before it runs; its event parser keeps its own stack and does not recurse, so it reads any depth.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark  # the pure-Python parser marks every event
                    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
                    raise _Refused(f"nesting deeper than {max_depth} levels (limits.max_depth): flatten "
                                   "the document", line, column)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        # libyaml's scanner stops flow collections nested past its own limit (deeper than ours) before
        # the parser gives their events: that is this hazard, not a syntax error
        if "nesting depth" in str(error.problem or ""):
            mark = error.problem_mark
            raise _Refused(f"nesting deeper than {max_depth} levels (limits.max_depth): flatten the document",
                           mark.line + 1 if mark is not None else 1, mark.column + 1 if mark is not None else 1)
        return  # the syntax error is reported, with its mark, by the real parse
    except yaml.YAMLError:
        return


# ---------------------------------------------------------------------------------------------------
# Nodes -> data and marks


def _bounded(problems: list[_Refused]) -> list[_Refused]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    last = problems[MAX_PROBLEMS]
    return [*problems[:MAX_PROBLEMS],
            _Refused(f"... and {len(problems) - MAX_PROBLEMS} more YAML problems in this file", last.line, last.column)]


class _Builder:
    """Builds plain data and the path -> (line, column) map from one composed document.

    Hazards that leave the rest of the document readable (duplicate keys, unsafe or unknown tags, keys
    that are not plain values, numbers too large) are collected in `problems`, every one with its place;
    those that make going on unsafe (alias bombs, too many nodes) raise _Refused.
    """

    __slots__ = ("marks", "nodes", "aliases", "limits", "sizes", "problems", "open")

    def __init__(self, limits: FileLimits) -> None:
        self.marks: Marks = {}
        self.nodes = 0
        self.aliases = 0
        self.limits = limits
        self.sizes: dict[int, tuple[Any, int]] = {}
        self.problems: list[_Refused] = []
        self.open: set[int] = set()  # nodes being built: an alias to one of them is recursive

    def _note(self, message: str, mark: Any) -> None:
        self.problems.append(_Refused(message, mark.line + 1, mark.column + 1))

    def build(self, node: Node, path: JsonPath, key_mark: Any = None) -> Any:
        mark = key_mark or node.start_mark
        self.marks[path] = (mark.line + 1, mark.column + 1)
        seen = self.sizes.get(id(node))
        if seen is not None:  # an alias: reuse what was built, but count what it expands to
            self.aliases += 1
            self.nodes += seen[1]
            if self.aliases > self.limits.max_aliases or self.nodes > self.limits.max_nodes:
                raise _Refused(f"alias expansion past the limit ({self.limits.max_aliases} aliases, "
                               f"{self.limits.max_nodes} nodes: limits.max_aliases, limits.max_nodes); "
                               "write the values out or reduce aliasing", mark.line + 1, mark.column + 1)
            return seen[0]
        if id(node) in self.open:
            raise _Refused("an alias refers to a node that contains it (a recursive alias), which has no "
                           "finite value: write the value out", mark.line + 1, mark.column + 1)
        before = self.nodes
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise _Refused(f"document has more than {self.limits.max_nodes} nodes (limits.max_nodes)",
                           mark.line + 1, mark.column + 1)
        tag = node.tag
        if isinstance(node, ScalarNode):
            value = self._scalar(node, tag)
        else:
            self.open.add(id(node))
            if isinstance(node, MappingNode):
                value = self._mapping(node, path, tag)
            elif isinstance(node, SequenceNode):
                if tag != _SEQ:
                    self._bad_tag(node)
                value = [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            else:  # pragma: no cover - the composer only makes these three
                raise _Refused("unexpected YAML node", mark.line + 1, mark.column + 1)
            self.open.discard(id(node))
        self.sizes[id(node)] = (value, self.nodes - before)
        return value

    def _scalar(self, node: ScalarNode, tag: str) -> Any:
        if tag == _STR or tag == _TIMESTAMP:  # dates stay text: the models parse them, and marshal can cache str
            text: str = node.value
            return sys.intern(text) if len(text) <= MAX_INTERNED else text
        if tag == _NULL:
            return None
        construct = _SCALARS.get(tag)
        if construct is None:
            self._bad_tag(node)
            return node.value
        if tag == _INT:
            digits = sum(c.isdigit() for c in node.value) if len(node.value) > 30 else 0
            if digits > MAX_INT_DIGITS:  # before int(): Python refuses (ValueError) past 4300 digits
                self._note(f"number too large: {digits} digits, over the limit of {MAX_INT_DIGITS}; quote it if "
                           "it is text", node.start_mark)
                return None
        try:
            value = construct(node)
        except (ValueError, OverflowError) as error:
            self._note(f"number cannot be read: {str(error)[:120]}", node.start_mark)
            return None
        if tag == _INT and isinstance(value, int) and value.bit_length() > MAX_INT_DIGITS * 3.33:
            self._note(f"number too large: over {MAX_INT_DIGITS} digits; quote it if it is text", node.start_mark)
            return None
        return value

    def _mapping(self, node: MappingNode, path: JsonPath, tag: str) -> dict[str, Any]:
        if tag != _MAP:
            self._bad_tag(node)
        result: dict[str, Any] = {}
        merged: Any = None
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                if merged is not None:  # PyYAML keeps the last '<<', libyaml-based readers the first
                    self._note(f"duplicate key '<<' (first defined on line {merged.line + 1}): merge several "
                               "mappings with one key, `<<: [*a, *b]`", key_node.start_mark)
                    continue
                merged = key_node.start_mark
                self._merge(result, value_node, path)
                continue
            if not isinstance(key_node, ScalarNode):
                self._note("a mapping key must be a plain value, not a mapping or a sequence", key_node.start_mark)
                continue
            if key_node.tag not in _PLAIN_KEY_TAGS:
                self._bad_tag(key_node)
            key = sys.intern(key_node.value)  # `on:`, `1:` or `~:` as keys mean the text the user wrote
            if key in result:
                first = self.marks.get((*path, key), (0, 0))[0]
                self._note(f"duplicate key '{key}' (first defined on line {first}): remove one of them",
                           key_node.start_mark)
                continue
            result[key] = self.build(value_node, (*path, key), key_node.start_mark)
        return result

    def _merge(self, result: dict[str, Any], value_node: Node, path: JsonPath) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        own = self.marks.get(path)
        for source in sources:
            merged = self.build(source, path)
            if own is not None:
                self.marks[path] = own
            if not isinstance(merged, dict):
                self._note("a merge key '<<' must be given a mapping", source.start_mark)
                continue
            for key, value in merged.items():
                result.setdefault(key, value)

    def _bad_tag(self, node: Node) -> None:
        kind = "unsafe" if _UNSAFE_TAG.search(node.tag) else "unknown"
        self._note(f"{kind} YAML tag '{node.tag}': only plain YAML values are allowed; remove the tag",
                   node.start_mark)


def parse_text(path: str, data: bytes, limits: FileLimits) -> ParsedFile:
    """Parse one file's bytes into documents; hazards become located findings, never exceptions."""
    try:
        text = _decode(data)
    except _Refused as refused:
        return ParsedFile(path, "", problems=[_problem(path, refused)])
    parsed = ParsedFile(path, text)
    try:
        _check_text(text, limits)
        if not text.strip() or all(not line.strip() or line.lstrip().startswith("#")
                                   for line in text.splitlines()):
            raise _Refused("empty file: it holds no YAML document; add a document or delete the file", 1, 1)
        loader = _Loader(text)
        found: list[_Refused] = []
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                if node is None:  # pragma: no cover - check_node said a document follows
                    break
                builder = _Builder(limits)
                try:
                    value = builder.build(node, ())
                finally:
                    found.extend(builder.problems)
                if not builder.problems:  # a document with hazards is not read; the next ones are
                    parsed.documents.append(RawDocument(path, index, value, builder.marks))
                index += 1
        except (_Refused, yaml.MarkedYAMLError):  # stops parsing: the hazards found so far come first
            parsed.problems.extend(_problem(path, p) for p in _bounded(found))
            raise
        finally:
            loader.dispose()
        if found:
            parsed.problems.extend(_problem(path, p) for p in _bounded(found))
        elif all(document.data is None for document in parsed.documents):
            raise _Refused("empty file: it holds only document markers (---) and no YAML document; add a "
                           "document or delete the file", 1, 1)
    except _Stop as stop:
        parsed.problems.extend(_problem(path, p) for p in stop.problems)
    except _Refused as refused:
        parsed.problems.append(_problem(path, refused))
    except yaml.MarkedYAMLError as error:
        parsed.problems.append(_yaml_problem(path, error))
    except yaml.YAMLError as error:  # pragma: no cover - libyaml always gives marks
        parsed.problems.append(Finding(RULE_YAML, "critical", f"YAML error: {error}", path))
    return parsed


def _problem(path: str, refused: _Refused, rule: str = RULE_YAML) -> Finding:
    return Finding(rule, "critical", refused.message, path, refused.line, refused.column)


def _yaml_problem(path: str, error: yaml.MarkedYAMLError) -> Finding:
    mark = error.problem_mark or error.context_mark
    problem = (error.problem or "syntax error").strip()
    context = f" {error.context.strip()}" if error.context else ""
    if "found character '\\t'" in problem:
        problem = "tab character where YAML expects spaces; replace the tab with spaces"
    message = f"YAML syntax error: {problem}{context}"
    if error.context_mark is not None and error.problem_mark is not None \
            and error.context_mark.line != error.problem_mark.line:
        message += f" (started on line {error.context_mark.line + 1})"
    return Finding(RULE_YAML, "critical", message, path,
                   (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1)
