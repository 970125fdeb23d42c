"""Testing rules before they gate anyone: every control's examples, and rule case files.

A control's failing example must make it report at least one finding, its passing example none. A
rule case file gives documents, an as-of date and the findings expected, with their lines:

    control: tier1-thin-rota-ola          # the control under test (the repository's or the library's)
    asOf: 2026-11-27                      # evaluation date (default 2026-11-27)
    cases:
      - name: thin rota without an OLA
        asOf: 2026-12-01                  # optional: this case's date, over the file's
        controls: [wvr-valid]             # optional: more controls to evaluate (waiver cases)
        base: true                        # optional: include _base.yaml beside the case file (default true)
        documents: |                      # the documents; expected lines count from its first line
          apiVersion: svcascode.io/v1alpha1
          ...
        expect:                           # exactly these findings in the documents
          - {line: 12, severity: high, message: "fewer than 2"}
          - {line: 30, rule: wvr-valid, waived: false, message: expired}

`message` is a substring of the finding's message; `rule` defaults to the control; `waived` to false;
`severity` to any. A case file that is not of this form is a located error, never a failed case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from svcascode.catalogue import Catalogue, CatalogueBuilder, FileSource
from svcascode.config import LibrarySettings, Settings
from svcascode.documents import Document
from svcascode.engine import evaluate
from svcascode.errors import SvcascodeError
from svcascode.expressions import offset_of, source_position
from svcascode.loading.cache import ParseCache
from svcascode.loading.yamlfile import parse_text

DEFAULT_AS_OF = date(2026, 11, 27)
CASE_DOCUMENTS = "services/case.yaml"
BASE_DOCUMENTS = "services/base.yaml"
MAX_CASE_BYTES = 2 * 1024 * 1024
CASE_KEYS = {"name", "asOf", "controls", "base", "documents", "expect"}
EXPECT_KEYS = {"line", "rule", "severity", "message", "waived"}


class CaseError(SvcascodeError):
    """A malformed case file, at a line and column of it."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.detail = file, line, column, message


@dataclass
class CaseResult:
    """One case: a control's example, or a case of a case file."""

    suite: str  # the case file, or `examples of CONTROL`
    name: str
    control: str
    file: str  # where the case is written
    line: int
    missing: list[dict[str, Any]] = field(default_factory=list)  # expected and not reported
    unexpected: list[dict[str, Any]] = field(default_factory=list)  # reported and not expected
    problems: list[str] = field(default_factory=list)  # why it could not run as written
    skipped: str | None = None  # why an example cannot be judged alone

    @property
    def passed(self) -> bool:
        return self.skipped is not None or not (self.missing or self.unexpected or self.problems)

    def passed_as(self, which: str, findings: list[Any], control: str) -> bool:
        """Whether an example's findings are what its kind (failing, passing) needs."""
        own = [f for f in findings if f.rule == control]
        others = [f for f in findings if f.rule != control]
        return not others and (bool(own) if which == "failing" else not own)

    def as_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "name": self.name, "control": self.control, "file": self.file,
                "line": self.line, "passed": self.passed, "missing": self.missing,
                "unexpected": self.unexpected, "problems": self.problems, "skipped": self.skipped}


# ---------------------------------------------------------------------------------------------------
# Running a set of documents against some controls


def _sources(catalogue: Catalogue, controls: Iterable[str]) -> list[FileSource]:
    """The files of these controls and of every Framework, from the repository's catalogue."""
    wanted = {d.file for name in controls if (d := catalogue.get("Control", name)) is not None}
    wanted |= {d.file for d in catalogue.of_kind("Framework")}
    return [FileSource(f.path, None, _reader(f.text.encode())) for f in catalogue.files if f.path in wanted]


def _reader(data: bytes) -> Any:
    return lambda: data


def run_documents(catalogue: Catalogue, documents: dict[str, str], controls: list[str], as_of: date
                  ) -> tuple[list[Any], list[Any]]:
    """(findings of the controls in these documents, validation findings of the documents)."""
    builder = CatalogueBuilder(ParseCache(None, Settings().limits),
                               Settings(cache=False, library=LibrarySettings(enabled=False)))
    sources = [FileSource(path, None, _reader(text.encode())) for path, text in documents.items()]
    result = builder.build(sources + _sources(catalogue, controls))
    invalid = [f for f in result.findings if f.file in documents]
    evaluation = evaluate(result.catalogue, as_of, select=controls)
    problems = [f for f in evaluation.problems if f.rule != "control-selects-nothing"]
    # each finding once, as `check` reports it: a finding on a team found through each of its services is one
    return list(dict.fromkeys(f for f in evaluation.findings if f.file in documents)) + problems, invalid


