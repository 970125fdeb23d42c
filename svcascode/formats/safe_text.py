"""Text from YAML is untrusted: these make it printable and bounded before a format embeds it.

Every format escapes for its own syntax (XML, Markdown, workflow commands); what they share is that
control characters, lone surrogates and non-characters are shown as visible escapes (`\\x1b`), so a
document cannot move a terminal cursor, break an XML parser or hide text, and that long text is cut
with a note of how much was left out.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, lone surrogates and the two non-characters XML 1.0 refuses.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, keep: str = "") -> str:
    """Replace unprintable characters by `\\xNN` / `\\uNNNN`, except those in `keep` (e.g. "\\n")."""
    if keep:
        return _UNPRINTABLE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), text)
    return _UNPRINTABLE.sub(_escape_char, text)


def shorten(text: str, limit: int) -> str:
    """At most about `limit` characters; a cut says how many characters it dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def severity_rank(severity: str) -> int:
    """0 for critical .. 4 for info; unknown severities sort last."""
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER)
