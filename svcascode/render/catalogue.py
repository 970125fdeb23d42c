"""The service catalogue as a static site: an index (with variants sorted and grouped by tier, owner,
lifecycle and compliance status), a page per service and per team, the source files with line anchors
that findings link to, and a Markdown version of the same pages. Works from file:// with no network
and no JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote

from svcascode.assessment import SERVICE_STATUSES, Assessment, ServiceResult
from svcascode import twocores
from svcascode.status import Status
from svcascode.calendars import DEFAULT_HORIZON_MONTHS, covered_minutes, sla_periods
from svcascode.catalogue import Catalogue
from svcascode.documents import Document
from svcascode.escape import squash
from svcascode.facts import level_in_force
from svcascode.finding import Finding
from svcascode.render import render_template, write_text
from svcascode.render.svg import Edge, dependency_graph
from svcascode import slamath
from svcascode.levels import NONE, ScorecardResult, scorecards

if TYPE_CHECKING:
    from svcascode.delivery.ledger import ServiceDelivery
    from svcascode.forecast import Deadline, Forecast
    from svcascode.safewrite import OutputFolder

GROUPINGS = {  # variant page -> (title, key of a service row)
    "by-tier": ("tier", "tier"), "by-owner": ("owner", "owner"),
    "by-lifecycle": ("lifecycle", "lifecycle"), "by-status": ("compliance status", "status"),
}
LIFECYCLE_ORDER = ("production", "pipeline", "experimental", "deprecated", "retired")
NEXT_OCCURRENCES = 3


@dataclass(frozen=True)
class SiteInput:
    assessment: Assessment
    commit: str | None = None
    forecast: Forecast | None = None  # the deadlines each service and team page lists

    @property
    def catalogue(self) -> Catalogue:
        return self.assessment.catalogue

    @property
    def as_of(self) -> date:
        return self.assessment.as_of


def write_site(data: SiteInput, out: Path) -> list[Path]:
    """Write every page of the site into `out`; returns the index pages (HTML, Markdown)."""
    from svcascode.safewrite import OutputFolder

    with OutputFolder(out) as folder:  # the output path walked once, not once a page
        return _write_site(data, folder)


def _write_site(data: SiteInput, out: OutputFolder) -> list[Path]:
    from svcascode.delivery.ledger import ledger_for

    catalogue = data.catalogue
    compliance = data.assessment.services()
    cards = scorecards(data.assessment)
    ledger = ledger_for(catalogue, data.as_of)
    rows = [service_row(s, compliance[s.name], cards, ledger.service(s.name))
            for s in sorted(catalogue.of_kind("Service"), key=lambda d: d.name)]
    common = {"as_of": data.as_of.isoformat(), "commit": data.commit, "statuses": SERVICE_STATUSES,
              "horizon_months": DEFAULT_HORIZON_MONTHS,  # how far ahead a maintenance window's next dates are sought
              "groupings": {k: v[0] for k, v in GROUPINGS.items()}, "src": source_link,
              "scorecards": [{"name": c.name, "title": squash(c.title)} for c in cards],
              "deadlines_until": data.forecast.until.isoformat() if data.forecast else None}
    index_html = write_text(out, "index.html", render_template("catalogue-index.html.j2", rows=rows, groups=None,
                                                                variant="index", **common))
    for variant, (title, key) in GROUPINGS.items():
        write_text(out, f"{variant}.html", render_template(
            "catalogue-index.html.j2", rows=rows, groups=_grouped(rows, key), variant=variant, group_title=title,
            **common))
    index_md = write_text(out, "index.md", render_template("catalogue-index.md.j2", rows=rows, **common))
    def page(item: tuple[str, Any]) -> int:
        """One service's, team's or file's pages, written: how many."""
        what, subject = item
        if what == "service":
            view = service_view(catalogue, subject, compliance, data.as_of, cards)
            view["deadlines"] = ([deadline_row(d) for d in data.forecast.for_service(subject.name)]
                                 if data.forecast else [])
            write_text(out, f"services/{subject.name}.html", render_template("service.html.j2", s=view, **common))
            write_text(out, f"services/{subject.name}.md", render_template("service.md.j2", s=view, **common))
            return 2
        if what == "team":
            view = team_view(catalogue, subject, compliance, data.assessment, cards, ledger)
            view["deadlines"] = [deadline_row(d) for d in data.forecast.for_team(subject.name)] if data.forecast else []
            write_text(out, f"teams/{subject.name}.html", render_template("team.html.j2", t=view, **common))
            write_text(out, f"teams/{subject.name}.md", render_template("team.md.j2", t=view, **common))
            return 2
        write_text(out, source_page(subject.path), render_template(
            "source.html.j2", path=subject.path, lines=subject.text.splitlines(), depth=subject.path.count("/") + 1,
            **common))
        return 1

    pages: list[tuple[str, Any]] = [*(("service", s) for s in catalogue.of_kind("Service")),
                                    *(("team", t) for t in catalogue.of_kind("Team")),
                                    *(("source", f) for f in catalogue.files)]
    twocores.computed(pages, page, int, _count, cost=50)  # each page is written once, by either process
    return [index_html, index_md]


