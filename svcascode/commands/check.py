"""`svcascode check`: validate the catalogue, evaluate its controls, report findings, exit 0, 1 or 2.

Three steps, each replaceable on its own: parse the options (the click command), load the documents
(`load_documents`, which reading from a git revision replaces), and run (`run_check`, which builds the
Report that decides the exit code).
"""

from __future__ import annotations

import difflib
import sys
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import click

from svcascode.catalogue import RULE_CYCLE, RULE_DUPLICATE, RULE_REFERENCE, LoadResult, load_catalogue
from svcascode.cli import EXIT_FINDINGS, EXIT_OK, _context, _write, main, parse_as_of
from svcascode.config import Settings
from svcascode.documents import RULE_SCHEMA, Document
from svcascode.engine import RULE_CHECK_ERROR, RULE_CONTROL, RULE_UNUSED, WAIVER_CONTROL, Evaluation, evaluate
from svcascode.errors import SvcascodeError
from svcascode.finding import SEVERITIES, Finding
from svcascode.formats import FORMATS, Report
from svcascode.loading.discover import RULE_FILE
from svcascode.loading.yamlfile import RULE_YAML

NEVER = "none"  # --fail-on none: report everything, never fail
FAIL_ON_CHOICES = (*SEVERITIES, NEVER)

# The rules that are not controls: what the loader, the validator and the engine report themselves.
TOOL_RULES: dict[str, dict[str, Any]] = {
    RULE_YAML: {
        "title": "File is well-formed, bounded YAML",
        "severity": "critical", "enforcement": "block",
        "description": "The file could not be read as YAML: a syntax error, a duplicate key, an unsafe tag, "
                       "an alias bomb, too deep nesting, or bytes that are not UTF-8. Nothing in it was checked.",
        "help": "Fix the YAML at the line and column given; run `svcascode validate FILE` to recheck quickly.",
    },
    RULE_SCHEMA: {
        "title": "Document matches the schema of its kind",
        "severity": "critical", "enforcement": "block",
        "description": "The document has an unknown field, a missing required field, or a value of the wrong "
                       "type or form, so it was left out of every control.",
        "help": "Change the field named in the message; `svcascode schema KIND` prints the schema, and "
                "editors with yaml-language-server complete fields from schemas/.",
    },
    RULE_FILE: {
        "title": "File is readable and inside the repository",
        "severity": "critical", "enforcement": "block",
        "description": "The file was refused: it is too large, or a symlink that leaves the repository.",
        "help": "Copy the file into the repository, split it, or exclude it in .svcascode.yaml.",
    },
    RULE_REFERENCE: {
        "title": "References resolve to defined documents",
        "severity": "critical", "enforcement": "block",
        "description": "A field names a document (a team, service, calendar, control, ...) that is not "
                       "defined, so every check relying on it would be guessing.",
        "help": "Fix the name (the message suggests the closest one) or add the missing document.",
    },
    RULE_DUPLICATE: {
        "title": "Names are unique per kind",
        "severity": "critical", "enforcement": "block",
        "description": "Two documents of the same kind share metadata.name; references to it are ambiguous.",
        "help": "Rename or remove one of the two documents.",
    },
    RULE_CYCLE: {
        "title": "Hard dependencies form no cycle",
        "severity": "critical", "enforcement": "block",
        "description": "Services depend on each other in a circle of hard dependencies: none of them can "
                       "start first, and availability over the chain cannot be computed.",
        "help": "Make one dependency in the cycle soft, or remove it.",
    },
    RULE_CONTROL: {
        "title": "Control definition is well-formed",
        "severity": "high", "enforcement": "block",
        "description": "The control's check cannot run: an unknown built-in, an unknown parameter, or an "
                       "invalid or remote JSON Schema fragment. It is reported instead of silently skipped.",
        "help": "Fix spec.check at the location given; `svcascode controls` lists the built-ins in use.",
    },
    RULE_UNUSED: {
        "title": "Control selects at least one document",
        "severity": "info", "enforcement": "audit",
        "description": "The control's spec.appliesTo matched no document, which usually means a typo in its "
                       "kinds, where, hasFields or labels.",
        "help": "Correct spec.appliesTo, or remove the control if nothing should be checked by it.",
    },
    RULE_CHECK_ERROR: {
        "title": "Check completed on the document",
        "severity": "high", "enforcement": "block",
        "description": "A built-in check failed with an error on this document; its result is unknown.",
        "help": "Report the message as a defect; set SVCASCODE_DEBUG=1 for details.",
    },
}


class _NeverFailingReport(Report):
    """`--fail-on none`: every finding is reported and none fails the run."""

    def failing(self, finding: Finding) -> bool:
        return False


LoadStep = Callable[[Path, Settings, Sequence[str]], LoadResult]


def load_documents(root: Path, settings: Settings, paths: Sequence[str]) -> LoadResult:
    """The documents to check: the working tree under the configured roots, or the given paths."""
    return load_catalogue(root, settings, paths)


