"""Where long identifiers may wrap in the HTML pages: after their separators, never inside a word.

Table cells wrap only at spaces (the stylesheet sets ``overflow-wrap: break-word`` and
``hyphens: manual``, which never split a word that fits its column). An identifier such as
``observability-platform``, ``services/catalogue/claims-api.yaml:12`` or ``spec.availability.window``
has no space to wrap at, so the ``wbr`` filter gives it a line-break opportunity, ``<wbr>``, after
each separator (``- . _ / : @ = & ? # +``) that joins two word characters. Between two digits none is
added, so ``99.95``, ``2026-11-27`` and ``04:00`` stay whole.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

SEPARATORS = "-._/:@=&?#+"
_JOIN = re.compile(r"(?<=[^\W_])[" + re.escape(SEPARATORS) + r"]+(?=[^\W_])")


def break_points(text: str) -> list[int]:
    """Offsets in `text` just after a run of separators that joins two word characters, digits aside."""
    return [match.end() for match in _JOIN.finditer(text)
            if not (text[match.start() - 1].isdigit() and text[match.end()].isdigit())]


def wbr(value: Any) -> Markup:
    """Escaped text with ``<wbr>`` after the separators of identifiers; Markup passes through unchanged."""
    if isinstance(value, Markup):
        return value
    text = "" if value is None else str(value)
    pieces, last = [], 0
    for offset in break_points(text):
        pieces.append(str(escape(text[last:offset])))
        last = offset
    pieces.append(str(escape(text[last:])))
    return Markup("<wbr>".join(pieces))
