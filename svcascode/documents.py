"""A raw YAML document -> a validated model, or located findings that say what to change.

pydantic's errors are turned into one line each: the JSON path, what is wrong in the user's words, and
what to do. YAML 1.1 surprises (`no` read as false, `12:30` read as 750, `1.10` read as 1.1) are named
as such, with the advice to quote the value.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic

from pydantic import BaseModel, ValidationError
from typing_extensions import TypeVar

from svcascode.errors import SvcascodeError
from svcascode import stages
from svcascode.codec import decode_findings, encode_findings
from svcascode.finding import Finding, JsonPath, format_path
from svcascode.loading.yamlfile import ParsedFile, RawDocument
from svcascode.models import API_VERSION, KINDS, OPENSLO_API_VERSION, OPENSLO_MODELS, SPEC_KINDS
from svcascode.models.common import PATTERN_HINTS, Envelope, FieldError
from svcascode.models.openslo import OpenSloDocument
from svcascode.rules import RULE_SCHEMA

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from svcascode.loading.cache import ParseCache


DocumentModel = Envelope | OpenSloDocument  # the model of a whole document, of any kind

# The spec model of a document's kind (ServiceSpec for a Service). A plain `Document` is a document of
# any kind, whose spec is not known statically; narrow it with `expect` before reading its spec.
SpecT = TypeVar("SpecT", default=Any)
S = TypeVar("S", bound=BaseModel)


class Document(Generic[SpecT]):
    """A document that passed its model: kind, name, the model, its facts, and the raw data with its marks.

    `facts` is what the document contributes to the catalogue's indexes and to the checks of the whole
    set (`facts_of`), read from its model once. A document whose bytes passed the same model before (the
    validation stage, `validate_documents`) is built with its facts but without its model, which is made
    the first time `model` or `spec` is read: a one-file `validate` then validates only that file, and a
    catalogue's documents that no check reads never cost a model.
    """

    __slots__ = ("raw", "kind", "name", "model", "spec", "facts", "ref", "_model_class", "cel")

    def __init__(self, raw: RawDocument, kind: str, name: str, model: DocumentModel | None,
                 model_class: type[DocumentModel] | None = None, facts: Facts | None = None) -> None:
        self.raw, self.kind, self.name = raw, kind, name
        self.ref = f"{kind.lower()}:{name}"  # `service:claims-api`: made once, since results are keyed by it
        self._model_class = model_class
        self.cel: Any = None  # the document as an expression sees it (svcascode.expressions), made once
        if model is not None:
            self._set(model)
            self.facts: Facts = facts_of(kind, model)
        else:
            assert facts is not None, "a document built without its model is built with its facts"
            self.facts = facts

    def _set(self, model: DocumentModel) -> None:
        self.model: Any = model  # its class depends on the kind, as does `spec`, the part checks read
        self.spec: SpecT = getattr(model, "spec")  # read by every check, so kept as a plain attribute

    @property
    def labels(self) -> dict[str, Any]:
        found: dict[str, Any] = self.facts.get("labels", _NO_LABELS)
        return found

    def __getattr__(self, attribute: str) -> Any:
        """`model` and `spec` of a document built without its model: validated now, once."""
        if attribute not in _LAZY or self._model_class is None:
            raise AttributeError(attribute)
        try:
            model = self._model_class.model_validate(self.raw.data)
        except ValidationError:
            raise SvcascodeError(f"{self.file}: {self.kind}/{self.name} passed validation when it was cached but "
                                 "fails it now; run again with --no-cache") from None
        self._set(model)
        return getattr(self, attribute)

    def __repr__(self) -> str:
        return f"Document({self.kind}/{self.name} at {self.raw.file})"

    @property
    def file(self) -> str:
        return self.raw.file

    @property
    def data(self) -> Any:
        return self.raw.data

    def locate(self, path: JsonPath) -> tuple[int, int]:
        return self.raw.locate(path)

    def finding(self, rule: str, severity: str, message: str, path: JsonPath = (), **extra: Any) -> Finding:
        line, column = self.locate(path)
        return Finding(rule, severity, message, self.file, line, column, tuple(path), self.kind, self.name,
                       **extra)


_LAZY = frozenset(("model", "spec"))
_NO_LABELS: dict[str, Any] = {}

Facts = dict[str, Any]  # plain values only (str, int, float, None, tuples, lists and dicts of them): stored as is


def facts_of(kind: str, model: Any) -> Facts:
    """What a valid document contributes to the catalogue's indexes and to the checks of the whole set, read
    from its model: the one definition the Catalogue's indexes, the cycle checks, the tiers and whether a
    service level is in force are computed from. Kept with the validation outcome, so a catalogue whose files
    were validated before is indexed without building a single model."""
    facts: Facts = {}
    labels = getattr(getattr(model, "metadata", None), "labels", None)
    if isinstance(labels, dict) and labels:
        facts["labels"] = dict(labels)
    spec: Any = getattr(model, "spec", None)
    if kind == "Service":
        operations = spec.operations
        facts.update(tier=str(spec.tier), lifecycle=str(spec.lifecycle), owner=str(spec.owner),
                     accessPolicy=spec.security.access_policy if spec.security is not None else None,
                     dependencies=[(str(d.service), str(d.criticality)) for d in spec.dependencies],
                     windows=[str(w) for w in operations.maintenance_windows] if operations is not None else [])
    elif kind == "ServiceLevel":
        facts.update(service=str(spec.service), validFrom=spec.valid_from.toordinal(),
                     validTo=spec.valid_to.toordinal() if spec.valid_to is not None else None)
    elif kind == "Incident":
        facts.update(impacts=list(dict.fromkeys(str(impact.service) for impact in spec.impacts)),
                     opened=spec.opened.timestamp())
    elif kind == "Evidence":
        facts.update(subject=str(spec.subject))
    elif kind == "MaintenanceWindow":
        selector = spec.selector
        facts.update(services=[str(s) for s in spec.services],
                     selector=None if selector is None else ([str(t) for t in selector.tiers], dict(selector.labels)))
    elif kind == "Team":
        facts.update(parent=spec.parent)
    elif kind == "AccessPolicy":
        facts.update(targets=[str(t) for t in spec.targets])
    elif kind == "Waiver":
        facts.update(subjects=[str(subject) for subject in spec.subjects])
    return facts


def expect(document: Document, spec: type[S]) -> Document[S]:
    """The document, typed as one of the kind whose spec model is `spec`; a TypeError when it is not.

    A built-in check is called with whatever documents its control selects, and a Control written for
    the wrong kinds must give a message that says so, not an AttributeError from deep in the check.
    """
    if not isinstance(document.spec, spec):
        kind = SPEC_KINDS.get(spec, spec.__name__)
        raise TypeError(f"this check reads {kind} documents, not {document.kind} {document.name}: list only "
                        f"{kind} in the control's spec.appliesTo.kinds")
    return document


def index_kind(api: Any, kind: str) -> str:
    """The kind a document is indexed and reported under.

    OpenSLO kinds that share a name with a svcascode kind (an OpenSLO `Service`) are kept apart as
    `openslo/<Kind>`, so that neither clashes with nor stands in for the other; the rest keep their plain
    kind, which is how checks and references look up SLOs, alert policies and notification targets.
    """
    return f"openslo/{kind}" if api == OPENSLO_API_VERSION and kind in KINDS else kind


def _identity(data: dict[str, Any]) -> tuple[str, str]:
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (kind if isinstance(kind, str) else "", name if isinstance(name, str) else "")


def validate_document(raw: RawDocument, text: str) -> tuple[Document | None, list[Finding]]:
    data = raw.data
    if data is None:
        return None, []  # an empty document between `---` markers
    model_class = _model_class(raw, text)
    if isinstance(model_class, list):
        return None, model_class
    kind, name = _identity(data)
    try:
        model = model_class.model_validate(data)
    except ValidationError as error:
        return None, [_finding(raw, kind, name, loc, message)
                      for loc, message in explain_errors(error, model_class, raw, text)]
    return Document(raw, index_kind(data.get("apiVersion"), kind), model.metadata.name, model), []


def _not_text(data: dict[str, Any], field: str, raw: RawDocument, text: str) -> str | None:
    """What is wrong with a top-level field (apiVersion, kind) that is not text, naming it: YAML 1.1 reading
    `kind: no` as false is said as such."""
    value = data.get(field)
    if field not in data or isinstance(value, str):
        return None
    surprise = _yaml_surprise(value, (field,), raw, text) if text else None
    return f"{field}: {surprise or f'expected text, got {_describe(value)}'}"


def _model_class(raw: RawDocument, text: str = "") -> type[DocumentModel] | list[Finding]:
    """The model of the document's apiVersion and kind, or the finding that says why it has none."""
    data = raw.data
    if not isinstance(data, dict):
        return [_finding(raw, "", "", (), "a document must be a mapping with apiVersion, kind, metadata and spec")]
    kind, name = _identity(data)
    for field in ("apiVersion", "kind"):
        problem = _not_text(data, field, raw, text)
        if problem is not None:
            return [_finding(raw, kind, name, (field,), problem)]
    api = data.get("apiVersion")
    model_class: type[DocumentModel] | None
    if api == OPENSLO_API_VERSION:
        model_class = OPENSLO_MODELS.get(kind)
        if model_class is None:
            return [_finding(raw, kind, name, ("kind",), f"unknown OpenSLO kind '{kind}'{_suggest(kind, OPENSLO_MODELS)}")]
    elif api != API_VERSION:
        if "apiVersion" not in data:
            message = f"missing apiVersion: add `apiVersion: {API_VERSION}`"
        else:
            message = (f"unknown apiVersion {api!r}: use {API_VERSION} (or {OPENSLO_API_VERSION} for OpenSLO "
                       "documents)")
        return [_finding(raw, kind, name, ("apiVersion",), message)]
    else:
        if "kind" not in data:
            return [_finding(raw, "", name, (), f"missing kind: add `kind:` with one of {', '.join(KINDS)}")]
        model_class = KINDS.get(kind)
        if model_class is None:
            hint = _suggest(str(kind), KINDS) or f"; kinds are {', '.join(KINDS)}"
            return [_finding(raw, kind, name, ("kind",), f"unknown kind {kind!r}{hint}")]
    return model_class


