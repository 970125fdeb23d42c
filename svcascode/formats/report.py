"""Report: what every output format is given, and the one place that decides the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from svcascode import __version__
from svcascode.finding import SEVERITIES, Finding, at_or_above


@dataclass(frozen=True)
class Report:
    """The findings of one run and what decides whether they fail it."""

    command: str
    findings: tuple[Finding, ...]
    fail_on: str = "info"
    documents: int = 0
    files: int = 0
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> title, help, severity
    as_of: str | None = None
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)
    # `check --base`: fingerprints of findings that already exist at the base; reported, never failing
    base: str | None = None  # the commit compared with, when there is one
    existing: frozenset[str] = frozenset()
    # `--ratchet touched`: findings at the base on documents the change edits; they fail as if new
    touched: frozenset[str] = frozenset()

    def failing(self, finding: Finding) -> bool:
        """A finding fails the run when it is not waived, blocks, is at or above the threshold, and is
        not one that already existed at the `--base` revision."""
        return (not finding.suppressed and finding.enforcement == "block"
                and at_or_above(finding.severity, self.fail_on)
                and (not self.existing or finding.fingerprint not in self.existing))

    def status(self, finding: Finding) -> str | None:
        """`new`, `touched` (at the base, on a document the change edits: failing as if new) or `existing`
        when compared with a `--base` revision, else None."""
        if self.base is None:
            return None
        if finding.fingerprint in self.touched:
            return "touched"
        return "existing" if finding.fingerprint in self.existing else "new"

    @cached_property
    def failures(self) -> list[Finding]:  # asked by the exit code, the counts and every format: made once
        return [f for f in self.findings if self.failing(f)]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def counts(self) -> dict[str, int]:
        open_findings = [f for f in self.findings if not f.suppressed]
        counts = {severity: sum(1 for f in open_findings if f.severity == severity) for severity in SEVERITIES}
        counts["suppressed"] = sum(1 for f in self.findings if f.suppressed)
        counts["failing"] = len(self.failures)
        return counts


def severity_rank(severity: str) -> int:
    """0 for critical .. 4 for info; unknown severities sort last."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
