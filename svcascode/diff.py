"""Semantic diff of two catalogues: documents added, removed, renamed and changed field by field, each
change classified for reviewers as weakened, strengthened or changed.

Pure functions over two `Catalogue`s. What a change means is data: `FIELD_RULES` (one row per field whose
direction matters) and `DOCUMENT_RULES` (adding or removing a whole document). A field no row matches is
reported as changed, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from svcascode.catalogue import Catalogue
from svcascode.documents import Document, expect
from svcascode.facts import subject_ref
from svcascode.finding import SEVERITY_RANK, JsonPath, format_path
from svcascode.models import ServiceLevelSpec, ServiceSpec, WaiverSpec
from svcascode.models.common import duration_seconds

if TYPE_CHECKING:
    from svcascode.assessment import WaiverResult

WEAKENED, STRENGTHENED, CHANGED = "weakened", "strengthened", "changed"


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldChange:
    path: JsonPath
    old: Any  # MISSING when the field was added
    new: Any  # MISSING when the field was removed

    @property
    def where(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class Classification:
    category: str  # e.g. sla, owner, tier, mfa, control, waiver, dependency
    direction: str  # weakened, strengthened, changed
    summary: str  # one line a reviewer reads: "SLA weakened: availability target 99.9 -> 99.5"
    path: str = ""


@dataclass(frozen=True)
class DocumentChange:
    kind: str
    name: str
    action: str  # added, removed, renamed, changed
    old_file: str | None
    new_file: str | None
    fields: tuple[FieldChange, ...] = ()
    classes: tuple[Classification, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def file(self) -> str:
        return self.new_file or self.old_file or ""


@dataclass
class ChangeSet:
    changes: list[DocumentChange] = field(default_factory=list)

    def classified(self, direction: str) -> Iterator[tuple[DocumentChange, Classification]]:
        for change in self.changes:
            for item in change.classes:
                if item.direction == direction:
                    yield change, item

    def counts(self) -> dict[str, int]:
        out = {action: sum(1 for c in self.changes if c.action == action)
               for action in ("added", "removed", "renamed", "changed", "unreadable")}
        out[WEAKENED] = sum(1 for _ in self.classified(WEAKENED))
        out[STRENGTHENED] = sum(1 for _ in self.classified(STRENGTHENED))
        out["neutral"] = sum(1 for _ in self.classified(CHANGED))  # "changed" already counts documents
        return out


# ---------------------------------------------------------------------------------------------------
# Comparing values


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is MISSING or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return duration_seconds(value)
        except ValueError:
            pass
        text = value.strip().removesuffix("ms")
        try:
            return float(text)
        except ValueError:
            return None
    return None


Direction = Callable[[Any, Any], str | None]


def higher_is_stronger(old: Any, new: Any) -> str | None:
    a, b = _number(old), _number(new)
    if a is None or b is None or a == b:
        return None
    return STRENGTHENED if b > a else WEAKENED


def lower_is_stronger(old: Any, new: Any) -> str | None:
    result = higher_is_stronger(old, new)
    return {STRENGTHENED: WEAKENED, WEAKENED: STRENGTHENED}.get(result or "", None)


def ranked(order: tuple[Any, ...]) -> Direction:
    """Values listed from weakest to strongest."""

    def compare(old: Any, new: Any) -> str | None:
        if old not in order or new not in order or old == new:
            return CHANGED if old != new else None
        return STRENGTHENED if order.index(new) > order.index(old) else WEAKENED

    return compare


def true_is_stronger(old: Any, new: Any) -> str | None:
    if bool(old is True) == bool(new is True):
        return None
    return STRENGTHENED if new is True else WEAKENED


def later_is_weaker(old: Any, new: Any) -> str | None:
    """Dates: an expiry moved later (or removed) extends what it bounds."""
    if old == new:
        return None
    if new is MISSING:
        return WEAKENED
    if old is MISSING:
        return STRENGTHENED
    return WEAKENED if str(new) > str(old) else STRENGTHENED


def any_change(old: Any, new: Any) -> str | None:
    return CHANGED if old != new else None


def more_is_weaker(old: Any, new: Any) -> str | None:
    """Lists whose every item widens something (waiver subjects, baseline exclusions)."""
    before, after = _items(old), _items(new)
    if after - before:
        return WEAKENED
    return STRENGTHENED if before - after else None


def more_is_stronger(old: Any, new: Any) -> str | None:
    result = more_is_weaker(old, new)
    return {STRENGTHENED: WEAKENED, WEAKENED: STRENGTHENED}.get(result or "", None)


def _items(value: Any) -> set[str]:
    return {repr(v) for v in value} if isinstance(value, list) else set()


_TIERS = ("tier-3", "tier-2", "tier-1", "tier-0")  # weakest to strongest requirements
_MFA = ("none", "privileged-only", "required")
_SEVERITY = tuple(sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__))  # info .. critical
_ENFORCEMENT = ("audit", "warn", "block")
_TLS = ("1.2", "1.3")


@dataclass(frozen=True)
class FieldRule:
    kind: str
    pattern: str  # dotted path; `*` matches one key or list index
    category: str
    compare: Direction
    label: str  # what the field is, for the summary
    words: tuple[str, str] = ("weakened", "strengthened")  # what happened to it, each way

    def verb(self, direction: str) -> str:
        return {WEAKENED: self.words[0], STRENGTHENED: self.words[1]}.get(direction, "changed")


FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule("ServiceLevel", "spec.availability.targetPercent", "sla", higher_is_stronger, "availability target", ("lowered", "raised")),
    FieldRule("ServiceLevel", "spec.support.priorities.*.response", "sla", lower_is_stronger, "response time", ("raised", "lowered")),
    FieldRule("ServiceLevel", "spec.support.priorities.*.resolution", "sla", lower_is_stronger, "resolution time", ("raised", "lowered")),
    FieldRule("ServiceLevel", "spec.performance.*.targetPercent", "sla", higher_is_stronger, "performance target", ("lowered", "raised")),
    FieldRule("ServiceLevel", "spec.performance.*.threshold", "sla", lower_is_stronger, "latency threshold", ("raised", "lowered")),
    FieldRule("ServiceLevel", "spec.continuity.rpo", "sla", lower_is_stronger, "promised RPO", ("raised", "lowered")),
    FieldRule("ServiceLevel", "spec.continuity.rto", "sla", lower_is_stronger, "promised RTO", ("raised", "lowered")),
    FieldRule("ServiceLevel", "spec.validTo", "sla", any_change, "end of validity"),
    FieldRule("ServiceLevel", "spec.coverage", "sla", any_change, "coverage calendar"),
    FieldRule("Service", "spec.owner", "owner", any_change, "owner"),
    FieldRule("Service", "spec.businessOwner", "owner", any_change, "business owner"),
    FieldRule("Service", "spec.tier", "tier", ranked(_TIERS), "tier", ("lowered", "raised")),
    FieldRule("Service", "spec.lifecycle", "lifecycle", any_change, "lifecycle"),
    FieldRule("Service", "spec.continuity.rpo", "continuity", lower_is_stronger, "RPO", ("raised", "lowered")),
    FieldRule("Service", "spec.continuity.rto", "continuity", lower_is_stronger, "RTO", ("raised", "lowered")),
    FieldRule("Service", "spec.security.encryptionAtRest", "security", true_is_stronger, "encryption at rest", ("turned off", "turned on")),
    FieldRule("Service", "spec.security.encryptionInTransit.minTls", "security", ranked(_TLS), "minimum TLS"),
    FieldRule("Service", "spec.data.classification", "data", ranked(("public", "internal", "confidential",
                                                                     "restricted")), "data classification"),
    FieldRule("AccessPolicy", "spec.authentication.mfa", "mfa", ranked(_MFA), "MFA", ("relaxed", "tightened")),
    FieldRule("AccessPolicy", "spec.authentication.sso", "mfa", true_is_stronger, "SSO", ("turned off", "turned on")),
    FieldRule("AccessPolicy", "spec.authentication.phishingResistant", "mfa", true_is_stronger,
              "phishing-resistant MFA"),
    FieldRule("AccessPolicy", "spec.roles.*.maxDuration", "access", lower_is_stronger, "privileged access duration"),
    FieldRule("AccessPolicy", "spec.deprovisioning.onTermination", "access", lower_is_stronger,
              "removal on termination"),
    FieldRule("AccessPolicy", "spec.review.privilegedCadence", "access", lower_is_stronger, "privileged review cadence"),
    FieldRule("Control", "spec.severity", "control", ranked(_SEVERITY), "severity", ("lowered", "raised")),
    FieldRule("Control", "spec.enforcement", "control", ranked(_ENFORCEMENT), "enforcement", ("relaxed", "tightened")),
    FieldRule("Control", "spec.check", "control", any_change, "check"),
    FieldRule("Control", "spec.appliesTo", "control", any_change, "scope (appliesTo)"),
    FieldRule("Baseline", "spec.controls", "control", more_is_stronger, "controls selected", ("narrowed", "widened")),
    FieldRule("Baseline", "spec.exclude", "control", more_is_weaker, "controls excluded", ("widened", "narrowed")),
    FieldRule("Waiver", "spec.expiresAt", "waiver", later_is_weaker, "expiry", ("extended", "shortened")),
    FieldRule("Waiver", "spec.subjects", "waiver", more_is_weaker, "subjects", ("widened", "narrowed")),
    FieldRule("PatchPolicy", "spec.remediationSla.*", "patching", lower_is_stronger, "remediation SLA"),
    FieldRule("IncidentPolicy", "spec.severities.*.ack", "incident", lower_is_stronger, "acknowledgement time"),
)

# (kind, action) -> (category, direction, summary)
DOCUMENT_RULES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Waiver", "added"): ("waiver", WEAKENED, "waiver added: a risk is accepted"),
    ("Waiver", "removed"): ("waiver", STRENGTHENED, "waiver removed: its findings count again"),
    ("Control", "added"): ("control", STRENGTHENED, "control added"),
    ("Control", "removed"): ("control", WEAKENED, "control removed"),
    ("ServiceLevel", "removed"): ("sla", WEAKENED, "service level removed"),
    ("ServiceLevel", "added"): ("sla", STRENGTHENED, "service level added"),
    ("AccessPolicy", "removed"): ("mfa", WEAKENED, "access policy removed"),
    ("Baseline", "removed"): ("control", WEAKENED, "baseline removed"),
    ("Service", "added"): ("service", CHANGED, "service added"),
    ("Service", "removed"): ("service", CHANGED, "service removed"),
}

_CATEGORY_WORDS = {
    "sla": "SLA", "owner": "owner", "tier": "tier", "mfa": "authentication", "control": "control",
    "waiver": "waiver", "dependency": "dependency", "continuity": "continuity", "security": "security",
    "data": "data", "access": "access", "lifecycle": "lifecycle", "patching": "patching",
    "incident": "incident response", "service": "service",
}

_IDENTITY_KEYS = ("service", "name", "id", "level", "framework", "date")


# ---------------------------------------------------------------------------------------------------
# Field-by-field


def field_changes(old: Any, new: Any, path: JsonPath = ()) -> Iterator[FieldChange]:
    """Leaf changes between two documents' data; lists of mappings are matched by an identity key."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            yield from field_changes(old.get(key, MISSING), new.get(key, MISSING), (*path, key))
        return
    if isinstance(old, list) and isinstance(new, list) and _mappings(old) and _mappings(new):
        key = next((k for k in _IDENTITY_KEYS if all(k in item for item in old + new)), None)
        if key is not None:
            before = {item[key]: i for i, item in enumerate(old)}
            after = {item[key]: i for i, item in enumerate(new)}
            for ident, i in before.items():
                j = after.get(ident)
                yield from field_changes(old[i], new[j] if j is not None else MISSING, (*path, j if j is not None
                                                                                             else i))
            for ident, j in after.items():
                if ident not in before:
                    yield from field_changes(MISSING, new[j], (*path, j))
            return
        for i in range(max(len(old), len(new))):
            yield from field_changes(old[i] if i < len(old) else MISSING, new[i] if i < len(new) else MISSING,
                                     (*path, i))
        return
    if old != new or isinstance(old, bool) != isinstance(new, bool):
        yield FieldChange(path, old, new)