# ---------------------------------------------------------------------------------------------------
# The validation cache: a file's outcome by the hash of its text and of what validation depends on


Validated = tuple[RawDocument, "Document | None", list[Finding]]


def validate_documents(parsed: ParsedFile, cache: ParseCache | None = None) -> list[Validated]:
    """Each document of a parsed file validated: (raw, the document or None, its findings), in order.

    With a cache whose store has a folder, the outcome is kept in the store's `validate` pack under the key
    of the file's text (`svcascode.store.stage_key`: the code digest covers this package's models and
    validators, pydantic, holidays and the time zone database); a file seen before is not validated again:
    its findings are rebuilt from the record, and its valid documents are built without their models, which
    are made when first read.
    """
    if cache is None or cache.folder is None or not parsed.documents:
        return [(raw, *validate_document(raw, parsed.text)) for raw in parsed.documents]
    from svcascode.loading.cache import parse_settings
    from svcascode.store import stage_key

    pack = cache.store.pack("validate")
    key = stage_key("validate", parse_settings(cache.limits), parsed.text.encode("utf-8", "surrogatepass")).hex()
    entry = pack.get(key)
    if entry is not None:
        try:
            results = _rebuild(parsed, entry)
        except (TypeError, ValueError, KeyError, IndexError):
            results = None  # an entry of an unexpected shape: validate again
        if results is not None:
            pack.keep(key, entry)
            stages.count("validate", True)
            return results
    stages.count("validate", False, cache.reason(parsed.path, cache.keys.get(parsed.path, "")))
    results = [(raw, *validate_document(raw, parsed.text)) for raw in parsed.documents]
    pack.keep(key, [(document.kind, document.name, document.facts) if document is not None else
                    encode_findings([replace(f, file="") for f in found]) for _, document, found in results])
    return results


