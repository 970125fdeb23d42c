"""Joiner/mover/leaver controls and least privilege on an AccessPolicy.

Provisioning requires approval by someone other than the requester; access is removed within
`maxOnTermination` of a leaver and disabled after at most `maxInactivityDisable` unused; each
privileged role is just-in-time with maxDuration at most `maxPrivilegedDuration` (or a Waiver accepts
standing access).

Segregation of duties: roles declared in conflict must never share a holder. Who holds
a role lives in the identity provider, not in the catalogue, so this check judges what the catalogue
does hold -- the roles' design -- and leaves the holders to the access review (acc-review-overdue).
Every name in a role's sodConflicts must be a role of the same policy, since a conflict with a role
that does not exist separates nothing. Two roles declared in conflict must not grant the same
permission, since whoever holds either one would then hold that part of the other's duty and the
separation would be nominal. This is strict on purpose: a shared read grant is reported too; move it
to a third role both may hold. A shared approver is normal and is not a finding.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import AccessPolicySpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "maxOnTermination": "24h",
    "maxInactivityDisable": "90d",
    "maxPrivilegedDuration": "12h",
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, AccessPolicySpec)
    yield from _provisioning(ctx, document)
    yield from _deprovisioning(ctx, document)
    yield from _roles(ctx, document)


def _provisioning(ctx: CheckContext, document: Document[AccessPolicySpec]) -> Iterator[Finding]:
    provisioning = document.spec.provisioning
    path = ("spec", "provisioning")
    if provisioning is None:
        yield ctx.fail(document, "no provisioning rules: add spec.provisioning with requestRequiresApproval: true "
                       "and approverNotRequester: true", ("spec",))
        return
    if not provisioning.request_requires_approval:
        yield ctx.fail(document, "access is granted without approval: set "
                       "spec.provisioning.requestRequiresApproval to true", (*path, "requestRequiresApproval"))
    if not provisioning.approver_not_requester:
        yield ctx.fail(document, "requesters may approve their own access: set "
                       "spec.provisioning.approverNotRequester to true", (*path, "approverNotRequester"))


def _deprovisioning(ctx: CheckContext, document: Document[AccessPolicySpec]) -> Iterator[Finding]:
    deprovisioning = document.spec.deprovisioning
    path = ("spec", "deprovisioning")
    limit = str(ctx.param("maxOnTermination"))
    if deprovisioning.on_termination.seconds > duration_seconds(limit):
        yield ctx.fail(document, f"leavers keep access for {deprovisioning.on_termination}, longer than {limit}: "
                       f"set onTermination to {limit} or less", (*path, "onTermination"))
    limit = str(ctx.param("maxInactivityDisable"))
    if deprovisioning.inactivity_disable is None:
        yield ctx.fail(document, f"unused accounts are never disabled: set spec.deprovisioning.inactivityDisable "
                       f"to {limit} or less", path)
    elif deprovisioning.inactivity_disable.seconds > duration_seconds(limit):
        yield ctx.fail(document, f"unused accounts are disabled after {deprovisioning.inactivity_disable}, longer "
                       f"than {limit}: set inactivityDisable to {limit} or less", (*path, "inactivityDisable"))


def _roles(ctx: CheckContext, document: Document[AccessPolicySpec]) -> Iterator[Finding]:
    roles = document.spec.roles
    by_name = {role.name: role for role in roles}
    limit = str(ctx.param("maxPrivilegedDuration"))
    reported: set[frozenset[str]] = set()
    for index, role in enumerate(roles):
        path = ("spec", "roles", index)
        if role.privileged and role.max_duration is None:
            yield ctx.fail(document, f"privileged role {role.name} is standing access: grant it just in time with "
                           f"maxDuration {limit} or less, or file a Waiver", path)
        elif (role.privileged and role.max_duration is not None
              and role.max_duration.seconds > duration_seconds(limit)):
            yield ctx.fail(document, f"privileged role {role.name} is granted for {role.max_duration}, longer than "
                           f"{limit}: set maxDuration to {limit} or less, or file a Waiver", (*path, "maxDuration"))
        for conflict in role.sod_conflicts:
            other = by_name.get(conflict)
            pair = frozenset((role.name, conflict))
            if other is None:
                yield ctx.fail(document, f"role {role.name} is declared in conflict with {conflict}, which is not a "
                               f"role of this policy: name an existing role in sodConflicts",
                               (*path, "sodConflicts"))
                continue
            if other is role or pair in reported:
                continue
            shared = sorted(set(role.grants) & set(other.grants))
            if shared:
                reported.add(pair)
                yield ctx.fail(document, f"roles {role.name} and {conflict} are declared in conflict but both grant "
                               f"{', '.join(shared)}: remove the shared grant from one of them",
                               (*path, "sodConflicts"))
