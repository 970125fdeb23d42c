"""YAML from disk or from git objects -> documents that remember the line and column of every node.

The text is composed once with libyaml (`yaml.CSafeLoader`); the Python data and the map from JSON path
to (line, column) are built from the same nodes. Parsed files are cached by the hash of their content,
so a re-check or a walk through history never parses the same bytes twice.
"""

from __future__ import annotations

import fnmatch
import hashlib
import marshal
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from svcascode.config import Limits, Settings
from svcascode.errors import SvcascodeError
from svcascode.finding import Finding, JsonPath

YAML_SUFFIXES = (".yaml", ".yml")
CACHE_DIR = ".svcascode-cache"
CACHE_FORMAT = 3

RULE_YAML = "yaml-invalid"
RULE_FILE = "file-refused"

Marks = dict[JsonPath, tuple[int, int]]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _TAG + "str", _TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"
_TIMESTAMP, _MAP, _SEQ, _MERGE = _TAG + "timestamp", _TAG + "map", _TAG + "seq", _TAG + "merge"
_constructor = yaml.constructor.SafeConstructor()
_SCALARS = {
    _INT: _constructor.construct_yaml_int,
    _FLOAT: _constructor.construct_yaml_float,
    _BOOL: _constructor.construct_yaml_bool,
}
_UNSAFE_TAG = re.compile(r"^tag:yaml\.org,2002:python/|^!!python/")


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1 implicit typing as PyYAML does it, without the path-resolver bookkeeping per node."""

    _implicit = yaml.resolver.Resolver.yaml_implicit_resolvers

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
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: refuse rather than run ten times slower
    raise SvcascodeError("PyYAML was installed without libyaml (yaml.CSafeLoader is missing): reinstall it from "
                         "a wheel, e.g. `pip install --force-reinstall --only-binary pyyaml pyyaml`") from None


class _Loader(CParser, _Resolver):  # type: ignore[misc]
    """libyaml's parser and composer; construction is ours (see _Builder)."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _Resolver.__init__(self)


class RawDocument:
    """One YAML document as plain data, with where each of its nodes stands in its file.

    The marks may arrive packed (marshal bytes from the cache); they are unpacked the first time a
    location is asked for, so documents without findings never pay for it.
    """

    __slots__ = ("file", "index", "data", "_marks", "_packed")

    def __init__(self, file: str, index: int, data: Any, marks: Marks | None = None,
                 packed: bytes | None = None) -> None:
        self.file, self.index, self.data = file, index, data
        self._marks, self._packed = marks, packed

    @property
    def marks(self) -> Marks:
        if self._marks is None:
            self._marks = marshal.loads(self._packed) if self._packed else {}
            self._packed = None
        return self._marks

    def packed_marks(self) -> bytes:
        return self._packed if self._packed is not None else marshal.dumps(self.marks)

    def locate(self, path: Iterable[str | int]) -> tuple[int, int]:
        """Line and column (1-based) of the node at `path`, or of its nearest ancestor that exists."""
        marks = self.marks
        key = tuple(path)
        while key not in marks and key:
            key = key[:-1]
        return marks.get(key, (1, 1))


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


