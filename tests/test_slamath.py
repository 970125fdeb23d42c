"""The worked numbers of the SLA reference, asserted against svcascode.slamath."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from svcascode import slamath

DAY = slamath.MINUTES_PER_DAY
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


def test_february_2026_has_28_days() -> None:
    assert slamath.calendar_month_minutes(2026, 2) == 28 * DAY
    assert float(slamath.allowed_downtime_minutes_in_month(99.9, 2026, 2)) == pytest.approx(40.32)
    assert float(slamath.allowed_downtime_minutes_in_month(99.9, 2026, 1, "UTC")) == pytest.approx(44.64)


def test_leap_february_and_december() -> None:
    assert slamath.calendar_month_minutes(2028, 2) == 29 * DAY
    assert slamath.calendar_month_minutes(2026, 12) == 31 * DAY


def test_month_length_follows_daylight_saving_in_its_time_zone() -> None:
    # Europe/London springs forward on 29 March 2026 and falls back on 25 October 2026.
    assert slamath.calendar_month_minutes(2026, 3, "Europe/London") == 31 * DAY - 60
    assert slamath.calendar_month_minutes(2026, 10, "Europe/London") == 31 * DAY + 60
    assert float(slamath.allowed_downtime_minutes_in_month(99.9, 2026, 3, "Europe/London")) == pytest.approx(44.58)


def test_calendar_quarter() -> None:
    assert slamath.calendar_quarter_minutes(2026, 1) == 90 * DAY
    assert slamath.calendar_quarter_minutes(2026, 4) == 92 * DAY
    with pytest.raises(ValueError):
        slamath.calendar_quarter_minutes(2026, 5)


def test_serial_composition() -> None:
    chain = [0.9995, 0.999, 0.9999]
    assert float(slamath.fraction_to_percent(slamath.serial_availability(chain))) == pytest.approx(99.8401, abs=5e-5)
    assert float(slamath.serial_availability_worst_case(chain)) * 100 == pytest.approx(99.84)


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


def test_two_of_three_quorum() -> None:
    assert float(slamath.k_of_n_availability(0.999, 2, 3)) * 100 == pytest.approx(99.9997, abs=5e-5)


def test_extra_nine() -> None:
    assert slamath.extra_nine_threshold(0.9995) == Fraction(99995, 100000)
    assert float(slamath.fraction_to_percent(slamath.extra_nine_threshold(0.9995))) == pytest.approx(99.995)


def test_extra_nine_is_judged_per_redundancy_group() -> None:
    target = slamath.percent_to_fraction(99.99)
    replicated = [(0.999, "db"), (0.999, "db")]
    assert slamath.units_below_extra_nine(target, replicated) == []
    single = slamath.units_below_extra_nine(target, [(0.999, None)])
    assert [unit.availability for unit in single] == [Fraction(999, 1000)]


@pytest.mark.parametrize(
    ("burn", "alert_window", "expected"),
    [(14.4, 60, 0.02), (6, 360, 0.05), (1, 3 * DAY, 0.10)],
    ids=["14.4x for 1h", "6x for 6h", "1x for 3d"],
)
def test_budget_consumed_by_burn(burn: float, alert_window: int, expected: float) -> None:
    assert float(slamath.budget_consumed(burn, alert_window, 30 * DAY)) == pytest.approx(expected)


def test_burn_rate() -> None:
    assert slamath.burn_rate(0.0144, 0.999) == Fraction(144, 10)
    assert slamath.burn_rate(0.001, 0.999) == 1
    with pytest.raises(ValueError):
        slamath.burn_rate(0.1, 1)


def test_error_budget_in_requests() -> None:
    assert slamath.error_budget_requests(0.999, 10_000_000) == 10_000


def test_budget_over_business_hours_only() -> None:
    business_minutes = 22 * 10 * 60
    assert float(slamath.allowed_downtime_minutes(99.9, business_minutes)) == pytest.approx(13.2)


def test_monthly_outage_window_exceeds_budget() -> None:
    budget = slamath.allowed_downtime_minutes(99.95, 30 * DAY)
    assert float(budget) == pytest.approx(21.6)
    assert 120 > budget


def test_availability_from_mtbf() -> None:
    assert float(slamath.availability_from_mtbf(720, 1)) * 100 == pytest.approx(99.8613, abs=5e-5)


def test_achieved_availability() -> None:
    assert slamath.achieved_availability(Fraction(216, 5), 30 * DAY) == Fraction(999, 1000)


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
