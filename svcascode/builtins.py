"""Documents every catalogue has without writing them.

``always-on`` is a calendar every catalogue has: a reference to it resolves to 24x7 UTC coverage when no
document of that name is defined (a document that is defined wins).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from svcascode.documents import Document
from svcascode.loading.yamlfile import RawDocument
from svcascode.models import KINDS

BUILTIN_FILE = "<built-in>"
BUILTIN_CALENDARS: dict[str, dict[str, Any]] = {
    "always-on": {
        "apiVersion": "svcascode.io/v1alpha1",
        "kind": "BusinessCalendar",
        "metadata": {"name": "always-on", "title": "24x7",
                     "description": "Built in: round-the-clock coverage in UTC, every day of the year."},
        "spec": {"timezone": "UTC", "alwaysOn": True},
    },
}


def builtin_document(kind: str, name: str) -> Document | None:
    """The built-in document of that kind and name (only the always-on BusinessCalendar), or None."""
    if kind != "BusinessCalendar" or name not in BUILTIN_CALENDARS:
        return None
    return _builtin(name)


@lru_cache(maxsize=None)
def _builtin(name: str) -> Document:
    data = BUILTIN_CALENDARS[name]
    model = KINDS["BusinessCalendar"].model_validate(data)
    return Document(RawDocument(BUILTIN_FILE, 0, data), "BusinessCalendar", name, model)
