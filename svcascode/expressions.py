"""Expression checks: a Control's rule written in CEL, the Common Expression Language.

    check:
      params: {minOnCall: 2}
      variables:
        - {name: team, expression: 'owner(document)'}
      expression: size(onCall(team)) >= params.minOnCall
      message: "owner team {{team.metadata.name}} has {{size(onCall(team))}} people on call"
      path: spec.owner

The expression sees `document` (the selected document), `asOf` (the evaluation date, a timestamp at
midnight UTC), `params` and the named `variables`, and reads the rest of the catalogue only through
the functions in FUNCTIONS, each of which goes through one CatalogueView method. Durations in documents
are CEL durations, dates and date-times timestamps, percentages doubles, so they compare as values:
`document.spec.continuity.rpo <= duration("4h")`, `asOf - e.spec.performedAt > duration("90d")`.

It yields true (the document passes), false (one finding with `message`), or a list of strings (one
finding per string; an empty list passes). A syntax error, an unknown function or variable, or a wrong
number of arguments is a control-invalid finding at its line and column in the Control's file; a
runtime error (a missing field, a type mismatch) is a finding on the document. Every evaluation is
metered: each step and each list, map or string it builds costs, so neither a hostile expression nor
a hostile document can make it run long or build a large value.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import typing
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from pydantic import BaseModel

from svcascode import facts
from svcascode.escape import shorten
from svcascode.models.common import Duration, duration_seconds

if TYPE_CHECKING:
    from svcascode.documents import Document
    from svcascode.reader import CatalogueReader

# Bounds. An expression is short text; a control's evaluation on one document (its variables, its
# expressions and its messages together) may take COST_PER_DOCUMENT steps (a step is one node of an
# expression evaluated, one element of a list, map or string it builds, one name a macro's scope copies,
# one character of a message), and COST_PER_DOCUMENT_READ more for each other document the catalogue's
# functions give it (each counted once), up to MAX_COST_PER_DOCUMENT: a control that reads the 800
# services of one access policy does work in proportion, and must not fail where it reads 8. Counted, so
# the same document gives the same answer on any machine. One control's evaluations over the whole
# catalogue may take SECONDS_PER_CONTROL of CPU time.
MAX_EXPRESSION_CHARS = 8192
MAX_CONTROL_CHARS = 65_536  # a control's expressions, variables and messages together: compiling is bounded too
MAX_MESSAGE_CHARS = 2_000  # a finding's message, placeholders filled in; longer ones are cut, saying so
MAX_MESSAGES = 100  # findings one expression's list of messages gives on one document
MAX_NESTING = 24  # brackets, parentheses and braces open at once
COST_PER_DOCUMENT = 200_000
COST_PER_DOCUMENT_READ = 5_000  # the library's controls take up to about 2,000 steps for each document they read
MAX_COST_PER_DOCUMENT = 20_000_000  # whatever it reads: lists it builds stay within a few hundred MB
SECONDS_PER_CONTROL = 20.0

logging.getLogger("celpy").setLevel(logging.CRITICAL)  # celpy logs evaluation errors we report ourselves


@dataclass(frozen=True)
class FunctionDoc:
    signature: str
    summary: str
    example: str


# The functions an expression may call besides CEL's own, in the order the guide documents them.
FUNCTIONS: dict[str, FunctionDoc] = {
    "lookup": FunctionDoc("lookup(kind, name) -> document or null", "the document of that kind and name",
                          'lookup("Team", document.spec.owner) != null'),
    "services": FunctionDoc("services(doc) -> list of Service", "the services a document concerns (a Service "
                            "itself, a ServiceLevel's service, a Team's owned services, Evidence's subject's, ...)",
                            'services(document).all(s, s.spec.tier != "tier-0")'),
    "owner": FunctionDoc("owner(service) -> Team or null", "the team that owns a service (spec.owner)",
                         'owner(document).spec.members.exists(m, m.role == "lead")'),
    "levels": FunctionDoc("levels(service) / levels(service, type) -> list of ServiceLevel",
                          "the service's levels in force on the as-of date, optionally of one type (SLA, OLA, UC)",
                          'size(levels(document, "SLA")) > 0'),
    "allLevels": FunctionDoc("allLevels(service) -> list of ServiceLevel", "every ServiceLevel of the service, "
                             "whatever its dates (to say why none is in force)",
                             'allLevels(document).filter(l, !inForce(l))'),
    "inForce": FunctionDoc("inForce(level) -> bool", "whether a ServiceLevel is in force on the as-of date "
                           "(validFrom through validTo, both included)", 'allLevels(document).exists(l, inForce(l))'),
    "dependencies": FunctionDoc("dependencies(service) -> list of Service",
                                "the services it depends on (spec.dependencies) that are in the catalogue",
                                'dependencies(document).all(d, d.spec.tier <= document.spec.tier)'),
    "dependants": FunctionDoc("dependants(service) -> list of Service", "the services that depend on it",
                              'dependants(document).exists(d, d.spec.tier == "tier-0")'),
    "evidence": FunctionDoc("evidence(doc) / evidence(doc, type) -> list of Evidence",
                            "evidence about a document performed on or before the as-of date, newest first",
                            'evidence(document, "restore-test").exists(e, asOf - e.spec.performedAt < duration("180d"))'),
    "onCall": FunctionDoc("onCall(team) -> list of string", "the distinct people on call across primary and "
                          "secondary", 'size(onCall(owner(document))) >= 2'),
    "tier": FunctionDoc("tier(doc) -> string", "the tier a document is judged at: a Service's own, else the "
                        "strictest of the services it concerns", 'tier(document) in ["tier-0", "tier-1"]'),
    "baseline": FunctionDoc("baseline(name, tier) -> value or null", "a per-tier Baseline parameter (the "
                            "repository's Baselines over the defaults)",
                            'document.spec.review.privilegedCadence <= baseline("access_review_privileged_max", '
                            'tier(document))'),
    "duration": FunctionDoc("duration(text) -> duration", "a duration as documents write it (90d, 2w, 1y, 15m) "
                            "or as CEL does (1h30m, 3600s)", 'document.spec.continuity.rpo <= duration("4h")'),
    "date": FunctionDoc("date(text) -> timestamp", "a date (2026-11-27) as a timestamp at midnight UTC",
                        'document.spec.validFrom <= date("2026-01-01")'),
    "join": FunctionDoc("list.join(separator) -> string", "the strings of a list joined, as in CEL's strings "
                        "extension", 'params.roles.join(" or ")'),
}

VARIABLES = ("document", "asOf", "params")
MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "dyn"})
# How many arguments each function takes (a method call counts its receiver).
_ARITY: dict[str, tuple[int, ...]] = {"lookup": (2,), "services": (1,), "owner": (1,), "levels": (1, 2),
                                      "dependencies": (1,), "dependants": (1,), "evidence": (1, 2),
                                      "onCall": (1,), "duration": (1,), "date": (1,), "join": (1, 2),
                                      "allLevels": (1,), "inForce": (1,), "tier": (1,), "baseline": (2,)}


class ExpressionError(ValueError):
    """What is wrong with an expression, at a line and column of its text (1-based)."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class CostExceeded(Exception):
    """An evaluation went past its cost limit."""


