"""A breached window or a breached P1 has a linked post-incident review, published in time.

For every Incident resolved by the as-of date: when it is of one of `priorities` (P1) and any of its
response or resolution clocks is breached, or it spent downtime in an availability window that is
breached, spec.links.postIncidentReview must give the review's url and a `published` date-time at most
`within` (5d) after the incident was resolved. Before that time has passed, a missing review is no
finding yet. Clocks and windows are judged by the ServiceLevels, calendars and maintenance windows of
the catalogue being checked (`svcascode sla` judges each by the commit in force then).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, Iterator

from svcascode.calendars import as_utc, sla_periods
from svcascode.checks.base import CheckContext
from svcascode.delivery.attainment import WindowResult, attain
from svcascode.delivery.clocks import as_of_instant, incident_clocks
from svcascode.delivery.timeline import Source, today_only
from svcascode.documents import Document
from svcascode.facts import level_in_force
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
    definitions = today_only(ctx.catalogue, "the catalogue being checked")
    if str(incident.spec.priority).upper() in priorities:
        breached = [c for c in incident_clocks(incident, definitions, as_of) if c.breached]
        if breached:
            first = breached[0]
            reasons.append(f"{incident.spec.priority} breached its {first.metric} target {first.target_text} under "
                           f"servicelevel:{first.level} by {float(first.over_by):g} min")
    windows = _breached_windows(ctx, incident, as_of)
    if windows:
        w = windows[0]
        reasons.append(f"it spent downtime in window {w.label} of servicelevel:{w.level}, breached at "
                       f"{float(w.attained_percent):.3f}% against {float(w.target_percent):g}%")
    return reasons


def _breached_windows(ctx: CheckContext, incident: Document, as_of: datetime) -> list[WindowResult]:
    found = []
    opened = as_utc(incident.spec.opened)
    for impact in incident.spec.impacts:
        for level in ctx.catalogue.levels_of(str(impact.service)):
            window = level.spec.availability.window
            if window.calendar is None or not level_in_force(level, opened.date()):
                continue  # a rolling window has no one window an incident belongs to
            start = as_utc(impact.start or opened)
            local_day = start.astimezone(_zone(window.timezone)).date()
            [period] = sla_periods(window.calendar, None, window.timezone, local_day, months=0)
            result = ctx.shared((level.name, period.label), partial(_attain, ctx, level, period, as_of))
            if result.status == "breached" and any(c.incident == incident.name for c in result.contributions):
                found.append(result)
    return found


def _attain(ctx: CheckContext, level: Document, period: Any, as_of: datetime) -> WindowResult:
    """The level's window, shared by every incident that spent downtime in it (one computation a run)."""
    incidents = ctx.catalogue.incidents_of(str(level.spec.service))
    return attain(level, ctx.catalogue, period, incidents, as_of, Source(reason="checked"))


def _zone(name: str | None) -> Any:
    from svcascode.calendars import zone

    return zone(name)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f}d" if hours >= 24 else f"{hours:.1f}h"
