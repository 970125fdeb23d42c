"""Evaluate the controls over a catalogue: select documents, run checks, apply baselines and waivers.

A control whose check is malformed (an unknown built-in, an unknown parameter, an invalid schema
fragment, a remote `$ref`) is a located finding, never silently skipped. A control that selects no
document is reported too: a built-in one as not applicable, a repository's own with a hint that its
selector may have a typo.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from svcascode import twocores
from svcascode.catalogue import Catalogue
from svcascode.checks import available, load_builtin
from svcascode.checks.base import TIER_DEFAULTS, CheckContext, CheckFunction
from svcascode.checks.wvr_valid import fails_policy
from svcascode.checks.wvr_valid import stale as stale_waiver
from svcascode.codec import decode_findings, encode_findings
from svcascode.documents import Document
from svcascode.facts import subject_ref, tier_of, waiver_state
from svcascode.reader import CatalogueReader
from svcascode.finding import Finding
from svcascode.models.common import duration_seconds
from svcascode.rules import RULE_CHECK_ERROR, RULE_CONTROL, RULE_UNUSED, WAIVER_CONTROL

__all__ = ["RULE_CHECK_ERROR", "RULE_CONTROL", "RULE_UNUSED", "WAIVER_CONTROL", "Evaluation", "evaluate"]


@dataclass
class Evaluation:
    """The outcome of evaluating every selected control."""

    findings: list[Finding] = field(default_factory=list)  # control findings, waived ones marked
    problems: list[Finding] = field(default_factory=list)  # malformed or unused controls
    controls: list[Document] = field(default_factory=list)  # the controls evaluated
    subjects: dict[str, list[Document]] = field(default_factory=dict)  # control id -> documents checked
    waiver_matches: dict[str, int] = field(default_factory=dict)  # waiver name -> findings it suppressed
    failed_waivers: frozenset[str] = frozenset()  # waivers wvr-valid fails: they suppress nothing


# ---------------------------------------------------------------------------------------------------
# Baselines


class Baselines:
    """Per-tier parameters and per-tier control selection, from Baseline documents over the defaults."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.baselines = sorted(catalogue.of_kind("Baseline"), key=lambda d: d.name)
        self._parameters: dict[tuple[str, str], Any] = {}
        self._selects: dict[tuple[str, str], bool] = {}

    def _for_tier(self, tier: str) -> Iterator[Document]:
        for baseline in self.baselines:
            tiers = baseline.spec.applies_to.tiers
            if not tiers or tier in tiers:
                yield baseline

    def parameter(self, name: str, tier: str) -> Any:
        key = (name, tier)
        if key not in self._parameters:
            found = (getattr(b.spec.parameters, name, None) for b in self._for_tier(tier))
            value = next((v for v in found if v is not None), None)
            self._parameters[key] = value if value is not None else TIER_DEFAULTS.get(name, {}).get(tier)
        return self._parameters[key]

    def selects(self, control: str, tier: str) -> bool:
        """False when a Baseline for this tier leaves the control out; no Baseline means every control."""
        key = (control, tier)
        if key not in self._selects:
            chosen = list(self._for_tier(tier))
            self._selects[key] = not chosen or any(
                ("all" in b.spec.controls or control in b.spec.controls) and control not in b.spec.exclude
                for b in chosen)
        return self._selects[key]


# ---------------------------------------------------------------------------------------------------
# Selection


_MISSING = object()


def _value_at(spec: Any, parts: tuple[str, ...]) -> Any:
    current = spec
    for part in parts:
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def selector(control: Document) -> Callable[[Document], bool]:
    """Whether the control applies to a document, with its appliesTo compiled once."""
    applies = control.spec.applies_to
    kinds = set(applies.kinds)
    labels = list(applies.labels.items())
    present = [tuple(dotted.split(".")) for dotted in applies.has_fields]
    where = [(tuple(dotted.split(".")), allowed if isinstance(allowed, list) else [allowed])
             for dotted, allowed in applies.where.items()]

    def chosen(document: Document) -> bool:  # asked of every document of its kinds: the common cases cost least
        if document.kind not in kinds:
            return False
        if labels and any(document.labels.get(k) != v for k, v in labels):
            return False
        if not present and not where:
            return True
        spec = document.data.get("spec", {})
        if any(_value_at(spec, parts) in (_MISSING, None) for parts in present):
            return False
        for parts, options in where:
            value = _value_at(spec, parts)
            if value is _MISSING or value not in options:
                return False
        return True

    return chosen