class ControlCostExceeded(CostExceeded):
    """A control's evaluations over the catalogue went past their cost limit."""


# ---------------------------------------------------------------------------------------------------
# The catalogue, as expressions see it


class CatalogueView:
    """Every catalogue read an expression makes goes through one of these methods."""

    def __init__(self, catalogue: CatalogueReader, as_of: date,
                 baseline: Callable[[str, str], Any] | None = None, context: Any = None) -> None:
        self.catalogue, self._as_of = catalogue, as_of
        self._baseline = baseline
        self._context = context  # a CheckContext: the date is then read through it, when a function needs it

    @property
    def as_of(self) -> date:
        """The as-of date, read (and recorded as read, for the result memo) only by the functions that
        depend on it, so a result that does not is reused on every date (a forecast's many dates)."""
        return self._context.as_of if self._context is not None else self._as_of

    def _in_force(self, level: Document) -> bool:
        if self._context is not None:  # recorded as the answer, not the date
            return bool(self._context.in_date(level))
        return self.catalogue.in_force(level, self._as_of)

    def tier_of(self, document: Document) -> str:
        return facts.tier_of(self.catalogue, document)

    def baseline(self, name: str, tier: str) -> Any:
        return self._baseline(name, tier) if self._baseline is not None else None

    # The documents of the lookups made in a `handing_over` block go to the expression as they are, read by
    # no Python code here: the result memo then follows only the fields the expression reads of them
    # (`CatalogueReader.handing_over`). A method that reads a document it looked up (a level's type, an
    # evidence's date) looks it up outside such a block.

    def document(self, kind: str, name: str) -> Document | None:
        """A document a function is called with, which the function then reads."""
        return self.catalogue.get(kind, name)

    def lookup(self, kind: str, name: str) -> Document | None:
        with self.catalogue.handing_over():
            return self.catalogue.get(kind, name)

    def services_of(self, document: Document) -> list[Document]:
        if document.kind in ("Evidence", "Waiver"):  # reads the subjects it resolves
            return facts.services_of(self.catalogue, document)
        with self.catalogue.handing_over():
            return facts.services_of(self.catalogue, document)

    def owner(self, service: Document) -> Document | None:
        owner = getattr(service.spec, "owner", None)
        with self.catalogue.handing_over():
            return self.catalogue.get("Team", str(owner).removeprefix("team:")) if owner else None

    def levels(self, service: Document, level_type: str | None = None) -> list[Document]:
        if level_type is not None:  # reads each level's type
            return [level for level in self.catalogue.levels_of(service.name)
                    if level.spec.type == level_type and self._in_force(level)]
        with self.catalogue.handing_over():  # whether each is in force is a lookup of its own
            return [level for level in self.catalogue.levels_of(service.name) if self._in_force(level)]

    def all_levels(self, service: Document) -> list[Document]:
        with self.catalogue.handing_over():
            return list(self.catalogue.levels_of(service.name))

    def in_force(self, level: Document) -> bool:
        return self._in_force(level)

    def dependencies(self, service: Document) -> list[Document]:
        names = [d.service for d in getattr(service.spec, "dependencies", ())]
        with self.catalogue.handing_over():
            found = (self.catalogue.get("Service", name) for name in names)
            return [s for s in found if s is not None]

    def dependants(self, service: Document) -> list[Document]:
        with self.catalogue.handing_over():
            return sorted(set(self.catalogue.dependants_of(service.name)), key=lambda s: s.name)

    def evidence(self, subject: Document, evidence_type: str | None = None) -> list[Document]:
        found = [e for e in self.catalogue.evidence_about(subject.kind, subject.name)
                 if e.spec.performed_at <= self.as_of and (evidence_type is None or e.spec.type == evidence_type)]
        return sorted(found, key=lambda e: e.spec.performed_at, reverse=True)

    def on_call(self, team: Document) -> list[str]:
        return facts.on_call_people(team)


# ---------------------------------------------------------------------------------------------------
# Values


def _celpy() -> Any:
    import celpy  # imported when an expression control is built: every other run does without it

    if not _PATCHED:
        _PATCHED.append(_untyped_casts())
    return celpy


_PATCHED: list[bool] = []


class _AnyAlias:
    """Stands for typing's Tuple, List, Union and Iterable where celpy's interpreter only passes them to
    typing.cast."""

    def __getitem__(self, item: Any) -> "_AnyAlias":
        return self


