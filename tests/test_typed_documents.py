"""Documents carry their kind's spec model, with dates, date-times and durations as typed values."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from svcascode.catalogue import Catalogue, load_catalogue
from svcascode.config import LibrarySettings, Settings
from svcascode.documents import expect
from svcascode.engine import evaluate
from svcascode.models import KINDS, SPEC_KINDS, ServiceSpec, TeamSpec
from svcascode.models.common import Duration
from svcascode.models.openslo import OpenSloSlo

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def example() -> Catalogue:
    result = load_catalogue(REPO, Settings(cache=False))
    return result.catalogue


def test_each_kind_has_its_spec_model() -> None:
    declared = {model.model_fields["spec"].annotation: kind for kind, model in KINDS.items()}
    declared[OpenSloSlo.model_fields["spec"].annotation] = "SLO"
    assert SPEC_KINDS == declared


def test_every_document_holds_its_kind_spec(example: Catalogue) -> None:
    by_kind = {kind: spec for spec, kind in SPEC_KINDS.items()}
    checked = 0
    for document in example.documents:
        if document.kind in by_kind:
            assert isinstance(document.spec, by_kind[document.kind]), document
            checked += 1
    assert checked > 50


def test_dates_and_durations_are_typed_values(example: Catalogue) -> None:
    level = example.of_kind("ServiceLevel")[0]
    assert type(level.spec.valid_from) is date
    assert isinstance(level.spec.review.cadence, Duration) and level.spec.review.cadence.seconds > 0
    evidence = example.of_kind("Evidence")[0]
    assert type(evidence.spec.performed_at) is date
    waiver = example.of_kind("Waiver")[0]
    assert type(waiver.spec.approved_at) is date and type(waiver.spec.expires_at) is date
    one_off = [w for w in example.of_kind("MaintenanceWindow") if w.spec.window is not None]
    for window in one_off:
        assert type(window.spec.window.start) is datetime and window.spec.window.start.tzinfo is not None
    team = next(t for t in example.of_kind("Team") if t.spec.escalation)
    assert all(isinstance(step.after, Duration) for step in team.spec.escalation)


def test_expect_narrows_or_says_which_kind_it_wanted(example: Catalogue) -> None:
    service = example.of_kind("Service")[0]
    assert expect(service, ServiceSpec) is service
    team = example.of_kind("Team")[0]
    with pytest.raises(TypeError, match=rf"reads Service documents, not Team {team.name}: list only Service"):
        expect(team, ServiceSpec)
    with pytest.raises(TypeError, match="reads Team documents, not Service"):
        expect(service, TeamSpec)


def test_a_builtin_applied_to_the_wrong_kind_is_a_located_check_error(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "policies").mkdir()
    shutil.copy(REPO / "tests" / "cases" / "_base.yaml", tmp_path / "services" / "base.yaml")
    shutil.copytree(REPO / "svcascode" / "library" / "frameworks", tmp_path / "policies" / "frameworks")
    (tmp_path / "policies" / "control.yaml").write_text("""\
apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: owner-of-teams}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [Team]}
  check: {builtin: svc_owner_exists}
  rationale: r
  remediation: r
  examples: {failing: f, passing: p}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.9]}
""")
    result = load_catalogue(tmp_path, Settings(cache=False, library=LibrarySettings(enabled=False)))
    assert not result.findings, [f.message for f in result.findings]
    errors = [f for f in evaluate(result.catalogue, date(2026, 11, 27)).findings if f.rule == "check-error"]
    assert errors and all(f.kind == "Team" for f in errors)
    assert "reads Service documents, not Team" in errors[0].message
