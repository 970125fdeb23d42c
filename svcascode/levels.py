"""Maturity levels: each service's level on every Scorecard, and each team's roll-up, read from an Assessment.

A service passes a control for a level when the control's status for that service (the per-service status
of `Assessment.services()`, the one every output reads) is satisfied, warning, waived or not-applicable: the
statuses under which the report calls a service compliant. It does not pass when the status is
not-satisfied, or not-assessed (the control is malformed, left out by --select/--ignore, disabled, or not
defined at all): a level is a claim, and nothing unknown supports it.

A level may also ask for service levels as delivered (`noBreachedWindows: N`): no window of the service's
levels in force breached among the current one and the N complete ones before it, as the run's Ledger
(`svcascode.delivery.ledger`) judges them, the same windows the pages, the report and `svcascode sla`
show. Each breached window is then one thing the level needs, named `delivery: <level> <window>`.

A service's level is the highest level whose controls, and every lower level's, it passes; `None` when it
does not pass the first. What the next level needs is the next level's controls it does not pass, with
their statuses. Levels are computed here only; `check`, `render report`, `render catalogue` and `diff`
read them from `scorecards(assessment)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from svcascode.status import Status

if TYPE_CHECKING:
    from svcascode.assessment import Assessment
    from svcascode.documents import Document

PASSING = frozenset({Status.SATISFIED, Status.WARNING, Status.WAIVED, Status.NOT_APPLICABLE})
NONE = "none"  # the roll-up's name for "below the first level"


@dataclass(frozen=True)
class Standing:
    """One service on one scorecard."""

    service: str
    owner: str
    tier: str
    level: str | None  # the highest level reached; None below the first
    next: str | None  # the level above it; None at the top
    needs: tuple[tuple[str, Status], ...]  # the next level's controls not passed, with their statuses

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "owner": self.owner, "tier": self.tier, "level": self.level,
                "next": self.next, "needs": [{"control": c, "status": str(s)} for c, s in self.needs]}


@dataclass(frozen=True)
class TeamRollup:
    team: str
    services: int
    distribution: dict[str, int]  # level name (and NONE) -> services at it, lowest first
    lowest: str | None  # the lowest level among its services; None when one is below the first level

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "services": self.services, "distribution": dict(self.distribution),
                "lowest": self.lowest}


@dataclass(frozen=True)
class ScorecardResult:
    scorecard: Document
    levels: tuple[str, ...]  # lowest first
    services: dict[str, Standing]  # by service name, sorted
    _teams: dict[str, TeamRollup] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.scorecard.name

    @property
    def title(self) -> str:
        return self.scorecard.model.metadata.title or self.scorecard.name

    def rank(self, level: str | None) -> int:
        """0 below the first level, 1 at the first, ...; a level this scorecard does not have ranks 0."""
        return self.levels.index(level) + 1 if level in self.levels else 0

    def teams(self) -> dict[str, TeamRollup]:
        """Each owning team's services on this scorecard: how many at each level, and the lowest."""
        if self._teams or not self.services:
            return self._teams
        by_team: dict[str, list[Standing]] = {}
        for standing in self.services.values():
            by_team.setdefault(standing.owner, []).append(standing)
        for team in sorted(by_team):
            mine = by_team[team]
            distribution = {NONE: 0, **{level: 0 for level in self.levels}}
            for standing in mine:
                distribution[standing.level or NONE] += 1
            lowest = min((s.level for s in mine), key=self.rank)
            self._teams[team] = TeamRollup(team, len(mine), distribution, lowest)
        return self._teams

    def as_dict(self) -> dict[str, Any]:
        line = self.scorecard.locate(())[0]
        return {"name": self.name, "title": self.title, "file": self.scorecard.file, "line": line,
                "levels": list(self.levels),
                "services": [s.as_dict() for s in self.services.values()],
                "teams": [t.as_dict() for t in self.teams().values()]}


def scorecards(assessment: Assessment) -> list[ScorecardResult]:
    """Every Scorecard of the catalogue, with every service's standing on it, in name order."""
    documents = sorted(assessment.catalogue.of_kind("Scorecard"), key=lambda d: d.name)
    if not documents:
        return []
    ledger: Any = None
    if any(level.no_breached_windows for scorecard in documents for level in scorecard.spec.levels):
        from svcascode.delivery.ledger import ledger_for

        ledger = ledger_for(assessment.catalogue, assessment.as_of)
    out = []
    services = sorted(assessment.catalogue.of_kind("Service"), key=lambda d: d.name)
    for scorecard in documents:
        levels = scorecard.spec.levels
        standings = {}
        asked: dict[tuple[int, str], list[str]] = {}  # a level's controls for a tier, listed once
        for service in services:
            name, tier = service.name, str(service.facts["tier"])  # facts: no model is built to rank a service
            reached: str | None = None
            next_level: str | None = None
            needs: tuple[tuple[str, Status], ...] = ()
            for number, level in enumerate(levels):
                controls = asked.get((number, tier))
                if controls is None:
                    controls = asked[(number, tier)] = level.controls_for(tier)
                statuses = zip(controls, assessment.statuses_of(name, controls))
                failing = tuple((c, status) for c, status in statuses if status not in PASSING)
                if level.no_breached_windows:
                    failing += tuple((f"delivery: {w.level} {w.label} breached", Status.NOT_SATISFIED)
                                     for w in ledger.breaches_in(name, level.no_breached_windows))
                if failing:
                    next_level, needs = level.name, failing
                    break
                reached = level.name
            standings[name] = Standing(name, str(service.facts["owner"]), tier, reached, next_level, needs)
        out.append(ScorecardResult(scorecard, tuple(level.name for level in levels), standings))
    return out


def scorecards_json(assessment: Assessment) -> dict[str, Any]:
    """The `scorecards` field of `check --format json` and of the report JSON; absent without Scorecards."""
    found = scorecards(assessment)
    return {"scorecards": [s.as_dict() for s in found]} if found else {}


@dataclass(frozen=True)
class LevelChange:
    """A service's level on a scorecard, at the base and at the head of a diff."""

    scorecard: str
    service: str
    old: str | None
    new: str | None
    direction: str  # raised, lowered, added (service or scorecard new), removed

    @property
    def summary(self) -> str:
        return f"{self.scorecard}: {self.service} {self.old or NONE} -> {self.new or NONE} ({self.direction})"

    def as_dict(self) -> dict[str, Any]:
        return {"scorecard": self.scorecard, "service": self.service, "old": self.old, "new": self.new,
                "direction": self.direction}


def level_changes(before: Assessment, after: Assessment) -> list[LevelChange]:
    """Every service whose level on a scorecard differs between two assessments (base and head of a diff)."""
    old = {s.name: s for s in scorecards(before)}
    new = {s.name: s for s in scorecards(after)}
    changes = []
    for name in sorted(set(old) | set(new)):
        was = {k: v.level for k, v in old[name].services.items()} if name in old else {}
        now = {k: v.level for k, v in new[name].services.items()} if name in new else {}
        ranking = new.get(name) or old[name]
        for service in sorted(set(was) | set(now)):
            if service not in was:
                direction = "added"
            elif service not in now:
                direction = "removed"
            elif was[service] == now[service]:
                continue
            else:
                direction = "raised" if ranking.rank(now[service]) > ranking.rank(was[service]) else "lowered"
            changes.append(LevelChange(name, service, was.get(service), now.get(service), direction))
    return changes
