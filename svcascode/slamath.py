"""Availability, error budgets and composite availability.

Every result that a control compares with a target is a :class:`~fractions.Fraction`.
Floats would make boundary cases flip: ``0.999 * 0.999`` is not exactly the
product of two 99.9 % commitments, and a ceiling that equals the target to the
last digit must pass, not fail on a rounding error. Inputs may be ints, floats,
Decimals or Fractions; floats are read through their shortest decimal form, so
``99.9`` from YAML means exactly 999/10 and not the nearest binary double.

Conventions: a parameter named ``*_percent`` is a percentage in [0, 100]; any
other availability or target is a fraction in [0, 1]. Windows and durations
are minutes unless the name says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import comb, prod
from typing import NamedTuple, Union
from zoneinfo import ZoneInfo

Number = Union[int, float, Decimal, Fraction]

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_HOUR = 60


def to_fraction(value: Number) -> Fraction:
    """Return ``value`` as an exact fraction.

    A float is converted through ``repr`` because the number in the YAML was a
    decimal literal; ``Fraction(0.1)`` would carry the binary rounding error
    into every comparison with a target.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number here")
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


@lru_cache(maxsize=4096)  # a catalogue uses few distinct targets, each converted for every level
def percent_to_fraction(percent: Number) -> Fraction:
    """Convert a percentage (``99.95``) to an availability fraction (``0.9995``)."""
    return _checked_fraction(to_fraction(percent) / 100, "percent")


def fraction_to_percent(availability: Number) -> Fraction:
    """Convert an availability fraction to a percentage, exactly."""
    return _checked_fraction(to_fraction(availability), "availability") * 100


def duration_minutes(duration: timedelta) -> Fraction:
    """Length of a duration in minutes, exact to the microsecond."""
    microseconds = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Fraction(microseconds, 60_000_000)


# --- error budgets -------------------------------------------------------------


def allowed_downtime_minutes(target_percent: Number, window_minutes: Number) -> Fraction:
    """Error budget of a window in minutes: ``(1 - target) x window``.

    This is the number an SLA owner can spend on incidents and on maintenance
    that the SLA does not exclude; 99.9 % over 30 days is 43.2 minutes.
    """
    window = to_fraction(window_minutes)
    if window < 0:
        raise ValueError(f"window length must not be negative, got {window_minutes}")
    return (1 - percent_to_fraction(target_percent)) * window


def calendar_period_minutes(start: date, end: date, tz: str | ZoneInfo = "UTC") -> Fraction:
    """Elapsed minutes from local midnight of ``start`` to local midnight of ``end``.

    A calendar SLA window is measured in the SLA's time zone, so its real length
    is what a clock on the wall would show elapsing: a month with a daylight
    saving change is one hour shorter or longer than its days x 24 h.
    """
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    begin_utc = datetime.combine(start, time(0), tzinfo=zone).astimezone(timezone.utc)
    end_utc = datetime.combine(end, time(0), tzinfo=zone).astimezone(timezone.utc)
    return duration_minutes(end_utc - begin_utc)


def calendar_month_minutes(year: int, month: int, tz: str | ZoneInfo = "UTC") -> Fraction:
    """Real length in minutes of a calendar month in a time zone (February 2026: 28 days)."""
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return calendar_period_minutes(start, end, tz)


def calendar_quarter_minutes(year: int, quarter: int, tz: str | ZoneInfo = "UTC") -> Fraction:
    """Real length in minutes of a calendar quarter (1-4) in a time zone."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return calendar_period_minutes(start, end, tz)


def allowed_downtime_minutes_in_month(
    target_percent: Number, year: int, month: int, tz: str | ZoneInfo = "UTC"
) -> Fraction:
    """Error budget of one calendar month, using the real length of that month.

    Contracts measured per calendar month owe less downtime in February than in
    March; a flat 30-day month would overstate February's budget by 7 %.
    """
    return allowed_downtime_minutes(target_percent, calendar_month_minutes(year, month, tz))


def error_budget_requests(target: Number, total_requests: int) -> Fraction:
    """Failed requests a request-based SLO tolerates: ``(1 - target) x total``.

    Returned exactly; a caller that needs a whole number of requests should
    round down, since the budget is a ceiling.
    """
    if total_requests < 0:
        raise ValueError(f"request count must not be negative, got {total_requests}")
    return (1 - _availability(target)) * total_requests


def achieved_availability(downtime_minutes: Number, window_minutes: Number) -> Fraction:
    """Availability actually delivered over a window with the given downtime."""
    window = to_fraction(window_minutes)
    downtime = to_fraction(downtime_minutes)
    if window <= 0:
        raise ValueError(f"window length must be positive, got {window_minutes}")
    if not 0 <= downtime <= window:
        raise ValueError(f"downtime {downtime_minutes} is outside the window of {window_minutes}")
    return 1 - downtime / window


# --- composition ---------------------------------------------------------------


def serial_availability(availabilities: Iterable[Number]) -> Fraction:
    """Availability of a chain whose every element must be up: the product.

    Assumes independent failures, the usual planning assumption; an empty chain
    depends on nothing and is always available.
    """
    return prod((_availability(a) for a in availabilities), start=Fraction(1))


def serial_availability_worst_case(availabilities: Iterable[Number]) -> Fraction:
    """Lower bound for a chain when failures never overlap: ``1 - sum(1 - a)``."""
    unavailability = sum((1 - _availability(a) for a in availabilities), start=Fraction(0))
    return max(Fraction(0), 1 - unavailability)


def parallel_availability(availabilities: Iterable[Number]) -> Fraction:
    """Availability of redundant replicas of which any one suffices: ``1 - prod(1 - a)``."""
    values = [_availability(a) for a in availabilities]
    if not values:
        raise ValueError("a redundancy group needs at least one member")
    return 1 - prod((1 - a for a in values), start=Fraction(1))


def k_of_n_availability(availability: Number, k: int, n: int) -> Fraction:
    """Probability that at least ``k`` of ``n`` identical independent replicas are up (quorums)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    a = _availability(availability)
    return sum((comb(n, i) * a**i * (1 - a) ** (n - i) for i in range(k, n + 1)), start=Fraction(0))


