"""Calendars nobody should type: public holidays from the holidays package, and the built-in always-on.

England's bank holidays at the end of 2026: Christmas Day on Friday 25 December, Boxing Day on
Saturday 26 December with its substitute day on Monday 28 December, and New Year's Day on Friday
1 January 2027.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_example
from svcascode.calendars import calendar_intervals, covered_minutes, is_always_on
from svcascode.catalogue import load_catalogue
from svcascode.config import Settings
from svcascode.engine import evaluate
from svcascode.builtins import BUILTIN_FILE
from svcascode.holidays_calendar import _year, public_holiday_dates
from svcascode.models.people import BusinessCalendarSpec

UTC = timezone.utc
WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def calendar(**spec: Any) -> BusinessCalendarSpec:
    base: dict[str, Any] = {"timezone": "Europe/London",
                            "weekly": [{"days": WORKDAYS, "from": "09:00", "to": "17:00"}]}
    return BusinessCalendarSpec.model_validate({**base, **spec})


ENGLAND = {"country": "GB", "subdivision": "ENG"}


def test_a_week_with_christmas_and_the_boxing_day_substitute_counts_no_minutes_on_them() -> None:
    office = calendar(publicHolidays=ENGLAND)
    # Mon 21 to Sun 27 December: Christmas Day (Fri) is closed, Boxing Day is a Saturday anyway
    assert covered_minutes(office, utc(2026, 12, 21), utc(2026, 12, 28)) == 4 * 8 * 60
    # Mon 28 December (Boxing Day, substitute day) to Sun 3 January: 28 Dec and 1 Jan are closed
    assert covered_minutes(office, utc(2026, 12, 28), utc(2027, 1, 4)) == 3 * 8 * 60
    assert covered_minutes(office, utc(2026, 12, 25), utc(2026, 12, 26)) == 0
    assert covered_minutes(office, utc(2026, 12, 28), utc(2026, 12, 29)) == 0
    # the same calendar without public holidays works all five days
    assert covered_minutes(calendar(), utc(2026, 12, 21), utc(2026, 12, 28)) == 5 * 8 * 60


def test_public_holidays_merge_with_the_organisations_own_closures() -> None:
    office = calendar(publicHolidays=ENGLAND, holidays=[{"date": "2026-12-24", "name": "Christmas Eve"}])
    blocks = calendar_intervals(office, utc(2026, 12, 21), utc(2026, 12, 28))
    assert [b.start.date() for b in blocks] == [date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23)]
    # a holiday listed both ways is one closed day
    both = calendar(publicHolidays=ENGLAND, holidays=[{"date": "2026-12-25", "name": "Christmas Day"}])
    assert covered_minutes(both, utc(2026, 12, 21), utc(2026, 12, 28)) == 4 * 8 * 60


def test_subdivisions_differ() -> None:
    # St Andrew's Day (Mon 30 November 2026) is a bank holiday in Scotland, not in England
    scotland = calendar(publicHolidays={"country": "GB", "subdivision": "SCT"})
    england = calendar(publicHolidays=ENGLAND)
    day = (utc(2026, 11, 30), utc(2026, 12, 1))
    assert covered_minutes(scotland, *day) == 0
    assert covered_minutes(england, *day) == 8 * 60


def test_years_are_worked_out_when_a_computation_touches_them_and_kept() -> None:
    _year.cache_clear()
    office = calendar(publicHolidays=ENGLAND)
    covered_minutes(office, utc(2026, 12, 21), utc(2027, 1, 4))
    assert _year.cache_info().currsize == 2  # 2026 and 2027, nothing else
    covered_minutes(office, utc(2026, 12, 21), utc(2027, 1, 4))
    assert _year.cache_info().currsize == 2 and _year.cache_info().hits >= 2
    # a far year is worked out when it is asked for: Christmas Day 2041 is a Wednesday
    assert date(2041, 12, 25) in public_holiday_dates("GB", "ENG", [2041])
    assert covered_minutes(office, utc(2041, 12, 25), utc(2041, 12, 26)) == 0
    assert _year.cache_info().currsize == 3


def test_a_round_the_clock_calendar_with_public_holidays_is_not_always_on() -> None:
    rota = calendar(weekly=[{"days": [*WORKDAYS, "sat", "sun"], "from": "00:00", "to": "24:00"}],
                    publicHolidays=ENGLAND)
    assert not is_always_on(rota)
    # Christmas Day and Boxing Day itself (a Saturday) are public holidays, the rest of the week is covered
    assert covered_minutes(rota, utc(2026, 12, 21), utc(2026, 12, 28)) == 5 * 24 * 60
    assert covered_minutes(rota, utc(2026, 12, 1), utc(2026, 12, 2)) == Fraction(24 * 60)


@pytest.mark.parametrize("spec, field, hint", [
    ({"country": "XX"}, "country", "use an ISO 3166-1 alpha-2 code"),
    ({"country": "gb"}, "country", "did you mean 'GB'?"),
    ({"country": "Germany"}, "country", "did you mean 'DE'?"),
    ({"country": "GB", "subdivision": "Wales "}, "subdivision", "did you mean 'WLS'?"),
    ({"country": "US", "subdivision": "ny"}, "subdivision", "did you mean 'NY'?"),
])
def test_wrong_names_are_refused_with_a_suggestion(spec: dict[str, str], field: str, hint: str) -> None:
    with pytest.raises(ValueError) as error:
        calendar(publicHolidays=spec)
    assert hint in str(error.value)
# --- the built-in always-on calendar ------------------------------------------------------------


def _without_always_on(root: Path) -> None:
    path = root / "services" / "calendars.yaml"
    text = path.read_text()
    first, _, rest = text.partition("\n---\n")
    assert "name: always-on" in first
    path.write_text(rest)


def test_always_on_needs_no_document(tmp_path: Path) -> None:
    defined = load_catalogue(copy_example(tmp_path / "defined"), Settings(cache=False))
    root = copy_example(tmp_path / "builtin")
    _without_always_on(root)
    builtin = load_catalogue(root, Settings(cache=False))
    assert not [f for f in builtin.findings if f.rule == "ref-unresolved" and "always-on" in f.message]
    assert [f for f in builtin.findings if f.rule == "ref-unresolved"] == [
        f for f in defined.findings if f.rule == "ref-unresolved"]
    document = builtin.catalogue.get("BusinessCalendar", "always-on")
    assert document is not None and document.file == BUILTIN_FILE and document.spec.always_on
    assert document.spec.timezone == "UTC"
    assert builtin.catalogue.resolve("businesscalendar:always-on") is document
    assert "always-on" not in {d.name for d in builtin.catalogue.of_kind("BusinessCalendar")}
    # every check reads the built-in calendar as it read the document it replaces
    as_of = date(2026, 11, 27)

    def findings(result: Any) -> list[tuple[str, str, int, str]]:
        return sorted((f.rule, f.file, f.line, f.message) for f in evaluate(result.catalogue, as_of).findings
                      if f.file != "services/calendars.yaml")

    assert findings(builtin) == findings(defined)


def test_a_defined_always_on_document_wins(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    result = load_catalogue(root, Settings(cache=False))
    document = result.catalogue.get("BusinessCalendar", "always-on")
    assert document is not None and document.file == "services/calendars.yaml"


def test_other_names_still_do_not_resolve(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    path = root / "services" / "calendars.yaml"
    path.write_text(path.read_text().replace("name: uk-business-hours", "name: uk-office-hours"))
    result = load_catalogue(root, Settings(cache=False))
    assert any(f.rule == "ref-unresolved" and "uk-business-hours" in f.message for f in result.findings)


