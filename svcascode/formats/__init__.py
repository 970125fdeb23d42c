"""Output formats: each a pure function from a report to text; this dict is also the list of --format choices."""

from __future__ import annotations

from typing import Callable

from svcascode.formats.report import Report
from svcascode.formats import github, json_format, junit, markdown, sarif, text

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "markdown": markdown.render,
}

VALIDATE_FORMATS = ("text", "json")

__all__ = ["FORMATS", "VALIDATE_FORMATS", "Report"]
