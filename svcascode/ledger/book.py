"""The ledger: for each day of a period, the commit in force and the posture as of that day, stored once.

`record` assesses the days a store does not hold yet (a commit's catalogue loaded once while its days
follow one another, each day assessed with the result memo, so only what changed or reads the date is
evaluated again) and writes them; `read` gives the days of a period back from the store, as every
output format shows them; `verify` re-performs days from git and compares them with the store.

A day is a calendar day in UTC. Its commit is the last commit of the first-parent line of HEAD that
touched the catalogue and entered the history by the end of the day, as the service levels judge it.
Only days that have ended are recorded: today's commit in force is not known before midnight.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable

from svcascode import __version__
from svcascode.errors import SvcascodeError
from svcascode.ledger.source import (FAILED, NOT_APPLICABLE, NOT_ASSESSED, OPERATING, STATES, WAIVED, Digests,
                                     Line)
from svcascode.ledger.store import (PART_NAMES, AssessmentRow, DayRow, NewDay, Store, assessment_key, canonical,
                                    content_digest, digest_of)

if TYPE_CHECKING:
    from svcascode.ledger.source import Assessor

MAX_DAYS = 3660  # ten years: every day of a period is a row of every output
BATCH = 31  # days written per transaction
RECORDED_BY = f"svcascode {__version__}"


# ---------------------------------------------------------------------------------------------------
# Periods


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _bounds(text: str, option: str) -> tuple[date, date]:
    text = text.strip()
    try:
        day = date.fromisoformat(text)
        return day, day
    except ValueError:
        pass
    month = _MONTH.match(text)
    quarter = _QUARTER.match(text)
    year = _YEAR.match(text)
    try:
        if month:
            first = date(int(month.group(1)), int(month.group(2)), 1)
            return first, _month_end(first)
        if quarter:
            first = date(int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, 1)
            return first, _month_end(date(first.year, first.month + 2, 1))
        if year:
            return date(int(year.group(1)), 1, 1), date(int(year.group(1)), 12, 31)
    except ValueError:
        pass
    raise SvcascodeError(f"{option} {text!r}: not a period; write a day (2026-01-15), a month (2026-01), a "
                         "quarter (2026-Q1), a year (2026) or a range of them (2026-01..2026-06)")


def _month_end(first: date) -> date:
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str, option: str = "--period") -> Period:
    start_text, sep, end_text = text.partition("..")
    start = _bounds(start_text, option)[0]
    end = _bounds(end_text, option)[1] if sep else _bounds(start_text, option)[1]
    if end < start:
        raise SvcascodeError(f"{option} {text!r}: ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise SvcascodeError(f"{option} {text!r}: {(end - start).days + 1} days; a ledger covers at most "
                             f"{MAX_DAYS} days at a time")
    return Period(start, end)


def today() -> date:
    return datetime.now(UTC).date()


def ended(period: Period) -> tuple[Period | None, list[date]]:
    """The part of a period whose days have ended (UTC), and the days left out."""
    last = today() - timedelta(days=1)
    if period.start > last:
        return None, period.days()
    if period.end <= last:
        return period, []
    return Period(period.start, last), Period(last + timedelta(days=1), period.end).days()


# ---------------------------------------------------------------------------------------------------
# Records


@dataclass
class Computed:
    """One assessment made in this run, ready to write: its row and its parts' JSON texts."""

    row: AssessmentRow
    texts: dict[str, bytes]  # digest -> JSON text
    values: dict[str, Any]  # part name -> value