def _count(row: Any) -> int:
    if type(row) is not int:
        raise TypeError("not a count of pages")
    return row


def source_page(path: str) -> str:
    return f"src/{path}.html"


def source_link(finding_or_path: Finding | str, line: int = 1, prefix: str = "../") -> str:
    """The href of a file's source page at a line, from a page one folder below the site root."""
    if isinstance(finding_or_path, Finding):
        path, line = finding_or_path.file, finding_or_path.line
    else:
        path = finding_or_path
    return f"{prefix}{quote(source_page(path))}#L{line}"


def _grouped(rows: list[dict[str, Any]], key: str) -> list[tuple[str, list[dict[str, Any]]]]:
    order = {"status": list(SERVICE_STATUSES), "lifecycle": list(LIFECYCLE_ORDER)}.get(key)
    values = sorted({r[key] for r in rows}, key=lambda v: (order.index(v) if order and v in order else 99, v))
    return [(v, [r for r in rows if r[key] == v]) for v in values]


# ---------------------------------------------------------------------------------------------------
# Views: plain dicts the templates read


def service_row(service: Document, compliance: ServiceResult, cards: Iterable[ScorecardResult] = (),
                delivery: ServiceDelivery | None = None) -> dict[str, Any]:
    spec = service.spec
    return {"levels": [c.services[service.name].level or NONE for c in cards if service.name in c.services],
            "delivery": delivery_view(delivery),
            "name": service.name, "title": service.model.metadata.title or service.name, "tier": spec.tier,
            "owner": spec.owner, "lifecycle": spec.lifecycle, "type": spec.type, "status": compliance.status,
            "failed": compliance.count(Status.NOT_SATISFIED), "waived": compliance.count(Status.WAIVED)}


def delivery_view(delivery: ServiceDelivery | None) -> dict[str, Any]:
    """The delivery badge of a service: breached when the current or last window of a level in force is."""
    if delivery is None:
        return {"status": "none", "label": "not judged", "summary": "not judged"}
    return delivery.as_json()


def service_view(catalogue: Catalogue, service: Document, compliance: dict[str, ServiceResult],
                 as_of: date, cards: Iterable[ScorecardResult] = ()) -> dict[str, Any]:
    from svcascode.delivery.ledger import ledger_for

    spec, meta = service.spec, service.model.metadata
    team = catalogue.get("Team", spec.owner)
    mine = compliance[service.name]
    dependencies = [Edge(d.service, d.criticality, _status(compliance, d.service),
                         catalogue.get("Service", d.service) is not None) for d in spec.dependencies]
    dependants = sorted((Edge(s.name, d.criticality, _status(compliance, s.name))
                         for s in dict.fromkeys(catalogue.dependants_of(service.name)) for d in s.spec.dependencies
                         if d.service == service.name), key=lambda e: e.service)
    return {
        "name": service.name, "title": meta.title or service.name, "description": meta.description or "",
        "links": [{"title": l.title or l.url, "url": l.url} for l in meta.links],
        "annotations": dict(meta.annotations), "labels": dict(meta.labels),
        "type": spec.type, "tier": spec.tier, "lifecycle": spec.lifecycle, "owner": spec.owner,
        "owner_known": team is not None, "business_owner": spec.business_owner, "supplier": spec.supplier,
        "on_call": _on_call(catalogue, team), "team_contact": _contact(team),
        "support_hours": _calendar(catalogue, spec.support_hours),
        "peak_hours": _calendar(catalogue, spec.peak_hours) if spec.peak_hours else None,
        "data": {"classification": spec.data.classification, "personal": spec.data.personal_data,
                 "regions": list(spec.data.regions)},
        "runbook": spec.operations.runbook if spec.operations else None,
        "service_levels": [_service_level(catalogue, level, as_of) for level in
                           sorted(catalogue.levels_of(service.name), key=lambda d: (d.spec.type, d.name))],
        "ceiling": _ceiling(catalogue, service, as_of),
        "dependencies": dependencies, "dependants": dependants,
        "graph": dependency_graph(service.name, mine.status, dependencies, dependants),
        "maintenance": _maintenance(catalogue, service, as_of),
        "access": _access(catalogue, service),
        "evidence": _evidence(catalogue, service, as_of),
        "status": mine.status, "controls": _control_rows(mine), "findings": list(mine.findings),
        "file": service.file, "line": service.locate(())[0],
        "levels": [_standing(card, service.name) for card in cards if service.name in card.services],
        "delivery": delivery_view(ledger_for(catalogue, as_of).service(service.name)),
    }