def _rebuild(parsed: ParsedFile, entry: Any) -> list[Validated] | None:
    if not isinstance(entry, list) or len(entry) != len(parsed.documents):
        return None
    results: list[Validated] = []
    for raw, outcome in zip(parsed.documents, entry):
        if (isinstance(outcome, tuple) and len(outcome) == 3 and isinstance(outcome[0], str)
                and isinstance(outcome[1], str) and isinstance(outcome[2], dict)):
            # valid: (kind, name, facts); else the findings of the invalid document
            model_class = _model_class(raw)
            if isinstance(model_class, list):
                return None
            kind, name, facts = outcome
            results.append((raw, Document(raw, kind, name, None, model_class, facts), []))
        else:
            results.append((raw, None, [replace(f, file=raw.file) for f in decode_findings(outcome)]))
    return results


def _finding(raw: RawDocument, kind: str, name: str, path: JsonPath, message: str) -> Finding:
    line, column = raw.locate(path)
    return Finding(RULE_SCHEMA, "critical", message, raw.file, line, column, path, kind, name)


def _suggest(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# ---------------------------------------------------------------------------------------------------
# pydantic errors -> messages


MAX_REPORTED = 100  # problems reported per document; the rest are counted in one last finding


def explain_errors(error: ValidationError, model: type[BaseModel], raw: RawDocument, text: str
                   ) -> list[tuple[JsonPath, str]]:
    """One (path, message) per distinct problem, most specific first, unions collapsed to one message.

    At most MAX_REPORTED problems are explained, then one "... and N more problems" at the document:
    the work is linear in the number of errors, however many a document has.
    """
    out: list[tuple[JsonPath, str]] = []
    seen: set[JsonPath] = set()
    items = error.errors(include_url=False)
    # `nme:` for `name:` is one mistake: the unknown field's "did you mean" says it, so the field it
    # stands for is not also reported missing.
    suggested = {(*_clean_loc(i["loc"])[:-1], close) for i in items if i["type"] == "extra_forbidden"
                 for close in difflib.get_close_matches(str(i["loc"][-1]), _fields_at(model, _clean_loc(
                     i["loc"])[:-1]), n=1, cutoff=0.6)}
    chosen: list[tuple[JsonPath, ErrorDetails]] = []
    more = 0
    for item in items:
        loc = _clean_loc(item["loc"])
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, FieldError) and raw.mark((*loc, *cause.path)) is not None:
            loc = (*loc, *cause.path)
        if loc in seen or (item["type"] == "missing" and loc in suggested):
            continue  # one message per place: a union reports each of its branches
        seen.add(loc)
        if len(chosen) < MAX_REPORTED:
            chosen.append((loc, item))
        else:
            more += 1
    # What would still be wrong were each YAML surprise quoted: one re-validation for all of them.
    surprises = {loc: written for loc, item in chosen if item["type"] in _TEXT_EXPECTED
                 and _yaml_surprise(item.get("input"), loc, raw, text)
                 and (written := _written_text(loc, raw, text)) is not None}
    quoted = _errors_as_text(model, raw, surprises) if surprises else {}
    for loc, item in chosen:
        out.append((loc, f"{format_path(loc) or 'document'}: {_message(item, loc, model, raw, text, quoted)}"))
    if more:
        out.append(((), f"document: ... and {more} more problem{'s' if more != 1 else ''} (only the first "
                         f"{MAX_REPORTED} are listed): fix these and validate again"))
    return out