def _untyped_casts() -> bool:
    """celpy 0.5's interpreter writes `cast(Tuple[Result, Result], ...)` at nearly every node it visits, and
    `Result` is a union of two dozen types: building and hashing those subscriptions took a third of an
    expression's time. In its module the names are used only inside `cast` (which ignores its first
    argument) once the module is loaded, so they are replaced by an alias that subscripts to itself.
    Done only for the 0.5 series the project pins; any other version keeps typing's."""
    from importlib.metadata import PackageNotFoundError, version

    from celpy import evaluation

    try:
        if not version("cel-python").startswith("0.5."):
            return False
    except PackageNotFoundError:
        return False
    for name in ("Tuple", "List", "Union", "Iterable"):
        if getattr(evaluation, name, None) is getattr(typing, name):
            setattr(evaluation, name, _AnyAlias())
    return True


_MAP: list[type] = []
_DURATION: list[type] = []


def _duration_type() -> type:
    """celpy's DurationType, remembering how a document wrote it (90d), for messages."""
    if not _DURATION:
        from celpy import celtypes

        class Written(celtypes.DurationType):
            written = ""

        _DURATION.append(Written)
    return _DURATION[0]


def written_duration(text: str) -> Any:
    value = _duration_type()(duration_seconds(text))
    value.written = text
    return value


def _map_type() -> type:
    """celpy's MapType, with `map != null` true as `map == null` is false (celpy 0.5 raises for it)."""
    if not _MAP:
        from celpy import celtypes

        class Map(celtypes.MapType):
            def __ne__(self, other: Any) -> bool:
                return True if other is None else bool(super().__ne__(other))

            __hash__ = None  # type: ignore[assignment]

        class Lazy(Map):
            """A map whose keys are known and whose values become CEL values when first read.

            A document's map is read for a few fields (a dependant's tier, a target's classification):
            converting all of a model's fields up front cost most of an expression's time. Every way
            celpy and the messages read a value goes through `__getitem__`, `get`, `__contains__`,
            `__len__`, `__iter__`, `keys`, `values`, `items`, `__eq__` or `__repr__`.

            A document's own maps know their path from the document (`_path`: its raw document, then the
            keys), and while `field_reads` is active each of those ways notes what it read
            (`FieldReads`), so the result memo can tell which of a document's fields a result depends on.
            A map's size (`len`, which the step budget charges and `size()` gives) is part of what reading
            it under its key notes; a document's own size is noted when it is handed over (`value_of`).
            """

            __slots__ = ("_path",)  # set by `_lazy_map`; a slot, not an attribute dict per map
            _path: tuple[Any, ...] | None

            def __getitem__(self, key: Any) -> Any:
                path = self._path
                if path is not None and _READS and path[0] is not _READS[-1].subject:
                    _READS[-1].note(path, str(key))
                value = super().__getitem__(key)
                if type(value) not in _CONVERTED:
                    value = to_cel(value)
                    if path is not None and type(value) is Lazy:
                        value._path = (*path, str(key))
                    dict.__setitem__(self, key, value)
                return value

            def get(self, key: Any, default: Any = None) -> Any:
                return self[key] if key in self else default

            def __contains__(self, key: Any) -> bool:
                path = self._path
                if path is not None and _READS and path[0] is not _READS[-1].subject:
                    _READS[-1].note(path, str(key))
                return dict.__contains__(self, key)

            def _whole(self) -> None:
                """Note that all of this map was read (its keys, its values, its order)."""
                path = self._path
                if path is not None and _READS and path[0] is not _READS[-1].subject:
                    _READS[-1].note(path, WHOLE)

            def __iter__(self) -> Any:
                self._whole()
                return dict.__iter__(self)

            def keys(self) -> Any:
                self._whole()
                return dict.keys(self)

            def _all(self) -> None:
                self._whole()
                for key in list(dict.keys(self)):
                    self[key]

            def values(self) -> Any:
                self._all()
                return dict.values(self)

            def items(self) -> Any:
                self._all()
                return dict.items(self)

            def __eq__(self, other: Any) -> bool:
                self._all()
                if isinstance(other, Lazy):
                    other._all()
                return bool(super().__eq__(other))

            def __ne__(self, other: Any) -> bool:
                return True if other is None else not self.__eq__(other)

            __hash__ = None

            def __repr__(self) -> str:
                self._all()
                return super().__repr__()

        _MAP.extend((Map, Lazy))
        _CONVERTED.update((celtypes.BoolType, celtypes.StringType, celtypes.IntType, celtypes.DoubleType,
                           celtypes.TimestampType, celtypes.DurationType, celtypes.ListType, Map, Lazy,
                           _duration_type()))
    return _MAP[0]


_CONVERTED: set[type] = set()  # the CEL types to_cel makes: a Lazy map's value of another type is not converted yet

# What an evaluation read of the documents an expression was given, field by field.
#
# A path is the keys from a document's root to a map, then what was read of that map: a key (the value
# under it: absent, a map of so many keys, or any other value as a whole), SIZE (how many keys it has) or
# WHOLE (all of it, in order). Keys are text, so the two marks cannot be mistaken for one.
Path = tuple[str | int | None, ...]
SIZE = 0
WHOLE = None
_READS: list[FieldReads] = []  # the innermost `field_reads` block last


class FieldReads:
    """The paths an evaluation read of each document's value (by the document's raw document)."""

    __slots__ = ("_by_root", "subject", "count")

    def __init__(self, subject: Any = None) -> None:
        self._by_root: dict[int, set[Path]] = {}
        self.subject = subject  # the raw document evaluated: what it reads of itself is not noted
        self.count = 0  # reads noted

    def note(self, path: tuple[Any, ...], read: str | int | None) -> None:
        self.count += 1
        found = self._by_root.get(id(path[0]))
        if found is None:
            found = self._by_root[id(path[0])] = set()
        found.add((*path[1:], read))

    def paths(self, documents: Iterable[Document]) -> tuple[Path, ...]:
        """Every path read of any of these documents, in one order."""
        found: set[Path] = set()
        for document in documents:
            found.update(self._by_root.get(id(document.raw), ()))
        return tuple(sorted(found, key=repr))


    def __enter__(self) -> FieldReads:
        _READS.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _READS.pop()