def _selects_nothing(control: Document, left_out_by_baselines: int) -> str:
    """Why a control has nothing to check, in the user's terms: a built-in control that finds nothing of
    what it checks is simply not applicable; a repository's own may have a typo in its selector."""
    from svcascode.library import is_library

    if left_out_by_baselines:
        return (f"not applicable: the baselines leave control {control.name} out for the tiers of the "
                f"{left_out_by_baselines} document(s) it selects")
    if is_library(control.file):
        return (f"not applicable: the catalogue has no {_described(control)}, so built-in control "
                f"{control.name} has nothing to check")
    return (f"control {control.name} selects no document (no {_described(control)}): if it should, check "
            "spec.appliesTo for a typo in kinds, where, hasFields or labels")


def _described(control: Document) -> str:
    """What a control selects, as a reader says it: `Service with dependencies and tier tier-0 or tier-1`."""
    applies = control.spec.applies_to

    def either(values: list[str]) -> str:
        return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"

    conditions = [f"{dotted} {either([str(v) for v in (allowed if isinstance(allowed, list) else [allowed])])}"
                  for dotted, allowed in applies.where.items()]
    conditions = [*applies.has_fields, *conditions]
    conditions += [f"label {key}={value}" for key, value in applies.labels.items()]
    kinds = either([str(kind) for kind in applies.kinds])
    return f"{kinds} with {' and '.join(conditions)}" if conditions else kinds


# ---------------------------------------------------------------------------------------------------
# Building one control's check


def _problem(control: Document, message: str, path: tuple[str | int, ...]) -> Finding:
    return control.finding(RULE_CONTROL, "high", f"control {control.name}: {message}", path)


