"""Every service names an owner that is a Team in the catalogue, staffed and with someone accountable.

Fails when spec.owner names no Team (a `team:` prefix is accepted), when the team has fewer than
`minMembers` members, or when none of its members holds one of the `accountableRoles` (lead or
manager by default): nobody then answers for the service's incidents, access reviews and changes.
A team whose members were imported without roles (`spec.members.role` among its placeholders) gets
one low-severity note on the team instead, until someone states who leads it.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.facts import ROLES_PLACEHOLDER, placeholders
from svcascode.finding import Finding
from svcascode.models import ServiceSpec

PARAMS: dict[str, Any] = {
    "minMembers": 1,
    "accountableRoles": ["lead", "manager"],
}

_OWNER = ("spec", "owner")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    owner = document.spec.owner.removeprefix("team:")
    team = ctx.catalogue.get("Team", owner)
    if team is None:
        yield ctx.fail(document, f"owner '{owner}' is not a Team in the catalogue: set spec.owner to the "
                       "metadata.name of an existing Team, or add that Team", _OWNER)
        return
    members = team.spec.members
    minimum = int(ctx.param("minMembers"))
    if len(members) < minimum:
        yield ctx.fail(document, f"owner team '{owner}' has {len(members)} member(s), fewer than the {minimum} "
                       "required: staff the team or move the service to a staffed one", _OWNER)
    roles = list(ctx.param("accountableRoles"))
    if any(member.role in roles for member in members):
        return
    if ROLES_PLACEHOLDER in placeholders(team):
        # the roles were not in the source the team was imported from: one note on the team, whichever
        # of its services asks, not a finding per service about a fact nobody has stated yet
        yield ctx.warn(team, f"the roles of team '{owner}' are not known yet: its members were imported without "
                       f"roles (svcascode.io/placeholders lists {ROLES_PLACEHOLDER}); mark its {' or '.join(roles)} "
                       "in spec.members, then remove that entry", ("metadata", "annotations"))
        return
    yield ctx.fail(document, f"owner team '{owner}' has no member with role {' or '.join(roles)}: name "
                   "an accountable lead or manager in the Team's spec.members", _OWNER)
