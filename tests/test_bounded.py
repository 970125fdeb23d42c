"""Work bounded by the input: however many errors a document has, however dense a recurrence rule,
whatever the as-of date, whatever pattern or number a document holds, the answer comes within seconds,
located, with the documented exit code."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from conftest import copy_example, run_cli, within_cpu

from svcascode.catalogue import validate_file
from svcascode.finding import Finding
from svcascode.config import Limits
from svcascode.loading.yamlfile import parse_text

UTC = timezone.utc


def _validate(text: str, path: str = "big.yaml", within: float | None = None) -> tuple[int, list[Finding]]:
    """Documents that passed, and the findings of one file's text; validated within `within` seconds of CPU."""
    parsed = parse_text(path, text.encode(), Limits())
    validated = within_cpu(within, lambda: validate_file(parsed)) if within is not None else validate_file(parsed)
    return len(validated.documents), validated.problems


def _messages(findings: list[Finding]) -> list[str]:
    return [f"{f.line}:{f.column} {f.message}" for f in findings]


# --- validation linear in its errors -------------------------------------------------------------


def test_ten_thousand_errors_validate_in_linear_time() -> None:
    lines = ["apiVersion: svcascode.io/v1alpha1", "kind: Service", "metadata:", "  name: big", "  tags:"]
    lines += [f"    - {i}" for i in range(10_000)]
    lines += ["spec:", "  type: business", "  dependencies:"]
    lines += [f"    - {{service: x{i}, criticality: yes}}" for i in range(10_000)]
    documents, findings = _validate("\n".join(lines) + "\n", within=5)  # 409 s when each error re-validated
    assert documents == 0
    messages = _messages(findings)
    assert '6:7 metadata.tags[0]: 0 was read as the number 0; quote it: "0"' in messages
    assert len(findings) <= 101
    last = [m for m in messages if "more problem" in m]
    assert last and last[0].startswith("1:1 document: ... and ")


def test_quoting_advice_still_says_what_stays_wrong() -> None:
    text = ("apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: business\n"
            "  dependencies:\n    - {service: a, criticality: yes}\n")
    _, findings = _validate(text)
    assert any("'yes' is not one of: hard, soft (YAML read yes as the boolean true)" in m for m in _messages(findings))


# --- Framework idFormat on RE2 ---------------------------------------------------------------------

FRAMEWORK = """apiVersion: svcascode.io/v1alpha1
kind: Framework
metadata: {{name: hostile}}
spec:
  idFormat: '{pattern}'
  controls:
    - {{id: "{id}"}}
"""


def test_a_backtracking_id_format_is_matched_in_linear_time() -> None:
    _, findings = _validate(FRAMEWORK.format(pattern="^(a+)+$", id="a" * 60 + "!"), within=5)
    assert _messages(findings) == [f"6:3 spec.controls: control ids not matching idFormat: {'a' * 60}!"]


def test_an_id_format_re2_cannot_run_is_located() -> None:
    _, findings = _validate(FRAMEWORK.format(pattern=r"^(a)\1$", id="aa"))
    [finding] = findings
    assert (finding.line, finding.rule, finding.path) == (5, "schema-invalid", ("spec", "idFormat"))
    assert "backreferences" in finding.message


# --- numbers too large to work with ----------------------------------------------------------------


def test_numbers_too_large_to_convert_are_located_findings() -> None:
    text = f"""apiVersion: svcascode.io/v1alpha1
kind: Baseline
metadata: {{name: b}}
spec:
  appliesTo: {{tiers: [tier-1]}}
  parameters:
    min_availability_percent: .inf
    oncall_min_people: {"9" * 30}
    max_planned_budget_share: 1.0e+999
    p1_response_max: {"9" * 5000}ms
    dr_test_max_age: 99999999999999999999999y
    restore_test_max_age: 1001y
"""
    documents, findings = _validate(text)
    assert documents == 0
    by_line = {f.line: f.message for f in findings}
    assert sorted(by_line) == [7, 8, 9, 10, 11, 12]
    assert "less than or equal to 100" in by_line[7]
    assert "is more than 1,000,000,000, the largest count" in by_line[8]
    assert "(5002 characters) is longer than 1000y" in by_line[10]
    assert by_line[12].endswith("1001y is longer than 1000y, the longest duration svcascode works with")
    assert all(len(m) < 300 for m in by_line.values())


# --- team parent cycles ----------------------------------------------------------------------------

TEAM = """apiVersion: svcascode.io/v1alpha1
kind: Team
metadata: {{name: {name}}}
spec:
  type: team
  parent: {parent}
  members: [{{id: lead@example.com, role: lead}}]
"""


