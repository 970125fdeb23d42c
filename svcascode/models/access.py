"""AccessPolicy (who may do what to a service) and Evidence (proof that a review or test happened)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from svcascode.models.common import (
    Bool, Count, Date, DurationValue, Envelope, KindRef, Model, PositiveDuration, Ref, Text, Url,
)
from typing import Annotated
from pydantic import Strict


class Authentication(Model):
    sso: Bool
    mfa: Literal["required", "privileged-only", "none"]
    phishing_resistant: Bool = False


class Role(Model):
    name: Text
    privileged: Bool = False
    grants: list[Text] = Field(default_factory=list)
    approvers: list[Text] = Field(default_factory=list)
    max_duration: PositiveDuration | None = Field(None, description="just-in-time elevation length")
    sod_conflicts: list[Text] = Field(default_factory=list, description="roles nobody may hold together with this")


class Provisioning(Model):
    source: Literal["idp-group", "hris", "ticket"]
    request_requires_approval: Bool = False
    approver_not_requester: Bool = False


class Deprovisioning(Model):
    on_termination: DurationValue
    on_transfer: DurationValue | None = None
    inactivity_disable: PositiveDuration | None = None


class AccessReview(Model):
    privileged_cadence: PositiveDuration | None = None
    standard_cadence: PositiveDuration | None = None
    reviewer: Text | None = None


class BreakGlass(Model):
    accounts: Annotated[int, Strict(), Field(ge=0, le=100)]
    monitored: Bool


class ServiceAccounts(Model):
    credential_rotation: PositiveDuration | None = None
    interactive_login: Bool = False


class AccessPolicySpec(Model):
    targets: list[Ref] = Field(min_length=1, description="Services")
    authentication: Authentication
    roles: list[Role] = Field(min_length=1)
    provisioning: Provisioning | None = None
    deprovisioning: Deprovisioning
    review: AccessReview
    break_glass: BreakGlass | None = None
    service_accounts: ServiceAccounts | None = None


class AccessPolicy(Envelope):
    kind: Literal["AccessPolicy"]
    spec: AccessPolicySpec


class Measured(Model):
    restore_duration: DurationValue | None = None
    data_loss_window: DurationValue | None = None
    failover_duration: DurationValue | None = None
    accounts_reviewed: Count | None = None
    accounts_removed: Count | None = None
    findings: Count | None = None


class EvidenceSpec(Model):
    type: Literal["access-review", "restore-test", "dr-test", "ir-exercise", "sla-review", "pen-test"]
    subject: KindRef
    performed_at: Date
    performed_by: list[Text] = Field(min_length=1)
    result: Literal["pass", "fail", "partial"]
    summary: Text | None = None
    measured: Measured | None = None
    artifact: Url | None = None
    expires_at: Date | None = None


class Evidence(Envelope):
    kind: Literal["Evidence"]
    spec: EvidenceSpec
