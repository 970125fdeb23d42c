"""Output formats: each a pure function from a report to text; this dict is also the list of --format choices."""

from __future__ import annotations

from typing import Callable

from svcascode.formats.report import Report
from svcascode.formats import json_format, text

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_format.render,
}

VALIDATE_FORMATS = ("text", "json")

__all__ = ["FORMATS", "VALIDATE_FORMATS", "Report"]