def build_check(control: Document, source: str | None = None
                ) -> tuple[CheckFunction | None, dict[str, Any], list[Finding]]:
    """The function that checks one document, its parameters, and what is wrong with the definition.

    `source` is the text of the Control's file: an error in an expression is located in it.
    """
    check = control.spec.check
    if check.expression is not None or check.validations:
        from svcascode.expressions import build_expression_check

        def problem(message: str, path: tuple[str | int, ...], line: int | None = None,
                    column: int | None = None) -> Finding:
            found = _problem(control, message, path)
            return found if line is None or column is None else dataclasses.replace(found, line=line, column=column)

        return build_expression_check(control, source, problem)
    if check.builtin is not None:
        try:
            spec = load_builtin(check.builtin)
        except ImportError as error:
            return None, {}, [_problem(control, str(error), ("spec", "check", "builtin"))]
        if spec is None and check.builtin in RETIRED_BUILTINS:
            return _retired_builtin(control, check.builtin, dict(check.params))
        if spec is None:
            names = available()
            close = difflib.get_close_matches(check.builtin, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; built-ins are {', '.join(names)}"
            return None, {}, [_problem(control, f"unknown built-in check '{check.builtin}'{hint}",
                                       ("spec", "check", "builtin"))]
        unknown = [name for name in check.params if name not in spec.params]
        if unknown:
            problems = []
            for name in unknown:
                close = difflib.get_close_matches(name, list(spec.params), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else (
                    f"; it takes {', '.join(sorted(spec.params)) or 'no parameters'}")
                problems.append(_problem(control, f"unknown parameter '{name}' of built-in '{check.builtin}'{hint}",
                                         ("spec", "check", "params", name)))
            return None, {}, problems
        problems = [_problem(control, f"parameter '{name}' of built-in '{check.builtin}': {message}",
                             ("spec", "check", "params", name))
                    for name, value in check.params.items()
                    if (message := _param_type_error(spec.params[name], value)) is not None]
        if problems:
            return None, {}, problems
        return spec.function, {**spec.params, **check.params}, []
    return _schema_check(control, check.schema_)


# Built-in checks the default library now writes as expressions: a Control of the repository that still
# names one (an override written before) runs the library control's expression, with its own parameters
RETIRED_BUILTINS = {"acc_mfa_sso": "acc-mfa-sso", "acc_review_overdue": "acc-review-overdue",
                    "svc_supplier_uc": "svc-supplier-uc"}


def _retired_builtin(control: Document, builtin: str, given: dict[str, Any]
                     ) -> tuple[CheckFunction | None, dict[str, Any], list[Finding]]:
    library = _library_control(RETIRED_BUILTINS[builtin])
    if library is None:
        return None, {}, [_problem(control, f"unknown built-in check '{builtin}'", ("spec", "check", "builtin"))]
    function, params, problems = build_check(*library)
    unknown = [name for name in given if name not in params]
    if problems or function is None:
        return None, {}, problems
    if unknown:
        return None, {}, [_problem(control, f"unknown parameter '{name}' of built-in '{builtin}'; it takes "
                                            f"{', '.join(sorted(params))}", ("spec", "check", "params", name))
                          for name in unknown]
    wrong = [_problem(control, f"parameter '{name}' of built-in '{builtin}': {message}",
                      ("spec", "check", "params", name))
             for name, value in given.items() if (message := _param_type_error(params[name], value)) is not None]
    return (None, {}, wrong) if wrong else (function, {**params, **given}, [])


@functools.lru_cache(maxsize=None)
def _library_control(name: str) -> tuple[Document, str] | None:
    """The default library's Control of that id and its file's text, read from the package."""
    from svcascode.catalogue import validate_file
    from svcascode.config import Limits
    from svcascode.library import PREFIX, library_files
    from svcascode.loading.cache import ParseCache

    for file in library_files():
        if file.path == f"{PREFIX}/controls/{name}.yaml":
            validated = validate_file(ParseCache(None, Limits()).parse(file.path, file.data))
            for document in validated.documents:
                if document.kind == "Control" and document.name == name:
                    return document, validated.parsed.text
    return None


def _param_type_error(default: Any, value: Any) -> str | None:
    """What is wrong with a parameter's value, judged by the type of its default; None when it fits."""
    def shown(v: Any) -> str:
        return repr(v) if not isinstance(v, str) else f"'{v}'"

    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{shown(value)} is not true or false"
    if isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"{shown(value)} is not a number"
    if isinstance(default, list):
        return None if isinstance(value, list) else f"{shown(value)} is not a list; write [{value}]"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else f"{shown(value)} is not a mapping"
    if isinstance(default, str):
        if not isinstance(value, str):
            return f"{shown(value)} is not text" + (" (a duration such as 24h or 90d)" if _is_duration(default)
                                                     else "")
        if _is_duration(default) and not _is_duration(value):
            return f"{shown(value)} is not a duration such as 24h or 90d"
    return None


def _is_duration(text: str) -> bool:
    try:
        duration_seconds(text)
    except ValueError:
        return False
    return True


def _references(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every `$ref` and `$dynamicRef` in a schema fragment, with its path, iteratively (no recursion limit)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                    yield (*where, key), value
                else:
                    stack.append((value, (*where, key)))
        elif isinstance(current, list):
            stack.extend((value, (*where, index)) for index, value in enumerate(current))


def _patterns(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every regular expression in a schema fragment (`pattern` values, `patternProperties` keys), with its path."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key == "pattern" and isinstance(value, str):
                    yield (*where, key), value
                elif key == "patternProperties" and isinstance(value, dict):
                    yield from (((*where, key, name), name) for name in value if isinstance(name, str))
                    stack.extend((sub, (*where, key, name)) for name, sub in value.items())
                else:
                    stack.append((value, (*where, key)))
        elif isinstance(current, list):
            stack.extend((value, (*where, index)) for index, value in enumerate(current))


def _schema_check(control: Document, fragment: dict[str, Any]) -> tuple[CheckFunction | None, dict[str, Any],
                                                                        list[Finding]]:
    """A declarative check: the JSON Schema fragment each selected document must satisfy.

    Its regular expressions run on RE2, whose matching time is linear in the input: a pattern written
    to backtrack (`(a+)+$`) cannot stall a run. A pattern that needs what RE2 lacks (backreferences,
    lookaround) is a control-invalid finding at the pattern.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    from svcascode.linear_regex import LinearValidator, RegexRefused, compile_linear

    def refuse(uri: str) -> Any:
        raise Unresolvable(ref=uri)  # no remote or file $ref: nothing is fetched, ever

    try:
        Draft202012Validator.check_schema(fragment)
    except SchemaError as error:
        path = ("spec", "check", "schema", *error.absolute_path)
        return None, {}, [_problem(control, f"invalid JSON Schema: {error.message}", path)]
    remote = [(path, ref) for path, ref in _references(fragment, ("spec", "check", "schema"))
              if not ref.startswith("#")]
    if remote:
        return None, {}, [_problem(control, f"schema $ref {ref!r} cannot be resolved without the network: "
                                   "inline the schema it names, or refer to a local definition (#/$defs/...)", path)
                          for path, ref in remote]
    refused = []
    patterns = list(_patterns(fragment, ("spec", "check", "schema")))
    if patterns and '"unevaluatedProperties"' in json.dumps(fragment):
        refused.append(_problem(control, "unevaluatedProperties cannot be combined with pattern matching here: "
                                "use additionalProperties", ("spec", "check", "schema")))
    for path, pattern in patterns:
        try:
            compile_linear(pattern)
        except RegexRefused as error:
            refused.append(_problem(control, f"pattern {pattern!r}: {error}", path))
    if refused:
        return None, {}, refused
    validator = LinearValidator(fragment, registry=Registry(retrieve=refuse))  # type: ignore[call-arg]

    def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
        try:
            errors = sorted(validator.iter_errors(document.data), key=lambda e: list(e.absolute_path))
        except Unresolvable as error:
            yield _problem(control, f"schema $ref cannot be resolved without the network: {error}",
                           ("spec", "check", "schema"))
            return
        except RecursionError:  # the same for every document: one finding once deduplicated
            yield _problem(control, "schema $ref refers back to itself without reading deeper into the document "
                           "(a circular $ref): make the recursion go through properties or items",
                           ("spec", "check", "schema"))
            return
        statement = control.spec.check.message or control.model.metadata.title or control.name
        reported: set[tuple[str, ...]] = set()
        for failure in errors:
            path = tuple(failure.absolute_path)
            for problem in _schema_failures(failure):
                if problem not in reported:
                    reported.add(problem)
                    yield ctx.fail(document, f"{statement}: {problem[-1]}", path)

    return check, {}, []


def _schema_failures(failure: Any) -> Iterator[tuple[str, ...]]:
    """What a JSON Schema failure means in the document's terms: `spec.operations.runbook is missing`
    for a `required` one (followed down the schema while exactly one property is required beneath it,
    so the message names what to add), else the field and the validator's message."""
    path = [str(p) for p in failure.absolute_path]
    where = ".".join(path) or "the document"
    if failure.validator != "required" or not isinstance(failure.instance, dict):
        yield (where, f"{where}: {failure.message}")
        return
    for name in failure.validator_value:
        if not isinstance(name, str) or name in failure.instance:
            continue
        missing, schema = [*path, name], failure.schema
        for _ in range(32):  # bounded: a schema can nest (or refer to itself) without end
            properties = schema.get("properties") if isinstance(schema, dict) else None
            schema = properties.get(missing[-1]) if isinstance(properties, dict) else None
            required = schema.get("required") if isinstance(schema, dict) else None
            if not (isinstance(required, list) and len(required) == 1 and isinstance(required[0], str)):
                break
            missing.append(required[0])
        dotted = ".".join(missing)
        yield (dotted, f"{dotted} is missing")


# ---------------------------------------------------------------------------------------------------
# Evaluation


# Kinds whose selection follows the Baselines of their tier (a Baseline selects controls per tier).
_TIERED = {"Service", "ServiceLevel", "AccessPolicy", "MaintenanceWindow"}


@dataclass
class Prepared:
    """A control made ready to evaluate: its check (None when its definition has a problem), its
    parameters, and what is wrong with it."""

    control: Document
    function: CheckFunction | None
    params: dict[str, Any]
    problems: list[Finding]
    context: CheckContext | None = None


class PairRunner:
    """Evaluates (control, document) pairs over one catalogue on one date: `prepare` builds a control's
    check, `subjects` chooses its documents, `findings` runs it on one document. A subclass may reuse what
    an earlier run computed (svcascode.incremental.MemoPairRunner); the answers are the same."""

    def __init__(self, catalogue: Catalogue, as_of: date, baselines: Baselines) -> None:
        self.catalogue, self.as_of, self.baselines = catalogue, as_of, baselines
        self._tiers: dict[int, str] = {}
        self._texts: dict[str, str] = {}

    def source(self, control: Document) -> str | None:
        """The text of a Control's file when its check is an expression (an error in it is located there)."""
        check = control.spec.check
        if check.expression is None and not check.validations:
            return None
        if not self._texts:
            self._texts.update((f.path, f.text) for f in self.catalogue.files)
        return self._texts.get(control.file)

    def reader(self) -> CatalogueReader:
        """What checks read the catalogue through."""
        return self.catalogue

    def prepare(self, control: Document) -> Prepared:
        function, params, problems = build_check(control, self.source(control))
        return self._ready(Prepared(control, function, params, problems))

    def _ready(self, prepared: Prepared) -> Prepared:
        if prepared.function is not None:
            prepared.context = CheckContext(self.reader(), self.as_of, prepared.control, prepared.params,
                                            self.baselines.parameter)
        return prepared

    def candidates(self, control: Document) -> Iterator[Document]:
        return (d for kind in control.spec.applies_to.kinds for d in self.catalogue.of_kind(kind))

    def chosen(self, prepared: Prepared) -> list[Document]:
        """The documents the control's appliesTo selects."""
        chosen_by = selector(prepared.control)
        return [d for d in self.candidates(prepared.control) if chosen_by(d)]

    def subjects(self, prepared: Prepared, chosen: list[Document]) -> list[Document]:
        """The documents the control checks: those it selects (`chosen`) that the Baselines of their tier keep."""
        name, selects, tier = prepared.control.name, self.baselines.selects, self.tier
        kept: dict[str, bool] = {}  # by tier: asked once per control and tier, not once per document

        def keeps(document: Document) -> bool:
            level = tier(document)
            found = kept.get(level)
            if found is None:
                found = kept[level] = selects(name, level)
            return found

        return [d for d in chosen if d.kind not in _TIERED or keeps(d)]

    def tier(self, document: Document) -> str:  # asked by every control of the same documents
        key = id(document)
        found = self._tiers.get(key)
        if found is None:
            found = self._tiers[key] = tier_of(self.catalogue, document)
        return found

    def findings(self, prepared: Prepared, document: Document) -> tuple[Finding, ...]:
        """The check's findings about one document, before waivers: the one function every evaluation runs."""
        assert prepared.function is not None and prepared.context is not None
        return run_pair(prepared.function, prepared.context, document, prepared.control)

    def findings_of(self, pairs: list[tuple[Prepared, Document]]) -> list[tuple[Finding, ...]]:
        """The findings of many pairs, in their order: on two cores when there are many (svcascode.twocores)."""
        return twocores.computed(pairs, lambda pair: self.findings(*pair), encode_findings, decode_findings)

    def done(self) -> None:
        """The evaluation is over (a runner that keeps results saves them now)."""


def run_pair(function: CheckFunction, context: CheckContext, document: Document, control: Document
             ) -> tuple[Finding, ...]:
    """One check on one document; a defect in the check is a finding, and never hides the other controls'."""
    try:
        return tuple(function(context, document))
    except Exception as error:  # noqa: BLE001
        return (document.finding(RULE_CHECK_ERROR, "high", f"control {control.name} could not check this "
                                 f"document: {type(error).__name__}: {error}", ()),)


def evaluate(catalogue: Catalogue, as_of: date, select: Iterable[str] = (), ignore: Iterable[str] = (),
             on_control: Callable[[Document], None] | None = None,
             runner: Callable[[Catalogue, date, Baselines], PairRunner] = PairRunner) -> Evaluation:
    """Run every control (or those selected) over the catalogue as of a date; apply waivers.

    The waivers' control (wvr-valid) is evaluated first, whether or not it is selected: a waiver it fails
    suppresses nothing. Then every other selected control; then the waivers are applied, and a waiver in
    force that suppressed nothing although its control ran is reported stale. `runner` evaluates the pairs
    (one that reuses earlier results gives the same findings, in the same order).
    """
    chosen, ignored = set(select), set(ignore)
    baselines = Baselines(catalogue)
    pairs = runner(catalogue, as_of, baselines)
    evaluation = Evaluation()
    failed: set[str] = set()
    found: list[Finding] = []
    controls = sorted(catalogue.of_kind("Control"), key=lambda c: (c.name != WAIVER_CONTROL, c.name))
    units: list[_Unit] = []
    for control in controls:
        selected = (not chosen or control.name in chosen) and control.name not in ignored
        judges_waivers = control.name == WAIVER_CONTROL
        if not selected and not judges_waivers:
            continue
        if on_control is not None and selected:
            on_control(control)
        prepared = pairs.prepare(control)
        if selected:
            evaluation.problems.extend(prepared.problems)
        if prepared.function is None:
            continue
        chosen_documents = pairs.chosen(prepared)
        subjects = pairs.subjects(prepared, chosen_documents)
        if selected:
            evaluation.controls.append(control)
            evaluation.subjects[control.name] = subjects
            if not subjects:
                evaluation.problems.append(control.finding(
                    RULE_UNUSED, "info", _selects_nothing(control, len(chosen_documents)), ("spec", "appliesTo"),
                    enforcement="audit"))
                continue
        # a profile (`on_control`) times each control whole, its pairs included: they are evaluated now; else
        # every control's pairs are evaluated together below, on two cores when there are many
        now = [pairs.findings(prepared, document) for document in subjects] if on_control is not None else None
        units.append(_Unit(selected, judges_waivers, prepared, subjects, now))
    later = iter(pairs.findings_of([(u.prepared, d) for u in units if u.results is None for d in u.subjects]))
    for unit in units:
        for document, results in zip(unit.subjects, later if unit.results is None else unit.results):
            if unit.judges_waivers and any(fails_policy(f) for f in results):
                failed.add(document.name)
            if unit.selected:
                found.extend(results)
    pairs.done()
    evaluation.failed_waivers = frozenset(failed)
    waivers = _active_waivers(catalogue, as_of, failed)
    evaluation.findings = [_apply_waivers(f, waivers, evaluation.waiver_matches) for f in found]
    evaluated = {c.name for c in evaluation.controls}
    if WAIVER_CONTROL in evaluated:
        for waiver in sorted(catalogue.of_kind("Waiver"), key=lambda w: w.name):
            if (waiver.spec.control in evaluated and waiver.name not in failed
                    and waiver_state(waiver, as_of, False).suppresses
                    and not evaluation.waiver_matches.get(waiver.name)):
                evaluation.findings.append(stale_waiver(waiver, as_of))
    evaluation.findings.sort(key=Finding.sort_key)
    return evaluation


class _Unit(NamedTuple):
    """A control to evaluate in `evaluate`: whether it was selected, whether it judges the waivers, its check,
    its subjects, and their findings when already evaluated."""

    selected: bool
    judges_waivers: bool
    prepared: Prepared
    subjects: list[Document]
    results: list[tuple[Finding, ...]] | None


class Deferred:
    """A control's check built the first time a document needs it: a runner that knows this version of the
    control built cleanly before reads it only when a result is not reused."""

    __slots__ = ("build", "function")

    def __init__(self, build: Callable[[], tuple[CheckFunction | None, dict[str, Any], list[Finding]]]) -> None:
        self.build = build
        self.function: CheckFunction | None = None

    def __call__(self, context: CheckContext, document: Document) -> Iterator[Finding]:
        if self.function is None:
            function, params, problems = self.build()
            if function is None or problems:  # it built cleanly under this key: it cannot fail now
                raise RuntimeError(f"control {context.control.name} no longer builds")
            self.function = function
            context.params = params
        return self.function(context, document)


def _active_waivers(catalogue: Catalogue, as_of: date, failed: set[str]) -> dict[tuple[str, str], Document]:
    """(control id, subject ref) -> the waiver that suppresses it on the as-of date.

    A waiver suppresses only while in date, approved by someone other than its requester, and passing
    wvr-valid; otherwise it is itself a finding of wvr-valid and what it covered stays open.
    """
    active: dict[tuple[str, str], Document] = {}
    for waiver in sorted(catalogue.of_kind("Waiver"), key=lambda w: w.name):
        if not waiver_state(waiver, as_of, waiver.name in failed).suppresses:
            continue
        for subject in waiver.spec.subjects:
            kind, _, name = subject.partition(":")
            active.setdefault((waiver.spec.control, subject_ref(kind, name)), waiver)
    return active


def _apply_waivers(finding: Finding, waivers: dict[tuple[str, str], Document], matches: dict[str, int]) -> Finding:
    if finding.rule == WAIVER_CONTROL or not finding.kind:
        return finding
    waiver = waivers.get((finding.rule, subject_ref(finding.kind, finding.name)))
    if waiver is None:
        return finding
    matches[waiver.name] = matches.get(waiver.name, 0) + 1
    return finding.waived(waiver.name, str(waiver.spec.justification))
