"""SLA clocks and availability attained, each worked out by hand in the comments, and judged as it was then.

Times are UTC unless a zone is named. In winter Europe/London is UTC+0 (GMT); British Summer Time
(UTC+1) ended on Sunday 2026-10-25 at 02:00 BST, when the clocks went back to 01:00 GMT.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from datetime import date, datetime, timezone
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from svcascode.catalogue import load_catalogue
from svcascode.config import load_settings
from svcascode.delivery.attainment import level_attainment, level_windows, parse_period
from svcascode.delivery.clocks import as_of_instant, incident_clocks
from svcascode.delivery.timeline import from_git, today_only

from git_helpers import GIT_ENV
from conftest import cpu_seconds

HEADER = "apiVersion: svcascode.io/v1alpha1\n"
SERVICE = HEADER + textwrap.dedent("""\
    kind: Service
    metadata: {name: claims}
    spec: {type: business, tier: tier-1, lifecycle: production, owner: ops, supportHours: always-on, data: {classification: internal}}
    """)
OFFICE = HEADER + textwrap.dedent("""\
    kind: BusinessCalendar
    metadata: {name: office}
    spec:
      timezone: Europe/London
      weekly:
        - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}
      publicHolidays: {country: GB, subdivision: ENG}
    """)


def level(name: str = "claims-sla", target: float = 99.9, window: str = "{calendar: month, timezone: Europe/London}",
          extra: str = "") -> str:
    return HEADER + textwrap.dedent(f"""\
        kind: ServiceLevel
        metadata: {{name: {name}}}
        spec:
          type: SLA
          service: claims
          customer: Claims Operations
          validFrom: 2026-01-01
          coverage: always-on
          availability:
            targetPercent: {target}
            window: {window}
            measurement: time
        """) + textwrap.indent(textwrap.dedent(extra), "  ") + (
        "  support:\n"
        "    priorities:\n"
        "      P1: {response: 15m, resolution: 4h}\n"
        "      P2: {response: 1h, resolution: 8h, coverage: office}\n"
        "    pauseOn: [awaiting-customer]\n"
        "  review: {cadence: 90d}\n")


def catalogue(tmp: Path, *documents: str) -> Any:
    (tmp / ".svcascode.yaml").write_text("roots: [services]\nlibrary: {enabled: false}\n")
    (tmp / "services").mkdir(exist_ok=True)
    for index, text in enumerate(documents):
        (tmp / "services" / f"doc{index}.yaml").write_text(text)
    loaded = load_catalogue(tmp, load_settings(tmp))
    problems = [f for f in loaded.findings if f.rule in ("schema-invalid", "yaml-invalid")]
    assert problems == []
    return loaded.catalogue


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def incident(name: str, priority: str, opened: datetime, impacts: list[dict[str, Any]], responded: datetime | None = None,
             resolved: datetime | None = None, states: tuple[tuple[str, datetime], ...] = ()) -> Any:
    spec = SimpleNamespace(priority=priority, planned=False, opened=opened, responded=responded, resolved=resolved,
                           closed=None, states=[SimpleNamespace(state=s, at=a) for s, a in states],
                           impacts=[SimpleNamespace(**{"fraction": None, "start": None, "end": None, **i})
                                    for i in impacts])
    return SimpleNamespace(name=name, spec=spec)


def clocks_of(cat: Any, inc: Any, as_of: datetime) -> dict[str, Any]:
    return {c.metric: c for c in incident_clocks(inc, today_only(cat, "test"), as_of)}


# --- a P2 clock on business hours: a weekend, bank holidays and a pause -------------------------------


def test_p2_clock_counts_business_hours_skips_the_weekend_and_bank_holidays_and_stops_while_paused(tmp_path: Path
                                                                                                     ) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    # Opened Thu 2026-12-24 15:00 GMT, responded 16:30, awaiting the customer Tue 29 Dec 10:00-13:00, resolved
    # Wed 30 Dec 11:00. The office is open Mon-Fri 09:00-17:00 Europe/London; Fri 25 Dec is Christmas Day and
    # Mon 28 Dec the substitute day for Boxing Day (Sat 26), so both are closed, as are Sat 26 and Sun 27.
    inc = incident("inc-1", "P2", utc(2026, 12, 24, 15), [{"service": "claims", "impact": "outage"}],
                   responded=utc(2026, 12, 24, 16, 30), resolved=utc(2026, 12, 30, 11),
                   states=(("in-progress", utc(2026, 12, 24, 15)), ("awaiting-customer", utc(2026, 12, 29, 10)),
                           ("in-progress", utc(2026, 12, 29, 13))))
    clocks = clocks_of(cat, inc, as_of_instant(date(2027, 1, 4)))
    response, resolution = clocks["response"], clocks["resolution"]
    # Response: 15:00 -> 16:30 on Thu = 90 minutes against 1h: breached by 30 at 16:00.
    assert (response.elapsed, response.status, response.over_by) == (90, "breached", 30)
    assert response.deadline == utc(2026, 12, 24, 16)
    # Resolution: Thu 15:00-17:00 = 120; Tue 09:00-10:00 = 60, paused 10:00-13:00 (180), 13:00-17:00 = 240;
    # Wed 09:00-11:00 = 120. 120 + 60 + 240 + 120 = 540 minutes against 8h = 480: breached by 60. The 480th
    # minute: 120 + 60 + 240 = 420 by Tue 17:00, then 60 more from Wed 09:00 = Wed 10:00.
    assert (resolution.elapsed, resolution.paused, resolution.status, resolution.over_by) == (540, 180, "breached", 60)
    assert resolution.deadline == utc(2026, 12, 30, 10)
    assert resolution.calendar == "office" and resolution.target == 480


def test_an_open_p2_says_when_it_will_breach(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    # Opened Tue 2026-12-29 16:00, responded 16:20, still open at the end of 29 Dec. Counted so far: 16:00-17:00
    # = 60 of 480; the other 420 run from Wed 30 Dec 09:00 (an ordinary working day) to 16:00.
    inc = incident("inc-2", "P2", utc(2026, 12, 29, 16), [{"service": "claims", "impact": "degraded"}],
                   responded=utc(2026, 12, 29, 16, 20))
    clocks = clocks_of(cat, inc, as_of_instant(date(2026, 12, 29)))
    assert (clocks["response"].elapsed, clocks["response"].status) == (20, "met")
    resolution = clocks["resolution"]
    assert (resolution.elapsed, resolution.status, resolution.stopped) == (60, "running", None)
    assert resolution.deadline == utc(2026, 12, 30, 16)


def test_an_open_clock_in_a_pausing_state_is_paused_with_no_deadline(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    # Opened Tue 29 Dec 09:00, awaiting the customer from 10:00: 60 minutes counted, then paused.
    inc = incident("inc-3", "P2", utc(2026, 12, 29, 9), [{"service": "claims", "impact": "outage"}],
                   responded=utc(2026, 12, 29, 9, 30), states=(("awaiting-customer", utc(2026, 12, 29, 10)),))
    resolution = clocks_of(cat, inc, as_of_instant(date(2026, 12, 30)))["resolution"]
    assert (resolution.elapsed, resolution.status, resolution.deadline) == (60, "paused", None)


def test_a_level_not_in_force_when_the_incident_opened_runs_no_clock(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    inc = incident("inc-0", "P1", utc(2025, 12, 31, 12), [{"service": "claims", "impact": "outage"}],
                   resolved=utc(2025, 12, 31, 13))
    assert clocks_of(cat, inc, as_of_instant(date(2026, 1, 5))) == {}


# --- availability: a 99.9 % month in Europe/London across the DST change and the month boundary ---------


def test_monthly_availability_across_the_dst_change_and_the_month_boundary(tmp_path: Path) -> None:
    text = level(target=99.9).replace("  review:", "  credits:\n    - {below: 99.9, creditPercent: 10}\n"
                                      "    - {below: 99.5, creditPercent: 25}\n  review:")
    cat = catalogue(tmp_path, SERVICE, OFFICE, text)
    # October 2026 in Europe/London runs from 1 Oct 00:00 BST (30 Sep 23:00 UTC) to 1 Nov 00:00 GMT (1 Nov 00:00
    # UTC): 31 days and the hour the clocks went back, 44,640 + 60 = 44,700 minutes; 0.1 % of it is 44.7.
    # inc-dst: 00:30 BST (23:30 UTC on 24 Oct) to 01:30 GMT (01:30 UTC): 120 real minutes, though the wall clock
    # moved one hour. inc-month: 31 Oct 23:50 to 1 Nov 00:20: 10 minutes in October, 20 in November.
    # October: 130 minutes down, attained 100 x 44,570 / 44,700 = 99.7092 %, below 99.9 (credit 10 %) but not
    # below 99.5; the budget is overspent by 130 - 44.7 = 85.3 minutes.
    # November: 30 days = 43,200 minutes, 43.2 allowed; 20 down, attained 100 x 43,180 / 43,200 = 99.9537 %.
    incidents = [
        incident("inc-dst", "P1", utc(2026, 10, 24, 23, 30), [{"service": "claims", "impact": "outage"}],
                 resolved=utc(2026, 10, 25, 1, 30)),
        incident("inc-month", "P1", utc(2026, 10, 31, 23, 50), [{"service": "claims", "impact": "outage"}],
                 resolved=utc(2026, 11, 1, 0, 20)),
    ]
    sla = cat.get("ServiceLevel", "claims-sla")
    as_of = as_of_instant(date(2026, 12, 1))
    periods = level_windows(sla, parse_period("2026-10..2026-11"), as_of)
    october, november = level_attainment("claims-sla", today_only(cat, "test"), periods, incidents, as_of)
    assert (october.label, october.start, october.end) == ("2026-10", utc(2026, 9, 30, 23), utc(2026, 11, 1))
    assert (october.service_minutes, october.downtime, october.allowed) == (44700, 130, Fraction(447, 10))
    assert october.attained_percent == Fraction(100 * 44570, 44700)
    assert (october.status, october.credit_percent, october.remaining) == ("breached", 10, Fraction(-853, 10))
    assert {c.incident: c.minutes for c in october.contributions} == {"inc-dst": 120, "inc-month": 10}
    assert (november.service_minutes, november.downtime, november.allowed) == (43200, 20, Fraction(432, 10))
    assert november.attained_percent == Fraction(100 * 43180, 43200)
    assert (november.status, november.credit_percent, november.remaining) == ("met", None, Fraction(232, 10))


def test_degraded_at_half_weight_overlap_counted_once_and_a_planned_window_excluded(tmp_path: Path) -> None:
    text = level(window="{calendar: month}").replace(
        "    measurement: time\n",
        "    measurement: time\n    exclusions: [approved-maintenance]\n    impactWeights: {degraded: 50}\n")
    window = HEADER + textwrap.dedent("""\
        kind: MaintenanceWindow
        metadata: {name: claims-upgrade}
        spec:
          services: [claims]
          type: standard
          window: {start: "2026-11-10T22:00:00Z", end: "2026-11-10T23:00:00Z"}
          expectedImpact: full-outage
          excludedFromSla: true
        """)
    cat = catalogue(tmp_path, SERVICE, OFFICE, text, window)
    # November 2026 in UTC: 43,200 minutes, 43.2 allowed at 99.9 %.
    # deg: degraded 5 Nov 10:00-12:00; out: an outage 5 Nov 11:00-11:30 inside it. The union counts the worst
    # impact at each minute: 10:00-11:00 degraded (60 x 0.5 = 30), 11:00-11:30 outage (30), 11:30-12:00 degraded
    # (30 x 0.5 = 15). maint: an outage 10 Nov 22:30-23:30, of which 22:30-23:00 falls in the excluded window
    # (30 minutes excluded) and 23:00-23:30 counts (30). Downtime 30 + 30 + 15 + 30 = 105 minutes; attained
    # 100 x (43,200 - 105) / 43,200 = 99.7569 %; budget 43.2 - 105 = -61.8.
    incidents = [
        incident("deg", "P3", utc(2026, 11, 5, 10), [{"service": "claims", "impact": "degraded"}],
                 resolved=utc(2026, 11, 5, 12)),
        incident("out", "P1", utc(2026, 11, 5, 11), [{"service": "claims", "impact": "outage"}],
                 resolved=utc(2026, 11, 5, 11, 30)),
        incident("maint", "P2", utc(2026, 11, 10, 22, 30), [{"service": "claims", "impact": "outage"}],
                 resolved=utc(2026, 11, 10, 23, 30)),
    ]
    as_of = as_of_instant(date(2026, 12, 1))
    sla = cat.get("ServiceLevel", "claims-sla")
    [november] = level_attainment("claims-sla", today_only(cat, "test"),
                                  level_windows(sla, parse_period("2026-11"), as_of), incidents, as_of)
    assert (november.downtime, november.excluded, november.remaining) == (105, 30, Fraction(-618, 10))
    assert november.attained_percent == Fraction(100 * (43200 - 105), 43200)
    assert {c.incident: c.minutes for c in november.contributions} == {"deg": 45, "out": 30, "maint": 30}


def test_a_partial_outage_counts_its_fraction_of_users(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level(window="{calendar: month}"))
    # 30 % of users for 100 minutes: 30 minutes of downtime at the default partial weight (100 %).
    incidents = [incident("part", "P2", utc(2026, 11, 2, 8), [{"service": "claims", "impact": "partial",
                                                               "fraction": 0.3}], resolved=utc(2026, 11, 2, 9, 40))]
    as_of = as_of_instant(date(2026, 11, 30))
    sla = cat.get("ServiceLevel", "claims-sla")
    [november] = level_attainment("claims-sla", today_only(cat, "test"),
                                  level_windows(sla, parse_period("2026-11"), as_of), incidents, as_of)
    assert (november.downtime, november.complete, november.status) == (30, True, "met")


@pytest.mark.parametrize("text, message", [
    ("2026-13", "not a period"), ("2026-Q5", "not a period"), ("26-11", "not a period"),
    ("2026-06..2026-01", "ends before it starts"), ("2000-01..2026-01", "at most 120 months"),
])
def test_bad_periods_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


# --- as it was then ----------------------------------------------------------------------------------


def git(root: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_tightening_an_sla_later_leaves_an_earlier_month_judged_by_the_old_target(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    cat = catalogue(tmp_path, SERVICE, OFFICE, level(target=99.5, window="{calendar: month}"))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "claims SLA at 99.5", when="2026-04-20T12:00:00+00:00")
    old = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "services" / "doc2.yaml").write_text(level(target=99.9, window="{calendar: month}"))
    git(tmp_path, "commit", "-q", "-am", "claims SLA tightened to 99.9", when="2026-06-15T12:00:00+00:00")
    new = git(tmp_path, "rev-parse", "HEAD")
    today = load_catalogue(tmp_path, load_settings(tmp_path)).catalogue
    # 100 minutes down in May (44,640 minutes): at 99.5 % 223.2 are allowed (met, 99.776 %); at today's 99.9 %
    # only 44.64 (breached). In July the same outage is judged by the tightened level.
    incidents = [incident("may", "P1", utc(2026, 5, 10, 8), [{"service": "claims", "impact": "outage"}],
                          resolved=utc(2026, 5, 10, 9, 40)),
                 incident("july", "P1", utc(2026, 7, 10, 8), [{"service": "claims", "impact": "outage"}],
                          resolved=utc(2026, 7, 10, 9, 40))]
    as_of = as_of_instant(date(2026, 8, 1))
    sla = today.get("ServiceLevel", "claims-sla")
    periods = level_windows(sla, parse_period("2026-05..2026-07"), as_of)
    definitions = from_git(tmp_path, load_settings(tmp_path), today)
    try:
        may, june, july = level_attainment("claims-sla", definitions, periods, incidents, as_of)
        assert definitions.commits_built == 2  # three windows, one catalogue per commit
        first_clock = next(incident_clocks(incidents[0], definitions, as_of))
    finally:
        definitions.close()
    assert (may.target_percent, may.allowed, may.status, may.source.commit) == (Fraction(995, 10), Fraction(2232, 10),
                                                                               "met", old)
    assert may.source.describe() == f"commit {old[:12]} of 2026-04-20 (claims SLA at 99.5)"
    assert (june.target_percent, june.source.commit) == (Fraction(995, 10), old)  # June began before the change
    assert (july.target_percent, july.status, july.source.commit) == (Fraction(999, 10), "breached", new)
    assert first_clock.source.commit == old
    [today_may] = level_attainment("claims-sla", today_only(today, "--definitions today"), periods[:1], incidents,
                                   as_of)
    assert (today_may.status, today_may.source.commit) == ("breached", None)
    _ = cat


def test_outside_git_todays_definitions_are_used_and_said(tmp_path: Path) -> None:
    today = catalogue(tmp_path, SERVICE, OFFICE, level())
    definitions = from_git(tmp_path, load_settings(tmp_path), today)
    found, source = definitions.at(utc(2026, 5, 1))
    assert found is today and source.commit is None
    assert source.describe() == "today's definitions (working tree): not a git repository"


def test_hostile_records_cost_bounded_work(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level(window="{calendar: month}"))
    # A P2 on business hours open from 2026 to the year 9990 is counted over its first 400 days only;
    # 3,000 overlapping outages in one month are one union. November: 43,200 minutes, all of them down.
    began = cpu_seconds()
    ancient = incident("ancient", "P2", utc(2026, 1, 5), [{"service": "claims", "impact": "outage"}],
                       resolved=utc(9990, 1, 1))
    clocks = clocks_of(cat, ancient, as_of_instant(date(9999, 12, 31)))
    assert clocks["resolution"].status == "breached"
    many = [incident(f"i{k}", "P1", utc(2026, 11, 1 + k % 29, k % 24), [{"service": "claims", "impact": "outage"}],
                     resolved=utc(2026, 12, 1)) for k in range(3000)]
    many.append(incident("all", "P1", utc(2026, 11, 1), [{"service": "claims", "impact": "outage"}],
                         resolved=utc(2026, 12, 1)))
    as_of = as_of_instant(date(2026, 12, 1))
    sla = cat.get("ServiceLevel", "claims-sla")
    [november] = level_attainment("claims-sla", today_only(cat, "test"),
                                  level_windows(sla, parse_period("2026-11"), as_of), many, as_of)
    assert (november.downtime, november.attained_percent) == (43200, 0)
    assert cpu_seconds() - began < 20


def test_an_sla_tightened_mid_quarter_leaves_that_quarter_under_the_old_target(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    catalogue(tmp_path, SERVICE, OFFICE, level(target=99.5, window="{calendar: quarter}"))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "quarterly claims SLA at 99.5", when="2026-03-20T12:00:00+00:00")
    old = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "services" / "doc2.yaml").write_text(level(target=99.9, window="{calendar: quarter}"))
    git(tmp_path, "commit", "-q", "-am", "tightened to 99.9 in May", when="2026-05-15T12:00:00+00:00")
    new = git(tmp_path, "rev-parse", "HEAD")
    today = load_catalogue(tmp_path, load_settings(tmp_path)).catalogue
    # Q2 2026 in UTC: April 30 + May 31 + June 30 = 91 days = 131,040 minutes. A 300-minute outage in June:
    # attained 100 x 130,740 / 131,040 = 99.7711 %: met at Q2's 99.5 % (655.2 minutes allowed), though the
    # level was tightened to 99.9 % mid-quarter; Q3 begins under the tightened level.
    incidents = [incident("june", "P2", utc(2026, 6, 2, 8), [{"service": "claims", "impact": "outage"}],
                          resolved=utc(2026, 6, 2, 13))]
    as_of = as_of_instant(date(2026, 10, 1))
    periods = level_windows(today.get("ServiceLevel", "claims-sla"), parse_period("2026-Q2"), as_of)
    periods += level_windows(today.get("ServiceLevel", "claims-sla"), parse_period("2026-Q3"), as_of)
    definitions = from_git(tmp_path, load_settings(tmp_path), today)
    try:
        q2, q3 = level_attainment("claims-sla", definitions, periods, incidents, as_of)
    finally:
        definitions.close()
    assert (q2.label, q2.service_minutes, q2.allowed, q2.downtime) == ("2026-Q2", 131040, Fraction(6552, 10), 300)
    assert (q2.attained_percent, q2.status, q2.source.commit) == (Fraction(100 * 130740, 131040), "met", old)
    assert (q3.label, q3.target_percent, q3.source.commit) == ("2026-Q3", Fraction(999, 10), new)


# --- unknown is not breached; a met clock says when it would have breached; evidence of impairment only --


def test_a_met_clock_says_when_it_would_have_breached(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    # P2 in office hours (Mon-Fri 09:00-17:00 London, GMT in November). Opened Tue 2026-11-10 16:30, responded
    # 16:50 (20 of 60 minutes), resolved Wed 11 Nov 11:00 (16:30-17:00 and 09:00-11:00: 150 of 480).
    # Had the response clock kept running: 30 minutes on Tuesday, the other 30 from Wednesday 09:00, so it
    # would have breached at Wed 09:30. The resolution clock: 30 on Tuesday, then 450 from Wed 09:00 = 16:30.
    inc = incident("inc-met", "P2", utc(2026, 11, 10, 16, 30), [{"service": "claims", "impact": "degraded"}],
                   responded=utc(2026, 11, 10, 16, 50), resolved=utc(2026, 11, 11, 11))
    clocks = clocks_of(cat, inc, as_of_instant(date(2026, 11, 30)))
    response, resolution = clocks["response"], clocks["resolution"]
    assert (response.status, response.elapsed, response.margin, response.deadline) == (
        "met", 20, 40, utc(2026, 11, 11, 9, 30))
    assert (resolution.status, resolution.elapsed, resolution.margin, resolution.deadline) == (
        "met", 150, 330, utc(2026, 11, 11, 16, 30))


def test_a_clock_without_its_stop_is_not_recorded_neither_met_nor_breached(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level())
    # P1 (always-on: response 15m, resolution 4h), opened 2026-11-02 10:00 and resolved 12:00 with no response
    # time: the response clock is not recorded (due at 10:15, when its target ran out), the resolution met.
    # Counting the response to the resolution instead (120 minutes) would read "breached by 105 minutes".
    resolved = incident("inc-no-response", "P1", utc(2026, 11, 2, 10), [{"service": "claims", "impact": "outage"}],
                        resolved=utc(2026, 11, 2, 12))
    clocks = clocks_of(cat, resolved, as_of_instant(date(2026, 11, 30)))
    assert (clocks["response"].status, clocks["response"].elapsed, clocks["response"].breached,
            clocks["response"].deadline) == ("not recorded", 0, False, utc(2026, 11, 2, 10, 15))
    assert (clocks["resolution"].status, clocks["resolution"].elapsed) == ("met", 120)
    # Open, from an export that carries no response time: not recorded either, however long it has been open;
    # the same ticket written by hand, with no response yet, is running and breaches once its 15 minutes pass.
    exported = incident("inc-exported", "P1", utc(2026, 11, 29, 10), [{"service": "claims", "impact": "outage"}])
    exported.spec.source = SimpleNamespace(system="servicenow", id="INC1", unrecorded=["responded"])
    clocks = clocks_of(cat, exported, as_of_instant(date(2026, 11, 29)))
    assert (clocks["response"].status, clocks["resolution"].status) == ("not recorded", "breached")
    by_hand = incident("inc-by-hand", "P1", utc(2026, 11, 29, 10), [{"service": "claims", "impact": "outage"}])
    assert clocks_of(cat, by_hand, as_of_instant(date(2026, 11, 29)))["response"].status == "breached"


def test_an_unknown_impact_counts_no_downtime_and_an_open_outage_counts_to_the_as_of_instant(tmp_path: Path
                                                                                             ) -> None:
    cat = catalogue(tmp_path, SERVICE, OFFICE, level(window="{calendar: month}"))
    # November 2026 (UTC), 43,200 minutes at 99.9 %. "unknown": a ticket that names the service but not how it
    # was affected, open all month: no downtime, listed for review. "open": an outage from 29 Nov 23:00 still
    # going at the as-of instant (end of 29 Nov, midnight UTC): 60 minutes so far, running.
    incidents = [
        incident("unknown", "P3", utc(2026, 11, 3, 9), [{"service": "claims", "impact": "unknown"}]),
        incident("open", "P1", utc(2026, 11, 29, 23), [{"service": "claims", "impact": "outage"}]),
    ]
    as_of = as_of_instant(date(2026, 11, 29))
    sla = cat.get("ServiceLevel", "claims-sla")
    [november] = level_attainment("claims-sla", today_only(cat, "test"),
                                  level_windows(sla, parse_period("2026-11"), as_of), incidents, as_of)
    assert (november.downtime, november.unknown, november.status) == (60, ("unknown",), "breached")
    assert [(c.incident, c.minutes, c.running) for c in november.contributions] == [("open", 60, True)]
