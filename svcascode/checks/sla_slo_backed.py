"""An SLA or OLA availability commitment is measured by an OpenSLO SLO at least as strict.

For an in-date SLA or OLA: spec.availability.slo names an OpenSLO SLO (apiVersion openslo/v1, kind
SLO) whose spec.service is this level's service and whose strictest objective (spec.objectives[].target,
or targetPercent, as a percentage) is at least spec.availability.targetPercent (strictly above it when `allowEqualTarget`
is false). Without one, a breach of the commitment is noticed only when the customer complains.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, SloSpec
from svcascode.slamath import percent_to_fraction

PARAMS: dict[str, Any] = {
    "allowEqualTarget": True,
}

_SLO = ("spec", "availability", "slo")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    if not ctx.in_date(document):
        return
    availability = document.spec.availability
    if availability.slo is None:
        yield ctx.fail(document, f"availability target {availability.target_percent:g}% is not measured by an SLO: "
                       "set spec.availability.slo to an OpenSLO SLO of this service", ("spec", "availability"))
        return
    slo = ctx.catalogue.get("SLO", availability.slo)
    if slo is None:
        yield ctx.fail(document, f"SLO '{availability.slo}' is not an OpenSLO SLO in the catalogue: fix the name "
                       "or add the SLO", _SLO)
        return
    if slo.spec.service != document.spec.service:
        yield ctx.fail(document, f"SLO '{slo.name}' measures service '{slo.spec.service}', not "
                       f"'{document.spec.service}': point spec.availability.slo at an SLO of this service", _SLO)
        return
    yield from _strict_enough(ctx, document, slo)


def _strict_enough(ctx: CheckContext, document: Document[ServiceLevelSpec], slo: Document[SloSpec]
                   ) -> Iterator[Finding]:
    targets = [o.fraction for o in slo.spec.objectives if o.fraction is not None]
    committed = document.spec.availability.target_percent
    if not targets:
        yield ctx.fail(document, f"SLO '{slo.name}' has no objective target: give it a target of at least "
                       f"{_fraction_text(percent_to_fraction(committed))}", _SLO)
        return
    best, wanted = max(targets), percent_to_fraction(committed)
    too_loose = best < wanted or (best == wanted and not ctx.param("allowEqualTarget"))
    if too_loose:
        relation = "below" if best < wanted else "only equal to"
        yield ctx.fail(document, f"SLO '{slo.name}' objective {float(best * 100):g}% is {relation} the committed "
                       f"{committed:g}%: tighten the SLO objective (target >= {_fraction_text(wanted)}) rather "
                       "than loosening the commitment", _SLO)


def _fraction_text(value: Fraction) -> str:
    return f"{float(value):g}"
