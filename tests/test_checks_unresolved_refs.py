"""Built-in checks on references that do not resolve.

The case runner (test_control_cases.py) refuses case documents that fail validation, and an
unresolved reference is a validation finding (`ref-unresolved`). These clauses of the controls are
about exactly such references, so they are tested here on a catalogue loaded without that refusal.
"""

from __future__ import annotations

import difflib
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svcascode.catalogue import LoadResult, closest, load_catalogue
from svcascode.config import LibrarySettings, Settings
from svcascode.engine import evaluate
from svcascode.finding import Finding

HERE = Path(__file__).parent
REPO = HERE.parent


def _load(tmp_path: Path, control: str, documents: str) -> LoadResult:
    (tmp_path / "services").mkdir()
    (tmp_path / "policies").mkdir()
    shutil.copy(HERE / "cases" / "_base.yaml", tmp_path / "services" / "base.yaml")
    (tmp_path / "services" / "case.yaml").write_text(documents)
    shutil.copytree(REPO / "svcascode" / "library" / "frameworks", tmp_path / "policies" / "frameworks")
    shutil.copy(REPO / "svcascode" / "library" / "controls" / f"{control}.yaml", tmp_path / "policies" / f"{control}.yaml")
    return load_catalogue(tmp_path, Settings(cache=False, library=LibrarySettings(enabled=False)))


def _evaluate(tmp_path: Path, control: str, documents: str) -> list[Finding]:
    result = _load(tmp_path, control, documents)
    assert any(f.rule == "ref-unresolved" for f in result.findings), "the case should contain a dangling reference"
    evaluation = evaluate(result.catalogue, date(2026, 11, 27))
    assert not [f for f in evaluation.problems if f.rule != "control-selects-nothing"]
    return [f for f in evaluation.findings if f.rule == control]


SERVICE = """\
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata: {{name: billing}}
spec:
  type: business
  tier: tier-2
  lifecycle: production
  owner: {owner}
  supportHours: office-hours
  data: {{classification: internal}}
  dependencies:
    - {{service: {dependency}, criticality: hard}}
"""


def test_owner_that_is_no_team(tmp_path: Path) -> None:
    findings = _evaluate(tmp_path, "svc-owner-exists", SERVICE.format(owner="billing-team", dependency="billing"))
    assert [(f.line, f.severity) for f in findings] == [(8, "critical")]
    assert "owner 'billing-team' is not a Team" in findings[0].message


def test_dependency_that_is_no_service(tmp_path: Path) -> None:
    findings = _evaluate(tmp_path, "svc-dep-resolve", SERVICE.format(owner="ops", dependency="payments-db"))
    assert [(f.line, f.severity) for f in findings] == [(12, "high")]
    assert "dependency 'payments-db' is not a Service" in findings[0].message


def test_hard_cycle_is_left_to_validation(tmp_path: Path) -> None:
    stock = SERVICE.format(owner="ops", dependency="billing").replace("name: billing", "name: stock")
    result = _load(tmp_path, "svc-dep-resolve", SERVICE.format(owner="ops", dependency="stock") + "---\n" + stock)
    assert [f.rule for f in result.findings] == ["dependency-cycle"]
    evaluation = evaluate(result.catalogue, date(2026, 11, 27))
    assert [f for f in evaluation.findings if f.rule == "svc-dep-resolve"] == []


LEVEL = """\
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata: {{name: checkout}}
spec: {{type: business, tier: tier-1, lifecycle: production, owner: ops, supportHours: always-on, data: {{classification: internal}}}}
---
apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata: {{name: checkout-sla}}
spec:
  type: SLA
  service: checkout
  customer: retail
  validFrom: 2026-01-01
  coverage: {coverage}
  availability: {{targetPercent: 99.9, window: {{calendar: month}}, measurement: requests, slo: {slo}}}
  support:
    priorities:
      P1: {{response: 15m, resolution: 4h, coverage: {p1_coverage}}}
      P2: {{response: 30m, resolution: 8h}}
  review: {{cadence: 90d}}
"""


def test_coverage_calendars_that_are_no_calendars(tmp_path: Path) -> None:
    documents = LEVEL.format(coverage="uk-hours", p1_coverage="round-the-clock", slo="none")
    findings = _evaluate(tmp_path, "sla-support-targets", documents)
    assert [(f.line, f.message.split(":")[0]) for f in findings] == [
        (14, "coverage calendar 'uk-hours' is not a BusinessCalendar"),
        (18, "P1 coverage calendar 'round-the-clock' is not a BusinessCalendar"),
    ]


def test_slo_that_is_no_slo(tmp_path: Path) -> None:
    documents = LEVEL.format(coverage="always-on", p1_coverage="always-on", slo="checkout-availability")
    findings = _evaluate(tmp_path, "sla-slo-backed", documents)
    assert [(f.line, f.severity) for f in findings] == [(15, "medium")]
    assert "SLO 'checkout-availability' is not an OpenSLO SLO" in findings[0].message


# "did you mean": the closest defined name, the one difflib's get_close_matches gives over every name, found
# without comparing the value with every name in Python (a partial catalogue has thousands of unresolved
# references to thousands of alike names)

_NAME = st.text(alphabet="abcdefgh-0123", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(value=_NAME, names=st.lists(_NAME, max_size=60, unique=True), cutoff=st.sampled_from([0.6, 0.7, 0.8]))
def test_the_closest_name_is_the_one_difflib_finds_among_every_name(value: str, names: list[str],
                                                                    cutoff: float) -> None:
    close = difflib.get_close_matches(value, names, n=1, cutoff=cutoff)
    assert closest(value, names, cutoff) == (close[0] if close else None)


def test_alike_names_are_not_compared_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"svc-{i:05d}" for i in range(0, 20_000, 2)]
    values = ("svc-00017", "svc-12345", "svc-1999", "platfrom-team")
    expected = [next(iter(difflib.get_close_matches(v, names, n=1, cutoff=0.7)), None) for v in values]
    assert expected[0] is not None and expected[-1] is None
    compared: list[str] = []
    real = difflib.SequenceMatcher.set_seq1

    def counted(self: difflib.SequenceMatcher[str], a: str) -> None:
        compared.append(a)
        real(self, a)

    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counted)
    assert [closest(v, names, 0.7) for v in values] == expected
    assert len(compared) < len(values) * 100  # a few dozen names each, not 10,000
