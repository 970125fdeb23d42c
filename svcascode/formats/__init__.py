"""Output formats: each a pure function from a report to text; `FORMATS` is also the list of --format choices.

A format's module is imported when it is first used: a run answered by the run cache imports none.
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterator, Mapping

from svcascode.formats.report import Report

_MODULES = {  # the --format choices, in the order --help lists them, and the module of each
    "text": "text",
    "json": "json_format",
    "sarif": "sarif",
    "junit": "junit",
    "github": "github",
    "markdown": "markdown",
}


class _Formats(Mapping[str, Callable[[Report], str]]):
    def __getitem__(self, name: str) -> Callable[[Report], str]:
        render: Callable[[Report], str] = importlib.import_module(f"svcascode.formats.{_MODULES[name]}").render
        return render

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: Mapping[str, Callable[[Report], str]] = _Formats()

VALIDATE_FORMATS = ("text", "json")

__all__ = ["FORMATS", "VALIDATE_FORMATS", "Report"]
