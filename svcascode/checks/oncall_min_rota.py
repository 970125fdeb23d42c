"""Teams that own a production tier-0/1 service run a real on-call rota.

For a Team owning a Service whose tier is in `ownerOfTiers` and lifecycle in `ownerOfLifecycles`:
spec.onCall is defined; the distinct people across spec.onCall.primary and secondary number at least
the Baseline parameter oncall_min_people (default 2, a failure) and at least oncall_recommended_people
(default 6, otherwise a warning); spec.escalation has at least `minEscalationLevels` steps; every
on-call person is listed in spec.members. The strictest tier the team owns sets the numbers.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode import facts
from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.facts import TIER_ORDER
from svcascode.finding import Finding
from svcascode.models import ServiceSpec, TeamSpec
from svcascode.models.people import OnCall

PARAMS: dict[str, Any] = {
    "ownerOfTiers": ["tier-0", "tier-1"],
    "ownerOfLifecycles": ["production"],
    "minEscalationLevels": 2,
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, TeamSpec)
    services: list[Document[ServiceSpec]] = ctx.catalogue.services_owned_by(document.name)
    tiers, lifecycles = ctx.param("ownerOfTiers", []), ctx.param("ownerOfLifecycles", [])
    # read from the services' facts: a team's services are judged without building their models
    owned = [s for s in services if s.facts["tier"] in tiers and s.facts["lifecycle"] in lifecycles]
    if not owned:
        return
    tier = min((s.facts["tier"] for s in owned), key=TIER_ORDER.index)
    names = ", ".join(f"{s.name} ({s.facts['tier']})" for s in sorted(owned, key=lambda s: s.name))
    on_call = document.spec.on_call
    if on_call is None:
        yield ctx.fail(document, f"team owns {names} but has no spec.onCall: add an on-call rota with a coverage "
                       "calendar, primary and secondary people, and an escalation path", ("spec",))
        return
    yield from _rota_size(ctx, document, on_call, tier, names)
    yield from _escalation(ctx, document)
    yield from _membership(ctx, document, on_call)


def _rota_size(ctx: CheckContext, document: Document[TeamSpec], on_call: OnCall, tier: str, names: str
               ) -> Iterator[Finding]:
    people = facts.on_call_people(document)
    minimum = ctx.tier_param("oncall_min_people", tier)
    recommended = ctx.tier_param("oncall_recommended_people", tier)
    path = ("spec", "onCall", "primary")
    if minimum is not None and len(people) < minimum:
        yield ctx.fail(document, f"{_people(len(people))} on call across primary and secondary, fewer than "
                       f"{minimum} ({tier}, owner of {names}): add team members to the rota", path)
    elif recommended is not None and len(people) < recommended:
        yield ctx.warn(document, f"{_people(len(people))} on call across primary and secondary, fewer than the "
                       f"recommended {recommended} for {tier}: each person is on call more than one week in "
                       f"{recommended}", path)


def _escalation(ctx: CheckContext, document: Document[TeamSpec]) -> Iterator[Finding]:
    levels = len(document.spec.escalation)
    minimum = int(ctx.param("minEscalationLevels", 2))
    if levels < minimum:
        yield ctx.fail(document, f"escalation has {levels} level{'s' if levels != 1 else ''}, fewer than {minimum}: "
                       "add a step that notifies oncall:secondary or the team lead", ("spec", "escalation"))


def _membership(ctx: CheckContext, document: Document[TeamSpec], on_call: OnCall) -> Iterator[Finding]:
    members = {m.id for m in document.spec.members}
    for role, people in (("primary", on_call.primary), ("secondary", on_call.secondary)):
        for index, person in enumerate(people):
            if person not in members:
                yield ctx.fail(document, f"on-call {role} {person} is not a member of team {document.name}: add "
                               "them to spec.members or remove them from the rota", ("spec", "onCall", role, index))


def _people(count: int) -> str:
    return f"{count} distinct person" if count == 1 else f"{count} distinct people"