def _standing(card: ScorecardResult, service: str) -> dict[str, Any]:
    """A service's level on a scorecard and what the next level needs."""
    standing = card.services[service]
    return {"scorecard": card.name, "title": squash(card.title), "level": standing.level or NONE, "next": standing.next,
            "needs": [{"control": c, "status": str(s)} for c, s in standing.needs], "levels": list(card.levels),
            "file": card.scorecard.file, "line": card.scorecard.locate(())[0]}


def deadline_row(deadline: Deadline) -> dict[str, Any]:
    f = deadline.finding
    return {"opens": deadline.opens.isoformat(), "control": f.rule, "severity": f.severity, "subject": f.subject,
            "message": f.message, "file": f.file, "line": f.line, "owner": deadline.owner}


def _control_rows(result: ServiceResult) -> list[dict[str, Any]]:
    """One row per evaluated control: its status for this service and the findings behind it."""
    return [{"control": control.control, "status": str(status), "findings": list(findings)}
            for control, status, findings in result.controls]


def _status(compliance: dict[str, ServiceResult], name: str) -> str:
    return compliance[name].status if name in compliance else "unknown"


def _contact(team: Document | None) -> dict[str, Any] | None:
    if team is None:
        return None
    return {"email": team.spec.email, "chat": team.spec.chat_channel}


def _on_call(catalogue: Catalogue, team: Document | None) -> dict[str, Any] | None:
    if team is None or team.spec.on_call is None:
        return None
    on_call = team.spec.on_call
    return {"tool": on_call.tool, "schedule": on_call.schedule_id, "primary": list(on_call.primary),
            "secondary": list(on_call.secondary), "coverage": _calendar(catalogue, on_call.coverage),
            "rotation": on_call.rotation.type if on_call.rotation else None,
            "escalation": [{"after": str(s.after), "notify": list(s.notify)} for s in team.spec.escalation]}


def _calendar(catalogue: Catalogue, name: str) -> dict[str, Any]:
    calendar = catalogue.get("BusinessCalendar", name)
    if calendar is None:
        return {"name": name, "summary": "not defined"}
    spec = calendar.spec
    if spec.always_on:
        summary = "24x7"
    else:
        summary = "; ".join(f"{', '.join(d.capitalize() for d in w.days)} {w.from_}-{w.to}" for w in spec.weekly)
    closed = [spec.timezone]
    if spec.holidays:
        closed.append(f"{len(spec.holidays)} holidays")
    if spec.public_holidays is not None:
        region = spec.public_holidays.country + (f"-{spec.public_holidays.subdivision}"
                                                 if spec.public_holidays.subdivision else "")
        closed.append(f"public holidays of {region}")
    return {"name": name, "title": calendar.model.metadata.title or name,
            "summary": f"{summary} ({', '.join(closed)})"}