def field_reads(subject: Document | None = None) -> FieldReads:
    """A block (`with`) that notes what the expressions evaluated in it read of the documents they were given
    (other than `subject`, the document they are evaluated on, whose whole digest its results are kept under)."""
    return FieldReads(subject.raw if subject is not None else None)


_MISSING = object()


def document_value(document: Document) -> Any:
    """A document as a CEL map (made once per document), whose maps know their path from it."""
    value: Any = document.cel
    if value is None:  # a document's value is the same for every control and commit that reads it
        value = document.cel = to_cel(document.model)
        if type(value) is _MAP[1]:
            setattr(value, "_path", (document.raw,))
    return value


def projection(document: Document, paths: tuple[Path, ...]) -> bytes:
    """A digest of what a document's value holds at these paths: two documents with the same projection give
    an evaluation that reads only these paths the same values, in the same order, at the same cost."""
    outer = _READS[:]
    _READS.clear()  # reading for the digest is not a read of the evaluation
    try:
        h = hashlib.blake2b(digest_size=16)
        root = document_value(document)
        for path in paths:
            node: Any = root
            for key in path[:-1]:
                node = _child(node, key) if isinstance(node, dict) and isinstance(key, str) else _MISSING
            read = path[-1]
            if not isinstance(node, dict):
                text = "-"
            elif read is SIZE:
                text = f"#{dict.__len__(node)}"
            elif read is WHOLE:
                text = _written(node, whole=True)
            else:
                text = _written(_child(node, read), whole=False)
            h.update(text.encode("utf-8", "surrogatepass") + b"\0")
        return h.digest()
    finally:
        _READS[:] = outer


def _child(node: dict[Any, Any], key: Any) -> Any:
    """A map's value under a key as `Lazy.__getitem__` gives it, without noting the read."""
    if not dict.__contains__(node, key):
        return _MISSING
    return node[key]


def _written(value: Any, whole: bool) -> str:
    """A value as text that tells apart every two values an expression could tell apart (types included); a
    map not read whole by its size only (its values are read, and noted, one by one)."""
    from celpy import celtypes

    if value is _MISSING:
        return "-"
    if value is None:
        return "n"
    if isinstance(value, dict):
        if not whole:
            return f"m{dict.__len__(value)}"
        return "{" + ",".join(f"{str(k)!r}:{_written(_child(value, k), True)}" for k in list(dict.keys(value))) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_written(item, True) for item in value) + "]"
    if isinstance(value, celtypes.DurationType):
        return f"d{value.total_seconds()!r}/{getattr(value, 'written', '')!r}"
    if isinstance(value, celtypes.TimestampType):
        return f"t{value.isoformat()}"
    return f"{type(value).__name__}:{value!r}"


def _lazy_map(items: dict[Any, Any]) -> Any:
    _map_type()
    lazy = _MAP[1]()
    lazy._path = None
    dict.update(lazy, items)
    return lazy


