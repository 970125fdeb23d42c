"""The worked numbers of the SLA reference, asserted against svcascode.slamath."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from svcascode import slamath

DAY = 24 * 60  # minutes
WINDOWS = {
    "30d": 30 * DAY,
    "average month": Fraction(36525, 100) / 12 * DAY,
    "quarter of 90d": 90 * DAY,
    "year of 365d": 365 * DAY,
}
# Allowed downtime in minutes, as printed by the reference table.
DOWNTIME_TABLE = {
    99.0: (432.00, 438.30, 1296.00, 5256.00),
    99.5: (216.00, 219.15, 648.00, 2628.00),
    99.9: (43.20, 43.83, 129.60, 525.60),
    99.95: (21.60, 21.91, 64.80, 262.80),
    99.99: (4.32, 4.38, 12.96, 52.56),
    99.999: (0.43, 0.44, 1.30, 5.26),
}


@pytest.mark.parametrize("target", sorted(DOWNTIME_TABLE))
def test_allowed_downtime_table(target: float) -> None:
    for window, expected in zip(WINDOWS.values(), DOWNTIME_TABLE[target]):
        assert float(slamath.allowed_downtime_minutes(target, window)) == pytest.approx(expected, abs=0.005)


def test_allowed_downtime_is_exact() -> None:
    assert slamath.allowed_downtime_minutes(99.9, 30 * DAY) == Fraction(216, 5)  # 43.2 min
    assert slamath.allowed_downtime_minutes(99.95, 30 * DAY) == Fraction(108, 5)  # 21.6 min


def test_serial_composition() -> None:
    chain = [0.9995, 0.999, 0.9999]
    assert float(slamath.serial_availability(chain)) * 100 == pytest.approx(99.8401, abs=5e-5)


def test_two_hard_dependencies_cap_a_stricter_target() -> None:
    ceiling = slamath.serial_availability([0.999, 0.999])
    assert float(ceiling) * 100 == pytest.approx(99.8001)
    assert ceiling < slamath.percent_to_fraction(99.99)


def test_parallel_replicas() -> None:
    assert float(slamath.parallel_availability([0.999, 0.999])) * 100 == pytest.approx(99.9999)


def test_replicas_behind_a_load_balancer() -> None:
    ceiling = slamath.composite_availability([(0.9999, None), (0.999, "web"), (0.999, "web")])
    assert float(ceiling) * 100 == pytest.approx(99.98990001)
    assert round(float(ceiling) * 100, 4) == pytest.approx(99.9899)


def test_composite_with_no_dependencies_is_unbounded() -> None:
    assert slamath.composite_availability([]) == 1


def test_dependency_units_keep_order_and_group() -> None:
    units = slamath.dependency_units([(0.999, "pg"), (0.9999, None), (0.999, "pg")])
    assert [unit.group for unit in units] == ["pg", None]
    assert units[0].members == (Fraction(999, 1000), Fraction(999, 1000))
    assert units[0].availability == Fraction(999999, 1000000)


def test_budget_over_business_hours_only() -> None:
    business_minutes = 22 * 10 * 60
    assert float(slamath.allowed_downtime_minutes(99.9, business_minutes)) == pytest.approx(13.2)


def test_monthly_outage_window_exceeds_budget() -> None:
    budget = slamath.allowed_downtime_minutes(99.95, 30 * DAY)
    assert float(budget) == pytest.approx(21.6)
    assert 120 > budget


def test_floats_are_read_as_their_decimal_literal() -> None:
    assert slamath.to_fraction(99.9) == Fraction(999, 10)
    assert slamath.percent_to_fraction(99.95) == Fraction(9995, 10000)
    assert slamath.duration_minutes(timedelta(hours=1, seconds=30)) == Fraction(121, 2)


def test_a_ceiling_equal_to_the_target_is_exactly_equal() -> None:
    # 0.999 * 0.999 in floats is 0.998001 only approximately; the check must not flip on rounding.
    ceiling = slamath.composite_availability([(0.999, None), (0.999, None)])
    assert ceiling == slamath.percent_to_fraction(99.8001)


@pytest.mark.parametrize("bad", [99.9, -0.1, 1.5])
def test_out_of_range_availability_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        slamath.serial_availability([bad])


def test_percent_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        slamath.allowed_downtime_minutes(100.5, 60)
