"""An availability target no higher than the ceiling its service's hard dependencies allow.

For an in-date ServiceLevel, the service's hard dependencies are grouped into units (dependencies
sharing a redundancyGroup form one unit, A = 1 - prod(1 - A_i)); the ceiling is the product over units,
where a dependency's availability is the best target of its in-date SLA, OLA or UC. Fails when the
ceiling is below spec.availability.targetPercent, and when a hard dependency has no in-date level (the
ceiling is then computed without it and without its redundancy group, an upper bound). Warns when a
unit is below the "extra nine", 1 - (1 - target) / extraNineFactor: it alone may spend more than that
share of the error budget. Soft dependencies never count. Expired or not yet valid service levels are
left to other controls.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceLevelSpec, ServiceSpec
from svcascode.slamath import parallel_availability, percent_to_fraction, serial_availability

PARAMS: dict[str, Any] = {
    "dependencyLevelTypes": ["SLA", "OLA", "UC"],
    "dependencyCriticality": "hard",
    "extraNineFactor": 10,
}

_TARGET = ("spec", "availability", "targetPercent")


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceLevelSpec)
    service: Document[ServiceSpec] | None = ctx.service(document.spec.service)
    if service is None or not ctx.in_date(document):
        return
    known, missing = _dependency_availabilities(ctx, service)
    if missing:
        yield ctx.fail(document, f"hard dependencies of {service.name} without an in-date SLA, OLA or UC: "
                       f"{', '.join(missing)}; their availability is unknown, so this target cannot be shown "
                       "to be achievable: give each a service level or make the dependency soft", ("spec", "service"))
    if not known:
        return
    target_percent = document.spec.availability.target_percent
    target = percent_to_fraction(target_percent)
    units = _units(known)
    ceiling = serial_availability(a for _, a in units)
    if ceiling < target:
        yield ctx.fail(document, f"availability target {target_percent:g}% exceeds the {_pct(ceiling)} ceiling of "
                       f"its hard dependencies ({', '.join(label for label, _ in units)}): lower the target, add "
                       "redundancy or negotiate stronger levels for the dependencies", _TARGET)
    factor = Fraction(ctx.param("extraNineFactor"))
    threshold = 1 - (1 - target) / factor
    weak = [label for label, availability in units if availability < threshold]
    if weak:
        yield ctx.warn(document, f"hard dependencies below {_pct(threshold)}, the extra-nine threshold of the "
                       f"{target_percent:g}% target: {', '.join(weak)}; each may spend more than 1/{factor} of "
                       "the error budget: strengthen their levels or add a redundant replica",
                       ("spec", "availability"))


def _dependency_availabilities(ctx: CheckContext, service: Document[ServiceSpec]
                               ) -> tuple[list[tuple[str, Fraction, str | None]], list[str]]:
    """(name, best in-date availability, redundancy group) per hard dependency, and those without any."""
    types, criticality = tuple(ctx.param("dependencyLevelTypes")), ctx.param("dependencyCriticality")
    known: list[tuple[str, Fraction, str | None]] = []
    missing: list[str] = []
    for dependency in service.spec.dependencies:
        if dependency.criticality != criticality:
            continue
        levels: list[Document[ServiceLevelSpec]] = ctx.service_levels(dependency.service, types)
        if not levels:
            missing.append(dependency.service)
            continue
        best = max(percent_to_fraction(level.spec.availability.target_percent) for level in levels)
        known.append((dependency.service, best, dependency.redundancy_group))
    # a group with an unknown member could be anywhere up to 100 %: leave it out, so the ceiling stays an upper bound
    unknown_groups = {d.redundancy_group for d in service.spec.dependencies if d.service in missing}
    return [k for k in known if k[2] is None or k[2] not in unknown_groups], missing


def _units(known: list[tuple[str, Fraction, str | None]]) -> list[tuple[str, Fraction]]:
    """(label, availability) per unit, in the order the author wrote them; a redundancy group is one unit."""
    groups: dict[str, list[tuple[str, Fraction]]] = {}
    order: list[tuple[str, Fraction] | str] = []
    for name, availability, group in known:
        if group is None:
            order.append((name, availability))
        else:
            if group not in groups:
                order.append(group)
            groups.setdefault(group, []).append((name, availability))
    units: list[tuple[str, Fraction]] = []
    for item in order:
        if isinstance(item, str):
            members = groups[item]
            combined = parallel_availability(a for _, a in members)
            listed = ", ".join(f"{n} {_short(a)}" for n, a in members)
            units.append((f"redundancy group {item} [{listed}] {_pct(combined)}", combined))
        else:
            units.append((f"{item[0]} {_short(item[1])}", item[1]))
    return units


def _pct(availability: Fraction) -> str:
    """Four decimals, rounded down: a ceiling shown rounded up could look as if it met the target."""
    return f"{float(math.floor(availability * 100 * 10_000) / 10_000):.4f}%"


def _short(availability: Fraction) -> str:
    return f"{float(availability * 100):g}%"
