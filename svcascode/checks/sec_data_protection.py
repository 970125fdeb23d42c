"""Data is classified and protected as its class requires.

Confidential and restricted data are encrypted at rest (spec.security.encryptionAtRest true) and in
transit with TLS at least `minTlsVersion`; restricted data also has immutable, offsite backups. The
classification itself is required by the Service schema, so a missing one never reaches this check.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceSpec

PARAMS: dict[str, Any] = {
    "encryptedClassifications": ["confidential", "restricted"],
    "minTlsVersion": "1.2",
    "immutableOffsiteBackupClassifications": ["restricted"],
}


def _tls_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(version).split("."))


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    spec = document.spec
    classification = spec.data.classification
    security = spec.security
    if classification in ctx.param("encryptedClassifications"):
        if security is None or security.encryption_at_rest is not True:
            yield ctx.fail(document, f"{classification} data is not encrypted at rest: set "
                           "spec.security.encryptionAtRest to true", ("spec", "security", "encryptionAtRest"))
        minimum = str(ctx.param("minTlsVersion"))
        in_transit = security.encryption_in_transit if security is not None else None
        if in_transit is None:
            yield ctx.fail(document, f"{classification} data has no encryption in transit: set "
                           f'spec.security.encryptionInTransit.minTls to "{minimum}" or later',
                           ("spec", "security", "encryptionInTransit"))
        elif _tls_tuple(in_transit.min_tls) < _tls_tuple(minimum):
            yield ctx.fail(document, f"minimum TLS {in_transit.min_tls} is older than {minimum}, required for "
                           f'{classification} data: set minTls to "{minimum}" or later',
                           ("spec", "security", "encryptionInTransit", "minTls"))
    if classification in ctx.param("immutableOffsiteBackupClassifications"):
        backup = spec.continuity.backup if spec.continuity is not None else None
        if backup is None or backup.method == "none":
            yield ctx.fail(document, f"{classification} data has no backup: add spec.continuity.backup with "
                           "offsite: true and immutable: true", ("spec", "continuity", "backup"))
            return
        for field, attribute in (("offsite", backup.offsite), ("immutable", backup.immutable)):
            if not attribute:
                yield ctx.fail(document, f"{classification} data needs {field} backups so that one incident cannot "
                               f"destroy every copy: set spec.continuity.backup.{field} to true",
                               ("spec", "continuity", "backup", field))
