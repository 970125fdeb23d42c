"""SSO and MFA for sensitive systems and for every privileged role.

When any target Service holds data of a sensitive classification, the policy needs sso: true and
mfa: required. When any role is privileged, mfa must be one of `privilegedMfaModes`. Privileged roles
on a target of a tier in `phishingResistantForTiers` should use phishing-resistant factors: a
warning, never blocking.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import AccessPolicySpec, ServiceSpec

PARAMS: dict[str, Any] = {
    "sensitiveClassifications": ["confidential", "restricted"],
    "privilegedMfaModes": ["required", "privileged-only"],
    "phishingResistantForTiers": ["tier-0"],
}

AUTH = ("spec", "authentication")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, AccessPolicySpec)
    spec = document.spec
    auth = spec.authentication
    targets: list[Document[ServiceSpec]] = ctx.services_of(document)
    sensitive = sorted(t.name for t in targets if t.spec.data.classification in ctx.param("sensitiveClassifications"))
    privileged = [role.name for role in spec.roles if role.privileged]
    mfa_reported = False
    if sensitive:
        names = ", ".join(sensitive)
        if not auth.sso:
            yield ctx.fail(document, f"target {names} holds sensitive data but sign-in is not through SSO: set "
                           "spec.authentication.sso to true", (*AUTH, "sso"))
        if auth.mfa != "required":
            mfa_reported = True
            yield ctx.fail(document, f"target {names} holds sensitive data but mfa is {auth.mfa}: set "
                           "spec.authentication.mfa to required", (*AUTH, "mfa"))
    modes = list(ctx.param("privilegedMfaModes"))
    if privileged and not mfa_reported and auth.mfa not in modes:
        yield ctx.fail(document, f"privileged role {', '.join(privileged)} without MFA (mfa: {auth.mfa}): set "
                       f"spec.authentication.mfa to {' or '.join(modes)}", (*AUTH, "mfa"))
    strict_tiers = ctx.param("phishingResistantForTiers")
    critical = sorted(t.name for t in targets if t.spec.tier in strict_tiers)
    if privileged and critical and not auth.phishing_resistant:
        yield ctx.warn(document, f"privileged access to {', '.join(critical)} ({'/'.join(strict_tiers)}) should "
                       "use phishing-resistant factors: set spec.authentication.phishingResistant to true "
                       "(FIDO2/WebAuthn)", (*AUTH, "phishingResistant"))
