"""Every dependency names an existing Service that is still supported.

Fails when spec.dependencies[].service names no Service, or a Service whose lifecycle is one of
`failLifecycles` (retired); warns when it is one of `warnLifecycles` (deprecated), so that the move to
a replacement gets planned. A retired service is not judged: its dependency list is history.

The clause "no hard-dependency cycles" is enforced by validation, not here: a cycle of hard
dependencies is the finding `dependency-cycle` (critical, blocking), once per cycle at the edge that
closes it. `svcascode check` always validates first, so the finding reaches every format whatever
--select or --ignore say; this check does not report it a second time under its own id, and has no
parameter to switch it off.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import ServiceSpec

PARAMS: dict[str, Any] = {
    "failLifecycles": ["retired"],
    "warnLifecycles": ["deprecated"],
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, ServiceSpec)
    if document.spec.lifecycle == "retired":
        return
    fail_on, warn_on = set(ctx.param("failLifecycles")), set(ctx.param("warnLifecycles"))
    for index, dependency in enumerate(document.spec.dependencies):
        path = ("spec", "dependencies", index, "service")
        target: Document[ServiceSpec] | None = ctx.service(dependency.service)
        if target is None:
            yield ctx.fail(document, f"dependency '{dependency.service}' is not a Service in the catalogue: "
                           "fix the name or add the Service", path)
            continue
        lifecycle = target.spec.lifecycle
        what = f"{dependency.criticality} dependency on '{dependency.service}', which is {lifecycle}"
        if lifecycle in fail_on:
            yield ctx.fail(document, f"{what}: move to its replacement or remove the dependency", path)
        elif lifecycle in warn_on:
            yield ctx.warn(document, f"{what}: plan the move to its replacement", path)
