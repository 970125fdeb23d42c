"""One assessment for every command: a loaded catalogue, an as-of date and a control selection in; the
deduplicated findings, the metadata of every rule reported, the status of every control and of every
(control, subject) pair, and the state of every waiver out.

`check`, `diff`, `history`, `render catalogue`, `render report` and every output format read an
Assessment; none evaluates controls or judges a waiver on its own. The exit code of `check` comes from
the Report an Assessment makes (`Assessment.report`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from svcascode.engine import PairRunner, evaluate
from svcascode.errors import SvcascodeError
from svcascode.facts import WaiverState, services_of, waiver_state
from svcascode.finding import FAIL_ON_CHOICES, NEVER, Finding
from svcascode.formats.report import Report
from svcascode.rules import TOOL_RULES, WAIVER_CONTROL, RuleInfo, control_rule, unknown_rule
from svcascode.status import Status, worst

if TYPE_CHECKING:
    from svcascode.catalogue import Catalogue, LoadResult
    from svcascode.documents import Document


def fails_control(finding: Finding, control_severity: str) -> bool:
    """An open finding of a control's main condition, not of its warning clause.

    A warning clause reports at low severity with enforcement `warn`; the main condition reports at the
    control's severity with its enforcement. A control whose enforcement is `warn` or `audit` is still
    not satisfied when its main condition fails: enforcement decides whether a run fails, not the facts.
    """
    return not finding.suppressed and (finding.enforcement == "block" or finding.severity == control_severity)


def outcome(findings: Sequence[Finding], control_severity: str) -> Status:
    """The status that a control's findings about one subject give."""
    if not findings:  # most subjects of most controls
        return Status.SATISFIED
    if any(fails_control(f, control_severity) for f in findings):
        return Status.NOT_SATISFIED
    if any(not f.suppressed for f in findings):
        return Status.WARNING
    if findings:
        return Status.WAIVED
    return Status.SATISFIED


@dataclass(frozen=True)
class ControlSelection:
    """--select and --ignore, already resolved to known control ids."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def chooses(self, control: str) -> bool:
        return (not self.select or control in self.select) and control not in self.ignore

    @staticmethod
    def resolve(select: Iterable[str], ignore: Iterable[str], known: Iterable[str]) -> ControlSelection:
        """Ids as given (any case, comma-separated or repeated); an unknown one exits 2 with suggestions."""
        names = sorted(known)
        return ControlSelection(_resolve_ids(select, names, "--select"), _resolve_ids(ignore, names, "--ignore"))

    def known_at(self, known: Iterable[str]) -> ControlSelection:
        """The same selection over another catalogue (a base revision): ids it lacks are dropped."""
        have = sorted(set(known))
        select = tuple(i for i in self.select if i in have)
        if self.select and not select:  # none of the chosen controls exists there: evaluate none
            return ControlSelection((), tuple(have))
        return ControlSelection(select, tuple(i for i in self.ignore if i in have))


def split_ids(given: Iterable[str]) -> list[str]:
    return [part.strip().lower() for value in given for part in value.split(",") if part.strip()]


def _resolve_ids(given: Iterable[str], known: list[str], option: str) -> tuple[str, ...]:
    ids = split_ids(given)
    unknown = [i for i in ids if i not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise SvcascodeError(f"{option}: unknown control id {', '.join(hints)}; known ids: "
                             f"{', '.join(known) or 'none (no Control documents were loaded)'}")
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class PairResult:
    """One control's outcome for one document it selected."""

    control: str
    subject: Document
    status: Status
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class ControlResult:
    """One control's outcome over the catalogue."""

    control: Document
    rule: RuleInfo
    status: Status
    subjects: tuple[Document, ...]
    findings: tuple[Finding, ...]  # its findings, waived ones included

    @property
    def name(self) -> str:
        return self.control.name

    @property
    def failures(self) -> int:
        return sum(1 for f in self.findings if fails_control(f, self.rule.severity))

    @property
    def waived(self) -> int:
        return sum(1 for f in self.findings if f.suppressed)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if not f.suppressed and not fails_control(f, self.rule.severity))