def to_cel(value: Any) -> Any:
    """A document's value as CEL sees it: durations as durations, dates as timestamps.

    A mapping (a model, a dict) becomes a map whose values are converted when first read.
    """
    from celpy import celtypes

    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, Duration):
        return written_duration(str(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, datetime):
        return celtypes.TimestampType(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return celtypes.TimestampType(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
    if isinstance(value, (list, tuple)):
        return celtypes.ListType([to_cel(v) for v in value])
    if isinstance(value, dict):
        return _lazy_map({celtypes.StringType(str(k)): v for k, v in value.items() if v is not None})
    if isinstance(value, BaseModel):
        return _lazy_map({key: item for name, key in _keys_of(type(value))
                          if (item := getattr(value, name)) is not None})
    return celtypes.StringType(str(value))


_KEYS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _keys_of(model: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """A model's fields as (attribute, the key a CEL map names it by), made once per model class: a
    catalogue's documents share their keys (immutable strings) instead of making their own."""
    keys = _KEYS.get(model)
    if keys is None:
        from celpy import celtypes

        keys = _KEYS[model] = tuple((name, celtypes.StringType(info.alias or name))
                                    for name, info in model.model_fields.items())
    return keys


def from_cel(value: Any) -> Any:
    """A CEL value as plain Python, for messages."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.DurationType):
        if getattr(value, "written", ""):
            return str(getattr(value, "written"))
        seconds = value.total_seconds()
        unit = next((u for u, n in (("d", 86400), ("h", 3600), ("m", 60)) if seconds and seconds % n == 0), "s")
        return f"{seconds / dict(d=86400, h=3600, m=60, s=1)[unit]:g}{unit}"
    if isinstance(value, celtypes.TimestampType):
        return value.date().isoformat() if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
    if isinstance(value, list):
        return [from_cel(v) for v in value]
    if isinstance(value, dict):
        return {str(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, str):  # celpy's StringType, IntType and DoubleType, shown in a map as plain values
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


# ---------------------------------------------------------------------------------------------------
# Compiling


@dataclass
class Compiled:
    text: str
    ast: Any
    functions: tuple[str, ...]  # the catalogue functions it calls, for `explain`
    reads_as_of: bool = True  # whether it names `asOf`
    program: Any = None  # the compiled closures (svcascode.celeval); None: celpy's interpreter runs the tree


def compile_expression(text: str, known: set[str]) -> Compiled:
    """Parse and check an expression; an ExpressionError at its line and column when it is wrong.

    `known` are the variable names it may read besides its macros' own.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression of {len(text):,} characters, more than {MAX_EXPRESSION_CHARS:,}")
    _check_nesting(text)
    return _remembered(text, known)  # compiled before (in this process or kept): not parsed again


def _remembered(text: str, known: set[str]) -> Compiled:
    """The expression compiled before (in this process, or kept in the store), else parsed, remembered; an
    ExpressionError, located, as parsing gave it."""
    from svcascode import celeval

    key = (text, tuple(sorted(known)))
    entry = celeval.recall(key)
    if entry is not None:
        if entry[0] == "error":
            raise ExpressionError(entry[1], entry[2], entry[3])
        return Compiled(text, None, entry[1], entry[2], entry[3])
    try:
        expression = _parse(text, known)
    except ExpressionError as error:
        celeval.keep(key, ("error", str(error), error.line, error.column))
        raise
    if expression.program is not None:  # one too deep to lower runs on the interpreter, from its tree
        celeval.keep(key, ("ok", expression.functions, expression.reads_as_of, expression.program))
    return expression


def _parse(text: str, known: set[str]) -> Compiled:
    celpy = _celpy()
    try:
        ast = _environment().compile(text)
    except celpy.CELParseError as error:
        first = str(error.args[0]).strip().splitlines()[0] if error.args else "syntax error"
        raise ExpressionError(f"syntax error near {first.strip()!r}", error.line or 1, error.column or 1) from None
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
    reads_as_of = any(str(tree.children[0]) == "asOf" for tree in ast.find_data("ident"))
    return Compiled(text, ast, tuple(sorted(_check_names(ast, known))), reads_as_of, _lowered(ast))


def _lowered(ast: Any) -> Any:
    """The expression compiled to closures; None when its tree is too deep to lower (the interpreter runs
    it, and says when it nests too deeply for a document)."""
    from svcascode import celeval

    try:
        program = celeval.Compiled(celeval.lower(ast))
        program.prepare()
        return program
    except celeval.LoweringError as error:
        raise ExpressionError(str(error), error.line or 1, error.column or 1) from None
    except RecursionError:
        return None


def _check_nesting(text: str) -> None:
    depth, line, column = 0, 1, 0
    quote: str | None = None
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionError(f"nested more than {MAX_NESTING} brackets deep", line, column)
        elif char in ")]}":
            depth -= 1


def _check_names(ast: Any, known: set[str]) -> set[str]:
    """The catalogue functions the expression calls; an ExpressionError for an unknown name or arity."""
    from celpy.evaluation import base_functions

    bound = set(known)
    for tree in ast.iter_subtrees():  # names a macro binds (x in list.all(x, ...)) are variables
        if tree.data == "member_dot_arg" and str(tree.children[1]) in MACROS:
            args = tree.children[-1]  # the IDENT when the parentheses are empty
            if hasattr(args, "children") and args.children:
                bound.update(str(t.children[0]) for t in args.children[0].find_data("ident"))
    used: set[str] = set()
    for tree in ast.iter_subtrees_topdown():
        if tree.data == "ident":
            token = tree.children[0]
            if str(token) not in bound:
                choices = ", ".join(sorted(bound - _macro_vars(ast)))
                raise ExpressionError(f"unknown variable '{token}': an expression reads {choices}",
                                      token.line, token.column)
        elif tree.data in ("ident_arg", "member_dot_arg"):
            token = tree.children[0] if tree.data == "ident_arg" else tree.children[1]
            name = str(token)
            args = tree.children[-1]
            count = len(args.children) if hasattr(args, "children") else 0
            count += 1 if tree.data == "member_dot_arg" else 0
            if name in MACROS:
                continue
            if name not in FUNCTIONS and name not in base_functions:
                import difflib

                close = difflib.get_close_matches(name, list(FUNCTIONS) + [n for n in base_functions
                                                                             if n[0].isalpha()], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; the guide lists the functions"
                raise ExpressionError(f"unknown function '{name}'{hint}", token.line, token.column)
            if name in _ARITY and count not in _ARITY[name]:
                raise ExpressionError(f"{FUNCTIONS[name].signature.split(' ->')[0]} takes "
                                      f"{' or '.join(str(n) for n in _ARITY[name])} argument(s), not {count}",
                                      token.line, token.column)
            if name in FUNCTIONS and name not in ("duration", "date", "join"):
                used.add(name)
    return used


def _macro_vars(ast: Any) -> set[str]:
    found: set[str] = set()
    for tree in ast.iter_subtrees():
        if tree.data == "member_dot_arg" and str(tree.children[1]) in MACROS:
            args = tree.children[-1]  # the IDENT when the parentheses are empty
            if hasattr(args, "children") and args.children:
                found.update(str(t.children[0]) for t in args.children[0].find_data("ident"))
    return found


_ENVIRONMENT: list[Any] = []


def _environment() -> Any:
    if not _ENVIRONMENT:
        celpy = _celpy()
        from svcascode.celgrammar import use_shipped

        use_shipped()  # the parse table shipped with svcascode, when these libraries built it
        _ENVIRONMENT.append(celpy.Environment())
    return _ENVIRONMENT[0]


# ---------------------------------------------------------------------------------------------------
# Evaluating


class Meter:
    """The cost of one control's evaluation on one document (counted), and the CPU time of its evaluations
    over the catalogue."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = SECONDS_PER_CONTROL if seconds is None else seconds
        self.deadline = time.process_time() + self.seconds
        self.spent = 0
        self.charges = 0
        self.budget = COST_PER_DOCUMENT
        self.read: set[int] = set()  # the documents this evaluation was given (by id), its subject first
        self.others = 0  # how many of them are not its subject

    def start(self, subject: object = None) -> None:
        """A new document: its own COST_PER_DOCUMENT, and nothing read yet but itself."""
        self.spent = 0
        self.budget = COST_PER_DOCUMENT
        self.read = {id(subject)} if subject is not None else set()
        self.others = 0

    def reads(self, document: object) -> None:
        """The evaluation was given a document: COST_PER_DOCUMENT_READ more, the first time."""
        key = id(document)
        if key not in self.read:
            self.read.add(key)
            self.others += 1
            self.budget = min(self.budget + COST_PER_DOCUMENT_READ, MAX_COST_PER_DOCUMENT)

    def charge(self, amount: int) -> None:
        self.spent += amount
        if self.spent > self.budget:
            raise CostExceeded(self.exceeded())
        self.charges += 1
        if not self.charges & 0x3F and time.process_time() > self.deadline:  # every 64 charges, whatever their size
            raise ControlCostExceeded(f"the control's evaluations over the catalogue took more than "
                                      f"{self.seconds:g} s of CPU time")

    def exceeded(self) -> str:
        """What the evaluation went past, and how its budget was made."""
        others = self.others
        if not others:
            return f"evaluation cost more than {self.budget:,} steps"
        if self.budget == MAX_COST_PER_DOCUMENT:
            return f"evaluation cost more than {self.budget:,} steps, the most any evaluation may cost"
        read = "the other document" if others == 1 else f"each of the {others:,} other documents"
        return (f"evaluation cost more than {self.budget:,} steps ({COST_PER_DOCUMENT:,}, and "
                f"{COST_PER_DOCUMENT_READ:,} for {read} it read)")


_METERED: list[type] = []
_INTERPRET = False  # run celpy's interpreter instead of the compiled closures (the equivalence tests)


def _metered_evaluator() -> type:
    """celpy's Evaluator, charging its Meter for every node it visits and every value it builds.

    One class for every evaluation (a class per program would be a reference cycle each, and commands
    run without the cyclic garbage collector); each evaluator carries its meter.
    """
    if not _METERED:
        from celpy.evaluation import Evaluator

        class Metered(Evaluator):
            meter: Meter

            def sub_evaluator(self, ast: Any) -> Any:
                nested = Metered(ast, activation=self.activation)
                nested.meter = self.meter
                return nested

            def set_activation(self, values: Any) -> Any:
                # a macro's scope for each element copies every name in scope: 600 variables make each
                # element cost 600 copies, which the nodes alone do not count
                self.meter.charge(1 + len(self.base_activation.identifiers))
                return super().set_activation(values)

            def _visit_tree(self, tree: Any) -> Any:
                self.meter.charge(1)
                result = super()._visit_tree(tree)
                if isinstance(result, (str, bytes, list, dict)):
                    self.meter.charge(len(result))
                return result

        _METERED.append(Metered)
    return _METERED[0]


class Program:
    """A control's compiled expressions, run against one document at a time."""

    def __init__(self, view: CatalogueView, params: dict[str, Any]) -> None:
        self.view = view
        self.params = to_cel(params)
        self.meter = Meter()
        self.functions = self._functions()

    def value_of(self, document: Document | None) -> Any:
        """A document as a CEL map, built once per document."""
        if document is None:
            return None
        value = document_value(document)
        if _READS and document.raw is not _READS[-1].subject:
            _READS[-1].note((document.raw,), SIZE)  # how many keys it has: its size, unless read whole
        self.meter.reads(document)
        self.meter.charge(1)
        return value

    def _document(self, value: Any) -> Document | None:
        """The document a CEL map stands for (by its kind and metadata.name)."""
        if not isinstance(value, dict):
            return None
        kind, metadata = value.get("kind"), value.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return self.view.document(str(kind), str(name)) if kind is not None and name is not None else None

    def _functions(self) -> dict[str, Callable[..., Any]]:
        from celpy import celtypes

        view = self.view

        def many(documents: list[Document]) -> Any:
            self.meter.charge(len(documents))
            return celtypes.ListType([self.value_of(d) for d in documents])

        def on(function: Callable[[Document], Any], empty: Any) -> Callable[[Any], Any]:
            def call(value: Any) -> Any:
                document = self._document(value)
                return empty() if document is None else function(document)
            return call

        def levels(value: Any, level_type: Any = None) -> Any:
            document = self._document(value)
            return many([] if document is None else view.levels(document, None if level_type is None
                                                                 else str(level_type)))

        def evidence(value: Any, evidence_type: Any = None) -> Any:
            document = self._document(value)
            return many([] if document is None else view.evidence(document, None if evidence_type is None
                                                                   else str(evidence_type)))

        def on_call(value: Any) -> Any:
            document = self._document(value)
            people = view.on_call(document) if document is not None and document.kind == "Team" else []
            return celtypes.ListType([celtypes.StringType(p) for p in people])

        def duration(text: Any) -> Any:
            if isinstance(text, str) and _SVC_DURATION.match(text):
                return written_duration(text)
            return celtypes.DurationType(text)

        def as_date(text: Any) -> Any:
            return to_cel(date.fromisoformat(str(text)))

        def join(items: Any, separator: Any = "") -> Any:
            if not isinstance(items, list):
                raise TypeError("join() needs a list")
            self.meter.charge(len(items))
            return celtypes.StringType(str(separator).join(shown(item) for item in items))

        def baseline(name: Any, tier: Any) -> Any:
            value = view.baseline(str(name), str(tier))
            if isinstance(value, str) and _SVC_DURATION.match(value):
                return written_duration(value)
            return to_cel(value)

        return {
            "tier": on(lambda d: celtypes.StringType(view.tier_of(d)), lambda: celtypes.StringType(facts.DEFAULT_TIER)),
            "baseline": baseline,
            "join": join,
            "lookup": lambda kind, name: self.value_of(view.lookup(str(kind), str(name))),
            "services": on(lambda d: many(view.services_of(d)), lambda: many([])),
            "owner": on(lambda d: self.value_of(view.owner(d)), lambda: None),
            "levels": levels,
            "dependencies": on(lambda d: many(view.dependencies(d)), lambda: many([])),
            "allLevels": on(lambda d: many(view.all_levels(d)), lambda: many([])),
            "inForce": on(lambda d: celtypes.BoolType(d.kind == "ServiceLevel" and view.in_force(d)),
                          lambda: celtypes.BoolType(False)),
            "dependants": on(lambda d: many(view.dependants(d)), lambda: many([])),
            "evidence": evidence,
            "onCall": on_call,
            "duration": duration,
            "date": as_date,
        }

    def run(self, compiled: Compiled, activation: dict[str, Any]) -> Any:
        """The expression's value; a CELEvalError or CostExceeded when it cannot be had."""
        if compiled.program is not None and not _INTERPRET:
            return compiled.program.run(activation, self.functions, self.meter)
        if compiled.ast is None:  # compiled before without its tree
            compiled.ast = _environment().compile(compiled.text)
        evaluator = _metered_evaluator()(compiled.ast, activation=self._activation())
        evaluator.meter = self.meter
        return evaluator.evaluate(activation)

    def _activation(self) -> Any:
        celpy = _celpy()
        from celpy.evaluation import Activation, base_functions

        functions = {**base_functions, **self.functions}
        return Activation(annotations=_environment().annotations, functions=functions,
                          package=_environment().package) if celpy else None


_KEY = re.compile(r"""(?:[A-Za-z_][\w-]*|'[^']*'|"[^"]*")[ \t]*:[ \t]+""")
_SVC_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)


def template_parts(message: str) -> Iterator[tuple[int, str, bool]]:
    """The message's text and its `{{ expression }}` placeholders: (offset, text, is_expression)."""
    at = 0
    for match in _PLACEHOLDER.finditer(message):
        if match.start() > at:
            yield at, message[at:match.start()], False
        yield match.start(1), match.group(1), True
        at = match.end()
    if at < len(message):
        yield at, message[at:], False


def shown(value: Any, limit: int | None = None) -> str:
    """A CEL value in a message; with `limit`, a list is shown only until its text is that long (then how
    many elements were left out), so a large value costs what the message can hold."""
    if isinstance(value, list):
        if not value:
            return "none"
        parts: list[str] = []
        size = 0
        for index, item in enumerate(value):
            parts.append(shown(item, limit))
            size += len(parts[-1]) + 2
            if limit is not None and size > limit and index + 1 < len(value):
                parts.append(f"... ({len(value) - index - 1} more)")
                break
        return ", ".join(parts)
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict) and "kind" in value:
        return f"{value['kind']}/{value['metadata'].get('name')}"  # a document, by its kind and name
    plain = from_cel(value)
    if isinstance(plain, float) and plain.is_integer():
        return str(int(plain))
    if plain is None:
        return "null"
    return str(plain)


# ---------------------------------------------------------------------------------------------------
# The check a Control's expressions make


def source_position(source: str | None, line: int, column: int, offset: int) -> tuple[int, int]:
    """The file line and column of the character `offset` into the YAML scalar that starts at (line, column).

    A block scalar (`|`, `>`) starts on the next line at its indentation; a quoted one after its quote;
    continuation lines are taken as joined by one character, as YAML folds or keeps them.
    """
    lines = source.splitlines() if source else []
    if not 0 < line <= len(lines):
        return line, column + offset
    first = lines[line - 1]
    key = _KEY.match(first, column - 1)  # a mapping entry is located at its key: the value follows it
    if key is not None:
        column = key.end() + 1
    indicator = first[column - 1] if 0 < column <= len(first) else ""
    pieces: list[tuple[int, int, str]] = []  # (file line, column where its text starts, text)
    if indicator in ("|", ">"):
        body = [(n, text) for n, text in enumerate(lines[line:], start=line + 1)]
        indent = next((len(t) - len(t.lstrip(" ")) for _, t in body if t.strip()), 0)
        for number, text in body:
            if text.strip() and len(text) - len(text.lstrip(" ")) < indent:
                break
            pieces.append((number, indent + 1, text[indent:]))
    else:
        start = column + (1 if indicator in ("'", '"') else 0)
        pieces.append((line, start, first[start - 1:]))
        for number, text in enumerate(lines[line:], start=line + 1):
            stripped = text.lstrip(" ")
            pieces.append((number, len(text) - len(stripped) + 1, stripped))
    for number, start, text in pieces:
        if offset <= len(text):
            return number, start + offset
        offset -= len(text) + 1
    return line, column


def offset_of(text: str, line: int, column: int) -> int:
    """The offset in `text` of a 1-based line and column."""
    lines = text.split("\n")
    return sum(len(part) + 1 for part in lines[:line - 1]) + column - 1


def _dotted(path: str | None) -> tuple[str | int, ...]:
    if not path:
        return ()
    return tuple(int(part) if part.isdigit() else part for part in path.split("."))


@dataclass
class _Rule:
    compiled: Compiled
    message: list[tuple[str, Compiled | None]]  # text, or a placeholder's expression
    path: tuple[str | int, ...]
    warning: bool
    where: tuple[str | int, ...]  # the expression's path in the Control


def expression_functions(control: Document) -> list[str]:
    """The catalogue functions a Control's expressions call, for `explain`; [] when they do not compile."""
    check = control.spec.check
    known = {*VARIABLES, *(v.name for v in check.variables)}
    texts = [v.expression for v in check.variables] + ([check.expression] if check.expression else []) + [
        v.expression for v in check.validations]
    used: set[str] = set()
    for text in texts:
        try:
            used.update(compile_expression(str(text), known).functions)
        except ExpressionError:
            continue
    return [name for name in FUNCTIONS if name in used]


def build_expression_check(control: Document, source: str | None, problem: Callable[..., Any]
                           ) -> tuple[Any, dict[str, Any], list[Any]]:
    """The check function of a Control's `expression:` or `validations:`, or the control-invalid findings.

    `source` is the text of the Control's file, to place an error at the line and column it is at;
    `problem(message, path, line=, column=)` makes a control-invalid finding.
    """
    check = control.spec.check
    problems: list[Any] = []
    known = set(VARIABLES)
    texts = [v.expression for v in check.variables] + [check.expression or "", str(check.message or "")] + [
        text for v in check.validations for text in (v.expression, str(v.message or ""))]
    total = sum(len(str(text)) for text in texts)
    if total > MAX_CONTROL_CHARS:
        return None, {}, [problem(f"the control's expressions, variables and messages are {total:,} characters "
                                  f"together, over the limit of {MAX_CONTROL_CHARS:,}: split it into several "
                                  "controls", ("spec", "check"))]

    def compiled(text: str, where: tuple[str | int, ...], base: int = 0) -> Compiled | None:
        try:
            return compile_expression(text, known)
        except ExpressionError as error:
            line, column = control.locate(where)
            at = source_position(source, line, column, base + offset_of(text, error.line, error.column))
            problems.append(problem(f"expression: {error}", where, line=at[0], column=at[1]))
            return None

    variables: list[tuple[str, Compiled]] = []
    for index, variable in enumerate(check.variables):
        if variable.name in known or variable.name in FUNCTIONS:
            problems.append(problem(f"variable '{variable.name}' is already defined",
                                    ("spec", "check", "variables", index, "name")))
            continue
        done = compiled(variable.expression, ("spec", "check", "variables", index, "expression"))
        known.add(variable.name)
        if done is not None:
            variables.append((variable.name, done))
    items = ([(("spec", "check"), check.expression, check.message, check.path, False)] if check.expression
             else [(("spec", "check", "validations", i), v.expression, v.message, v.path, v.warning)
                   for i, v in enumerate(check.validations)])
    rules: list[_Rule] = []
    for where, text, message, path, warning in items:
        done = compiled(str(text), (*where, "expression"))
        parts: list[tuple[str, Compiled | None]] = []
        for offset, part, is_expression in template_parts(str(message or "")):
            if not is_expression:  # a message is one line: a line break in its text is a space
                parts.append((re.sub(r"[ \t]*\n\s*", " ", part), None))
                continue
            placeholder = compiled(part, (*where, "message"), offset)
            if placeholder is not None:
                parts.append(("", placeholder))
        if done is not None:
            rules.append(_Rule(done, parts, _dotted(path), warning, (*where, "expression")))
    if problems:
        return None, {}, problems
    params = dict(check.params)
    every = [e for _, e in variables] + [r.compiled for r in rules] + [e for r in rules for _, e in r.message
                                                                       if e is not None]
    reads_as_of = any(e.reads_as_of for e in every)
    # The program of the context being evaluated, held with that context: a check is built once per
    # control and process (a history walk evaluates many commits with it), so the context is compared by
    # identity while it is alive, never by an id() a later context could be given again
    current: list[tuple[Any, Program]] = []

    def run(ctx: Any, document: Document) -> Iterator[Any]:
        if current and current[0][0] is ctx:
            program = current[0][1]
        else:  # one context per evaluation: the previous one's values are not needed again
            program = Program(CatalogueView(ctx.catalogue, ctx._as_of, ctx.baseline, ctx), ctx.params)
            current[:] = [(ctx, program)]
        celpy = _celpy()
        activation: dict[str, Any] = {"params": program.params}
        if reads_as_of:  # else the result holds on every date: the result memo reuses it on the next
            activation["asOf"] = to_cel(ctx.as_of)

        def value(expression: Compiled) -> Any:
            return program.run(expression, activation)

        def placeholder(expression: Compiled) -> str:
            text = shown(value(expression), MAX_MESSAGE_CHARS)
            program.meter.charge(len(text))
            return text

        try:
            program.meter.start(document)  # one budget for the document: variables, expressions and messages
            activation["document"] = program.value_of(document)
            for name, expression in variables:
                activation[name] = value(expression)
            for rule in rules:
                result = value(rule.compiled)
                yield from list(_findings(ctx, document, rule, result, placeholder))
        except (celpy.CELEvalError, CostExceeded, RecursionError, ValueError, TypeError) as error:
            text = str(error.args[0]) if error.args else type(error).__name__
            if isinstance(error, RecursionError):
                text = "the expression nests too deeply for this document"
            if isinstance(error, ControlCostExceeded) and getattr(ctx, "recorder", None) is not None:
                ctx.recorder.untraceable = True  # depends on what else this run evaluated: never reused
            yield document.finding("check-error", "high", f"control {control.name}: the expression could not be "
                                   f"evaluated on this document: {text}", (),
                                   enforcement=str(control.spec.enforcement))

    return run, params, []


def _findings(ctx: Any, document: Document, rule: _Rule, result: Any, render: Callable[[Compiled], str]
              ) -> Iterator[Any]:
    from celpy import celtypes

    report = ctx.warn if rule.warning else ctx.fail
    if isinstance(result, celtypes.BoolType):
        if bool(result):
            return
        text = "".join(part if expression is None else render(expression) for part, expression in rule.message)
        yield report(document, shorten(text, MAX_MESSAGE_CHARS) or
                     f"the expression is false: {rule.compiled.text.strip()}", rule.path)
    elif isinstance(result, list) and all(isinstance(item, str) for item in result):
        for item in result[:MAX_MESSAGES]:
            yield report(document, shorten(str(item), MAX_MESSAGE_CHARS), rule.path)
        if len(result) > MAX_MESSAGES:
            yield report(document, f"... and {len(result) - MAX_MESSAGES} more messages of this expression "
                         f"(at most {MAX_MESSAGES} are reported per document)", rule.path)
    else:
        yield document.finding("check-error", "high", f"control {ctx.rule}: the expression gave "
                               f"{shorten(shown(result, MAX_MESSAGE_CHARS), MAX_MESSAGE_CHARS)!r}, not true, false "
                               "or a list of messages", (),
                               enforcement=str(ctx.enforcement))
