"""The catalogue site and the compliance report: Jinja2 templates with autoescape, no network, no CDN.

Everything that comes from the YAML is escaped: HTML by autoescape, Markdown by the `md` filter
(`svcascode.escape.md_text`; `code` for a code span). Links taken from the YAML keep only http(s) and
mailto URLs; anything else (`javascript:`, `data:`) is shown as text and never becomes an href.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svcascode.escape import html_attr, md_code, md_text
from svcascode.render.wrap import wbr

if TYPE_CHECKING:
    from svcascode.safewrite import OutputFolder

SAFE_SCHEMES = ("http://", "https://", "mailto:")
_INLINE_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(([^)\s]{1,2000})\)")


def safe_url(value: Any) -> str | None:
    """The URL when it is http(s) or mailto, else None: never a script or data URL."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text.lower().startswith(SAFE_SCHEMES) and not any(c in text for c in "\"'<> \t\n") else None


def rich_text(value: Any) -> Any:
    """Escaped text in which `[title](https://...)` becomes a link; other schemes stay plain text."""
    from markupsafe import Markup, escape

    text = str(value or "")
    out: list[str] = []
    last = 0
    for match in _INLINE_LINK.finditer(text):
        out.append(str(escape(text[last:match.start()])))
        url = safe_url(match.group(2))
        if url is None:
            out.append(str(escape(match.group(0))))
        else:
            out.append(f'<a href="{html_attr(url)}" rel="noopener noreferrer">{escape(match.group(1))}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


@lru_cache(maxsize=1)
def environment() -> Any:
    """The one Jinja2 environment: HTML and SVG templates autoescaped, undefined names an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("svcascode", "templates"),
        autoescape=lambda name: name is not None and name.endswith((".html.j2", ".svg.j2")),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(safe_url=safe_url, md=md_text, code=md_code, rich=rich_text)
    env.filters["wbr"] = wbr  # identifiers wrap after - . / and never inside a word
    return env


def render_template(name: str, **context: Any) -> str:
    return str(environment().get_template(name).render(**context))


def write_text(out: Path | OutputFolder, relative: str, text: str | bytes) -> Path:
    """Write one output file at `relative` inside the folder `out` (a path, or an OutputFolder a writer of many
    files holds), creating folders, never through a link (svcascode.safewrite); an unwritable place or a link
    is a SvcascodeError (exit 2)."""
    from svcascode.safewrite import OutputFolder

    if isinstance(out, OutputFolder):
        return out.write(relative, text)
    with OutputFolder(out) as folder:
        return folder.write(relative, text)