@dataclass(frozen=True)
class WaiverResult:
    waiver: Document
    state: WaiverState
    matched: int  # findings it suppressed in this assessment

    @property
    def name(self) -> str:
        return self.waiver.name


@dataclass(frozen=True)
class ServiceResult:
    """Every finding that concerns a service, and each evaluated control's status for it."""

    service: Document
    status: str  # non-compliant, warnings, waived, compliant
    controls: tuple[tuple[ControlResult, Status, tuple[Finding, ...]], ...]
    findings: tuple[Finding, ...]

    def count(self, status: Status) -> int:
        return sum(1 for _, s, _ in self.controls if s is status)


class NeverFailingReport(Report):
    """`--fail-on none`: every finding is reported and none fails the run."""

    def failing(self, finding: Finding) -> bool:
        return False


SERVICE_STATUSES = ("non-compliant", "warnings", "waived", "compliant")
_CLEAN = Status.SATISFIED  # a control that looked at a service and found nothing about it (`outcome` of none)
_SERVICE_STATUS = {Status.NOT_SATISFIED: "non-compliant", Status.WARNING: "warnings", Status.WAIVED: "waived"}


@dataclass(frozen=True)
class Assessment:
    """The answer every command and format reads."""

    catalogue: Catalogue
    as_of: date
    selection: ControlSelection
    findings: tuple[Finding, ...]  # every finding: documents, control definitions and controls; deduplicated
    rules: dict[str, RuleInfo]  # every rule evaluated or reported
    controls: dict[str, ControlResult]  # every selected control, malformed ones included (not-assessed)
    waivers: dict[str, WaiverResult]
    scope: frozenset[str] | None = None  # files asked for on the command line; the rest is context
    _pairs: dict[tuple[str, str], PairResult] | None = field(default=None, compare=False, repr=False)
    _services: dict[str, ServiceResult] = field(default_factory=dict, compare=False, repr=False)
    _by_rule: dict[str, dict[str, list[Finding]]] = field(default_factory=dict, init=False, compare=False, repr=False)
    _concerns: tuple[dict[str, list[Finding]], dict[str, set[str]]] | None = field(default=None, compare=False,
                                                                                   repr=False)

    @property
    def pairs(self) -> dict[tuple[str, str], PairResult]:
        """(control id, kind:name) -> outcome, for every subject of every evaluated control. Made when first
        read (the compliance report and the ledger read them, a check does not): a large catalogue's pairs
        are a tenth of its memory."""
        if self._pairs is None:
            by_pair: dict[tuple[str, str, str], list[Finding]] = {}
            for finding in self.findings:
                by_pair.setdefault((finding.rule, finding.kind, finding.name), []).append(finding)
            pairs: dict[tuple[str, str], PairResult] = {}
            for name, control in self.controls.items():
                if control.status is Status.NOT_ASSESSED:
                    continue
                for subject in control.subjects:
                    mine = tuple(by_pair.get((name, subject.kind, subject.name), ()))
                    pairs[(name, subject.ref)] = PairResult(name, subject, outcome(mine, control.rule.severity), mine)
            object.__setattr__(self, "_pairs", pairs)
            return pairs
        return self._pairs

    # -- what is reported -------------------------------------------------------------------------------

    def in_scope(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if self.scope is None or f.file in self.scope)

    @property
    def evaluated(self) -> list[str]:
        """Ids of the controls whose check ran."""
        return sorted(n for n, c in self.controls.items() if c.status is not Status.NOT_ASSESSED)

    def report(self, fail_on: str = "high", command: str = "check") -> Report:
        """The result object of a run: what every check format renders and what decides the exit code.

        `fail_on` is a severity, or NEVER ("none"): every finding reported, none failing the run.
        """
        if fail_on not in FAIL_ON_CHOICES:
            raise SvcascodeError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON_CHOICES)}")
        findings = self.in_scope()
        reported = {f.rule for f in findings} | set(self.evaluated)
        report_class = NeverFailingReport if fail_on == NEVER else Report
        return report_class(command, findings, fail_on=fail_on,
                      documents=len(self.catalogue.documents), files=len(self.catalogue.files),
                      rules={r: self.rules[r].as_dict() for r in sorted(reported)},
                      as_of=self.as_of.isoformat(),
                      extra={"controls": self.evaluated, **self._library(), **self._scorecards()})

    def _library(self) -> dict[str, Any]:
        """Which built-in library was evaluated (the `library` field of the JSON output)."""
        use = self.catalogue.library
        return {"library": use.as_dict()} if use is not None else {}

    def _scorecards(self) -> dict[str, Any]:
        """Every service's maturity level (the `scorecards` field of the JSON output), when there are any."""
        from svcascode.levels import scorecards_json

        return scorecards_json(self)

    # -- who a finding concerns ---------------------------------------------------------------------------

    def document_of(self, finding: Finding) -> Document | None:
        return self.catalogue.get(finding.kind, finding.name) if finding.kind and finding.name else None

    def services_of(self, finding: Finding) -> list[Document]:
        return services_of(self.catalogue, self.document_of(finding))

    def teams_of(self, finding: Finding) -> list[str]:
        """The teams that own what a finding concerns; for a Team document, the team itself first."""
        teams = [finding.name] if finding.kind == "Team" else []
        for service in self.services_of(finding):
            if service.spec.owner not in teams:
                teams.append(service.spec.owner)
        return teams

    def team_findings(self, team: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == "Team" and f.name == team]

    # -- per service ----------------------------------------------------------------------------------------

    def _per_service(self) -> tuple[dict[str, list[Finding]], dict[str, set[str]]]:
        """Each service's findings (about itself and everything that concerns it), and the controls that
        looked at something concerning it: worked out once."""
        if self._concerns is not None:
            return self._concerns
        names = [s.name for s in self.catalogue.of_kind("Service")]
        by_service: dict[str, list[Finding]] = {n: [] for n in names}
        for finding in self.findings:
            for service in self.services_of(finding):
                if service.name in by_service:
                    by_service[service.name].append(finding)
        applies: dict[str, set[str]] = {n: set() for n in names}  # service -> controls that looked at it
        concerning: dict[int, list[str]] = {}  # a subject -> the services it concerns, asked once per subject
        for control in self.controls.values():
            for subject in control.subjects:
                concerned = concerning.get(id(subject))
                if concerned is None:
                    concerned = concerning[id(subject)] = [s.name for s in services_of(self.catalogue, subject)]
                for name in concerned:
                    if name in applies:
                        applies[name].add(control.name)
        object.__setattr__(self, "_concerns", (by_service, applies))
        return by_service, applies

    def status_of(self, service: str, control: str) -> Status:
        """A control's status for a service: what its findings about the service give; clean when it looked at
        something concerning the service and found nothing; not applicable when it looked at nothing; not
        assessed when the control is malformed or not evaluated."""
        return self.statuses_of(service, (control,))[0]

    def statuses_of(self, service: str, controls: Iterable[str]) -> list[Status]:
        """`status_of` the service for each of the controls, in order (a scorecard asks for each service)."""
        by_service, applies = self._per_service()
        by_rule = self._by_rule.get(service)
        if by_rule is None:  # asked for each control of each service: grouped once a service
            by_rule = self._by_rule[service] = {}
            for finding in by_service.get(service, ()):
                by_rule.setdefault(finding.rule, []).append(finding)
        looked = applies.get(service, ())
        out = []
        for control in controls:
            result = self.controls.get(control)
            if result is None or result.status is Status.NOT_ASSESSED:
                out.append(Status.NOT_ASSESSED)
                continue
            mine = by_rule.get(control)
            out.append(outcome(mine, result.rule.severity) if mine else
                       _CLEAN if control in looked else Status.NOT_APPLICABLE)
        return out

    def services(self) -> dict[str, ServiceResult]:
        """Each service's findings (about itself and everything that concerns it) and control statuses."""
        if self._services:
            return self._services
        by_service, applies = self._per_service()
        controls = sorted(self.controls.values(), key=lambda c: c.name)
        for name in sorted(by_service):
            rows: list[tuple[ControlResult, Status, tuple[Finding, ...]]] = []
            by_rule: dict[str, list[Finding]] = {}
            for finding in by_service[name]:
                by_rule.setdefault(finding.rule, []).append(finding)
            looked = applies[name]
            for control in controls:
                found = by_rule.get(control.name)
                mine = tuple(found) if found else ()
                if control.status is Status.NOT_ASSESSED:
                    status = Status.NOT_ASSESSED
                elif mine:
                    status = outcome(mine, control.rule.severity)
                elif control.name in looked:
                    status = _CLEAN
                else:
                    status = Status.NOT_APPLICABLE
                rows.append((control, status, mine))
            overall = worst(s for _, s, _ in rows if s is not Status.NOT_ASSESSED)
            document = self.catalogue.get("Service", name)
            assert document is not None
            self._services[name] = ServiceResult(document, _SERVICE_STATUS.get(overall, "compliant"), tuple(rows),
                                                 tuple(by_service[name]))
        return self._services

    # -- counts for the posture trend ------------------------------------------------------------------------

    def control_counts(self) -> tuple[int, int, int]:
        """Controls satisfied, not satisfied, and satisfied only by waivers."""
        statuses = [c.status for c in self.controls.values()]
        return (statuses.count(Status.SATISFIED) + statuses.count(Status.WARNING),
                statuses.count(Status.NOT_SATISFIED), statuses.count(Status.WAIVED))