def _check_text(text: str, limits: Limits) -> None:
    """Hazards that libyaml reports badly or not at all, found with C-speed scans first."""
    if "\t" in text:
        match = _TAB_INDENT.search(text)
        if match is not None:
            line, _ = _line_col(text, match.start())
            raise _Refused("tab character used for indentation: YAML indents with spaces; replace the tab "
                           "with spaces", line, match.end() - match.start())
    flows = text.count("[") + text.count("{")
    half = max(limits.max_depth // 2, 2)
    # Nesting needs brackets, indentation or "- - -" runs; plain substring scans rule most texts out.
    if flows > limits.max_depth or "\n" + " " * half in text or "- " * half in text:
        _check_depth(text, limits.max_depth)


def _check_depth(text: str, max_depth: int) -> None:
    """Exact nesting depth with the pure-Python event parser; only for texts the quick scan suspects.

    libyaml's composer recurses in C and crashes the process on very deep nesting, so the depth must be
    known before it runs.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark
                    raise _Refused(f"nesting deeper than {max_depth} levels (limits.max_depth): flatten "
                                   "the document", mark.line + 1, mark.column + 1)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the syntax error is reported, with its mark, by the real parse


# ---------------------------------------------------------------------------------------------------
# Nodes -> data and marks


class _Builder:
    """Builds plain data and the path -> (line, column) map from one composed document."""

    __slots__ = ("marks", "nodes", "aliases", "limits", "sizes")

    def __init__(self, limits: Limits) -> None:
        self.marks: Marks = {}
        self.nodes = 0
        self.aliases = 0
        self.limits = limits
        self.sizes: dict[int, tuple[Any, int]] = {}

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
        before = self.nodes
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise _Refused(f"document has more than {self.limits.max_nodes} nodes (limits.max_nodes)",
                           mark.line + 1, mark.column + 1)
        tag = node.tag
        if isinstance(node, ScalarNode):
            value = self._scalar(node, tag)
        elif isinstance(node, MappingNode):
            value = self._mapping(node, path, tag)
        elif isinstance(node, SequenceNode):
            if tag != _SEQ:
                self._bad_tag(node)
            value = [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        else:  # pragma: no cover - the composer only makes these three
            raise _Refused("unexpected YAML node", mark.line + 1, mark.column + 1)
        self.sizes[id(node)] = (value, self.nodes - before)
        return value

    def _scalar(self, node: ScalarNode, tag: str) -> Any:
        if tag == _STR or tag == _TIMESTAMP:  # dates stay text: the models parse them, and marshal can cache str
            return node.value
        if tag == _NULL:
            return None
        construct = _SCALARS.get(tag)
        if construct is None:
            self._bad_tag(node)
        return construct(node)

    def _mapping(self, node: MappingNode, path: JsonPath, tag: str) -> dict[str, Any]:
        if tag != _MAP:
            self._bad_tag(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._merge(result, value_node, path)
                continue
            if not isinstance(key_node, ScalarNode):
                mark = key_node.start_mark
                raise _Refused("a mapping key must be a plain value, not a mapping or a sequence",
                               mark.line + 1, mark.column + 1)
            key = self._scalar(key_node, key_node.tag)
            if not isinstance(key, str):
                key = key_node.value  # `on:` or `1:` as keys mean the text the user wrote
            if key in result:
                mark = key_node.start_mark
                first = self.marks.get((*path, key), (0, 0))[0]
                raise _Refused(f"duplicate key '{key}' (first defined on line {first}): remove one of them",
                               mark.line + 1, mark.column + 1)
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
                mark = source.start_mark
                raise _Refused("a merge key '<<' must be given a mapping", mark.line + 1, mark.column + 1)
            for key, value in merged.items():
                result.setdefault(key, value)

    @staticmethod
    def _bad_tag(node: Node) -> None:
        mark = node.start_mark
        kind = "unsafe" if _UNSAFE_TAG.search(node.tag) else "unknown"
        raise _Refused(f"{kind} YAML tag '{node.tag}': only plain YAML values are allowed; remove the tag",
                       mark.line + 1, mark.column + 1)


def parse_text(path: str, data: bytes, limits: Limits) -> ParsedFile:
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
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                builder = _Builder(limits)
                value = builder.build(node, ())
                parsed.documents.append(RawDocument(path, index, value, builder.marks))
                index += 1
        finally:
            loader.dispose()
        if all(document.data is None for document in parsed.documents):
            raise _Refused("empty file: it holds only document markers (---) and no YAML document; add a "
                           "document or delete the file", 1, 1)
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


# ---------------------------------------------------------------------------------------------------
# Cache by content hash


class ParseCache:
    """Parsed files keyed by the hash of their bytes: in memory always, on disk when given a folder.

    On disk the entries of the last run are one `marshal`ed pack, so loading all of them costs a fraction
    of parsing again. The pack is written to a temporary file and renamed, so a crash cannot corrupt it,
    and it keeps only the entries the last run used, so it does not grow without bound.
    """

    PACK = f"parsed-v{CACHE_FORMAT}.marshal"

    def __init__(self, folder: Path | None, limits: Limits) -> None:
        self.folder = folder
        self.limits = limits
        self.memory: dict[str, Any] = {}
        self.used: set[str] = set()
        self.parsed = 0
        self.hits = 0
        self._dirty = False
        self._salt = repr((CACHE_FORMAT, yaml.__version__, limits.model_dump())).encode()
        if folder is not None:
            try:
                stored = marshal.loads((folder / self.PACK).read_bytes())
                if isinstance(stored, dict):
                    self.memory = stored
            except (OSError, EOFError, ValueError, TypeError):
                pass  # no pack yet, or an unreadable one: parse afresh

    def key(self, data: bytes) -> str:
        return hashlib.sha256(self._salt + data).hexdigest()

    def parse(self, path: str, data: bytes, key: str | None = None) -> ParsedFile:
        key = key or self.key(data)
        self.used.add(key)
        entry = self.memory.get(key)
        if entry is not None:
            self.hits += 1
            return self._rebuild(path, data, entry)
        self.parsed += 1
        parsed = parse_text(path, data, self.limits)
        self.memory[key] = self.entry(parsed)
        self._dirty = True
        return parsed

    def add(self, key: str, entry: Any) -> None:
        """Store an entry parsed elsewhere (by a worker process)."""
        self.memory[key] = entry
        self.used.add(key)
        self.parsed += 1
        self._dirty = True

    @staticmethod
    def entry(parsed: ParsedFile) -> Any:
        return ([(doc.data, doc.packed_marks()) for doc in parsed.documents],
                [(p.message, p.line, p.column) for p in parsed.problems])

    @staticmethod
    def _rebuild(path: str, data: bytes, entry: Any) -> ParsedFile:
        docs, problems = entry
        text = data.decode("utf-8", "replace") if docs or problems else ""
        return ParsedFile(
            path, text,
            [RawDocument(path, i, value, packed=marks) for i, (value, marks) in enumerate(docs)],
            [Finding(RULE_YAML, "critical", message, path, line, column) for message, line, column in problems],
        )

    def save(self) -> None:
        """Write the entries this run used, when anything changed."""
        if self.folder is None or (not self._dirty and len(self.used) == len(self.memory)):
            return
        keep = {key: self.memory[key] for key in self.used if key in self.memory}
        target = self.folder / self.PACK
        temporary = target.with_name(f"{self.PACK}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(marshal.dumps(keep))
            os.replace(temporary, target)
        except (OSError, ValueError):
            temporary.unlink(missing_ok=True)  # a read-only checkout still works, without the disk cache


def make_cache(root: Path, settings: Settings) -> ParseCache:
    folder = root / CACHE_DIR if settings.cache else None
    if folder is not None and not folder.exists():
        try:
            folder.mkdir()
            (folder / ".gitignore").write_text("*\n")
        except OSError:
            folder = None
    return ParseCache(folder, settings.limits)


# ---------------------------------------------------------------------------------------------------
# Finding files on disk


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the repository root, with forward slashes
    absolute: Path


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _link_problem(root: Path, link: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it leads to something inside the repository."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return "symlink loop: the link leads back to itself; remove or fix the link"
    except OSError as error:
        return f"symlink cannot be followed ({error.strerror}); remove or fix the link"
    try:
        target.relative_to(root)
    except ValueError:
        return "symlink points outside the repository: refused; copy the file into the repository instead"
    if target.is_dir() and link.parent.resolve().is_relative_to(target):
        return (f"symlink loop: the link leads to {_relative(root, target) or '.'}, which contains it; remove "
                "the link")
    return None


def discover(root: Path, settings: Settings, paths: Iterable[str] = ()) -> tuple[list[SourceFile], list[Finding]]:
    """The YAML files under the configured roots (or the given paths), with refusals as findings.

    A given path that does not exist is a SvcascodeError (exit 2); a configured root that does not exist
    is skipped, since a catalogue may have no `policies/` yet.
    """
    root = root.resolve()
    files: dict[str, SourceFile] = {}
    refused: list[Finding] = []
    given = list(paths)
    starts: list[Path] = []
    for name in given:
        candidate = Path(name)
        candidate = candidate if candidate.is_absolute() else Path.cwd() / candidate
        if not candidate.exists() and not candidate.is_symlink():
            raise SvcascodeError(f"{name}: no such file or directory")
        starts.append(candidate)
    if not given:
        starts = [root / r for r in settings.roots if (root / r).exists()]
        if not starts:
            raise SvcascodeError(
                f"no catalogue found: none of {', '.join(settings.roots)} exists under {root}; "
                "run in a catalogue repository, pass paths, or set `roots` in .svcascode.yaml")

    def excluded(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, pattern) for pattern in settings.exclude)

    def refuse(path: Path, message: str) -> None:
        refused.append(Finding(RULE_FILE, "critical", message, _relative(root, path.absolute())))

    def add(path: Path, explicit: bool) -> None:
        rel = _relative(root, path.absolute())
        if excluded(rel) or rel.startswith(CACHE_DIR) or not (explicit or path.suffix in YAML_SUFFIXES):
            return
        problem = _link_problem(root, path) if path.is_symlink() else None
        if problem is not None:
            refuse(path, problem)
        else:  # a file link is read as a file of its own, as `check --rev` reads it from git
            files.setdefault(rel, SourceFile(rel, path))

    walked: set[Path] = set()
    links: list[Path] = []

    def walk(start: Path, real: Path) -> None:
        walked.add(real)
        for folder, dirnames, filenames in os.walk(start, followlinks=False):
            base = Path(folder)
            walked.add(real / base.relative_to(start))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != CACHE_DIR)
            for dirname in list(dirnames):
                if (base / dirname).is_symlink():
                    dirnames.remove(dirname)
                    links.append(base / dirname)
            for filename in sorted(filenames):
                add(base / filename, False)

    for start in starts:
        if start.is_dir() and not start.is_symlink():
            walk(start, start.resolve())
        elif not start.is_dir():
            add(start, True)
        else:
            links.append(start)
    while links:  # each folder once, whether reached by its own path or through links
        link = links.pop(0)
        problem = _link_problem(root, link)
        if problem is not None:
            refuse(link, problem)
        elif link.resolve() not in walked:
            walk(link, link.resolve())
    return sorted(files.values(), key=lambda f: f.path), refused


def read_bytes(source: SourceFile, limits: Limits) -> bytes | ParsedFile:
    """A file's bytes, or a ParsedFile holding why it was refused (unreadable, oversized)."""
    try:
        size = source.absolute.stat().st_size
        if size > limits.max_file_bytes:
            return ParsedFile(source.path, "", problems=[Finding(
                RULE_FILE, "critical", f"file is {size} bytes, over the limit of {limits.max_file_bytes} "
                "(limits.max_file_bytes): split it into smaller files", source.path)])
        return source.absolute.read_bytes()
    except OSError as error:
        return ParsedFile(source.path, "", problems=[Finding(
            RULE_FILE, "critical", f"cannot read the file: {error.strerror}", source.path)])


def read_file(source: SourceFile, limits: Limits, cache: ParseCache) -> ParsedFile:
    """Read and parse one file from disk; an unreadable or oversized file is a located finding."""
    data = read_bytes(source, limits)
    return data if isinstance(data, ParsedFile) else cache.parse(source.path, data)


def parse_blob(path: str, data: bytes, cache: ParseCache) -> ParsedFile:
    """Parse a file's bytes read from a git object; oversized blobs are refused like oversized files."""
    if len(data) > cache.limits.max_file_bytes:
        return ParsedFile(path, "", problems=[Finding(
            RULE_FILE, "critical", f"file is {len(data)} bytes, over the limit of "
            f"{cache.limits.max_file_bytes} (limits.max_file_bytes): split it into smaller files", path)])
    return cache.parse(path, data)


# ---------------------------------------------------------------------------------------------------
# Parsing many files: in worker processes when there is enough to parse


PARALLEL_THRESHOLD = 300  # below this many unparsed files, starting workers costs more than it saves
_CHUNK = 64


def _parse_chunk(args: tuple[list[tuple[str, str, bytes]], Limits]) -> list[tuple[str, bytes]]:
    chunk, limits = args
    return [(key, marshal.dumps(ParseCache.entry(parse_text(path, data, limits)))) for key, path, data in chunk]


def parse_many(items: Iterable[tuple[str, bytes | ParsedFile]], cache: ParseCache) -> Iterator[ParsedFile]:
    """Parse (path, bytes) pairs in order, through the cache; on several cores, misses go to workers.

    Results are yielded as soon as their chunk is parsed, so the caller validates early files while
    the workers parse later ones. An item may already be a ParsedFile (a refused file); it passes
    through unchanged.
    """
    keyed: list[tuple[str, str | None, bytes | ParsedFile]] = []
    missing: dict[str, tuple[str, str, bytes]] = {}
    for path, data in items:
        if isinstance(data, ParsedFile):
            keyed.append((path, None, data))
            continue
        key = cache.key(data)
        keyed.append((path, key, data))
        if key not in cache.memory and key not in missing:
            missing[key] = (key, path, data)
    workers = min(os.cpu_count() or 1, 4)
    parsed = iter(())
    if len(missing) >= PARALLEL_THRESHOLD and workers > 1:
        parsed = _parse_in_workers(list(missing.values()), cache.limits, workers)
    for path, key, data in keyed:
        if isinstance(data, ParsedFile):
            yield data
            continue
        while key not in cache.memory:  # chunks arrive in order: wait for the one holding this file
            results = next(parsed, None)
            if results is None:
                break  # no worker result for it (no fork, no processes): parse it here
            for done, blob in results:
                cache.add(done, marshal.loads(blob))
        yield cache.parse(path, data, key)
    for _ in parsed:  # let the pool finish and close now, not when the generator is collected
        pass


def _parse_in_workers(todo: list[tuple[str, str, bytes]], limits: Limits, workers: int
                      ) -> Iterator[list[tuple[str, bytes]]]:
    """Parsed chunks, in order, from worker processes; nothing when processes cannot be had."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: parse in this process
        return
    chunks = [(todo[i:i + _CHUNK], limits) for i in range(0, len(todo), _CHUNK)]
    try:
        with context.Pool(workers) as pool:
            yield from pool.imap(_parse_chunk, chunks)
    except OSError:
        return  # no processes to be had: what was not parsed is parsed in this process