def test_team_parent_cycles_are_reported_whole_at_the_parent(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    teams = [TEAM.format(name="loop-a", parent="loop-b"), TEAM.format(name="loop-b", parent="loop-a"),
             TEAM.format(name="loop-self", parent="loop-self")]
    # a long chain of 3,000 teams ending in a cycle: each team is followed once
    teams += [TEAM.format(name=f"chain-{i}", parent=f"chain-{i + 1}") for i in range(3000)]
    teams.append(TEAM.format(name="chain-3000", parent="chain-2999"))
    (root / "services/teams/loops.yaml").write_text("---\n".join(teams))
    result = run_cli("validate", cwd=root)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if "team parent cycle" in line]
    assert lines == [
        "services/teams/loops.yaml:14:3: Team/loop-b: team parent cycle: Team/loop-a -> Team/loop-b -> Team/loop-a; "
        "change or remove `parent` of one of these teams so that the chain ends",
        "services/teams/loops.yaml:22:3: Team/loop-self: team parent cycle: Team/loop-self -> Team/loop-self; "
        "change or remove `parent` of one of these teams so that the chain ends",
        "services/teams/loops.yaml:24030:3: Team/chain-3000: team parent cycle: Team/chain-2999 -> Team/chain-3000 "
        "-> Team/chain-2999; change or remove `parent` of one of these teams so that the chain ends",
    ]


# --- recurrence budget -----------------------------------------------------------------------------

DENSE_WINDOW = """apiVersion: svcascode.io/v1alpha1
kind: MaintenanceWindow
metadata: {{name: dense}}
spec:
  services: [claims-api]
  type: standard
  schedule: {{rrule: "{rule}", start: "00:30", duration: 1m, timezone: Europe/London}}
  expectedImpact: full-outage
  excludedFromSla: false
"""


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=90"])
def test_a_rule_denser_than_the_budget_is_schema_invalid(rule: str) -> None:
    _, findings = _validate(DENSE_WINDOW.format(rule=rule), within=2)
    assert [(f.rule, f.line, f.path) for f in findings] == [("schema-invalid", 7, ("spec", "schedule", "rrule"))]
    assert "occurs more than 2,000 times a year" in findings[0].message


def test_a_rule_within_the_budget_is_valid() -> None:
    documents, findings = _validate(DENSE_WINDOW.format(rule="FREQ=DAILY;BYHOUR=0,8,16"))
    assert (documents, findings) == (1, [])


@pytest.mark.parametrize("args", [["check"], ["render", "catalogue", "--out", "out/site"]])
def test_a_secondly_window_does_not_hang_check_or_render(tmp_path: Path, args: list[str]) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / "services/maintenance/dense.yaml").write_text(DENSE_WINDOW.format(rule="FREQ=SECONDLY"))
    # unbounded, it never finished in 30 s and grew past 500 MB
    result = within_cpu(30, lambda: run_cli(*args, "--as-of", "2026-11-27", cwd=root))
    assert result.returncode == (1 if args == ["check"] else 0), result.stderr
    if args == ["check"]:
        assert "services/maintenance/dense.yaml:7:14: MaintenanceWindow/dense: [critical/block] schema-invalid: " \
               "spec.schedule.rrule: occurs more than 2,000 times a year" in result.stdout


def test_an_expansion_yields_at_most_the_budget() -> None:
    from types import SimpleNamespace

    from svcascode.calendars import MAX_OCCURRENCES, UTC, window_intervals

    schedule = SimpleNamespace(rrule="FREQ=MINUTELY", start="00:00", duration="1m", timezone="UTC")
    found = within_cpu(5, lambda: window_intervals(SimpleNamespace(schedule=schedule, window=None),
                                                   datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)))
    assert 0 < len(found) <= MAX_OCCURRENCES


# --- every as-of date ------------------------------------------------------------------------------

AS_OF_COMMANDS = [
    ["check"], ["diff", "HEAD"], ["render", "catalogue", "--out", "out/site"], ["forecast", "--days", "30"],
    ["render", "report", "--out", "out/report", "--history-commits", "0"],
    ["generate", "prometheus", "--out", "out/prom"], ["generate", "alertmanager", "--out", "out/am"],
    ["export", "backstage", "--out", "out/backstage"],
    ["sla", "clocks"], ["sla", "attainment", "--period", "2026-11"], ["sla", "review", "--period", "2026-11"],
]


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess

    root = copy_example(tmp_path_factory.mktemp("edges") / "catalogue")
    for command in (["init", "-q"], ["add", "services", "policies"],
                    ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "catalogue"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("args", AS_OF_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_works_at_the_edges_of_the_calendar(committed: Path, args: list[str], as_of: str) -> None:
    result = run_cli(*args, "--as-of", as_of, cwd=committed)
    assert result.returncode in (0, 1), result.stderr
    assert "internal error" not in result.stderr
    assert "check-error" not in result.stdout  # a check that crashed on the date


def test_calendar_computations_clamp_at_the_edges() -> None:
    from svcascode.calendars import EARLIEST, LATEST, horizon, sla_periods

    assert horizon(date(1, 1, 1), 12, "Asia/Tokyo").start == EARLIEST
    assert horizon(date(9999, 12, 31), 12, "America/New_York") == (LATEST, LATEST)
    assert horizon(date(2026, 1, 1), 10**9).end == datetime(2036, 1, 1, tzinfo=UTC)  # at most 120 months
    [last] = sla_periods("quarter", None, "Pacific/Kiritimati", date(9999, 12, 31))
    assert (last.label, last.start, last.end) == ("9999-Q4", LATEST, LATEST)
    rolling = sla_periods(None, "30d", "UTC", date(9999, 12, 31))
    assert len(rolling) == 1 and rolling[0].start == LATEST
    assert sla_periods("month", None, "UTC", date(1, 1, 1))[0].start == EARLIEST
