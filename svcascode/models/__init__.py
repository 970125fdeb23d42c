"""The document models: one pydantic model per kind, the single source of truth for the JSON Schemas."""

from __future__ import annotations

from pydantic import BaseModel

from svcascode.models.access import AccessPolicy, Evidence
from svcascode.models.common import API_VERSION
from svcascode.models.governance import Baseline, Control, Framework, Waiver
from svcascode.models.openslo import OPENSLO_API_VERSION, OPENSLO_KINDS, OpenSloDocument, OpenSloSlo
from svcascode.models.operations import IncidentPolicy, MaintenanceWindow, PatchPolicy
from svcascode.models.people import BusinessCalendar, Team
from svcascode.models.service import Service, ServiceLevel

# kind -> model; the order is the order of the schemas and of the documentation.
KINDS: dict[str, type[BaseModel]] = {
    "Service": Service,
    "ServiceLevel": ServiceLevel,
    "Team": Team,
    "BusinessCalendar": BusinessCalendar,
    "MaintenanceWindow": MaintenanceWindow,
    "AccessPolicy": AccessPolicy,
    "PatchPolicy": PatchPolicy,
    "IncidentPolicy": IncidentPolicy,
    "Evidence": Evidence,
    "Control": Control,
    "Baseline": Baseline,
    "Framework": Framework,
    "Waiver": Waiver,
}

OPENSLO_MODELS: dict[str, type[BaseModel]] = {kind: OpenSloDocument for kind in OPENSLO_KINDS} | {"SLO": OpenSloSlo}

__all__ = ["API_VERSION", "KINDS", "OPENSLO_API_VERSION", "OPENSLO_MODELS"]