def _clean_loc(loc: tuple[Any, ...]) -> JsonPath:
    """Drop pydantic's own loc parts (union branch names, validator tags) that are not in the YAML."""
    return tuple(part for part in loc if isinstance(part, int) or not _INTERNAL_LOC.match(str(part)))


_INTERNAL_LOC = re.compile(r"^(function-|literal\[|constrained-|lax-|strict-|str$|int$|float$|bool$|list\[|dict\[|"
                           r"[A-Z][A-Za-z]+$|json-or-python|chain\[|union\[|tagged-union|none$|date$)")


def _message(item: ErrorDetails, loc: JsonPath, model: type[BaseModel], raw: RawDocument, text: str,
             quoted: dict[JsonPath, str | None] | None = None) -> str:
    kind = item["type"]
    value = item.get("input")
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        return f"unknown field '{loc[-1]}'{_suggest(str(loc[-1]), known)}" + (
            "" if _suggest(str(loc[-1]), known) else f"; allowed fields: {', '.join(sorted(known))}"
            if known else "")
    if kind == "missing":
        return f"required field missing: add `{loc[-1]}:`" if loc else "required field missing"
    surprise = _yaml_surprise(value, loc, raw, text) if kind in _TEXT_EXPECTED else None
    if surprise:
        written = _written_text(loc, raw, text) or ""
        still_wrong = (quoted or {}).get(loc)
        if still_wrong is None:
            return surprise
        return f"{still_wrong} (YAML read {written} as {_describe(value)})"
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        allowed = ", ".join(re.findall(r"'([^']*)'", expected)) or expected
        return f"{_show(value)} is not one of: {allowed}"
    if kind == "string_pattern_mismatch":
        pattern = item.get("ctx", {}).get("pattern", "")
        return f"{_show(value)} is not {PATTERN_HINTS.get(pattern, 'in the expected form (' + pattern + ')')}"
    if kind == "string_type":
        return f"expected text, got {_describe(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping (key: value), got {_describe(value)}"
    if kind == "list_type":
        return f"expected a list, got {_describe(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe(value)}"
    if kind in ("int_type", "float_type", "int_parsing", "float_parsing"):
        if isinstance(value, str) and _is_number(value):
            return f"{value!r} is text: write the number without quotes"
        return f"expected a number, got {_describe(value)}"
    if kind == "too_short":
        return f"needs at least {item.get('ctx', {}).get('min_length', 1)} item(s)"
    if kind == "value_error":
        return str(item.get("ctx", {}).get("error", item["msg"]))
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{_show(value)}: {item['msg'].lower()}"
    return item["msg"]