class DocumentParts:
    """The documents part of a commit's records: its files by blob id, in `BUCKETS` parts by a hash of the
    path, listed by the documents part. From one commit to the next only the buckets holding a changed
    file are made again, and the store keeps each bucket once however many commits share it."""

    BUCKETS = 64

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.buckets: list[tuple[str, bytes]] = []  # (digest, JSON text) of each bucket
        self.commit: str | None = None
        self.top: tuple[str, bytes, Any] | None = None

    @staticmethod
    def bucket(path: str) -> int:
        return zlib.crc32(path.encode("utf-8", "surrogatepass")) % DocumentParts.BUCKETS

    def of(self, commit: str, files: Any) -> tuple[str, dict[str, bytes], Any]:
        """The documents part's digest, the texts of the parts that may be new, and its value."""
        from svcascode.ledger.source import documents_part

        if commit == self.commit and self.top is not None:
            return self.top[0], {self.top[0]: self.top[1]}, self.top[2]
        files_now = documents_part(files)
        if not self.buckets:
            changed = set(range(self.BUCKETS))
        else:
            before = self.files
            changed = {self.bucket(p) for p in before.keys() ^ files_now.keys()}
            changed |= {self.bucket(p) for p, blob in files_now.items() if p in before and before[p] != blob}
        buckets = list(self.buckets) or [("", b"")] * self.BUCKETS
        grouped: dict[int, dict[str, str]] = {n: {} for n in changed}
        for path, blob in files_now.items():
            number = self.bucket(path)
            if number in grouped:
                grouped[number][path] = blob
        texts: dict[str, bytes] = {}
        for number, chosen in grouped.items():
            text = canonical({"files": chosen})
            buckets[number] = (digest_of(text), text)
            texts[buckets[number][0]] = text
        value = {"files": len(files_now), "buckets": [d for d, _ in buckets]}
        text = canonical(value)
        self.files, self.buckets, self.commit = files_now, buckets, commit
        self.top = (digest_of(text), text, value)
        texts[self.top[0]] = text
        return self.top[0], texts, value


def build_record(commit: str, files: Any, assessment: Any, day: date, digests: Digests,
                 documents: DocumentParts | None = None) -> Computed:
    """An assessment as a row and its parts. `documents` makes the documents part from the last commit's."""
    from svcascode.ledger.source import record_parts

    values = record_parts(assessment, day)
    doc_digest, texts, values["documents"] = (documents or DocumentParts()).of(commit, files)
    parts: dict[str, str] = {"documents": doc_digest}
    for name in PART_NAMES:
        if name == "documents":
            continue
        text = canonical(values[name])
        parts[name] = digest_of(text)
        texts[parts[name]] = text
    row = AssessmentRow(assessment_key(commit, day.isoformat(), digests.code, digests.library, digests.settings),
                        commit, day.isoformat(), digests.code, digests.library, digests.settings, parts,
                        content_digest(parts))
    return Computed(row, texts, values)


class Recorder:
    """Assessments of one repository's days, made through an Assessor, as rows and parts."""

    def __init__(self, line: Line, digests: Digests, assessor: Callable[[], Assessor]) -> None:
        self.line, self.digests = line, digests
        self._make = assessor
        self._assessor: Assessor | None = None
        self._documents = DocumentParts()

    @property
    def assessor(self) -> Assessor:
        if self._assessor is None:
            self._assessor = self._make()
        return self._assessor

    def key(self, commit: str, day: date) -> str:
        d = self.digests
        return assessment_key(commit, day.isoformat(), d.code, d.library, d.settings)

    def compute(self, day: date) -> Computed | None:
        found = self.assessor.load(day)
        if found is None:
            return None
        commit, files, loaded = found
        return self.build(commit.sha, files, self.assessor.assess(loaded, day), day)

    def build(self, commit: str, files: Any, assessment: Any, day: date) -> Computed:
        """The record of an assessment of a commit (whose catalogue files are `files`) as of a day."""
        return build_record(commit, files, assessment, day, self.digests, self._documents)

    def close(self) -> None:
        if self._assessor is not None:
            self._assessor.close()


@dataclass
class RunStats:
    days: int = 0
    recorded: int = 0
    assessed: int = 0
    commits_loaded: int = 0
    pairs_evaluated: int = 0
    pairs_reused: int = 0