def revision_step(rev: str, option: str = "--rev") -> LoadStep:
    """A loading step that reads the documents at a git revision from git objects, without a checkout."""

    def load_revision(root: Path, settings: Settings, paths: Sequence[str]) -> LoadResult:
        from svcascode.gitload import RevisionLoader

        loader = RevisionLoader(root, settings)
        try:
            return loader.load(rev, [_root_relative(root, p) for p in paths], option)
        finally:
            loader.close()

    return load_revision


def _root_relative(root: Path, path: str) -> str:
    """A path given on the command line (relative to the current folder) -> relative to the catalogue root."""
    import os

    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    relative = os.path.relpath(absolute, root.resolve())
    if relative.startswith(".."):
        raise SvcascodeError(f"{path}: outside the catalogue at {root}")
    return "" if relative == "." else relative.replace(os.sep, "/")


def compare_with_base(report: Report, root: Path, settings: Settings, base: str, as_of: date,
                      select: Iterable[str], ignore: Iterable[str], paths: Sequence[str]) -> Report:
    """The ratchet: findings that already exist at `base` are reported as existing and never fail;
    findings fixed since are listed in `extra["fixed"]`. Matching is by fingerprint (rule, kind/name,
    JSON path), so moved lines and renamed files keep their findings' identity.
    """
    from dataclasses import replace

    from svcascode.gitload import RevisionLoader

    loader = RevisionLoader(root, settings)
    try:
        sha = loader.repo.resolve(base, "--base")
        base_result = loader.load_commit(sha, [_root_relative(root, p) for p in paths], require=False)
    finally:
        loader.close()
    known = {c.name for c in base_result.catalogue.of_kind("Control")}
    base_report = run_check(root, settings, as_of, _known(select, known), _known(ignore, known), NEVER, paths,
                            load=lambda *_: base_result)
    before = {f.fingerprint: f for f in base_report.findings}
    now = {f.fingerprint for f in report.findings}
    existing = frozenset(before) & now
    findings = tuple(replace(f, extra=(*f.extra, ("status", "existing" if f.fingerprint in existing else "new")))
                     for f in report.findings)
    fixed = [{"rule": f.rule, "severity": f.severity, "message": f.message, "file": f.file, "line": f.line,
              "path": f.json_path, "kind": f.kind or None, "name": f.name or None, "fingerprint": f.fingerprint}
             for f in sorted(before.values(), key=Finding.sort_key) if f.fingerprint not in now]
    return replace(report, findings=findings, base=sha, existing=existing,
                   extra={**report.extra, "base": sha, "fixed": fixed,
                          "new": sum(1 for f in findings if f.fingerprint not in existing)})


def ratchet_text(report: Report) -> str:
    """The text format's account of a --base comparison: what is new (and fails), what was fixed."""
    import re

    def visible(text: str) -> str:  # one finding stays one line; YAML text sends no terminal escapes
        return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)

    base = (report.base or "")[:12]
    new = [f for f in report.findings if f.fingerprint not in report.existing]
    fixed = report.extra.get("fixed") or []
    lines = ["", f"against {base}: {len(new)} new, {len(report.findings) - len(new)} existing "
                 f"(reported, never failing), {len(fixed)} fixed"]
    for title, rows in (("new", [(f.located(), f.subject, f.rule, f.message) for f in new]),
                        ("fixed", [(f"{x['file']}:{x['line']}", f"{x['kind']}/{x['name']}" if x["kind"] else x["file"],
                                    x["rule"], x["message"]) for x in fixed])):
        if rows:
            lines.append(f"{title}:")
            lines.extend(visible(f"  {where}: {subject}: {rule}: {message}") for where, subject, rule, message in rows)
    return "\n".join(lines) + "\n"


def _known(given: Iterable[str], known: set[str]) -> tuple[str, ...]:
    """--select/--ignore ids that exist at the base: a control added since has no findings there."""
    ids = [part.strip().lower() for value in given for part in value.split(",") if part.strip()]
    return tuple(i for i in ids if i in known)


def run_check(root: Path, settings: Settings, as_of: date, select: Iterable[str] = (), ignore: Iterable[str] = (),
              fail_on: str = "high", paths: Sequence[str] = (), load: LoadStep = load_documents) -> Report:
    """Validate and evaluate; the Report holds every finding and decides the exit code.

    `rules` maps every rule id that appears or was evaluated to {title, severity, enforcement, help
    (the remediation), description (the rationale), mappings (list of {framework, controls,
    relationship})}. With `paths`, only findings located in those files are reported; the whole
    catalogue is still loaded and evaluated, so that references and cross-document checks hold.
    """
    if fail_on not in FAIL_ON_CHOICES:
        raise SvcascodeError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
    result = load(root, settings, paths)
    catalogue = result.catalogue
    known = sorted(c.name for c in catalogue.of_kind("Control"))
    chosen = resolve_ids(select, known, "--select")
    ignored = resolve_ids(ignore, known, "--ignore")
    evaluation = evaluate(catalogue, as_of, chosen, ignored)
    control_findings = _drop_unknowable_stale(evaluation, catalogue.of_kind("Waiver"))
    # dict.fromkeys: a check that reports the same problem once per document it selects (a control's
    # unresolvable $ref) is one finding
    findings = sorted(dict.fromkeys(result.in_scope([*result.findings, *control_findings, *evaluation.problems])),
                      key=Finding.sort_key)
    report_class = _NeverFailingReport if fail_on == NEVER else Report
    return report_class(
        "check", tuple(findings), fail_on=fail_on, documents=len(catalogue.documents),
        files=len(catalogue.files), rules=rule_metadata(evaluation.controls, findings,
                                                        catalogue.of_kind("Control")),
        as_of=as_of.isoformat(), extra={"controls": sorted(c.name for c in evaluation.controls)})


