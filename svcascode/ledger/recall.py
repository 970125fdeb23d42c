"""The store of assessments for walks through history (`history --posture`, the report's trend): an
assessment of a commit as of a day is read from the store when it holds one made by this code, library
and settings, and otherwise made, and kept for the next run.

The store only ever saves work here: a store that cannot be opened or written (locked, full, damaged,
of a newer schema, unreachable) is said once on stderr, and the walk goes on computing without it. A
stored assessment that does not match its digests is not used: that commit is assessed again.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from svcascode.finding import Finding
from svcascode.ledger.store import AssessmentRow, Store, StoreError, assessment_key

if TYPE_CHECKING:
    from svcascode.config import Settings
    from svcascode.ledger.source import Digests

FLUSH = 32  # assessments written per transaction


@dataclass(frozen=True)
class Recalled:
    """What a walk needs of one assessment."""

    findings: list[Finding]  # every finding, waived ones marked
    counts: tuple[int, int, int]  # controls satisfied (or warning only), not satisfied, waived
    fingerprints: frozenset[str]


def _finding(row: dict[str, Any]) -> Finding:
    return Finding(str(row["rule"]), str(row["severity"]), str(row["message"]), str(row["file"]),
                   int(row["line"]), int(row["column"]), (), str(row["kind"] or ""), str(row["name"] or ""),
                   str(row["enforcement"]), row["waiver"], row["justification"])


def _counts(controls: dict[str, Any]) -> tuple[int, int, int]:
    statuses = [str(c.get("status")) for c in controls.values()]
    return (statuses.count("satisfied") + statuses.count("warning"), statuses.count("not-satisfied"),
            statuses.count("waived"))


class Recall:
    """Assessments of commits as of days, through the store."""

    def __init__(self, store: Store, digests: Digests) -> None:
        self.store: Store | None = store
        self.digests = digests
        self.pending: list[AssessmentRow] = []
        self.texts: dict[str, bytes] = {}
        from svcascode.ledger.book import DocumentParts

        self.documents = DocumentParts()
        self.read = self.made = 0

    def _give_up(self, error: StoreError) -> None:
        note(f"the store of assessments is no longer used: {error}; computing without it")
        if self.store is not None:
            self.store.close()
        self.store = None

    def assessment(self, commit: str, day: date, files: Any, load: Callable[[], Any]) -> Recalled:
        d = self.digests
        key = assessment_key(commit, day.isoformat(), d.code, d.library, d.settings)
        if self.store is not None:
            try:
                found = self._stored(key)
            except StoreError as error:
                self._give_up(error)
                found = None
            if found is not None:
                self.read += 1
                return found
        from svcascode.assessment import assess
        from svcascode.ledger.book import build_record

        made = assess(load(), day)
        self.made += 1
        if self.store is not None:
            computed = build_record(commit, files, made, day, d, self.documents)
            self.pending.append(computed.row)
            self.texts.update(computed.texts)
            if len(self.pending) >= FLUSH:
                self.flush()
        return Recalled(list(made.findings), made.control_counts(), frozenset(f.fingerprint for f in made.findings))

    def _stored(self, key: str) -> Recalled | None:
        assert self.store is not None
        row = self.store.assessments([key]).get(key)
        if row is None or not row.intact():
            return None
        parts = self.store.parts([row.parts["findings"], row.parts["controls"]])
        findings, controls = parts.get(row.parts["findings"]), parts.get(row.parts["controls"])
        if not isinstance(findings, list) or not isinstance(controls, dict):
            return None
        try:
            rebuilt = [_finding(f) for f in findings]
        except (KeyError, TypeError, ValueError):
            return None
        return Recalled(rebuilt, _counts(controls), frozenset(str(f.get("fingerprint")) for f in findings))

    def findings(self, commit: Any, day: date, files: Any, load: Callable[[], Any]) -> list[Finding]:
        """The hook of `svcascode.history.posture`."""
        return self.assessment(commit.sha, day, files, load).findings

    def flush(self) -> None:
        if self.store is not None and self.pending:
            try:
                self.store.keep(self.pending, self.texts)
            except StoreError as error:
                self._give_up(error)
        self.pending, self.texts = [], {}

    def close(self) -> None:
        self.flush()
        if self.store is not None:
            self.store.close()
            self.store = None


def note(text: str) -> None:
    """A note on stderr (a Recall gives up on its store once, so it is said once a run)."""
    print(f"svcascode: note: {text}", file=sys.stderr)


def open_recall(root: Path, settings: Settings, prefix: str, spec: str | None) -> Recall | None:
    """The store for a walk: `spec` (--store), else $SVCASCODE_STORE, else the default file in the cache
    folder; None when there is none (the cache is off) or it cannot be used (said once)."""
    import os

    from svcascode.ledger.source import default_store, digests
    from svcascode.ledger.store import STORE_ENV, open_store

    chosen = spec or os.environ.get(STORE_ENV)
    if not chosen:
        path = default_store(root, settings)
        if path is None:
            return None
        chosen = str(path)
    try:
        store = open_store(chosen)
    except StoreError as error:
        note(f"the store of assessments is not used: {error}; computing without it")
        return None
    return Recall(store, digests(root, settings, prefix))