def assess(loaded: LoadResult, as_of: date, selection: ControlSelection = ControlSelection(),
           incremental: bool = True, on_control: Callable[[Document], None] | None = None) -> Assessment:
    """Evaluate the selected controls over a loaded catalogue as of a date: the one answer.

    `incremental`: reuse the (control, document) results of earlier runs whose inputs are unchanged (the
    result memo, svcascode.incremental: kept in the store, or in this process for a walk through history);
    False, or a catalogue loaded without a store (`--no-cache`), evaluates every pair and records nothing.
    Both give the same assessment. `on_control` is called before each control is evaluated (a profile's
    hook).
    """
    from svcascode.incremental import memo_of

    catalogue = loaded.catalogue
    cache = loaded.cache
    memo = memo_of(cache) if incremental and (cache.folder is not None or cache.results is not None) else None
    evaluation = evaluate(catalogue, as_of, selection.select, selection.ignore, on_control=on_control,
                          runner=memo.runner if memo is not None else PairRunner)
    findings = tuple(sorted(dict.fromkeys([*loaded.findings, *evaluation.findings, *evaluation.problems]),
                            key=Finding.sort_key))
    all_controls = {c.name: c for c in catalogue.of_kind("Control")}
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    by_pair: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        by_pair.setdefault((finding.rule, finding.kind, finding.name), []).append(finding)

    rules: dict[str, RuleInfo] = {}
    controls: dict[str, ControlResult] = {}
    evaluated = {c.name for c in evaluation.controls}
    for name in sorted(all_controls):
        control = all_controls[name]
        if not selection.chooses(name):
            continue
        info = control_rule(control)
        rules[name] = info
        subjects = tuple(evaluation.subjects.get(name, ()))
        if name not in evaluated:
            status = Status.NOT_ASSESSED
        else:
            statuses: set[Status] = set()
            for subject in subjects:
                statuses.add(outcome(by_pair.get((name, subject.kind, subject.name), ()), info.severity))
            status = worst(statuses, Status.NOT_APPLICABLE)
        controls[name] = ControlResult(control, info, status, subjects, tuple(by_rule.get(name, ())))
    for finding in findings:
        if finding.rule not in rules:
            defined = all_controls.get(finding.rule)
            rules[finding.rule] = (control_rule(defined) if defined is not None else TOOL_RULES.get(finding.rule)
                                   or unknown_rule(finding.rule, finding.severity, finding.enforcement))
    waivers = {}
    for waiver in sorted(catalogue.of_kind("Waiver"), key=lambda w: w.name):
        matched = evaluation.waiver_matches.get(waiver.name, 0)
        known = waiver.spec.control in evaluated  # staleness is only known when its control ran
        state = waiver_state(waiver, as_of, waiver.name in evaluation.failed_waivers, matched if known else None)
        waivers[waiver.name] = WaiverResult(waiver, state, matched)
    return Assessment(catalogue, as_of, selection, findings, dict(sorted(rules.items())), controls, waivers,
                      loaded.scope)