def _mappings(items: list[Any]) -> bool:
    return all(isinstance(item, dict) for item in items)


def _matches(pattern: str, path: JsonPath) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(p == "*" or p == str(q) for p, q in zip(parts, path))


def _prefix_matches(pattern: str, path: JsonPath) -> bool:
    parts = pattern.split(".")
    return len(parts) <= len(path) and all(p == "*" or p == str(q) for p, q in zip(parts, path))


def show(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def classify_fields(kind: str, changes: tuple[FieldChange, ...]) -> list[Classification]:
    out: list[Classification] = []
    seen_whole: set[str] = set()
    for change in changes:
        for rule in FIELD_RULES:
            if rule.kind != kind:
                continue
            exact = _matches(rule.pattern, change.path)
            if not exact and not (rule.compare in (any_change, more_is_weaker, more_is_stronger)
                                  and _prefix_matches(rule.pattern, change.path)):
                continue
            if not exact:  # a list or a subtree judged as a whole, once
                if rule.pattern in seen_whole:
                    break
                seen_whole.add(rule.pattern)
            direction = rule.compare(change.old, change.new) if exact else CHANGED
            if direction is None:
                break
            word = _CATEGORY_WORDS[rule.category]
            head = f"{word} {direction}: " if direction != CHANGED and word != rule.label else ""
            summary = (f"{head}{rule.label} {_where(change.path, rule.pattern)}{rule.verb(direction)}: "
                       f"{show(change.old)} -> {show(change.new)}" if exact else f"{head}{rule.label} changed")
            out.append(Classification(rule.category, direction, summary, format_path(change.path)))
            break
    return out


def _where(path: JsonPath, pattern: str) -> str:
    """The parts a wildcard stood for (`P1 `), so `response time P1 15m -> 1h` says which one."""
    parts = pattern.split(".")
    named = [str(q) for p, q in zip(parts, path) if p == "*" and not isinstance(q, int)]
    return f"{' '.join(named)} " if named else ""


# ---------------------------------------------------------------------------------------------------
# Dependencies on less available services


def availability(catalogue: Catalogue, service: str) -> float | None:
    """The highest availability target any ServiceLevel promises for the service."""
    levels: list[Document[ServiceLevelSpec]] = catalogue.levels_of(service)
    return max((float(level.spec.availability.target_percent) for level in levels), default=None)


def dependency_changes(old: Document | None, new: Document, catalogue: Catalogue) -> list[Classification]:
    """A hard dependency added on a service promising less availability than the dependent one."""
    def deps(document: Document | None) -> dict[str, str]:
        if document is None:
            return {}
        return {d.service: d.criticality for d in expect(document, ServiceSpec).spec.dependencies}

    before, after = deps(old), deps(new)
    own = availability(catalogue, new.name)
    out: list[Classification] = []
    for service, criticality in after.items():
        if service in before and before[service] == criticality:
            continue
        theirs = availability(catalogue, service)
        if criticality == "hard" and own is not None and theirs is not None and theirs < own:
            out.append(Classification("dependency", WEAKENED,
                                      f"dependency weakened: hard dependency added on {service} "
                                      f"({theirs}% promised, below this service's {own}%)", "spec.dependencies"))
        elif service not in before:
            out.append(Classification("dependency", CHANGED, f"dependency added: {service} ({criticality})",
                                      "spec.dependencies"))
    for service in before:
        if service not in after:
            out.append(Classification("dependency", CHANGED, f"dependency removed: {service}", "spec.dependencies"))
    return out


# ---------------------------------------------------------------------------------------------------
# The change set


def diff_catalogues(old: Catalogue, new: Catalogue) -> ChangeSet:
    """Every document added, removed, renamed (same kind and name, other file) or changed."""
    changes: list[DocumentChange] = []
    unreadable_before, unreadable_after = unreadable_files(old), unreadable_files(new)
    kinds = sorted(set(old.by_kind) | set(new.by_kind))
    for kind in kinds:
        before, after = old.by_kind.get(kind, {}), new.by_kind.get(kind, {})
        for name in sorted(set(before) | set(after)):
            was, now = before.get(name), after.get(name)
            if was is None and now is not None and now.file in unreadable_before:
                change: DocumentChange | None = _unreadable(now, f"{now.file} did not parse at the base")
            elif now is None and was is not None and was.file in unreadable_after:
                change = _unreadable(was, f"{was.file} does not parse")
            else:
                change = _document_change(kind, name, was, now, new)
            if change is not None:
                changes.append(change)
    changes.sort(key=lambda c: (c.file, c.kind, c.name))
    return ChangeSet(changes)


def waiver_added(waiver: Document) -> str:
    """What a reviewer needs of a new waiver: the control, the subjects, until when and by whom."""
    spec = expect(waiver, WaiverSpec).spec
    return (f"waiver added: {spec.control} accepted for {', '.join(spec.subjects)} until {spec.expires_at}, "
            f"approved by {', '.join(spec.approved_by)}")


def unreadable_files(catalogue: Catalogue) -> set[str]:
    """Files that did not parse (YAML syntax, encoding, size): the documents they held are unknown."""
    return {parsed.path for parsed in catalogue.files if parsed.problems and not parsed.documents}


def _unreadable(document: Document, why: str) -> DocumentChange:
    """A document hidden on one side by a file that did not parse: neither added nor removed."""
    return DocumentChange(document.kind, document.name, "unreadable", document.file, document.file, (),
                          (Classification("file", CHANGED, f"{why}: not compared"),))


def _document_change(kind: str, name: str, old: Document | None, new: Document | None,
                     catalogue: Catalogue) -> DocumentChange | None:
    if old is None or new is None:
        action = "added" if old is None else "removed"
        rule = DOCUMENT_RULES.get((kind, action))
        summary = waiver_added(new) if rule and new is not None and kind == "Waiver" else rule and rule[2]
        classes = [Classification(rule[0], rule[1], summary)] if rule and summary else []
        if new is not None and kind == "Service":
            classes.extend(c for c in dependency_changes(None, new, catalogue) if c.direction == WEAKENED)
        return DocumentChange(kind, name, action, old.file if old else None, new.file if new else None,
                              (), tuple(classes))
    fields = tuple(field_changes(old.data, new.data))
    moved = old.file != new.file
    if not fields and not moved:
        return None
    classes = classify_fields(kind, fields)
    if kind == "Service":
        classes += dependency_changes(old, new, catalogue)
    return DocumentChange(kind, name, "renamed" if moved else "changed", old.file, new.file, fields,
                          tuple(classes))


# ---------------------------------------------------------------------------------------------------
# The weakening gate (see docs/git.md, "Failing on weakened changes")


def approving_waivers(waivers: Iterable[WaiverResult]) -> dict[str, list[str]]:
    """`kind:name` -> names of the waivers that approve a weakening of that document.

    A waiver approves exactly when it would suppress findings in `check` on the same date: approved by
    someone other than its requester, in force (approvedAt <= as-of < expiresAt), and not failed by
    wvr-valid (`facts.waiver_state`, the one definition).
    """
    out: dict[str, list[str]] = {}
    for result in waivers:
        if not result.state.suppresses:
            continue
        for subject in result.waiver.spec.subjects:
            kind, _, name = str(subject).partition(":")
            out.setdefault(subject_ref(kind, name), []).append(result.name)
    return out


def unapproved_weakenings(changes: ChangeSet, waivers: Iterable[WaiverResult], labels: set[str],
                          approval_label: str) -> list[tuple[DocumentChange, Classification]]:
    """Weakened changes that neither the approval label nor an approving waiver covers.

    A Waiver's own change (added, extended, widened) cannot be approved by a waiver: only the label can.
    """
    if approval_label in labels:
        return []
    approving = approving_waivers(waivers)
    out = []
    for change, item in changes.classified(WEAKENED):
        if change.kind != "Waiver" and approving.get(subject_ref(change.kind, change.name)):
            continue
        out.append((change, item))
    return out
