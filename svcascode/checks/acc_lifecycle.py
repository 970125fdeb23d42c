"""Joiner/mover/leaver controls and least privilege on an AccessPolicy.

Provisioning requires approval by someone other than the requester; access is removed within
`maxOnTermination` of a leaver and disabled after at most `maxInactivityDisable` unused; each
privileged role is just-in-time with maxDuration at most `maxPrivilegedDuration` (or a Waiver accepts
standing access). Holders are not part of the model, so segregation of duties is judged on what a
role grants: two roles declared in conflict (sodConflicts) must not share a grant, since whoever holds
one would then hold part of the other. (A shared approver is normal and is not a finding.)
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext, seconds
from svcascode.documents import Document
from svcascode.finding import Finding

PARAMS: dict[str, Any] = {
    "maxOnTermination": "24h",
    "maxInactivityDisable": "90d",
    "maxPrivilegedDuration": "12h",
}


def check(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    yield from _provisioning(ctx, document)
    yield from _deprovisioning(ctx, document)
    yield from _roles(ctx, document)


def _provisioning(ctx: CheckContext, document: Document) -> Iterator[Finding]:
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


def _deprovisioning(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    deprovisioning = document.spec.deprovisioning
    path = ("spec", "deprovisioning")
    limit = str(ctx.param("maxOnTermination"))
    if seconds(deprovisioning.on_termination) > seconds(limit):  # type: ignore[operator]
        yield ctx.fail(document, f"leavers keep access for {deprovisioning.on_termination}, longer than {limit}: "
                       f"set onTermination to {limit} or less", (*path, "onTermination"))
    limit = str(ctx.param("maxInactivityDisable"))
    if deprovisioning.inactivity_disable is None:
        yield ctx.fail(document, f"unused accounts are never disabled: set spec.deprovisioning.inactivityDisable "
                       f"to {limit} or less", path)
    elif seconds(deprovisioning.inactivity_disable) > seconds(limit):  # type: ignore[operator]
        yield ctx.fail(document, f"unused accounts are disabled after {deprovisioning.inactivity_disable}, longer "
                       f"than {limit}: set inactivityDisable to {limit} or less", (*path, "inactivityDisable"))


def _roles(ctx: CheckContext, document: Document) -> Iterator[Finding]:
    roles = document.spec.roles
    by_name = {role.name: role for role in roles}
    limit = str(ctx.param("maxPrivilegedDuration"))
    reported: set[frozenset[str]] = set()
    for index, role in enumerate(roles):
        path = ("spec", "roles", index)
        if role.privileged and role.max_duration is None:
            yield ctx.fail(document, f"privileged role {role.name} is standing access: grant it just in time with "
                           f"maxDuration {limit} or less, or file a Waiver", path)
        elif role.privileged and seconds(role.max_duration) > seconds(limit):  # type: ignore[operator]
            yield ctx.fail(document, f"privileged role {role.name} is granted for {role.max_duration}, longer than "
                           f"{limit}: set maxDuration to {limit} or less, or file a Waiver", (*path, "maxDuration"))
        for conflict in role.sod_conflicts:
            other = by_name.get(conflict)
            pair = frozenset((role.name, conflict))
            if other is None or other is role or pair in reported:
                continue
            shared = sorted(set(role.grants) & set(other.grants))
            if shared:
                reported.add(pair)
                yield ctx.fail(document, f"roles {role.name} and {conflict} are declared in conflict but both grant "
                               f"{', '.join(shared)}: remove the shared grant from one of them",
                               (*path, "sodConflicts"))