def minutes_text(value: Fraction | float) -> str:
    """43.2, 131.4, 0.04: minutes to at most two decimals, without trailing zeros."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def allowed_downtime(catalogue: Catalogue, level: Document, as_of: date) -> tuple[Fraction, str]:
    """Allowed downtime of the SLA window that holds the as-of date, and that window's name.

    The budget is (1 - target) x the minutes the level's coverage calendar covers in that window: a
    business-hours SLA measures, and so allows downtime in, business hours only.
    """
    availability = level.spec.availability
    window = availability.window
    tz = window.timezone or "UTC"
    period = sla_periods(window.calendar, str(window.rolling) if window.rolling else None, tz, as_of, 1)[0]
    coverage = catalogue.get("BusinessCalendar", level.spec.coverage)
    minutes = covered_minutes(coverage.spec if coverage is not None else None, period.start, period.end)
    length = Fraction(int((period.end - period.start).total_seconds()), 60)
    if window.calendar == "month":
        label = f"calendar month ({as_of.strftime('%B %Y')}, {int(length // 1440)} days, {tz})"
    elif window.calendar == "quarter":
        label = f"calendar quarter ({period.label}, {tz})"
    else:
        label = f"rolling {window.rolling}"
    if minutes != length:
        label += f"; {minutes_text(minutes / 60)} h covered by {level.spec.coverage}"
    return slamath.allowed_downtime_minutes(availability.target_percent, minutes), label


def _service_level(catalogue: Catalogue, level: Document, as_of: date) -> dict[str, Any]:
    spec = level.spec
    budget, window = allowed_downtime(catalogue, level, as_of)
    priorities = []
    if spec.support is not None:
        for name in ("p1", "p2", "p3", "p4"):
            target = getattr(spec.support.priorities, name)
            if target is not None:
                priorities.append({"priority": name.upper(), "response": str(target.response),
                                   "resolution": str(target.resolution),
                                   "coverage": target.coverage or spec.coverage})
    return {"name": level.name, "type": spec.type, "customer": spec.customer,
            "target": spec.availability.target_percent, "measurement": spec.availability.measurement,
            "window": window, "allowed_minutes": minutes_text(budget), "coverage": _calendar(catalogue, spec.coverage),
            "valid_from": spec.valid_from.isoformat(), "valid_to": spec.valid_to.isoformat() if spec.valid_to else None,
            "in_date": level_in_force(level, as_of),
            "priorities": priorities, "file": level.file, "line": level.locate(())[0],
            "attainment": _attainment(catalogue, level, as_of)}


def _attainment(catalogue: Catalogue, level: Document, as_of: date) -> list[dict[str, Any]]:
    """The last and the current window's availability attained and budget left (`svcascode sla`)."""
    from svcascode.delivery.ledger import ledger_for

    return [{"window": w.label, "attained": _percent(w.attained_percent / 100), "status": w.status,
             "downtime": minutes_text(w.downtime), "allowed": minutes_text(w.allowed),
             "remaining": minutes_text(w.remaining), "definition": w.source.describe()}
            for w in ledger_for(catalogue, as_of).current_and_last(level)]


def best_target(catalogue: Catalogue, service: str, as_of: date) -> float | None:
    """The best availability target among a service's SLA, OLA and UC levels in force on the date: the most a
    dependant can count on from it."""
    targets = [level.spec.availability.target_percent for level in catalogue.levels_of(service)
               if level_in_force(level, as_of)]
    return max(targets) if targets else None


def _ceiling(catalogue: Catalogue, service: Document, as_of: date) -> dict[str, Any]:
    """The composite availability ceiling its hard dependencies put on the service."""
    rows, pairs, missing = [], [], []
    for dependency in service.spec.dependencies:
        if dependency.criticality != "hard":
            continue
        target = best_target(catalogue, dependency.service, as_of)
        rows.append({"service": dependency.service, "group": dependency.redundancy_group,
                     "target": target, "known": catalogue.get("Service", dependency.service) is not None})
        if target is None:
            missing.append(dependency.service)
        else:
            pairs.append((slamath.percent_to_fraction(target), dependency.redundancy_group))
    ceiling = slamath.composite_availability(pairs)
    own = [level.spec.availability.target_percent for level in catalogue.levels_of(service.name)
           if level.spec.type == "SLA" and level_in_force(level, as_of)]
    promised = max(own) if own else None
    below = promised is not None and ceiling < slamath.percent_to_fraction(promised)
    return {"rows": rows, "percent": _percent(ceiling), "missing": missing, "promised": promised,
            "below": below and not missing}


def _percent(value: Fraction) -> str:
    return f"{float(value * 100):.4f}".rstrip("0").rstrip(".") + " %"