def record(store: Store | None, recorder: Recorder, period: Period, stats: RunStats | None = None
           ) -> dict[date, Computed]:
    """Assess and write the days of the period that the store does not hold for this repository with this
    code, library and settings. Without a store, every day is assessed and returned."""
    stats = stats if stats is not None else RunStats()
    line = recorder.line
    wanted: list[tuple[date, Any, str]] = []
    for day in period.days():
        commit = line.in_force(day)
        if commit is not None:
            wanted.append((day, commit, recorder.key(commit.sha, day)))
    stats.days = len(period.days())
    have_days: set[tuple[str, str]] = set()
    have: dict[str, AssessmentRow] = {}
    if store is not None:
        have_days = {(r.day, r.assessment) for r in store.days([line.name], period.start.isoformat(),
                                                               period.end.isoformat())}
        have = store.assessments(key for _, _, key in wanted)
    made: dict[date, Computed] = {}
    pending: list[NewDay] = []
    rows: list[AssessmentRow] = []
    texts: dict[str, bytes] = {}
    recorded_at = datetime.now(UTC).replace(microsecond=0).isoformat()

    def flush() -> None:
        if store is not None and pending:
            stats.recorded += store.write(line.name, pending, rows, texts, RECORDED_BY, recorded_at)
        pending.clear(); rows.clear(); texts.clear()

    for day, commit, key in wanted:
        if store is not None and (day.isoformat(), key) in have_days:
            continue
        row = have.get(key)
        if row is None:
            computed = recorder.compute(day)
            if computed is None:
                continue
            made[day] = computed
            row = computed.row
            rows.append(row)
            texts.update(computed.texts)
        pending.append(NewDay(day.isoformat(), commit.sha, key, row.content))
        if len(pending) >= BATCH:
            flush()
    flush()
    if recorder._assessor is not None:
        assessor = recorder._assessor
        stats.assessed += assessor.assessed
        stats.commits_loaded += assessor.loaded_commits
        stats.pairs_evaluated = assessor.memo.evaluated
        stats.pairs_reused = assessor.memo.reused
    return made


# ---------------------------------------------------------------------------------------------------
# Reading the days back


@dataclass
class RepositoryDay:
    """One repository's record of one day."""

    repository: str
    commit: str
    record: DayRow | None  # None: computed without a store
    assessment: str
    parts: dict[str, Any]  # controls, findings, waivers, evidence


@dataclass
class LedgerDay:
    date: date
    records: list[RepositoryDay] = field(default_factory=list)


@dataclass
class Ledger:
    period: Period
    repositories: list[str]
    days: list[LedgerDay]
    store: str | None
    heads: dict[str, str]  # repository -> the hash of its last record in the store
    code: str
    left_out: list[date] = field(default_factory=list)  # days that have not ended


SHOWN_PARTS = ("controls", "findings", "waivers", "evidence")


class StoreDamaged(SvcascodeError):
    pass


