"""Names on both sides: svcascode's RFC 1123 names, Backstage entity references, and Backstage's format
rules for names, labels, annotations and tags (those of `@backstage/catalog-model`'s
KubernetesValidatorFunctions and CommonValidatorFunctions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from svcascode.facts import PLACEHOLDERS_ANNOTATION

MAX_NAME = 63

_NOT_RFC1123 = re.compile(r"[^a-z0-9]+")
_RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

# Backstage: sequences of [a-zA-Z0-9] separated by one of [-_.], at most 63 characters
_BACKSTAGE_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[-_.][a-zA-Z0-9]+)*$")
# a DNS subdomain: the optional prefix of a label or annotation key
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[a-z0-9+#]+(?:-[a-z0-9+#]+)*$")


def rfc1123(name: str) -> str:
    """`name` as a svcascode name: lower case, runs of anything but letters and digits as one '-', at
    most 63 characters; '' when nothing of it is left."""
    text = _NOT_RFC1123.sub("-", name.lower()).strip("-")
    return text[:MAX_NAME].rstrip("-")


def is_rfc1123(name: str) -> bool:
    return bool(_RFC1123.match(name))


def backstage_name(name: str) -> bool:
    """A valid Backstage entity name (and label value, when not empty)."""
    return len(name) <= MAX_NAME and bool(_BACKSTAGE_NAME.match(name))


def backstage_label_value(value: str) -> bool:
    return value == "" or backstage_name(value)


def backstage_key(key: str) -> bool:
    """A valid Backstage label or annotation key: `[prefix/]name`, the prefix a DNS subdomain."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return backstage_name(name)


def backstage_tag(tag: str) -> bool:
    return len(tag) <= MAX_NAME and bool(_TAG.match(tag))


def as_backstage_name(text: str) -> str:
    """`text` made into a Backstage name: other characters as '-', one separator between runs of letters
    and digits, at most 63 characters; '' when nothing of it is left."""
    name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", text)
    name = re.sub(r"[-_.]{2,}", lambda match: match.group(0)[0], name)
    return name.strip("-_.")[:MAX_NAME].rstrip("-_.")


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A Backstage entity reference `[kind:][namespace/]name`, kind in lower case."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


def parse_ref(text: str, default_kind: str | None, namespace: str) -> EntityRef | None:
    """The reference `text`; None when it has no kind and none is implied, or no name."""
    kind, colon, rest = text.partition(":")
    if not colon:
        kind, rest = default_kind or "", text
    ns, slash, name = rest.partition("/")
    if not slash:
        ns, name = namespace, rest
    kind, ns, name = kind.strip().lower(), ns.strip() or namespace, name.strip()
    if not kind or not name:
        return None
    return EntityRef(kind, ns.lower(), name)


# ---------------------------------------------------------------------------------------------------
# Backstage's words and the svcascode values they stand for (import maps them; export gives back the word
# import kept only while it still stands for the svcascode value)

LIFECYCLES = {
    **{v: v for v in ("pipeline", "experimental", "production", "deprecated", "retired")},
    **{v: "experimental" for v in ("development", "dev", "alpha", "beta", "preview", "incubating", "poc")},
    **{v: "production" for v in ("prod", "live", "ga", "stable", "active")},
    **{v: "deprecated" for v in ("sunset", "end-of-life", "eol", "legacy")},
    **{v: "retired" for v in ("decommissioned", "archived")},
}
TEAM_TYPES = {"team": "team", "department": "department", "vendor": "vendor",
              **{v: "department" for v in ("business-unit", "organization", "organisation", "division", "org")}}


# ---------------------------------------------------------------------------------------------------
# The annotations and labels export writes and import reads back

PREFIX = "svcascode.io/"
TIER = PREFIX + "tier"
TYPE = PREFIX + "type"
SLA_TARGET = PREFIX + "sla-target"
COMPLIANCE = PREFIX + "compliance"
SUPPORT_HOURS = PREFIX + "support-hours"
CLASSIFICATION = PREFIX + "data-classification"
SUPPLIER = PREFIX + "supplier"
HARD_DEPENDENCIES = PREFIX + "hard-dependencies"
ROLES = PREFIX + "roles"
PLACEHOLDERS = PLACEHOLDERS_ANNOTATION
SYSTEM_LABEL = PREFIX + "system"
DOMAIN_LABEL = PREFIX + "domain"

# What Backstage has and svcascode has no field for, kept by import so that export gives the entities back:
BACKSTAGE_KIND = PREFIX + "backstage-kind"  # Component, Resource or API
BACKSTAGE_TYPE = PREFIX + "backstage-type"  # spec.type as written (service, website, database, openapi; team)
BACKSTAGE_LIFECYCLE = PREFIX + "backstage-lifecycle"  # as written, when svcascode's is a mapping of it
BACKSTAGE_OWNER = PREFIX + "backstage-owner"  # as written, when it is not the Group of the owning Team
BACKSTAGE_NAMESPACE = PREFIX + "backstage-namespace"  # when not `default`
BACKSTAGE_API = PREFIX + "backstage-api"  # JSON: the API of the service's own name, its interface
BACKSTAGE_DEFINITION = PREFIX + "backstage-definition"  # JSON: an API's spec.definition
BACKSTAGE_USERS = PREFIX + "backstage-users"  # Team, JSON: member id -> Backstage User name
BACKSTAGE_ENTITIES = PREFIX + "backstage-entities"  # Team, JSON: the Systems and Domains it owns
RELATIONS = {field: PREFIX + "backstage-" + annotation for field, annotation in (
    ("dependsOn", "depends-on"), ("dependencyOf", "dependency-of"), ("providesApis", "provides-apis"),
    ("consumesApis", "consumes-apis"), ("subcomponentOf", "subcomponent-of"), ("partOf", "part-of"),
    ("hasPart", "has-part"))}  # entity refs as written
ROUND_TRIP = frozenset({BACKSTAGE_KIND, BACKSTAGE_TYPE, BACKSTAGE_LIFECYCLE, BACKSTAGE_OWNER, BACKSTAGE_NAMESPACE,
                        BACKSTAGE_API, BACKSTAGE_DEFINITION, BACKSTAGE_USERS, BACKSTAGE_ENTITIES, *RELATIONS.values()})

# read into fields (or derived from the assessment, or from the entity itself), so never kept as
# annotations on import
FIELD_ANNOTATIONS = frozenset({TIER, TYPE, SLA_TARGET, COMPLIANCE, SUPPORT_HOURS, CLASSIFICATION, SUPPLIER,
                               HARD_DEPENDENCIES, ROLES, PLACEHOLDERS, *ROUND_TRIP})
DERIVED_LABELS = frozenset({TIER, COMPLIANCE, SLA_TARGET})