_TEXT_EXPECTED = {"string_type", "literal_error", "string_pattern_mismatch"}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _errors_as_text(model: type[BaseModel], raw: RawDocument, written: dict[JsonPath, str]
                    ) -> dict[JsonPath, str | None]:
    """What would still be wrong at each loc if its value were quoted (None when quoting fixes it).

    Only asked for values YAML turned into a bool or number, so "quote it" is advice that works; every
    value is quoted in one copy of the document, validated once.
    """
    import copy

    data = copy.deepcopy(raw.data)
    result: dict[JsonPath, str | None] = {}
    for loc, text in written.items():
        target = data
        try:
            for part in loc[:-1]:
                target = target[part]
            target[loc[-1]] = text
        except (KeyError, IndexError, TypeError):
            continue
        result[loc] = None
    if not result:
        return result
    try:
        model.model_validate(data)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            loc = _clean_loc(item["loc"])
            if loc in result and result[loc] is None:
                result[loc] = _message(item, loc, model, raw, "")
    return result


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _describe(value)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _yaml_surprise(value: Any, loc: JsonPath, raw: RawDocument, text: str) -> str | None:
    """When YAML 1.1 turned what the user typed into a bool, number or null, say so and say to quote it."""
    if isinstance(value, str) or isinstance(value, (dict, list)):
        return None
    written = _written_text(loc, raw, text)
    if written is None:
        return None
    if isinstance(value, bool):
        why = f"was read as the boolean {str(value).lower()} (YAML 1.1 reads yes/no/on/off/true/false as booleans)"
    elif isinstance(value, int) and ":" in written:
        why = f"was read as the number {value} (YAML 1.1 reads digits with ':' as base-60 numbers)"
    elif isinstance(value, (int, float)):
        why = f"was read as the number {value}"
    elif value is None:
        why = "was read as null (YAML reads ~, null and an empty value as nothing)"
        if not written:
            return "value missing: write a value after the colon"
    else:
        return None
    return f"{written} {why}; quote it: \"{written}\""


@lru_cache(maxsize=8)
def _lines(text: str) -> list[str]:
    return text.splitlines()


_TOKEN_END = re.compile(r"\s+#|\s*[,\]}]|\s*$")


def _written_text(loc: JsonPath, raw: RawDocument, text: str) -> str | None:
    """The scalar exactly as written in the file at `loc`, read back from the source line."""
    mark = raw.mark(loc) if text else None
    if mark is None:
        return None
    line, column = mark
    lines = _lines(text)
    if line > len(lines):
        return None
    rest = lines[line - 1][column - 1:]
    if loc and isinstance(loc[-1], str):
        match = re.match(r"""(?:"[^"]*"|'[^']*'|[^:\s][^:]*?)\s*:(\s+|$)""", rest)
        if match is None:
            return None
        rest = rest[match.end():]
    end = _TOKEN_END.search(rest)
    token = rest[: end.start()] if end else rest
    return token.strip()


def _fields_at(model: type[BaseModel], loc: JsonPath) -> list[str]:
    """The YAML field names allowed at `loc` inside `model`, for "did you mean" suggestions."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part or n == part), None)
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Optional, list[...], dict[..., X] and Annotated down to the model class, when there is one."""
    for _ in range(8):
        origin = typing.get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (list, tuple, set):
            annotation = args[0]
        elif origin is dict:
            annotation = args[-1]
        else:  # a Union
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else args[0]
    return annotation
