"""Calendars nobody should type: public holidays by country, and the built-in always-on calendar.

A BusinessCalendar's ``publicHolidays: {country: GB, subdivision: ENG}`` names a country and, where its
holidays differ by region, a subdivision, as the `holidays` package spells them. Its holidays are
closed days, merged with the calendar's own ``holidays`` list. They are worked out one year at a time,
for the years a computation touches and only then, and kept.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

# --- public holidays ----------------------------------------------------------------------------


def check_public_holidays(country: str, subdivision: str | None) -> tuple[str, str] | None:
    """None when the holidays package knows the country (and subdivision); else (field, message)."""
    import holidays
    from holidays.registry import EntityLoader

    # The codes from the package's registry: listing the supported countries with their subdivisions
    # would import every one of its 200 country modules, which took most of a one-file `validate`.
    supported = frozenset(EntityLoader.get_country_codes(include_aliases=True))
    if country not in supported:
        return "country", f"unknown country '{country}' for public holidays{_suggest_country(country, supported)}"
    if subdivision is None:
        return None
    entity = holidays.country_holidays(country, years=[])
    aliases = dict(getattr(entity, "subdivisions_aliases", {}) or {})
    codes = [str(code) for code in getattr(entity, "subdivisions", ())]
    if subdivision in codes or subdivision in aliases:
        return None
    if not codes:
        return "subdivision", f"country '{country}' has no subdivisions for public holidays; remove `subdivision`"
    close = _close(subdivision, [*codes, *aliases])
    hint = (f"; did you mean '{aliases.get(close, close)}'?" if close
            else f"; {country}'s subdivisions are {', '.join(codes[:30])}{', ...' if len(codes) > 30 else ''}")
    return "subdivision", f"unknown subdivision '{subdivision}' of {country} for public holidays{hint}"


def public_holiday_dates(country: str, subdivision: str | None, years: Iterable[int]) -> set[date]:
    """The public holidays of the given years."""
    found: set[date] = set()
    for year in years:
        found |= _year(country, subdivision, year)
    return found


def closures(calendar: Any, first: date, last: date) -> set[date]:
    """Local dates on which a calendar is closed: its own holidays and its public holidays, from first to last."""
    own = {h.date if isinstance(h.date, date) else date.fromisoformat(h.date) for h in calendar.holidays}
    public = getattr(calendar, "public_holidays", None)
    if public is None:
        return own
    return own | public_holiday_dates(public.country, public.subdivision, range(first.year, last.year + 1))


def has_closures(calendar: Any) -> bool:
    """Whether a calendar has any closed days (own holidays or public holidays)."""
    return bool(calendar.holidays) or getattr(calendar, "public_holidays", None) is not None


@lru_cache(maxsize=1024)
def _year(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays

    if not 1 <= year <= 9999:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _suggest_country(country: str, supported: Iterable[str]) -> str:
    codes = list(supported)
    names = _country_names()
    close = _close(country, [*codes, *names])
    if close is None:
        return "; use an ISO 3166-1 alpha-2 code such as GB, US or DE"
    return f"; did you mean '{names.get(close, close)}'?"


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Country names (as the holidays package knows them, "United Kingdom") to their codes."""
    try:
        from holidays.registry import COUNTRIES
    except ImportError:  # a holidays release without its registry: suggest codes only
        return {}
    names: dict[str, str] = {}
    for module, (class_name, code, *_rest) in COUNTRIES.items():
        names[module.replace("_", " ").title()] = code
        names[class_name] = code
    return names


def _close(word: str, choices: list[str]) -> str | None:
    by_lower = {c.lower(): c for c in choices}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None