def read(store: Store, period: Period, repositories: list[str] | None, current: tuple[str, Callable[[date], str | None]]
         | None = None) -> tuple[dict[date, list[RepositoryDay]], dict[str, str]]:
    """Every repository's record of every day of the period in the store (one record a repository and
    day: for the current repository, the one of this code, library and settings; for others the last
    recorded), with its parts. A record that does not match its hash is an error, never shown."""
    rows = store.days(repositories, period.start.isoformat(), period.end.isoformat())
    chosen: dict[tuple[str, str], DayRow] = {}
    for row in rows:
        if _date(row.day) is None:
            raise StoreDamaged(f"{store.location}: a record of {row.repository} has a day that is not a date: run "
                               "`svcascode ledger verify`")
        key = (row.repository, row.day)
        if current is not None and row.repository == current[0]:
            if row.assessment != current[1](date.fromisoformat(row.day)):
                continue
        chosen[key] = row  # rows come by seq: the last recorded wins
    for row in chosen.values():
        if row.hash != row.expected_hash():
            raise StoreDamaged(f"{store.location}: the record of {row.day} for {row.repository} does not match its "
                               "hash (changed after it was written): run `svcascode ledger verify`")
    assessments = store.assessments(r.assessment for r in chosen.values())
    wanted = {a.parts[n] for a in assessments.values() for n in SHOWN_PARTS}
    parts = store.parts(wanted)
    out: dict[date, list[RepositoryDay]] = {}
    for (repository, day), row in sorted(chosen.items(), key=lambda item: (item[0][1], item[0][0])):
        found = assessments.get(row.assessment)
        if found is None or not found.intact() or found.content != row.content or found.commit != row.commit:
            raise StoreDamaged(f"{store.location}: the assessment recorded for {day} in {repository} is missing or "
                               "does not match its key: run `svcascode ledger verify`")
        missing = [n for n in SHOWN_PARTS if found.parts[n] not in parts]
        if missing:
            raise StoreDamaged(f"{store.location}: the {', '.join(missing)} of {day} in {repository} are missing or "
                               "do not match their digests: run `svcascode ledger verify`")
        values = {n: parts[found.parts[n]] for n in SHOWN_PARTS}
        if not _well_formed(values):
            raise StoreDamaged(f"{store.location}: the record of {day} in {repository} is not of the shape svcascode "
                               "writes (written by something else?): run `svcascode ledger verify`")
        out.setdefault(date.fromisoformat(day), []).append(RepositoryDay(repository, row.commit, row, row.assessment,
                                                                         values))
    heads: dict[str, str] = {}
    for row in rows:
        heads[row.repository] = row.hash
    return out, heads


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _well_formed(values: dict[str, Any]) -> bool:
    """Whether a record's parts have the shape svcascode writes: a shared store is input like any other."""
    controls, findings, waivers, evidence = (values[n] for n in SHOWN_PARTS)
    return (isinstance(controls, dict) and all(isinstance(v, dict) for v in controls.values())
            and isinstance(findings, list) and all(isinstance(f, dict) for f in findings)
            and isinstance(waivers, dict) and all(isinstance(v, dict) for v in waivers.values())
            and isinstance(evidence, list) and all(isinstance(e, dict) for e in evidence))


def chain_heads(store: Store, repositories: Iterable[str]) -> dict[str, str]:
    heads = {}
    for repository in repositories:
        rows = store.query("SELECT hash FROM ledger_days WHERE repository = ? ORDER BY seq DESC LIMIT 1",
                           (repository,))
        if rows:
            heads[repository] = str(rows[0][0])
    return heads


# ---------------------------------------------------------------------------------------------------
# The ledger's summary


def combined_state(states: Iterable[str]) -> str:
    """One state of a control over several repositories: the worst of theirs."""
    found = set(states)
    return next((s for s in STATES if s in found), NOT_APPLICABLE)


def control_states(day: LedgerDay) -> dict[str, str]:
    by_control: dict[str, list[str]] = {}
    for record in day.records:
        for control, row in record.parts["controls"].items():
            by_control.setdefault(control, []).append(str(row.get("state")))
    return {control: combined_state(states) for control, states in sorted(by_control.items())}


def open_since(days: list[LedgerDay]) -> list[dict[tuple[str, Any], date]]:
    """For each day, each (repository, fingerprint) present that day with the first day of its unbroken run
    of days (a day missing from the list breaks a run)."""
    out: list[dict[tuple[str, Any], date]] = []
    previous: dict[tuple[str, Any], date] = {}
    last_day: date | None = None
    for day in days:
        consecutive = last_day is not None and day.date - last_day == timedelta(days=1)
        current: dict[tuple[str, Any], date] = {}
        for record in day.records:
            repository = record.repository
            for finding in record.parts["findings"]:
                key = (repository, finding.get("fingerprint"))
                current[key] = previous.get(key, day.date) if consecutive else day.date
        out.append(current)
        previous, last_day = current, day.date
    return out


