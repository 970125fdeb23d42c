"""Domain facts, each defined once: every command, check, gate, page and report asks these.

- which services a document concerns (`services_of`);
- the tier a document is judged at (`tier_of`);
- whether a service level is in force on a date (`level_in_force`);
- the state of a waiver on a date (`waiver_state`), and whether that state lets it suppress findings;
- whether a piece of evidence is in force on a date (`evidence_in_force`);
- the people on call for a team (`on_call_people`);
- which of a document's values are placeholders an importer wrote, not facts (`placeholders`).

A fact that two commands computed each their own way gave two answers to one question; these
functions are the only definitions, so `check`, `diff --fail-on-weakened`, the catalogue pages and the
compliance report agree by construction.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any, get_args

from svcascode.models.common import Tier

if TYPE_CHECKING:
    from svcascode.documents import Document
    from svcascode.reader import CatalogueReader

TIER_ORDER: tuple[str, ...] = get_args(Tier)  # strictest first, as the models declare them
DEFAULT_TIER = "tier-3"  # a document that concerns no service is judged at the most lenient tier
_DEPTH = 3  # Evidence about a Waiver about a Service: references are followed at most this deep


def services_of(catalogue: CatalogueReader, document: Document | None, _depth: int = 0) -> list[Document]:
    """The Services a document concerns, in catalogue order, each once.

    A Service concerns itself; a ServiceLevel its service; an AccessPolicy the services it targets and
    those that name it as their access policy; a MaintenanceWindow the services it names or its selector
    matches; a Team the services it owns; an Incident the services it impacts; Evidence and Waivers the
    services of their subjects.
    """
    if document is None or _depth > _DEPTH:
        return []
    kind, facts = document.kind, document.facts  # facts, not the model: asking builds no model
    found: list[Document] = []
    if kind == "Service":
        return [document]
    if kind == "ServiceLevel":
        found = _named(catalogue, [facts["service"]])
    elif kind == "AccessPolicy":
        found = _named(catalogue, facts["targets"])
        found += catalogue.services_with_access_policy(document.name)
    elif kind == "MaintenanceWindow":
        found = list(catalogue.window_services(document))
    elif kind == "Team":
        found = list(catalogue.services_owned_by(document.name))
    elif kind == "Incident":
        found = _named(catalogue, facts["impacts"])
    elif kind == "Evidence":
        subject = catalogue.resolve(facts["subject"])
        if subject is not None and subject.kind != "Evidence":
            found = services_of(catalogue, subject, _depth + 1)
    elif kind == "Waiver":
        for reference in facts["subjects"]:
            found += services_of(catalogue, catalogue.resolve(reference), _depth + 1)
    unique: dict[int, Document] = {}
    for service in found:
        unique.setdefault(id(service), service)
    return list(unique.values())


def _named(catalogue: CatalogueReader, names: list[str]) -> list[Document]:
    return [s for s in (catalogue.get("Service", n) for n in names) if s is not None]


def strictest(tiers: Any) -> str:
    """The strictest of some tiers (tier-0 before tier-3); DEFAULT_TIER when there are none."""
    known = [t for t in tiers if t in TIER_ORDER]
    return min(known, key=TIER_ORDER.index) if known else DEFAULT_TIER


def tier_of(catalogue: CatalogueReader, document: Document) -> str:
    """The tier a document is judged at: a Service's own; else the strictest of the services it concerns."""
    if document.kind == "Service":
        return str(document.facts["tier"])
    return strictest(str(s.facts["tier"]) for s in services_of(catalogue, document))


def level_in_force(level: Document, on: date) -> bool:
    """A ServiceLevel is in force from validFrom through validTo, both days included (no validTo: open); read
    from its facts, so asking builds no model."""
    day, facts = on.toordinal(), level.facts
    return bool(facts["validFrom"] <= day and (facts["validTo"] is None or day <= facts["validTo"]))


class WaiverState(str, Enum):
    """What a waiver is on a date. Only IN_FORCE suppresses findings (STALE is in force but matched none)."""

    IN_FORCE = "in force"
    STALE = "stale"
    NOT_YET = "not yet in force"
    EXPIRED = "expired"
    SELF_APPROVED = "self-approved"
    FAILS_POLICY = "fails wvr-valid"

    def __str__(self) -> str:
        return self.value

    @property
    def suppresses(self) -> bool:
        """Whether a waiver in this state waives the findings it names."""
        return self in (WaiverState.IN_FORCE, WaiverState.STALE)


def waiver_state(waiver: Document, on: date, fails_policy: bool = False, matched: int | None = None
                 ) -> WaiverState:
    """The state of a waiver on a date.

    In force from approvedAt (included) to expiresAt (excluded): on its expiry date it is expired. A
    waiver its requester approved is no risk acceptance, whatever the dates. `fails_policy`: the
    organisation's wvr-valid control fails it (too long, no risk owner, a subject out of scope); then it
    suppresses nothing. `matched`: how many findings it suppressed, when known; none makes it stale.
    """
    spec = waiver.spec
    if self_approved(waiver):
        return WaiverState.SELF_APPROVED
    if expired(waiver, on):
        return WaiverState.EXPIRED
    if on < spec.approved_at:
        return WaiverState.NOT_YET
    if fails_policy:
        return WaiverState.FAILS_POLICY
    if matched == 0:
        return WaiverState.STALE
    return WaiverState.IN_FORCE


def self_approved(waiver: Document) -> bool:
    """A waiver its requester approved: no independent risk acceptance."""
    return bool(waiver.spec.requested_by in waiver.spec.approved_by)


def expired(waiver: Document, on: date) -> bool:
    """A waiver is expired on its expiresAt date and after it."""
    return bool(on >= waiver.spec.expires_at)


def evidence_in_force(evidence: Document, on: date) -> bool:
    """Evidence is in force from the day it was performed (checks count it from then on) until its
    expiresAt, which, like a waiver's, is the first day it no longer holds (no expiresAt: open)."""
    spec = evidence.spec
    return bool(spec.performed_at <= on and (spec.expires_at is None or on < spec.expires_at))


def on_call_people(team: Document) -> list[str]:
    """The distinct people on a Team's on-call rota, primary then secondary, each once; none without a rota."""
    on_call = getattr(team.spec, "on_call", None)
    if on_call is None:
        return []
    return list(dict.fromkeys([*on_call.primary, *on_call.secondary]))


def subject_ref(kind: str, name: str) -> str:
    """`kind:name` with the kind in lower case: how waivers and evidence name a document."""
    return f"{kind.lower()}:{name}"


# ---------------------------------------------------------------------------------------------------
# Placeholders

PLACEHOLDERS_ANNOTATION = "svcascode.io/placeholders"
ROLES_PLACEHOLDER = "spec.members.role"  # the members' roles were not in the source: nobody is known to lead


def placeholders(document: Document) -> frozenset[str]:
    """The fields (`spec.tier`, `spec.members.role`, ...) whose values an importer wrote because its source
    did not state them, as the annotation `svcascode.io/placeholders` lists them until someone replaces them."""
    annotations = document.model.metadata.annotations
    text = annotations.get(PLACEHOLDERS_ANNOTATION) if isinstance(annotations, dict) else None
    return frozenset(text.split()) if isinstance(text, str) else frozenset()