class DependencyUnit(NamedTuple):
    """One factor of a composite availability: a single hard dependency or a redundancy group."""

    group: str | None
    members: tuple[Fraction, ...]
    availability: Fraction


def dependency_units(dependencies: Iterable[tuple[Number, str | None]]) -> list[DependencyUnit]:
    """Collapse hard dependencies into the units that multiply together.

    Dependencies sharing a redundancy group name form one unit whose
    availability is the parallel composition of its members; a dependency
    without a group is a unit of its own. Units keep the order in which each
    first appears so that findings list them as the author wrote them.
    """
    groups: dict[str, list[Fraction]] = {}
    order: list[str | int] = []
    singles: list[Fraction] = []
    for availability, group in dependencies:
        value = _availability(availability)
        if group is None:
            order.append(len(singles))
            singles.append(value)
        else:
            if group not in groups:
                groups[group] = []
                order.append(group)
            groups[group].append(value)
    units: list[DependencyUnit] = []
    for key in order:
        if isinstance(key, int):
            units.append(DependencyUnit(None, (singles[key],), singles[key]))
        else:
            members = tuple(groups[key])
            units.append(DependencyUnit(key, members, parallel_availability(members)))
    return units


def composite_availability(dependencies: Iterable[tuple[Number, str | None]]) -> Fraction:
    """Ceiling that hard dependencies put on a service's availability.

    Input pairs are ``(availability, redundancy group or None)``. The result is
    the product over units (see :func:`dependency_units`); a service cannot
    honestly promise more than this, whatever its own engineering.
    """
    return serial_availability(unit.availability for unit in dependency_units(dependencies))


def extra_nine_threshold(target: Number) -> Fraction:
    """Availability each hard dependency should have for a service target ("one more nine").

    ``1 - (1 - target) / 10``: a dependency that spends a tenth of the service's
    error budget leaves the rest to the service itself. 99.95 % gives 99.995 %.
    """
    return 1 - (1 - _availability(target)) / 10


def units_below_extra_nine(
    target: Number, dependencies: Iterable[tuple[Number, str | None]]
) -> list[DependencyUnit]:
    """Units that miss the extra-nine threshold, judged per unit.

    A redundancy group is judged as a whole: two 99.9 % replicas (99.9999 %)
    satisfy a 99.99 % service although each replica alone would not.
    """
    threshold = extra_nine_threshold(target)
    return [unit for unit in dependency_units(dependencies) if unit.availability < threshold]


# --- burn rate -----------------------------------------------------------------


def burn_rate(error_ratio: Number, target: Number) -> Fraction:
    """How fast the error budget is spent: observed error ratio / allowed error ratio.

    A burn rate of 1 spends exactly the whole budget over the SLO window.
    """
    allowed = 1 - _availability(target)
    if allowed == 0:
        raise ValueError("a 100 % target has no error budget to burn")
    return to_fraction(error_ratio) / allowed


def budget_consumed(burn: Number, alert_window_minutes: Number, slo_window_minutes: Number) -> Fraction:
    """Share of the whole window's budget spent by burning at ``burn`` for ``alert_window``.

    This is how burn-rate alert thresholds are chosen: 14.4x for one hour of a
    30-day window spends 2 % of the budget.
    """
    slo_window = to_fraction(slo_window_minutes)
    if slo_window <= 0:
        raise ValueError(f"SLO window must be positive, got {slo_window_minutes}")
    return to_fraction(burn) * to_fraction(alert_window_minutes) / slo_window


def availability_from_mtbf(mtbf_hours: Number, mttr_hours: Number) -> Fraction:
    """Steady-state availability from mean time between failures and mean time to repair."""
    mtbf = to_fraction(mtbf_hours)
    mttr = to_fraction(mttr_hours)
    if mtbf <= 0 or mttr < 0:
        raise ValueError("MTBF must be positive and MTTR must not be negative")
    return mtbf / (mtbf + mttr)


def _availability(value: Number) -> Fraction:
    return _checked_fraction(to_fraction(value), "availability")


def _checked_fraction(value: Fraction, what: str) -> Fraction:
    """Reject values outside [0, 1]: a percent passed as a fraction is the usual mistake."""
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be between 0 and 1 as a fraction (0-100 as a percent), got {value}")
    return value
