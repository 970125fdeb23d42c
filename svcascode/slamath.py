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
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import prod
from typing import NamedTuple, Union

Number = Union[int, float, Decimal, Fraction]


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


# --- composition ---------------------------------------------------------------


def serial_availability(availabilities: Iterable[Number]) -> Fraction:
    """Availability of a chain whose every element must be up: the product.

    Assumes independent failures, the usual planning assumption; an empty chain
    depends on nothing and is always available.
    """
    return prod((_availability(a) for a in availabilities), start=Fraction(1))


def parallel_availability(availabilities: Iterable[Number]) -> Fraction:
    """Availability of redundant replicas of which any one suffices: ``1 - prod(1 - a)``."""
    values = [_availability(a) for a in availabilities]
    if not values:
        raise ValueError("a redundancy group needs at least one member")
    return 1 - prod((1 - a for a in values), start=Fraction(1))


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


# --- burn rate -----------------------------------------------------------------


def _availability(value: Number) -> Fraction:
    return _checked_fraction(to_fraction(value), "availability")


def _checked_fraction(value: Fraction, what: str) -> Fraction:
    """Reject values outside [0, 1]: a percent passed as a fraction is the usual mistake."""
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be between 0 and 1 as a fraction (0-100 as a percent), got {value}")
    return value