def summary(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Per control: days in each state, the longest failure, and the mean time to remediate (the mean
    length of the failures that began and ended inside the period)."""
    out: dict[str, dict[str, Any]] = {}
    run: dict[str, int] = {}  # control -> length of its failure so far
    began_in: dict[str, bool] = {}
    episodes: dict[str, list[int]] = {}
    all_controls = sorted({c for d in ledger.days for r in d.records for c in r.parts["controls"]})
    first = ledger.days[0].date if ledger.days else None
    for control in all_controls:
        out[control] = {"daysOperating": 0, "daysFailed": 0, "daysWaived": 0, "daysNotApplicable": 0,
                        "daysNotAssessed": 0, "daysNotRecorded": 0, "longestFailureDays": 0, "failures": 0,
                        "remediated": 0, "meanTimeToRemediateDays": None}
    key_of = {OPERATING: "daysOperating", FAILED: "daysFailed", WAIVED: "daysWaived",
              NOT_APPLICABLE: "daysNotApplicable", NOT_ASSESSED: "daysNotAssessed"}
    for day in ledger.days:
        states = control_states(day)
        for control in all_controls:
            state = states.get(control)
            row = out[control]
            if state is None:
                row["daysNotRecorded"] += 1
            else:
                row[key_of[state]] += 1
            if state == FAILED:
                if not run.get(control):
                    row["failures"] += 1
                    began_in[control] = day.date != first
                run[control] = run.get(control, 0) + 1
                row["longestFailureDays"] = max(row["longestFailureDays"], run[control])
            else:
                if run.get(control) and state is not None:  # remediated on this day
                    row["remediated"] += 1
                    if began_in.get(control):
                        episodes.setdefault(control, []).append(run[control])
                run[control] = 0
    for control, lengths in episodes.items():
        out[control]["meanTimeToRemediateDays"] = round(sum(lengths) / len(lengths), 2)
    return out


def posture_key(day: LedgerDay) -> tuple[Any, ...]:
    """What changes when the posture changes: the controls' states and the findings open and waived."""
    findings = sorted((r.repository, str(f.get("fingerprint")), bool(f.get("waiver")))
                      for r in day.records for f in r.parts["findings"])
    return tuple(sorted(control_states(day).items())), tuple(findings)


# ---------------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class Difference:
    day: str
    reason: str  # "store tampered", "code changed", "history rewritten", "not recorded"
    detail: str


@dataclass
class Verification:
    repository: str
    period: Period | None
    checked: list[str] = field(default_factory=list)  # days re-performed
    records: int = 0  # records of the repository whose chain was checked
    differences: list[Difference] = field(default_factory=list)


def verify(store: Store, recorder: Recorder, period: Period | None, sample: int | None = None,
           seed: int | None = None) -> Verification:
    line = recorder.line
    result = Verification(line.name, period)
    chain: list[DayRow] = []
    for repository in sorted(set(store.repositories()) | {line.name}):  # every chain of the store: a record moved
        rows = store.chain(repository)                                  # out of one breaks the other
        if repository == line.name:
            chain = rows
        where = "" if repository == line.name else f"in the records of {repository}: "
        previous = "0" * 64
        for expected_seq, row in enumerate(rows):
            if row.seq != expected_seq:
                result.differences.append(Difference(row.day, "store tampered", f"{where}record #{expected_seq} of "
                                                     f"the chain is missing (the next one is #{row.seq})"))
            if row.previous != previous:
                result.differences.append(Difference(row.day, "store tampered", f"{where}record #{row.seq} does not "
                                                     "carry the hash of the record before it: a record was changed, "
                                                     "removed or inserted"))
            if row.hash != row.expected_hash():
                result.differences.append(Difference(row.day, "store tampered", f"{where}record #{row.seq} does not "
                                                     "match its hash: it was changed after it was written"))
            previous = row.hash
    result.records = len(chain)
    rows = [r for r in chain if period is None or period.start.isoformat() <= r.day <= period.end.isoformat()]
    assessments = store.assessments(r.assessment for r in rows)
    parts = store.parts({d for a in assessments.values() for d in a.parts.values()})
    bucket_parts = store.parts({str(b) for value in parts.values() if isinstance(value, dict)
                                and isinstance(value.get("buckets"), list) for b in value["buckets"]})
    by_day: dict[str, list[DayRow]] = {}
    for row in rows:
        if _date(row.day) is None:
            result.differences.append(Difference(row.day, "store tampered", f"record #{row.seq}'s day is not a date"))
            continue
        by_day.setdefault(row.day, []).append(row)
        found = assessments.get(row.assessment)
        if found is None:
            result.differences.append(Difference(row.day, "store tampered", f"the assessment {row.assessment[:12]} "
                                                 "of this day's record is not in the store"))
            continue
        if not found.intact() or found.content != row.content or found.commit != row.commit or found.as_of != row.day:
            result.differences.append(Difference(row.day, "store tampered", f"the assessment {row.assessment[:12]} "
                                                 "does not match its key or the day's record"))
        missing = [n for n in PART_NAMES if found.parts.get(n) not in parts]
        documents = parts.get(found.parts.get("documents", ""))
        buckets = documents.get("buckets") if isinstance(documents, dict) else None
        if isinstance(buckets, list) and any(b not in bucket_parts for b in buckets):
            missing.append("documents' files")
        if missing:
            result.differences.append(Difference(row.day, "store tampered", f"its {', '.join(missing)} "
                                                 f"part{'' if len(missing) == 1 else 's'}: missing, or no longer "
                                                 "matching the digest the assessment names"))
    span = period if period is not None else (Period(date.fromisoformat(min(by_day)), date.fromisoformat(max(by_day)))
                                              if by_day else None)  # no period: from the first recorded day to the last
    days = [d.isoformat() for d in span.days() if line.in_force(d) is not None] if span is not None else []
    days = sorted(set(days) | set(by_day))
    if sample is not None and sample < len(days):
        chooser = random.Random(seed)
        days = sorted(chooser.sample(days, sample))
    d = recorder.digests
    for text in days:
        day = date.fromisoformat(text)
        expected = line.in_force(day)
        recorded = by_day.get(text, [])
        if not recorded:
            if expected is not None:
                result.differences.append(Difference(text, "not recorded", "the store holds no record of this day"))
            continue
        computed: Computed | None = None
        for row in recorded:
            if expected is None or row.commit != expected.sha:
                gone = "" if line.exists(row.commit) else " (that commit is no longer in the repository)"
                now = f"{expected.sha[:12]} is in force now" if expected is not None else "no commit is in force now"
                result.differences.append(Difference(text, "history rewritten", f"recorded at commit {row.commit[:12]}"
                                                     f"{gone}; {now}"))
                continue
            if computed is None:
                computed = recorder.compute(day)
                result.checked.append(text)
            if computed is None:
                continue
            if computed.row.content == row.content:
                continue
            stored = assessments.get(row.assessment)
            differs = [n for n in PART_NAMES if stored is None or stored.parts.get(n) != computed.row.parts[n]]
            which = ", ".join(differs) or "content"
            if stored is not None and (stored.code, stored.library, stored.settings) != (d.code, d.library, d.settings):
                changed = [label for label, old, new in (("svcascode's code", stored.code, d.code),
                                                         ("the built-in library", stored.library, d.library),
                                                         ("the settings", stored.settings, d.settings)) if old != new]
                result.differences.append(Difference(text, "code changed", f"recorded with other {' and '.join(changed)}"
                                                     f" ({stored.code[:12]}); re-performed now, its {which} differ"))
            else:
                result.differences.append(Difference(text, "store tampered", f"re-performed from git with the same "
                                                     f"code, its {which} differ from the record"))
    return result
