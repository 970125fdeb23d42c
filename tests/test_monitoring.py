"""Monitoring from the catalogue, checked by the real tools: promtool (check rules, test rules with
synthetic series) and amtool (check-config); mute intervals compared minute by minute with the
occurrences svcascode.calendars computes; the OpenSLO export read back by svcascode."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest
import yaml

from svcascode.calendars import next_occurrences
from svcascode.catalogue import load_catalogue
from svcascode.config import Settings, load_settings
from svcascode.monitoring.promql import PromqlError, parse_query, parse_selector, quote

from conftest import copy_example, run_cli

AS_OF = "2026-11-27"
PROMTOOL, AMTOOL = shutil.which("promtool"), shutil.which("amtool")
_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed and could not be: "
                               "make test installs Debian's prometheus (apt-get install -y prometheus)")
_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed and could not be: make test "
                             "installs Debian's prometheus-alertmanager")


def needs_promtool(test: Callable[..., None]) -> Callable[..., None]:
    """A test run by the real promtool: a consumer test (run once per CI run), skipped without promtool."""
    return pytest.mark.consumer(_promtool(test))


def needs_amtool(test: Callable[..., None]) -> Callable[..., None]:
    """A test run by the real amtool: a consumer test (run once per CI run), skipped without amtool."""
    return pytest.mark.consumer(_amtool(test))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("monitoring") / "catalogue")
    for args in (("generate", "prometheus", "--out", "out/prometheus", "--as-of", AS_OF),
                 ("generate", "alertmanager", "--out", "out/alertmanager", "--as-of", AS_OF),
                 ("export", "openslo", "--out", "out/openslo")):
        result = run_cli(*args, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


# --- Prometheus -------------------------------------------------------------------------------------


@needs_promtool
def test_promtool_accepts_every_rule_file(generated: Path) -> None:
    files = sorted((generated / "out" / "prometheus").glob("*.rules.yaml"))
    assert len(files) >= 10
    result = _run(str(PROMTOOL), "check", "rules", *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_recording_rules_have_the_documented_names_and_labels(generated: Path) -> None:
    groups = yaml.safe_load((generated / "out" / "prometheus" / "claims-api.rules.yaml").read_text())["groups"]
    sli = next(g for g in groups if g["name"] == "slo-claims-api-availability-sli")
    records = [r["record"] for r in sli["rules"]]
    assert records == [f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")] + [
        "slo:objective:ratio", "slo:error_budget:ratio"]
    assert sli["rules"][0]["labels"] == {"service": "claims-api", "slo": "claims-api-availability",
                                         "team": "claims-engineering", "tier": "tier-1"}
    alerts = next(g for g in groups if g["name"] == "slo-claims-api-availability-alerts")["rules"]
    page = next(a for a in alerts if a["labels"]["severity"] == "page")
    assert ">= 0.00672 and" in page["expr"] and ">= 0.0028 and" in page["expr"]  # 13.44, 5.6 x (1 - 0.9995), 28 days
    assert page["annotations"]["runbook_url"] == "https://runbooks.example.com/claims/claims-api"
    assert page["annotations"]["service_page"] == "services/claims-api.html"
    assert "claims-api-sla: 99.9%" in page["annotations"]["sla"]
    assert "PCLM05T" in page["annotations"]["oncall"]


def _burn_test(rule_file: Path, bad_per_minute: float, healthy_minutes: int, burn_minutes: int,
               checks: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    good = 1000 - bad_per_minute
    return {
        "rule_files": [str(rule_file)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'http_requests_total{job="claims-api",code="200"}',
                 "values": f"0+1000x{healthy_minutes} {1000 * healthy_minutes + good}+{good}x{burn_minutes}"},
                {"series": 'http_requests_total{job="claims-api",code="500"}',
                 "values": f"0x{healthy_minutes} {bad_per_minute}+{bad_per_minute}x{burn_minutes}"},
            ],
            "alert_rule_test": [{"eval_time": f"{minute}m", "alertname": name, "exp_alerts": alerts}
                                for minute, alerts_by_name in checks for name, alerts in alerts_by_name],
        }],
    }


def _expected_page(rule_file: Path, value: str) -> dict[str, Any]:
    groups = yaml.safe_load(rule_file.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"]
                if r.get("alert") == "SLOErrorBudgetBurnPage" and r["labels"]["slo"] == "claims-api-availability")
    annotations = {k: v.replace("{{ $value | humanizePercentage }}", value) for k, v in rule["annotations"].items()}
    return {"exp_labels": rule["labels"], "exp_annotations": annotations}


@needs_promtool
def test_a_burn_at_14_4x_pages_within_the_hour(generated: Path, tmp_path: Path) -> None:
    rules = generated / "out" / "prometheus" / "claims-api.rules.yaml"
    healthy = 3 * 1440 + 60  # more than the longest (3d) window, so that only the new burn counts
    page = _expected_page(rules, "0.72%")
    checks = [
        (healthy + 30, [("SLOErrorBudgetBurnPage", []), ("SLOErrorBudgetBurnTicket", [])]),
        (healthy + 61, [("SLOErrorBudgetBurnPage", [page])]),
    ]
    test = tmp_path / "burn.test.yaml"
    test.write_text(yaml.safe_dump(_burn_test(rules, 14.4 * 0.0005 * 1000, healthy, 120, checks)))
    result = _run(str(PROMTOOL), "test", "rules", str(test))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_a_burn_at_half_the_budget_rate_fires_nothing(generated: Path, tmp_path: Path) -> None:
    rules = generated / "out" / "prometheus" / "claims-api.rules.yaml"
    minutes = 3 * 1440 + 120
    quiet = [("SLOErrorBudgetBurnPage", []), ("SLOErrorBudgetBurnTicket", [])]
    checks = [(m, quiet) for m in (10, 65, 6 * 60 + 5, 1440 + 5, 3 * 1440 + 5, minutes)]
    test = tmp_path / "slow.test.yaml"
    test.write_text(yaml.safe_dump(_burn_test(rules, 0.5 * 0.0005 * 1000, 0, minutes, checks)))
    result = _run(str(PROMTOOL), "test", "rules", str(test))
    assert result.returncode == 0, result.stdout + result.stderr


# --- Alertmanager -----------------------------------------------------------------------------------


@needs_amtool
def test_amtool_accepts_the_assembled_configuration(generated: Path) -> None:
    result = _run(str(AMTOOL), "check-config", str(generated / "out" / "alertmanager" / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_amtool
def test_maintenance_mutes_the_covered_services_alerts(generated: Path) -> None:
    config = generated / "out" / "alertmanager" / "alertmanager.yml"
    portal = _run(str(AMTOOL), "config", "routes", "test", "--config.file", str(config),
                  "team=digital-channels", "service=customer-portal", "severity=page")
    assert portal.stdout.strip() == "digital-channels-page", portal.stdout + portal.stderr
    routes = yaml.safe_load(config.read_text())["route"]["routes"]
    team = next(r for r in routes if r["matchers"] == ['team="digital-channels"'])
    muted = [r for r in team["routes"] if 'service="customer-portal"' in r["matchers"]]
    assert {tuple(r["mute_time_intervals"]) for r in muted} == {("maintenance-portal-tuesday-release",)}
    assert len(muted) == 2  # page and ticket
    fragment = yaml.safe_load((generated / "out" / "alertmanager" / "teams" / "digital-channels.yaml").read_text())
    assert fragment["route"] == team


def _muted(entries: list[dict[str, Any]], moment: datetime) -> bool:
    """Alertmanager's rule, written again independently: the instant in `location`, every field matching."""
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    for entry in entries:
        local = moment.astimezone(ZoneInfo(entry.get("location", "UTC")))
        last = ((local.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day

        def inside(value: int, ranges: list[str], size: int = 0) -> bool:
            for text in ranges:
                low, high = (int(p) for p in (text.split(":") * 2)[:2])
                low, high = (low + size + 1 if low < 0 else low), (high + size + 1 if high < 0 else high)
                if low <= value <= high:
                    return True
            return False

        if "weekdays" in entry and not any(
                names.index(w.split(":")[0]) <= local.weekday() <= names.index(w.split(":")[-1])
                for w in entry["weekdays"]):
            continue
        if "days_of_month" in entry and not inside(local.day, entry["days_of_month"], last):
            continue
        if "months" in entry and not inside(local.month, entry["months"]):
            continue
        if "years" in entry and not inside(local.year, entry["years"]):
            continue
        now = local.hour * 60 + local.minute
        if any(int(t["start_time"][:2]) * 60 + int(t["start_time"][3:]) <= now
               < int(t["end_time"][:2]) * 60 + int(t["end_time"][3:]) for t in entry["times"]):
            return True
    return False


def _assert_mutes_exactly(entries: list[dict[str, Any]], occurrences: list[Any]) -> None:
    assert occurrences
    for occurrence in occurrences:
        moment = occurrence.start - timedelta(hours=2)
        while moment < occurrence.end + timedelta(hours=2):
            inside = occurrence.start <= moment < occurrence.end
            assert _muted(entries, moment) == inside, (moment, occurrence)
            moment += timedelta(minutes=1)
    rng = random.Random(7)  # and nowhere else: random minutes over the horizon
    start = occurrences[0].start
    for _ in range(3000):
        moment = start + timedelta(minutes=rng.randrange(300 * 1440))
        inside = any(o.start <= moment < o.end for o in occurrences)
        assert _muted(entries, moment) == inside, moment


def _intervals(folder: Path) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load((folder / "time-intervals.yaml").read_text())
    return {t["name"]: t["time_intervals"] for t in data["time_intervals"]}


def test_each_mute_interval_covers_exactly_its_maintenance_occurrences(generated: Path) -> None:
    intervals = _intervals(generated / "out" / "alertmanager")
    catalogue = load_catalogue(generated, Settings(cache=False)).catalogue
    windows = catalogue.of_kind("MaintenanceWindow")
    assert {f"maintenance-{w.name}" for w in windows} == set(intervals)
    for window in windows:
        occurrences = next_occurrences(window.spec, date.fromisoformat(AS_OF), 400, months=10)
        _assert_mutes_exactly(intervals[f"maintenance-{window.name}"], occurrences)


EXTRA_WINDOWS = """\
apiVersion: svcascode.io/v1alpha1
kind: MaintenanceWindow
metadata: {name: wiki-last-sunday}
spec:
  services: [internal-wiki]
  type: standard
  schedule: {rrule: "FREQ=MONTHLY;BYDAY=-1SU", start: "07:00", duration: 2h, timezone: Europe/London}
  expectedImpact: full-outage
  excludedFromSla: false
---
apiVersion: svcascode.io/v1alpha1
kind: MaintenanceWindow
metadata: {name: wiki-last-workday}
spec:
  services: [internal-wiki]
  type: standard
  schedule: {rrule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", start: "18:00", duration: 90m, timezone: America/New_York}
  expectedImpact: full-outage
  excludedFromSla: false
---
apiVersion: svcascode.io/v1alpha1
kind: MaintenanceWindow
metadata: {name: wiki-sunday-night}
spec:
  services: [internal-wiki]
  type: standard
  schedule: {rrule: "FREQ=WEEKLY;BYDAY=SU", start: "00:30", duration: 3h, timezone: Europe/London}
  expectedImpact: full-outage
  excludedFromSla: false
"""


@needs_amtool
def test_recurrences_alertmanager_cannot_say_become_dated_intervals_with_a_note(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / "services" / "maintenance" / "extra.yaml").write_text(EXTRA_WINDOWS)
    result = run_cli("generate", "alertmanager", "--out", "out", "--as-of", AS_OF, cwd=root)
    assert result.returncode == 0, result.stderr
    # BYSETPOS has no Alertmanager form; 00:30 + 3h crosses the clock change on the last Sunday of March
    assert "note: wiki-last-workday: its recurrence rule has no Alertmanager form" in result.stderr
    assert "note: wiki-sunday-night: the rule-shaped interval would differ" in result.stderr
    assert "wiki-last-sunday" not in result.stderr  # weekday sunday + days_of_month -7:-1 says it exactly
    intervals = _intervals(root / "out")
    assert intervals["maintenance-wiki-last-sunday"][0]["days_of_month"] == ["-7:-1"]
    assert len(intervals["maintenance-wiki-last-workday"]) == 12 and "years" in intervals[
        "maintenance-wiki-last-workday"][0]
    catalogue = load_catalogue(root, Settings(cache=False)).catalogue
    for name in ("wiki-last-sunday", "wiki-last-workday", "wiki-sunday-night"):
        window = catalogue.get("MaintenanceWindow", name)
        assert window is not None
        _assert_mutes_exactly(intervals[f"maintenance-{name}"],
                              next_occurrences(window.spec, date.fromisoformat(AS_OF), 400, months=12))
    check = _run(str(AMTOOL), "check-config", str(root / "out" / "alertmanager.yml"))
    assert check.returncode == 0, check.stdout + check.stderr


# --- OpenSLO ----------------------------------------------------------------------------------------


def test_openslo_export_reads_back_with_the_same_objectives(generated: Path) -> None:
    folder = generated / "out" / "openslo"
    validated = run_cli("validate", cwd=folder)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    exported = load_catalogue(folder, load_settings(folder))
    assert not exported.findings
    original = load_catalogue(generated, Settings(cache=False)).catalogue
    named = {n for level in original.of_kind("ServiceLevel")
             for n in (level.spec.availability.slo, *(t.slo for t in level.spec.performance)) if n}
    back = {s.name: s for s in exported.catalogue.of_kind("SLO")}
    assert set(back) == named
    for name, slo in back.items():
        source = original.get("SLO", name)
        assert source is not None
        assert [o.target for o in slo.spec.objectives] == [o.target for o in source.spec.objectives]
        assert slo.data["spec"]["timeWindow"] == source.data["spec"]["timeWindow"]
        authored = source.data["spec"].get("alertPolicies")
        if authored:  # the author's own, kept as written
            assert slo.data["spec"]["alertPolicies"] == authored
        else:  # one generated per burn-rate condition, each exported with it
            policies = [p["alertPolicyRef"] for p in slo.data["spec"]["alertPolicies"]]
            assert policies and all(exported.catalogue.get("AlertPolicy", p) is not None for p in policies)
    assert exported.catalogue.get("openslo/Service", "claims-api") is not None


# --- refusals ---------------------------------------------------------------------------------------


def test_an_slo_weaker_than_its_sla_is_refused_with_its_place(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    slo = root / "services" / "slos" / "claims-api.yaml"
    slo.write_text(slo.read_text().replace("target: 0.9995", "target: 0.99", 1)
                   .replace("duration: 28d", "duration: 90d", 1))
    result = run_cli("generate", "prometheus", "--out", "out", "--as-of", AS_OF, cwd=root)
    assert result.returncode == 2
    assert ("services/slos/claims-api.yaml:31:7: SLO/claims-api-availability: objective target 99% is weaker "
            "than the 99.9% that SLA 'claims-api-sla' promises") in result.stderr
    assert "services/slos/claims-api.yaml:26:7: SLO/claims-api-availability: time window 90d is longer" \
        in result.stderr
    assert not (root / "out").exists() or not list((root / "out").iterdir())
    check = run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=root)
    assert "slo-matches-sla" in check.stdout


def test_the_example_catalogue_meets_its_promises(generated: Path) -> None:
    check = run_cli("check", "--as-of", AS_OF, cwd=generated)
    assert check.returncode == 1 and "slo-matches-sla" not in check.stdout


HOSTILE = [
    ('sum(rate(http_requests_total{job="claims-api"}[5m])) or vector(1)', "unexpected"),
    ('sum(rate(http_requests_total{job="claims-api"}[5m]))) # x', "unexpected"),
    ('http_requests_total{job="claims-api"}', None),
    ('{job=""}', "at least one matcher"),
    ('http_requests_total{job=~"(?=x)"}', "lookaround"),
    ('http_requests_total{job="a}', "unterminated"),
]


@pytest.mark.parametrize("query, problem", HOSTILE)
def test_queries_are_parsed_not_pasted(query: str, problem: str | None) -> None:
    if problem is None:
        assert parse_query(query).selector.text() == query
    else:
        with pytest.raises(PromqlError, match=problem):
            parse_query(query)


def test_label_values_are_quoted_for_promql() -> None:
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    selector = parse_selector('m{job="a\\"b",path=`c\\d`}')
    assert selector.text() == 'm{job="a\\"b",path="c\\\\d"}'


@needs_promtool
def test_hostile_text_reaches_rules_as_text(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    slo = root / "services" / "slos" / "claims-api.yaml"
    text = slo.read_text().replace(
        "displayName: Claims API availability",
        "displayName: \"{{ .Evil }} ' \\\" }} ]] \\n- alert: x\"", 1).replace(
        '{job="claims-api",code!~"5.."}', '{job="claims-api",code!~"5..",path=`a"b\\n}`}', 1)
    slo.write_text(text)
    result = run_cli("generate", "prometheus", "--out", "out", "--as-of", AS_OF, cwd=root)
    assert result.returncode == 0, result.stderr
    rules = root / "out" / "claims-api.rules.yaml"
    check = _run(str(PROMTOOL), "check", "rules", str(rules))
    assert check.returncode == 0, check.stdout + check.stderr
    groups = yaml.safe_load(rules.read_text())["groups"]
    assert 'path="a\\"b\\\\n}"' in groups[0]["rules"][0]["expr"]
    page = groups[1]["rules"][0]
    assert '{{ "{{" }} .Evil }}' in page["annotations"]["description"]


def test_a_query_that_is_not_a_selector_is_refused_with_its_place(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    slo = root / "services" / "slos" / "claims-api.yaml"
    slo.write_text(slo.read_text().replace(
        "'sum(rate(http_requests_total{job=\"claims-api\"}[5m]))'",
        "'sum(rate(http_requests_total{job=\"claims-api\"}[5m])) or vector(1)'", 1))
    result = run_cli("generate", "prometheus", "--out", "out", "--as-of", AS_OF, cwd=root)
    assert result.returncode == 2
    assert "services/slos/claims-api.yaml:24:15: SLO/claims-api-availability: not a valid SLI query" in result.stderr


def test_output_stays_inside_out_and_out_of_the_catalogue(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    inside = run_cli("generate", "prometheus", "--out", "services/generated", "--as-of", AS_OF, cwd=root)
    assert inside.returncode == 2 and "catalogue folder services/" in inside.stderr
    (root / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "out" / "claims-api.rules.yaml").symlink_to(tmp_path / "elsewhere" / "victim.yaml")
    linked = run_cli("generate", "prometheus", "--out", "out", "--as-of", AS_OF, cwd=root)
    assert linked.returncode == 2 and "is a link" in linked.stderr
    assert not (tmp_path / "elsewhere" / "victim.yaml").exists()


def test_burn_rate_overrides_per_tier(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    result = run_cli("generate", "prometheus", "--out", "out", "--as-of", AS_OF, "--burn-rate", "tier-1:page-fast=10",
                     "--burn-rate", "all:ticket-slow=off", cwd=root)
    assert result.returncode == 0, result.stderr
    groups = yaml.safe_load((root / "out" / "claims-api.rules.yaml").read_text())["groups"]
    alerts = {a["labels"]["severity"]: a["expr"] for a in groups[1]["rules"]}
    assert ">= 0.005 and" in alerts["page"]  # 10 x 0.0005
    assert "ratio_rate3d" not in alerts["ticket"]
    bad = run_cli("generate", "prometheus", "--out", "out", "--burn-rate", "tier-9:page=1", cwd=root)
    assert bad.returncode == 2 and "TIER:CONDITION=FACTOR" in bad.stderr


def _alert_thresholds(rules_file: Path) -> dict[str, list[str]]:
    """severity -> the thresholds its alert compares the long and short windows with, in order."""
    import re

    groups = yaml.safe_load(rules_file.read_text())["groups"]
    alerts = next(g for g in groups if g["name"].endswith("-alerts"))["rules"]
    return {a["labels"]["severity"]: re.findall(r">= ([0-9.e-]+) and", a["expr"]) for a in alerts}


def test_burn_rate_factors_are_scaled_to_the_window_of_the_slo(tmp_path: Path) -> None:
    """The workbook's factors are for a 30-day budget: spending 2 % of it in 1 h is a burn of 0.02 x 720 h /
    1 h = 14.4, then 0.05 x 720 / 6 = 6, 0.1 x 720 / 24 = 3 and 0.1 x 720 / 72 = 1. Over claims-api's 28-day
    window the same shares are 0.02 x 672 = 13.44, 0.05 x 672 / 6 = 5.6, 0.1 x 672 / 24 = 2.8 and
    0.1 x 672 / 72 = 0.93 (to the hundredth), as Sloth generates for a 28-day SLO; with its budget 0.0005 the
    thresholds are 0.00672, 0.0028, 0.0014 and 0.000465. The same SLO over 30 days keeps 14.4, 6, 3 and 1."""
    root = copy_example(tmp_path / "catalogue")
    result = run_cli("generate", "prometheus", "--out", "out28", "--as-of", AS_OF, cwd=root)
    assert result.returncode == 0, result.stderr
    assert _alert_thresholds(root / "out28" / "claims-api.rules.yaml") == {
        "page": ["0.00672", "0.0028"], "ticket": ["0.0014", "0.000465"]}
    exported = run_cli("export", "openslo", "--out", "openslo", cwd=root)
    assert exported.returncode == 0, exported.stderr
    # the latency SLO (28 days too) has no alert policies of its author's: the export writes the burn-rate ones
    policies = [d for d in yaml.safe_load_all((root / "openslo" / "claims-api.yaml").read_text())
                if d and d.get("kind") == "AlertPolicy" and d["metadata"]["name"].startswith("claims-api-latency-")]
    assert [p["spec"]["conditions"][0]["spec"]["condition"]["threshold"] for p in policies] == [13.44, 5.6, 2.8, 0.93]

    slo = root / "services" / "slos" / "claims-api.yaml"
    slo.write_text(slo.read_text().replace("duration: 28d", "duration: 30d"))
    assert run_cli("generate", "prometheus", "--out", "out30", "--as-of", AS_OF, cwd=root).returncode == 0
    assert _alert_thresholds(root / "out30" / "claims-api.rules.yaml") == {
        "page": ["0.0072", "0.003"], "ticket": ["0.0015", "0.0005"]}
