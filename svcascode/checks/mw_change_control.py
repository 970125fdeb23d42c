"""Maintenance windows are approved, announced in time and not too long.

One-off windows (spec.window) and windows of the types in `approvalRequiredForTypes` (emergency and
vendor) need a change record (spec.changeRecord) and at least one approver (spec.approvedBy). Standard
windows need spec.notice.leadTime of at least `minStandardLeadTime` (72h) so that customers and
dependent teams can plan around them. No window may last longer than `maxDuration` (8h): spec.schedule.
duration for a recurring window, end - start for a one-off one.
"""

from __future__ import annotations

from typing import Any, Iterator

from svcascode.calendars import as_utc
from svcascode.checks.base import CheckContext
from svcascode.documents import Document, expect
from svcascode.finding import Finding
from svcascode.models import MaintenanceWindowSpec
from svcascode.models.common import duration_seconds

PARAMS: dict[str, Any] = {
    "approvalRequiredForTypes": ["emergency", "vendor"],
    "approvalRequiredForOneOff": True,
    "minStandardLeadTime": "72h",
    "maxDuration": "8h",
}


def check(ctx: CheckContext, subject: Document) -> Iterator[Finding]:
    document = expect(subject, MaintenanceWindowSpec)
    yield from _approval(ctx, document)
    yield from _notice(ctx, document)
    yield from _duration(ctx, document)


def _approval(ctx: CheckContext, document: Document[MaintenanceWindowSpec]) -> Iterator[Finding]:
    spec = document.spec
    by_type = spec.type in ctx.param("approvalRequiredForTypes", [])
    one_off = spec.window is not None and bool(ctx.param("approvalRequiredForOneOff", True))
    if not (by_type or one_off):
        return
    missing = [name for name, value in (("spec.changeRecord", spec.change_record),
                                        ("spec.approvedBy", spec.approved_by)) if not value]
    if missing:
        what = f"{spec.type} window" if by_type else "one-off window"
        path = ("spec", "type") if by_type else ("spec", "window")
        yield ctx.fail(document, f"{what} has no {' and no '.join(missing)}: record the change ticket in "
                       "spec.changeRecord and list who approved it in spec.approvedBy", path)


def _notice(ctx: CheckContext, document: Document[MaintenanceWindowSpec]) -> Iterator[Finding]:
    spec = document.spec
    if spec.type != "standard":
        return
    minimum = str(ctx.param("minStandardLeadTime", "72h"))
    if spec.notice is None:
        yield ctx.fail(document, f"standard window has no spec.notice: announce it at least {minimum} ahead "
                       "(spec.notice.leadTime) and name the channels", ("spec", "type"))
    elif spec.notice.lead_time.seconds < duration_seconds(minimum):
        yield ctx.fail(document, f"notice lead time {spec.notice.lead_time} is shorter than {minimum}: "
                       f"announce standard windows at least {minimum} ahead", ("spec", "notice", "leadTime"))


def _duration(ctx: CheckContext, document: Document[MaintenanceWindowSpec]) -> Iterator[Finding]:
    spec = document.spec
    limit = str(ctx.param("maxDuration", "8h"))
    if spec.schedule is not None:
        length, written, path = spec.schedule.duration.seconds, str(spec.schedule.duration), (
            "spec", "schedule", "duration")
    elif spec.window is not None:
        length = (as_utc(spec.window.end) - as_utc(spec.window.start)).total_seconds()
        written, path = _hours(length), ("spec", "window", "end")
    else:
        return  # not reached: the model requires a schedule or a window
    if length > duration_seconds(limit):
        yield ctx.fail(document, f"window lasts {written}, longer than {limit}: split the work into shorter "
                       "windows", path)


def _hours(length: float) -> str:
    hours, rest = divmod(int(length) // 60, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"