def resolve_ids(given: Iterable[str], known: list[str], option: str) -> tuple[str, ...]:
    """Control ids as given (any case, comma-separated or repeated) -> known ids; unknown ones exit 2."""
    ids: list[str] = []
    for value in given:
        ids.extend(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [i for i in ids if i not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise SvcascodeError(f"{option}: unknown control id {', '.join(hints)}; known ids: "
                             f"{', '.join(known) or 'none (no Control documents were loaded)'}")
    return tuple(dict.fromkeys(ids))


def _drop_unknowable_stale(evaluation: Evaluation, waivers: list[Document]) -> list[Finding]:
    """Staleness is only known for waivers whose control ran; with --select/--ignore it may not have."""
    evaluated = {c.name for c in evaluation.controls}
    control_of = {w.name: w.spec.control for w in waivers}
    return [f for f in evaluation.findings
            if not (f.rule == WAIVER_CONTROL and f.kind == "Waiver" and "stale" in f.message
                    and control_of.get(f.name) not in evaluated)]


def rule_metadata(controls: Iterable[Document], findings: Iterable[Finding], all_controls: Iterable[Document]
                  ) -> dict[str, dict[str, Any]]:
    by_name = {c.name: c for c in all_controls}
    rules = {c.name: control_rule(c) for c in controls}
    for finding in findings:
        if finding.rule in rules:
            continue
        if finding.rule in by_name:
            rules[finding.rule] = control_rule(by_name[finding.rule])
        else:
            rules[finding.rule] = {"mappings": [], **TOOL_RULES.get(finding.rule, {
                "title": finding.rule, "severity": finding.severity, "enforcement": finding.enforcement,
                "description": "", "help": ""})}
    return dict(sorted(rules.items()))


def control_rule(control: Document) -> dict[str, Any]:
    spec = control.spec
    return {
        "title": control.model.metadata.title or control.name,
        "severity": str(spec.severity),
        "enforcement": str(spec.enforcement),
        "help": str(spec.remediation).strip(),
        "description": str(spec.rationale).strip(),
        "mappings": [{"framework": m.framework, "controls": list(m.controls), "relationship": m.relationship}
                     for m in spec.mappings],
    }


# ---------------------------------------------------------------------------------------------------
# The command


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
              help="Evaluate as of this date (YYYY-MM-DD) instead of today, for reproducible results.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when an unwaived, blocking finding is at or above this severity; `none` never fails.")
@click.option("--select", multiple=True, metavar="IDS",
              help="Evaluate only these controls (repeat or separate with commas).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Do not evaluate these controls.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--rev", metavar="REV", help="Check the documents at this git revision, read from git objects "
              "without a checkout.")
@click.option("--base", metavar="REV", help="Ratchet: findings that already exist at this revision are "
              "reported as existing and do not fail; only new ones do. Fixed findings are listed.")
def check(paths: tuple[str, ...], as_of: date, fail_on: str, select: tuple[str, ...], ignore: tuple[str, ...],
          fmt: str, output: str | None, rev: str | None, base: str | None) -> None:
    """Validate the documents, then evaluate every control as of a date.

    Invalid documents are findings too (rule ids yaml-invalid, schema-invalid, ref-unresolved, ...).
    Waived findings are reported, marked with their waiver, and never fail the run; findings of controls
    with enforcement warn or audit never fail it either. With PATHS, only findings located in those
    files are reported.

    With --rev, the documents are read from that git revision instead of the working tree. With --base,
    only findings that do not already exist at that revision fail the run (see docs/git.md).

    Exit codes: 0 nothing blocking at or above --fail-on; 1 something is; 2 the check could not run.
    """
    from svcascode.gitrepo import check_revision_text

    for option, value in (("--rev", rev), ("--base", base)):
        if value is not None:
            check_revision_text(value, option)  # before anything is read or written
    root, settings = _context()
    load = revision_step(rev) if rev is not None else load_documents
    report = run_check(root, settings, as_of, select, ignore, fail_on, paths, load=load)
    if base is not None:
        report = compare_with_base(report, root, settings, base, as_of, select, ignore, paths)
    text = FORMATS[fmt](report)
    if base is not None and fmt == "text":
        text += ratchet_text(report)
    _write(text, output)
    sys.exit(EXIT_FINDINGS if report.exit_code else EXIT_OK)
