"""The backup method and interval can meet the engineered RPO, and no service level promises better.

A Service with spec.continuity.rpo needs a backup method other than none: snapshots at most every
rpo (backup.interval), or continuous log shipping at most every rpo (backup.logShipInterval). Tiers in
`requireOffsiteForTiers` keep an offsite copy. Every in-date ServiceLevel for the service promises an
rpo and rto no better (no shorter) than the service's own; those findings sit on the ServiceLevel.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec
from svcascode.models.common import Duration
from svcascode.models.service import Backup, Continuity

PARAMS: dict[str, Any] = {
    "requireOffsiteForTiers": ["tier-0", "tier-1"],
}

CONTINUITY = ("spec", "continuity")
BACKUP = (*CONTINUITY, "backup")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    continuity = document.spec.continuity
    if continuity is None:
        return  # nothing engineered: no RPO to meet, and nothing a service level could promise better
    backup = continuity.backup
    if continuity.rpo is not None:
        yield from _backup_meets_rpo(ctx, document, continuity.rpo, backup)
    tier = document.spec.tier
    if backup is not None and backup.method != "none" and tier in ctx.param("requireOffsiteForTiers") \
            and not backup.offsite:
        yield ctx.fail(document, f"{tier} backups stay in the primary failure domain: set "
                       "spec.continuity.backup.offsite to true", (*BACKUP, "offsite"))
    yield from _promises(ctx, document, continuity)


def _backup_meets_rpo(ctx: CheckContext, document: Document[ServiceSpec], rpo: Duration, backup: Backup | None
                      ) -> Iterator[Finding]:
    if backup is None or backup.method == "none":
        yield ctx.fail(document, f"no backup can meet the RPO {rpo}: set spec.continuity.backup.method to snapshot "
                       "or continuous", (*BACKUP, "method") if backup is not None else CONTINUITY)
    elif backup.method == "snapshot":
        if backup.interval is None:
            yield ctx.fail(document, f"snapshot backups without an interval cannot be shown to meet the RPO {rpo}: "
                           f"set backup.interval to {rpo} or less", BACKUP)
        elif backup.interval.seconds > rpo.seconds:
            yield ctx.fail(document, f"snapshot interval {backup.interval} is longer than the RPO {rpo}: back up at "
                           f"least every {rpo} or use continuous log shipping", (*BACKUP, "interval"))
    elif backup.log_ship_interval is None:
        yield ctx.fail(document, f"continuous backups without a logShipInterval cannot be shown to meet the RPO "
                       f"{rpo}: set backup.logShipInterval to {rpo} or less", BACKUP)
    elif backup.log_ship_interval.seconds > rpo.seconds:
        yield ctx.fail(document, f"log shipping every {backup.log_ship_interval} is longer than the RPO {rpo}: ship "
                       f"logs at least every {rpo}", (*BACKUP, "logShipInterval"))


def _promises(ctx: CheckContext, document: Document[ServiceSpec], engineered: Continuity) -> Iterator[Finding]:
    levels: list[Document[ServiceLevelSpec]] = ctx.service_levels(document.name)
    for level in sorted(levels, key=lambda d: d.name):
        promised = level.spec.continuity
        if promised is None:
            continue
        for field, value, built in (("rpo", promised.rpo, engineered.rpo), ("rto", promised.rto, engineered.rto)):
            if value is not None and built is not None and value.seconds < built.seconds:
                yield ctx.fail(level, f"{level.spec.type} {level.name} promises {field} {value}, better than the "
                               f"{built} service {document.name} is engineered for: promise at least {built} or "
                               f"improve the service's spec.continuity.{field}",
                               ("spec", "continuity", field))