def occurrences(window: Document, as_of: date, n: int) -> list[tuple[datetime, datetime]]:
    """The next `n` occurrences of a maintenance window from the as-of date, in the window's time zone."""
    from svcascode.calendars import next_occurrences, zone

    tz = zone(window.spec.schedule.timezone if window.spec.schedule else None)
    return [(o.start.astimezone(tz), o.end.astimezone(tz)) for o in next_occurrences(window.spec, as_of, n)]


def _maintenance(catalogue: Catalogue, service: Document, as_of: date) -> list[dict[str, Any]]:
    rows = []
    for window in sorted(catalogue.concerning("MaintenanceWindow").get(service.name, []), key=lambda d: d.name):
        spec = window.spec
        if spec.schedule is not None:
            plan = f"{spec.schedule.rrule} at {spec.schedule.start} for {spec.schedule.duration} ({spec.schedule.timezone})"
        elif spec.window is not None:
            plan = f"once, {spec.window.start.isoformat()} to {spec.window.end.isoformat()}"
        else:  # the model requires a schedule or a window
            continue
        rows.append({"name": window.name, "title": window.model.metadata.title or window.name, "type": spec.type,
                     "impact": spec.expected_impact, "excluded": spec.excluded_from_sla, "plan": plan,
                     "next": [f"{a:%a %Y-%m-%d %H:%M}-{b:%H:%M} {a.tzname()}" for a, b in
                              occurrences(window, as_of, NEXT_OCCURRENCES)],
                     "file": window.file, "line": window.locate(())[0]})
    return rows


def _access(catalogue: Catalogue, service: Document) -> list[dict[str, Any]]:
    policies = catalogue.concerning("AccessPolicy").get(service.name, [])
    rows = []
    for policy in sorted(policies, key=lambda d: d.name):
        spec = policy.spec
        rows.append({"name": policy.name, "sso": spec.authentication.sso, "mfa": spec.authentication.mfa,
                     "phishing_resistant": spec.authentication.phishing_resistant,
                     "roles": [{"name": r.name, "privileged": r.privileged, "max": r.max_duration} for r in spec.roles],
                     "review": {"privileged": spec.review.privileged_cadence, "standard": spec.review.standard_cadence,
                                "reviewer": spec.review.reviewer},
                     "file": policy.file, "line": policy.locate(())[0]})
    return rows


def _evidence(catalogue: Catalogue, service: Document, as_of: date) -> list[dict[str, Any]]:
    rows = []
    for evidence in catalogue.concerning("Evidence").get(service.name, []):
        spec = evidence.spec
        rows.append({"name": evidence.name, "type": spec.type, "subject": spec.subject,
                     "performed_at": spec.performed_at.isoformat(), "age_days": (as_of - spec.performed_at).days,
                     "result": spec.result, "artifact": spec.artifact, "summary": spec.summary,
                     "file": evidence.file, "line": evidence.locate(())[0]})
    return sorted(rows, key=lambda r: r["performed_at"], reverse=True)


def team_view(catalogue: Catalogue, team: Document, compliance: dict[str, ServiceResult], assessment: Assessment,
              cards: Iterable[ScorecardResult] = (), ledger: Any = None) -> dict[str, Any]:
    spec = team.spec
    cards = list(cards)
    rollups = []
    for card in cards:
        rollup = card.teams().get(team.name)
        if rollup is not None:
            rollups.append({"title": squash(card.title), "lowest": rollup.lowest or NONE, "services": rollup.services,
                            "distribution": list(rollup.distribution.items())})
    services = [service_row(s, compliance[s.name], cards, ledger.service(s.name) if ledger is not None else None)
                for s in sorted(catalogue.services_owned_by(team.name), key=lambda d: d.name)]
    children = sorted(t.name for t in catalogue.of_kind("Team") if t.spec.parent == team.name)
    return {"name": team.name, "title": team.model.metadata.title or team.name,
            "description": team.model.metadata.description or "", "type": spec.type, "parent": spec.parent,
            "children": children, "email": spec.email, "chat": spec.chat_channel,
            "members": [{"id": m.id, "role": m.role} for m in spec.members],
            "on_call": _on_call(catalogue, team), "services": services,
            "findings": assessment.team_findings(team.name), "rollups": rollups,
            "file": team.file, "line": team.locate(())[0]}


def teams_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({r["owner"] for r in rows})
