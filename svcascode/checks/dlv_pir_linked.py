"""A breached window or a breached P1 has a linked post-incident review, published in time.

For every Incident resolved by the as-of date: when it is of one of `priorities` (P1) and any of its
response or resolution clocks is breached, or it spent downtime in an availability window that is
breached, spec.links.postIncidentReview must give the review's url and a `published` date-time at most
`within` (5d) after the incident was resolved. Before that time has passed, a missing review is no
finding yet. A clock that is not recorded (no response time in the record) is no breach.

Clocks and windows are the ones `svcascode sla` reports: read from the run's Ledger
(`svcascode.delivery.ledger`), each judged by the ServiceLevels, calendars and maintenance windows in force
then, from git, when `check` reads the history (the working tree's check and `--rev`); by the catalogue
being checked otherwise. The finding names the commit a breach was judged by.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from svcascode.calendars import as_utc
from svcascode.checks.base import CheckContext
from svcascode.delivery.clocks import as_of_instant
from svcascode.delivery.ledger import Ledger, history_ledger
from svcascode.delivery.timeline import Source, today_only
from svcascode.documents import Document
from svcascode.finding import Finding
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "within": "5d",
    "priorities": ["P1"],
}


def check(ctx: CheckContext, incident: Document) -> Iterator[Finding]:
    spec = incident.spec
    as_of = as_of_instant(ctx.as_of)
    if spec.resolved is None or as_utc(spec.resolved) > as_of:
        return
    reasons = _reasons(ctx, incident, as_of)
    if not reasons:
        return
    within = str(ctx.param("within"))
    due = as_utc(spec.resolved) + timedelta(seconds=duration_seconds(within))
    links = spec.links
    review = links.post_incident_review if links is not None else None
    why = " and ".join(reasons)
    if review is None or review.published is None:
        if as_of <= due:
            return
        path = ("spec", "links") if links is not None else ("spec",)
        missing = "no post-incident review is linked" if review is None else "its post-incident review has no " \
            "`published` date"
        yield ctx.fail(incident, f"{why}, and {missing}, {within} after it was resolved ({_at(due)} due): publish "
                       "the review and link it in spec.links.postIncidentReview {url, published}", path)
        return
    published = as_utc(review.published)
    if published > due:
        late = published - due
        yield ctx.fail(incident, f"{why}; its post-incident review was published {_at(published)}, "
                       f"{_days(late)} after the {within} allowed from resolution ({_at(due)}): publish reviews "
                       "within the time the control allows", ("spec", "links", "postIncidentReview", "published"))


def _reasons(ctx: CheckContext, incident: Document, as_of: datetime) -> list[str]:
    reasons: list[str] = []
    priorities = {str(p).upper() for p in ctx.param("priorities") or []}
    ledger = history_ledger(ctx.catalogue, as_of)
    if ledger is None:  # judged by the catalogue being checked: each window once, its lookups traced
        ledger = Ledger(ctx.catalogue, today_only(ctx.catalogue, "the catalogue being checked"), as_of, ctx.shared)
    elif ctx.recorder is not None:  # judged by git history as well: never reused from the memo of a past run
        ctx.recorder.untraceable = True
    if str(incident.spec.priority).upper() in priorities:
        breached = [c for c in ledger.clocks(incident) if c.breached]
        if breached:
            first = breached[0]
            reasons.append(f"{incident.spec.priority} breached its {first.metric} target {first.target_text} under "
                           f"servicelevel:{first.level} by {float(first.over_by):g} min{_by(first.source)}")
    windows = ledger.breached_windows(incident)
    if windows:
        w = windows[0]
        reasons.append(f"it spent downtime in window {w.label} of servicelevel:{w.level}, breached at "
                       f"{float(w.attained_percent):.3f}% against {float(w.target_percent):g}%{_by(w.source)}")
    return reasons


def _by(source: Source) -> str:
    """The commit a result was judged by, when it came from git."""
    return f" (judged by commit {source.short} of {(source.committed or '')[:10]})" if source.commit else ""


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f}d" if hours >= 24 else f"{hours:.1f}h"
