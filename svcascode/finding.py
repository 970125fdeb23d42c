"""Finding: one immutable, located problem. Every check, the loader and the validator produce these."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Literal, get_args

Severity = Literal["critical", "high", "medium", "low", "info"]  # defined here, light to import; the models use it

SEVERITIES: tuple[str, ...] = get_args(Severity)  # worst first, as the models declare them
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}  # info 0 .. critical 4
NEVER = "none"  # --fail-on none: report everything, never fail
FAIL_ON_CHOICES = (*SEVERITIES, NEVER)  # the thresholds of --fail-on

JsonPath = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """`('spec', 'dependencies', 0, 'service')` -> `spec.dependencies[0].service`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a place: the rule that found it, how bad it is, and where it is."""

    rule: str
    severity: str
    message: str
    file: str
    line: int = 1
    column: int = 1
    path: JsonPath = ()
    kind: str = ""
    name: str = ""
    enforcement: str = "block"
    waiver: str | None = None
    justification: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def subject(self) -> str:
        """`Kind/name` of the document the finding is about, or the file when it has no document."""
        return f"{self.kind}/{self.name}" if self.kind and self.name else self.file

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    @property
    def suppressed(self) -> bool:
        return self.waiver is not None

    @property
    def fingerprint(self) -> str:
        """Stable across moved lines and files: rule, document kind/name and JSON path."""
        anchor = f"{self.kind}/{self.name}" if self.kind and self.name else self.file
        key = "\x1f".join((self.rule, anchor, self.json_path))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.rule, self.message)

    def waived(self, waiver: str, justification: str) -> Finding:
        return replace(self, waiver=waiver, justification=justification)

    def located(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]
