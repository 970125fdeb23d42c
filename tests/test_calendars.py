"""Calendars, maintenance schedules and SLA periods in UTC, across daylight-saving changes.

Europe/London changes on the last Sunday of March (01:00 GMT -> 02:00 BST) and of October
(02:00 BST -> 01:00 GMT): 2026-03-29, 2026-10-25, 2027-03-28.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest

from svcascode.calendars import (
    Interval, calendar_intervals, covers, hours_per_week, intersect, is_always_on, merge, next_occurrences,
    overlap_minutes, overlapping, sla_periods, subtract, uncovered, window_intervals,
)
from svcascode.models.operations import MaintenanceWindowSpec
from svcascode.models.people import BusinessCalendarSpec
from conftest import cpu_seconds

UTC = timezone.utc


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def calendar(**spec: Any) -> BusinessCalendarSpec:
    return BusinessCalendarSpec.model_validate(spec)


def window(**spec: Any) -> MaintenanceWindowSpec:
    base = {"services": ["svc"], "type": "standard", "expectedImpact": "degraded", "excludedFromSla": False}
    return MaintenanceWindowSpec.model_validate({**base, **spec})


def weekly(rrule: str, start: str, duration: str = "1h", tz: str = "Europe/London") -> MaintenanceWindowSpec:
    return window(schedule={"rrule": rrule, "start": start, "duration": duration, "timezone": tz})


OFFICE = calendar(timezone="Europe/London", weekly=[{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                     "from": "09:00", "to": "17:00"}])
ALWAYS = calendar(timezone="UTC", alwaysOn=True)


# --- interval arithmetic ------------------------------------------------------------------------


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    got = merge([Interval(utc(2026, 1, 1, 3), utc(2026, 1, 1, 4)), Interval(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)),
                 Interval(utc(2026, 1, 1, 2), utc(2026, 1, 1, 3, 30))])
    assert got == [Interval(utc(2026, 1, 1, 1), utc(2026, 1, 1, 4))]


def test_intersect_subtract_and_overlap_minutes() -> None:
    a = [Interval(utc(2026, 1, 1, 0), utc(2026, 1, 1, 6))]
    b = [Interval(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)), Interval(utc(2026, 1, 1, 5), utc(2026, 1, 1, 8))]
    assert intersect(a, b) == [Interval(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)),
                               Interval(utc(2026, 1, 1, 5), utc(2026, 1, 1, 6))]
    assert subtract(a, b) == [Interval(utc(2026, 1, 1, 0), utc(2026, 1, 1, 1)),
                              Interval(utc(2026, 1, 1, 2), utc(2026, 1, 1, 5))]
    assert overlap_minutes(a, b) == 120
    assert overlap_minutes(a, []) == 0


def test_overlapping_lists_only_occurrences_that_touch_the_calendar() -> None:
    cover = [Interval(utc(2026, 1, 1, 9), utc(2026, 1, 1, 17))]
    inside = Interval(utc(2026, 1, 1, 16, 30), utc(2026, 1, 1, 17, 30))
    adjacent = Interval(utc(2026, 1, 1, 17), utc(2026, 1, 1, 18))  # half-open: touching is not overlapping
    before = Interval(utc(2026, 1, 1, 8), utc(2026, 1, 1, 9))
    assert overlapping([before, inside, adjacent], cover) == [inside]


# --- business calendars -------------------------------------------------------------------------


def test_office_hours_are_local_hours_in_winter_and_summer() -> None:
    winter = calendar_intervals(OFFICE, utc(2026, 1, 5), utc(2026, 1, 12))  # Mon..Sun, GMT
    assert winter[0] == Interval(utc(2026, 1, 5, 9), utc(2026, 1, 5, 17))
    assert len(winter) == 5
    summer = calendar_intervals(OFFICE, utc(2026, 7, 6), utc(2026, 7, 13))  # BST = UTC+1
    assert summer[0] == Interval(utc(2026, 7, 6, 8), utc(2026, 7, 6, 16))


def test_office_hours_shift_across_the_march_and_october_changes() -> None:
    march = calendar_intervals(OFFICE, utc(2026, 3, 27), utc(2026, 3, 31))
    assert march == [Interval(utc(2026, 3, 27, 9), utc(2026, 3, 27, 17)),  # Friday, still GMT
                     Interval(utc(2026, 3, 30, 8), utc(2026, 3, 30, 16))]  # Monday after the change, BST
    october = calendar_intervals(OFFICE, utc(2026, 10, 23), utc(2026, 10, 27))
    assert october == [Interval(utc(2026, 10, 23, 8), utc(2026, 10, 23, 16)),
                       Interval(utc(2026, 10, 26, 9), utc(2026, 10, 26, 17))]


def test_calendar_is_clipped_to_the_requested_range() -> None:
    got = calendar_intervals(OFFICE, utc(2026, 1, 5, 12), utc(2026, 1, 5, 13, 30))
    assert got == [Interval(utc(2026, 1, 5, 12), utc(2026, 1, 5, 13, 30))]


def test_holidays_are_removed_in_local_dates() -> None:
    with_holiday = calendar(timezone="Europe/London", holidays=[{"date": "2026-12-25", "name": "Christmas"}],
                            weekly=[{"days": ["fri"], "from": "09:00", "to": "17:00"}])
    assert calendar_intervals(with_holiday, utc(2026, 12, 21), utc(2027, 1, 4)) == [
        Interval(utc(2027, 1, 1, 9), utc(2027, 1, 1, 17))]


def test_always_on_covers_everything() -> None:
    assert calendar_intervals(ALWAYS, utc(2026, 1, 1), utc(2026, 2, 1)) == [Interval(utc(2026, 1, 1), utc(2026, 2, 1))]
    assert is_always_on(ALWAYS) and not is_always_on(OFFICE)


def test_hours_per_week() -> None:
    assert hours_per_week(ALWAYS) == 168
    assert hours_per_week(OFFICE) == 40
    overlapping_ranges = calendar(timezone="UTC", weekly=[
        {"days": ["mon"], "from": "08:00", "to": "12:00"}, {"days": ["mon"], "from": "10:00", "to": "14:30"}])
    assert hours_per_week(overlapping_ranges) == Fraction(13, 2)
    full_days = calendar(timezone="UTC", weekly=[{"days": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
                                                  "from": "00:00", "to": "24:00"}])
    assert hours_per_week(full_days) == 168 and is_always_on(full_days)


def test_coverage_compares_calendars_in_their_own_time_zones() -> None:
    year = (utc(2026, 11, 27), utc(2027, 11, 27))
    utc_08_18 = calendar(timezone="UTC", weekly=[{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                  "from": "08:00", "to": "18:00"}])
    utc_09_17 = calendar(timezone="UTC", weekly=[{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                  "from": "09:00", "to": "17:00"}])
    assert covers(ALWAYS, OFFICE, *year)
    assert not covers(OFFICE, ALWAYS, *year)
    assert covers(utc_08_18, OFFICE, *year)  # London 09-17 is 09-17 or 08-16 UTC
    gaps = uncovered(utc_09_17, OFFICE, *year)  # summer mornings 08:00-09:00 UTC are not covered
    assert gaps[0] == Interval(utc(2027, 3, 29, 8), utc(2027, 3, 29, 9))


# --- maintenance windows ------------------------------------------------------------------------


def test_weekly_window_keeps_local_time_across_dst() -> None:
    tuesday = weekly("FREQ=WEEKLY;BYDAY=TU", "10:00")
    got = window_intervals(tuesday, utc(2026, 3, 20), utc(2026, 4, 2))
    assert [o.start for o in got] == [utc(2026, 3, 24, 10), utc(2026, 3, 31, 9)]
    assert all(o.end - o.start == timedelta(hours=1) for o in got)


def test_start_in_the_spring_gap_uses_the_offset_before_the_gap() -> None:
    sunday = weekly("FREQ=WEEKLY;BYDAY=SU", "01:30")  # 01:30 does not exist in London on 2026-03-29
    got = window_intervals(sunday, utc(2026, 3, 22), utc(2026, 4, 1))
    assert [o.start for o in got] == [utc(2026, 3, 22, 1, 30), utc(2026, 3, 29, 1, 30), ]


def test_ambiguous_autumn_start_is_the_first_occurrence() -> None:
    sunday = weekly("FREQ=WEEKLY;BYDAY=SU", "01:30")  # 01:30 happens twice in London on 2026-10-25
    got = window_intervals(sunday, utc(2026, 10, 24), utc(2026, 11, 2))
    assert [o.start for o in got] == [utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)]


def test_duration_is_real_time_across_the_change() -> None:
    overnight = weekly("FREQ=WEEKLY;BYDAY=SA", "23:00", duration="4h")
    got = window_intervals(overnight, utc(2026, 10, 24), utc(2026, 10, 25))
    assert got == [Interval(utc(2026, 10, 24, 22), utc(2026, 10, 25, 2))]  # 23:00 BST .. 02:00 GMT


def test_window_in_another_time_zone() -> None:
    new_york = weekly("FREQ=WEEKLY;BYDAY=MO", "20:00", tz="America/New_York")
    assert window_intervals(new_york, utc(2026, 1, 5), utc(2026, 1, 7))[0].start == utc(2026, 1, 6, 1)


def test_occurrence_that_started_before_the_range_still_overlaps_it() -> None:
    overnight = weekly("FREQ=WEEKLY;BYDAY=SU", "22:00", duration="4h", tz="UTC")
    assert window_intervals(overnight, utc(2026, 1, 5), utc(2026, 1, 6)) == [
        Interval(utc(2026, 1, 4, 22), utc(2026, 1, 5, 2))]


def test_monthly_rule_over_twelve_months() -> None:
    first_saturday = weekly("FREQ=MONTHLY;BYDAY=1SA", "08:00")
    got = window_intervals(first_saturday, utc(2026, 11, 27), utc(2027, 11, 27))
    assert len(got) == 12
    assert got[0].start == utc(2026, 12, 5, 8) and got[-1].start == utc(2027, 11, 6, 8)
    assert got[5].start == utc(2027, 5, 1, 7)  # BST


def test_rrule_prefix_count_and_until_are_honoured() -> None:
    counted = weekly("RRULE:FREQ=DAILY;COUNT=3", "02:00", tz="UTC")  # counted from the first day expanded
    assert [o.start for o in window_intervals(counted, utc(2026, 1, 1, 1), utc(2027, 1, 1))] == [
        utc(2026, 1, 1, 2), utc(2026, 1, 2, 2), utc(2026, 1, 3, 2)]
    until = weekly("FREQ=DAILY;UNTIL=20260105T000000", "02:00", tz="UTC")
    assert len(window_intervals(until, utc(2026, 1, 1), utc(2027, 1, 1))) == 4


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=2", "FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2",
                                  "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31;COUNT=3",
                                  "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31;UNTIL=20300101T000000"])
def test_a_rule_that_never_matches_expands_to_nothing_quickly(rule: str) -> None:
    started = cpu_seconds()  # unbounded, dateutil searches to the year 9999 for seconds
    assert window_intervals(weekly(rule, "02:00"), utc(2026, 11, 27), utc(2027, 11, 27)) == []
    assert cpu_seconds() - started < 0.5


def test_the_bound_keeps_every_occurrence_of_the_horizon() -> None:
    nth_weekdays = weekly("FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=1MO,-1FR", "02:00", tz="UTC")
    got = window_intervals(nth_weekdays, utc(2026, 11, 27), utc(2027, 11, 27))
    assert len(got) == 25 and got[0].start == utc(2026, 11, 27, 2) and got[-1].start == utc(2027, 11, 26, 2)
    leap_day = weekly("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "02:00", tz="UTC")
    assert [o.start for o in window_intervals(leap_day, utc(2027, 6, 1), utc(2028, 6, 1))] == [utc(2028, 2, 29, 2)]


def test_one_off_window_inside_and_outside_the_range() -> None:
    one_off = window(window={"start": "2026-12-05T18:00:00+01:00", "end": "2026-12-05T23:30:00+01:00"})
    assert window_intervals(one_off, utc(2026, 11, 27), utc(2027, 11, 27)) == [
        Interval(utc(2026, 12, 5, 17), utc(2026, 12, 5, 22, 30))]
    assert window_intervals(one_off, utc(2027, 1, 1), utc(2028, 1, 1)) == []


def test_next_occurrences_from_the_as_of_date() -> None:
    tuesday = weekly("FREQ=WEEKLY;BYDAY=TU", "10:00")
    got = next_occurrences(tuesday, date(2026, 11, 27), 3)
    assert [o.start for o in got] == [utc(2026, 12, 1, 10), utc(2026, 12, 8, 10), utc(2026, 12, 15, 10)]
    same_day = weekly("FREQ=WEEKLY;BYDAY=FR", "23:00")
    assert next_occurrences(same_day, date(2026, 11, 27), 1)[0].start == utc(2026, 11, 27, 23)
    past = window(window={"start": "2026-01-05T18:00:00Z", "end": "2026-01-05T20:00:00Z"})
    assert next_occurrences(past, date(2026, 11, 27), 3) == []


# --- SLA periods --------------------------------------------------------------------------------


def test_calendar_months_cover_the_horizon_with_real_lengths() -> None:
    periods = sla_periods("month", None, "Europe/London", date(2026, 11, 27))
    assert [p.label for p in periods][:2] == ["2026-11", "2026-12"] and periods[-1].label == "2027-11"
    assert len(periods) == 13
    march = next(p for p in periods if p.label == "2027-03")
    assert march.minutes == 31 * 24 * 60 - 60  # the clocks go forward
    assert march.start == utc(2027, 3, 1)
    assert next(p for p in periods if p.label == "2027-02").minutes == 28 * 24 * 60


def test_calendar_months_default_to_utc() -> None:
    periods = sla_periods("month", None, None, date(2027, 3, 1), months=1)
    assert [(p.label, p.minutes) for p in periods] == [("2027-03", 31 * 24 * 60)]


def test_calendar_quarters() -> None:
    periods = sla_periods("quarter", None, "UTC", date(2026, 11, 27))
    assert [p.label for p in periods] == ["2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert periods[1].minutes == 90 * 24 * 60


def test_rolling_windows_are_consecutive_from_the_as_of_date() -> None:
    periods = sla_periods(None, "30d", None, date(2026, 11, 27))
    assert periods[0].start == utc(2026, 11, 27) and periods[1].start == utc(2026, 12, 27)
    assert all(p.minutes == 30 * 24 * 60 for p in periods)
    assert len(periods) == 13  # 365 days need 13 periods of 30 days


@pytest.mark.parametrize("as_of, label", [(date(2026, 1, 1), "2026-Q1"), (date(2026, 6, 30), "2026-Q2")])
def test_first_quarter_contains_the_as_of_date(as_of: date, label: str) -> None:
    assert sla_periods("quarter", None, None, as_of)[0].label == label


def test_a_window_over_many_services_compares_each_shared_calendar_once(tmp_path: Any, monkeypatch: Any) -> None:
    """mw-business-hours on a window over 300 services that share two calendars expands and compares each
    calendar once, and still names every service whose hours it overlaps."""
    import json

    from click.testing import CliRunner

    from svcascode.checks import mw_business_hours
    from svcascode.cli import main

    services = "".join(
        f"---\napiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {{name: s{i:03d}}}\n"
        f"spec: {{type: business, tier: tier-1, lifecycle: production, owner: ops, supportHours: always-on, "
        f"peakHours: {'office' if i % 2 else 'evening'}, data: {{classification: internal}}}}\n" for i in range(300))
    calendars = "".join(
        f"---\napiVersion: svcascode.io/v1alpha1\nkind: BusinessCalendar\nmetadata: {{name: {name}}}\n"
        f"spec: {{timezone: Europe/London, weekly: [{{days: [tue], from: '{start}', to: '{end}'}}]}}\n"
        for name, start, end in (("office", "09:00", "17:00"), ("evening", "18:00", "22:00")))
    window_text = ("apiVersion: svcascode.io/v1alpha1\nkind: MaintenanceWindow\nmetadata: {name: tuesday}\n"
                   "spec:\n  services: [" + ", ".join(f"s{i:03d}" for i in range(300)) + "]\n"
                   "  type: standard\n  schedule: {rrule: 'FREQ=WEEKLY;BYDAY=TU', start: '10:00', duration: 1h, "
                   "timezone: Europe/London}\n  expectedImpact: degraded\n  excludedFromSla: true\n"
                   "  notice: {leadTime: 7d, channels: [email]}\n")
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "services.yaml").write_text(services + calendars)
    (tmp_path / "services" / "window.yaml").write_text(window_text)
    calls = {"expanded": 0, "compared": 0}

    def counted(name: str, function: Any) -> Any:
        def call(*args: Any) -> Any:
            calls[name] += 1
            return function(*args)
        return call

    monkeypatch.setattr(mw_business_hours, "calendar_intervals", counted("expanded", calendar_intervals))
    monkeypatch.setattr(mw_business_hours, "overlapping", counted("compared", overlapping))
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "--no-cache", "check", "--select", "mw-business-hours",
                                       "--as-of", "2026-12-07", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    found = [f for f in json.loads(result.output)["findings"] if f["rule"] == "mw-business-hours"]
    assert len(found) == 1
    message = found[0]["message"]
    assert all(f"of s{i:03d} (tier-1)" in message for i in range(1, 300, 2))  # office hours: every odd one
    assert "evening" not in message  # 10:00-11:00 never meets 18:00-22:00
    assert calls == {"expanded": 2, "compared": 2}
