"""The forecast says what `check --as-of` says, day by day, when the dates that matter are written as text: in
an annotation, in a quoted field, in a control's expression. And a hostile catalogue's forecast is bounded."""

from __future__ import annotations

import json
import resource
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from svcascode import forecast as forecast_module
from svcascode.assessment import assess
from svcascode.catalogue import LoadResult, load_catalogue
from svcascode.cli import main
from svcascode.config import load_settings
from svcascode.forecast import forecast, open_findings

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = date(2026, 12, 1)
UNTIL = date(2027, 1, 31)

SERVICES = """---
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata:
  name: tills
  annotations: {review-by: "2026-12-15", audited: "2026-11-20T18:30:00+02:00", note: "freeze from 2027-01-04 on"}
spec: {type: business, tier: tier-2, lifecycle: production, owner: finance, supportHours: always-on,
       data: {classification: internal}}
"""

# Controls whose dates are text: an annotation read as a date, a date-time's day, a date in the expression,
# a duration in the expression after a date the document writes as text
CONTROLS = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: review-by-date, title: Services are reviewed by the date they name}
spec:
  severity: medium
  enforcement: block
  appliesTo: {kinds: [Service]}
  check:
    expression: '!("review-by" in document.metadata.annotations) || asOf <= date(document.metadata.annotations["review-by"])'
    message: "review was due by {{document.metadata.annotations['review-by']}}"
  rationale: Reviews are kept.
  remediation: Review it.
  examples: {failing: "metadata: {name: x}", passing: "metadata: {name: x}"}
  mappings: [{framework: internal-policy, controls: [OPS-7]}]
---
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: audit-age, title: Services were audited in the last 30 days}
spec:
  severity: low
  enforcement: warn
  appliesTo: {kinds: [Service]}
  check:
    expression: >-
      !("audited" in document.metadata.annotations)
      || asOf - timestamp(document.metadata.annotations["audited"]) <= duration("720h")
    message: audit older than 30 days
  rationale: Audits age.
  remediation: Audit it.
  examples: {failing: "metadata: {name: x}", passing: "metadata: {name: x}"}
  mappings: [{framework: internal-policy, controls: [OPS-7]}]
---
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: change-freeze, title: No tier-1 change in the freeze}
spec:
  severity: low
  enforcement: audit
  appliesTo: {kinds: [Service]}
  check:
    expression: 'asOf < date("2027-01-04") || asOf > timestamp("2027-01-18T00:00:00Z") - duration("2d")'
    message: the change freeze is on
  rationale: Freezes hold.
  remediation: Wait.
  examples: {failing: "metadata: {name: x}", passing: "metadata: {name: x}"}
  mappings: [{framework: internal-policy, controls: [OPS-7]}]
"""

# when each control's findings about tills open (the day check --as-of first reports them)
EXPECTED = {"review-by-date": "2026-12-16", "audit-age": "2026-12-21", "change-freeze": "2027-01-04"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dated") / "org"
    shutil.copytree(FIXTURES / "org-rules", root)
    (root / "services/tills.yaml").write_text(SERVICES)
    (root / "policies/dated.yaml").write_text(CONTROLS)
    return root


@pytest.fixture(scope="module")
def loaded(root: Path) -> LoadResult:
    result = load_catalogue(root, load_settings(root))
    assert not result.findings, [f.message for f in result.findings]
    return result


def test_each_deadline_is_the_day_check_first_reports_it(loaded: LoadResult) -> None:
    result = forecast(loaded, AS_OF, UNTIL)
    got = {d.finding.rule: d.opens.isoformat() for d in result.deadlines if d.finding.name == "tills"}
    assert got == EXPECTED


def test_the_forecast_equals_check_as_of_on_every_day_of_the_period(loaded: LoadResult) -> None:
    """The property, day by day: what opens on a day is forecast for that day, and nothing forecast for a
    day is missing from that day's check."""
    result = forecast(loaded, AS_OF, UNTIL)
    assert len(result.evaluated) < (UNTIL - AS_OF).days  # the dates the documents write, not every day
    opens = {d.finding.fingerprint: d.opens for d in result.deadlines}
    seen = set(open_findings(assess(loaded, AS_OF)))
    day = AS_OF
    while day < UNTIL:
        day += timedelta(days=1)
        now = set(open_findings(assess(loaded, day)))
        assert {f for f in now - seen if opens.get(f) != day} == set(), day  # opened today, forecast for today
        assert {f for f, when in opens.items() if when == day} <= now, day
        seen |= now
    assert forecast(loaded, AS_OF, UNTIL, every_day=True).deadlines == result.deadlines


def test_the_command_line_forecast_and_check_agree(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)

    def run(*args: str) -> Any:
        result = CliRunner().invoke(main, ["--no-cache", *args, "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.output)

    body = run("forecast", "--as-of", AS_OF.isoformat(), "--until", UNTIL.isoformat())
    first = {d["control"]: d for d in body["deadlines"] if d["name"] == "tills"}["review-by-date"]
    assert first["opens"] == "2026-12-16"
    for day, is_open in (("2026-12-15", False), ("2026-12-16", True)):
        found = run("check", "--as-of", day)["findings"]
        assert (first["fingerprint"] in {f["fingerprint"] for f in found}) is is_open, day


def test_a_forecast_stops_at_its_cpu_budget_and_says_how_far_it_got(loaded: LoadResult,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogue whose every date costs a whole assessment (here: a budget of none) cannot make the
    forecast run for minutes: it stops, covers the days it evaluated, and says so."""
    monkeypatch.setattr(forecast_module, "FORECAST_SECONDS", 0.0, raising=False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = usage.ru_utime + usage.ru_stime
    result = forecast(loaded, AS_OF, UNTIL)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert usage.ru_utime + usage.ru_stime - started < 30
    assert not result.complete
    assert result.requested == UNTIL and AS_OF < result.until < UNTIL
    assert result.stopped_at == result.until + timedelta(days=1)  # the first date it did not evaluate
    body = result.as_dict()
    assert body["complete"] is False and body["requestedUntil"] == UNTIL.isoformat()
    assert all(d.opens <= result.until for d in result.deadlines)
