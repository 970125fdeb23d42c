"""The document models: one pydantic model per kind, the single source of truth for the JSON Schemas."""

from __future__ import annotations

from pydantic import BaseModel

from svcascode.models.access import AccessPolicy, AccessPolicySpec, Evidence, EvidenceSpec
from svcascode.models.common import API_VERSION, Envelope
from svcascode.models.incidents import Incident, IncidentSpec
from svcascode.models.governance import (
    Baseline, BaselineSpec, Control, ControlSpec, Framework, FrameworkSpec, Waiver, WaiverSpec,
)
from svcascode.models.openslo import OPENSLO_API_VERSION, OPENSLO_DOCUMENTS, OpenSloDocument, SloSpec
from svcascode.models.operations import (
    IncidentPolicy, IncidentPolicySpec, MaintenanceWindow, MaintenanceWindowSpec, PatchPolicy, PatchPolicySpec,
)
from svcascode.models.scorecard import Scorecard, ScorecardSpec
from svcascode.models.people import BusinessCalendar, BusinessCalendarSpec, Team, TeamSpec
from svcascode.models.service import Service, ServiceLevel, ServiceLevelSpec, ServiceSpec

# kind -> model; the order is the order of the schemas and of the documentation.
KINDS: dict[str, type[Envelope]] = {
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
    "Incident": Incident,
    "Scorecard": Scorecard,
}

OPENSLO_MODELS: dict[str, type[OpenSloDocument]] = OPENSLO_DOCUMENTS

# spec model -> the kind whose documents carry it: a Document's `spec` is an instance of one of these.
SPEC_KINDS: dict[type[BaseModel], str] = {
    ServiceSpec: "Service",
    ServiceLevelSpec: "ServiceLevel",
    TeamSpec: "Team",
    BusinessCalendarSpec: "BusinessCalendar",
    MaintenanceWindowSpec: "MaintenanceWindow",
    AccessPolicySpec: "AccessPolicy",
    PatchPolicySpec: "PatchPolicy",
    IncidentPolicySpec: "IncidentPolicy",
    EvidenceSpec: "Evidence",
    ControlSpec: "Control",
    BaselineSpec: "Baseline",
    FrameworkSpec: "Framework",
    WaiverSpec: "Waiver",
    IncidentSpec: "Incident",
    ScorecardSpec: "Scorecard",
    SloSpec: "SLO",
}

__all__ = [
    "API_VERSION", "KINDS", "OPENSLO_API_VERSION", "OPENSLO_MODELS", "SPEC_KINDS",
    "AccessPolicySpec", "BaselineSpec", "BusinessCalendarSpec", "ControlSpec", "EvidenceSpec", "FrameworkSpec",
    "IncidentPolicySpec", "IncidentSpec", "MaintenanceWindowSpec", "PatchPolicySpec", "ScorecardSpec",
    "ServiceLevelSpec", "ServiceSpec", "SloSpec", "TeamSpec", "WaiverSpec",
]