def _shown(finding: Any) -> dict[str, Any]:
    return {"line": finding.line, "rule": finding.rule, "severity": finding.severity,
            "message": finding.message, "waived": finding.suppressed}


# ---------------------------------------------------------------------------------------------------
# Examples


def example_results(catalogue: Catalogue, controls: list[Document]) -> list[CaseResult]:
    """Each control's failing example must fail it, its passing example pass it.

    Examples are short: one that refers to a document it does not include (a team, a calendar) cannot
    be judged alone and is skipped, saying what it lacks; syntax and schema errors fail it.
    """
    results = []
    for control in controls:
        for which in ("failing", "passing"):
            text = str(getattr(control.spec.examples, which))
            line = control.locate(("spec", "examples", which))[0]
            result = CaseResult(f"examples of {control.name}", f"{which} example", control.name, control.file, line)
            findings, invalid = run_documents(catalogue, {CASE_DOCUMENTS: text}, [control.name], DEFAULT_AS_OF)
            broken = [f for f in invalid if f.rule in ("yaml-invalid", "schema-invalid", "file-refused")]
            if broken:
                result.problems = [f"example line {f.line}: {f.message}" for f in broken]
            own = [f for f in findings if f.rule in (control.name, "control-invalid", "check-error")]
            lacking = sorted({f.message.split("; ")[0] for f in invalid if f.rule == "ref-unresolved"})
            if lacking and not broken and not result.passed_as(which, own, control.name):
                result.skipped = f"cannot be judged alone: it {'; '.join(lacking)}"
                results.append(result)
                continue
            if which == "failing" and not any(f.rule == control.name for f in own):
                result.missing = [{"rule": control.name, "message": "at least one finding"}]
            if which == "passing" or any(f.rule != control.name for f in own):
                result.unexpected = [_shown(f) for f in own if which == "passing" or f.rule != control.name]
            results.append(result)
    return results


# ---------------------------------------------------------------------------------------------------
# Case files


def case_files(paths: Iterable[Path]) -> list[Path]:
    """The case files named, or under the folders named (*.yaml and *.yml, not starting with _)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                                and not p.name.startswith((".", "_")) and p.is_file()))
        elif path.is_file() or path.exists():  # a FIFO or device is refused when read, never opened blocking
            found.append(path)
        else:
            raise SvcascodeError(f"{path}: no such file or folder")
    return found


def _load_case_file(path: Path, shown: str) -> tuple[Any, Any, str]:
    """The case file's data, its marks (for locations) and its text; a CaseError when it is not one."""
    data = _read(path, shown)
    parsed = parse_text(shown, data, Settings().limits)
    if parsed.problems:
        first = parsed.problems[0]
        raise CaseError(shown, first.line, first.column, first.message)
    if len(parsed.documents) != 1 or not isinstance(parsed.documents[0].data, dict):
        raise CaseError(shown, 1, 1, "a case file is one mapping with `control:` and `cases:`")
    raw = parsed.documents[0]
    return raw.data, raw, parsed.text


def _read(path: Path, shown: str) -> bytes:
    """A case file's bytes: a regular file of at most MAX_CASE_BYTES, never a FIFO or a device."""
    from svcascode.loading.discover import Refusal, read_regular

    try:
        return read_regular(path, MAX_CASE_BYTES)
    except Refusal as refusal:
        raise CaseError(shown, 1, 1, f"cannot be read: {refusal}") from None


def _as_date(value: Any, shown: str, raw: Any, path: tuple[Any, ...]) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        line, column = raw.locate(path)
        raise CaseError(shown, line, column, f"asOf: {value!r} is not a date such as 2026-11-27") from None


