"""What each cached stage of a run reused and what it computed, and the first reason it had to compute.

`svcascode -v check` (or `check -v`, `validate -v`) prints it on stderr when the command ends:

    svcascode: stages (reused, computed, first reason to compute):
      run        0 reused, 1 computed (file changed: services/catalogue/claims-api.yaml)
      parse      5,083 reused, 10 computed (file changed: services/catalogue/claims-api.yaml)
      validate   5,083 reused, 10 computed (file changed: services/catalogue/claims-api.yaml)
      pairs      151,700 reused, 300 computed (lookup changed: levels_of claims-api)

The reasons: `no earlier run` (the store holds nothing for this repository), `code changed` (svcascode, Python
or a library it uses is another version than the one that wrote the store), `settings changed`, `file changed:
PATH`, `new file: PATH`, `control changed: ID`, `date changed`, `lookup changed: LOOKUP`. With `--no-cache`
nothing is read or written: every stage computes, and the line says so.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

ORDER = ("run", "parse", "validate", "references", "pairs")


@dataclass
class Count:
    reused: int = 0
    computed: int = 0
    reason: str | None = None  # why the first computation was needed

    def add(self, reused: bool, reason: str | None) -> None:
        if reused:
            self.reused += 1
        else:
            self.computed += 1
            if self.reason is None and reason:
                self.reason = reason


@dataclass
class Stages:
    """The counts of one command."""

    counts: dict[str, Count] = field(default_factory=dict)
    no_store: bool = False

    def report(self) -> str:
        if self.no_store:
            return "svcascode: stages: no store (--no-cache or cache: false): everything computed, nothing kept\n"
        lines = ["svcascode: stages (reused, computed, first reason to compute):"]
        for name in sorted(self.counts, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
            count = self.counts[name]
            why = f" ({count.reason})" if count.computed and count.reason else ""
            lines.append(f"  {name:<10} {count.reused:,} reused, {count.computed:,} computed{why}")
        return "\n".join(lines) + "\n"


_ACTIVE: list[Stages] = []


@contextmanager
def recording() -> Iterator[Stages]:
    """Count what every stage does until the block ends (a command)."""
    stages = Stages()
    _ACTIVE.append(stages)
    try:
        yield stages
    finally:
        _ACTIVE.remove(stages)


def count(stage: str, reused: bool, reason: str | None = None) -> None:
    """One unit of a stage's work (a file parsed, a pair evaluated), reused or computed and why."""
    if _ACTIVE:
        counts = _ACTIVE[-1].counts
        found = counts.get(stage)
        if found is None:
            found = counts[stage] = Count()
        if reused:  # most units of a warm run: counted without a call
            found.reused += 1
        else:
            found.add(False, reason)


def count_many(stage: str, reused: int) -> None:
    """Units of a stage reused together (the pairs nothing changed since reaches)."""
    if _ACTIVE and reused:
        counts = _ACTIVE[-1].counts
        found = counts.get(stage)
        if found is None:
            found = counts[stage] = Count()
        found.reused += reused


def no_store() -> None:
    """This command runs without a store."""
    if _ACTIVE:
        _ACTIVE[-1].no_store = True
