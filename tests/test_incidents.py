"""Incident documents in a catalogue: impacted services are checked references, and the catalogue indexes
incidents by service in the order they opened."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, run_cli
from svcascode.catalogue import load_catalogue
from svcascode.config import load_settings
from svcascode import facts

INCIDENT = """\
apiVersion: svcascode.io/v1alpha1
kind: Incident
metadata: {{name: {name}}}
spec:
  title: Something broke
  priority: P2
  opened: {opened}
  impacts:
    - {{service: {service}, impact: outage}}
"""


def test_an_incident_naming_an_unknown_service_is_a_located_reference_error(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (tmp_path / "services" / "inc.yaml").write_text(
        INCIDENT.format(name="inc-1", opened="2026-05-03T09:00:00Z", service="claims-apj"))
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "services/inc.yaml:9:8: Incident/inc-1: refers to Service 'claims-apj', which is not defined; add the "
        "Service or fix the name")


def test_example_incidents_by_service_in_opening_order() -> None:
    loaded = load_catalogue(REPO, load_settings(REPO))
    catalogue = loaded.catalogue
    assert [i.name for i in catalogue.incidents_by_service["customer-portal"]] == ["inc-2026-0042", "inc-2026-0088"]
    assert [i.name for i in catalogue.incidents_by_service["claims-api"]] == ["inc-2026-0007", "inc-2026-0018"]
    incident = catalogue.get("Incident", "inc-2026-0042")
    assert incident is not None
    assert [s.name for s in facts.services_of(catalogue, incident)] == ["customer-portal", "payment-processor"]
    assert facts.tier_of(catalogue, incident) == "tier-1"
    assert not [f for f in loaded.findings if f.kind == "Incident"]