def file_results(catalogue: Catalogue, path: Path, shown: str) -> list[CaseResult]:
    """Run every case of one case file."""
    spec, raw, text = _load_case_file(path, shown)

    def fail(where: tuple[Any, ...], message: str) -> CaseError:
        line, column = raw.locate(where)
        return CaseError(shown, line, column, message)

    unknown = sorted(set(spec) - {"control", "asOf", "cases"})
    if unknown:
        raise fail((unknown[0],), f"unknown key '{unknown[0]}': a case file has control, asOf and cases")
    control = spec.get("control")
    if not isinstance(control, str) or catalogue.get("Control", control) is None:
        raise fail(("control",), f"control: {control!r} is not a control in force here "
                   "(`svcascode controls` lists them)")
    as_of = _as_date(spec.get("asOf", DEFAULT_AS_OF), shown, raw, ("asOf",))
    cases = spec.get("cases")
    if not isinstance(cases, list) or not cases:
        raise fail(("cases",), "cases: a list of cases, each with name, documents and expect")
    base_file = path.parent / "_base.yaml"
    results = []
    for index, case in enumerate(cases):
        where = ("cases", index)
        if not isinstance(case, dict):
            raise fail(where, "a case is a mapping with name, documents and expect")
        extra = sorted(set(case) - CASE_KEYS)
        if extra:
            raise fail((*where, extra[0]), f"unknown key '{extra[0]}': a case has {', '.join(sorted(CASE_KEYS))}")
        name, documents = case.get("name"), case.get("documents")
        if not isinstance(name, str) or not isinstance(documents, str):
            raise fail(where, "a case needs name: (text) and documents: (a YAML block of documents)")
        controls = case.get("controls", [])
        if not isinstance(controls, list) or not all(isinstance(c, str) for c in controls):
            raise fail((*where, "controls"), "controls: a list of control ids")
        missing = [c for c in controls if catalogue.get("Control", c) is None]
        if missing:
            raise fail((*where, "controls"), f"control {missing[0]!r} is not a control in force here")
        expected = case.get("expect") or []
        if not isinstance(expected, list):
            raise fail((*where, "expect"), "expect: a list of {line, message, rule, severity, waived}")
        for number, want in enumerate(expected):
            if not isinstance(want, dict) or not isinstance(want.get("line"), int):
                raise fail((*where, "expect", number), "an expected finding needs line: (a number)")
            wrong = sorted(set(want) - EXPECT_KEYS)
            if wrong:
                raise fail((*where, "expect", number, wrong[0]), f"unknown key '{wrong[0]}': an expected "
                           f"finding has {', '.join(sorted(EXPECT_KEYS))}")
        day = _as_date(case.get("asOf", as_of), shown, raw, (*where, "asOf"))
        texts = {CASE_DOCUMENTS: documents}
        if case.get("base", True) is not False and base_file.is_file():
            texts[BASE_DOCUMENTS] = _read(base_file, str(base_file)).decode("utf-8", "replace")
        line = raw.locate(where)[0]
        result = CaseResult(shown, name, control, shown, line)
        findings, invalid = run_documents(catalogue, texts, [control, *controls], day)
        if invalid:
            at = raw.locate((*where, "documents"))
            for f in invalid:
                if f.file == CASE_DOCUMENTS:
                    spot = source_position(text, at[0], at[1], offset_of(documents, f.line, f.column))
                    raise CaseError(shown, spot[0], spot[1], f"case {name!r}: the documents are not valid: "
                                    f"{f.message}")
            raise CaseError(shown, line, 1, f"case {name!r}: {base_file.name} is not valid: {invalid[0].message}")
        got = [_shown(f) for f in findings if f.file == CASE_DOCUMENTS or f.rule in ("control-invalid",)]
        result.missing, result.unexpected = match(expected, got, control)
        results.append(result)
    return results


def match(expected: list[dict[str, Any]], got: list[dict[str, Any]], control: str
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(expected findings not reported, reported findings not expected)."""
    unmatched = list(got)
    missing = []
    for want in expected:
        rule = want.get("rule", control)
        found = next((g for g in unmatched if g["line"] == want["line"] and g["rule"] == rule
                      and str(want.get("message", "")) in g["message"]
                      and g["severity"] == want.get("severity", g["severity"])
                      and g["waived"] == want.get("waived", False)), None)
        if found is None:
            missing.append({**want, "rule": rule})
        else:
            unmatched.remove(found)
    return missing, unmatched


def run_tests(catalogue: Catalogue, paths: list[Path], root: Path, examples: bool = True) -> list[CaseResult]:
    """Every control's examples (when `examples`), then every case of the case files under `paths`."""
    controls = sorted(catalogue.of_kind("Control"), key=lambda c: c.name)
    results = example_results(catalogue, controls) if examples else []
    for path in case_files(paths):
        try:
            shown = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            shown = str(path)
        results.extend(file_results(catalogue, path, shown))
    return results
