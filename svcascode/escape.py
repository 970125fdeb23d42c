"""Text from YAML, from git or from a check is untrusted: these make it safe where an output embeds it.

One function per destination, and every output uses these rather than its own copy:

- `visible`, `one_line`, `squash`: characters that would act instead of print are shown as visible
  escapes (`\\x1b`, `\\u202e`): C0 and C1 controls, DEL, lone surrogates, the two non-characters
  XML 1.0 refuses, the line and paragraph separators and the bidirectional formatting characters
  (which reorder or hide text on a terminal or a page). `one_line` is for a terminal line (a newline
  is shown as `\\x0a`); `squash` turns runs of whitespace into one space first, for titles and prose.
- `md_text`, `md_code`: Markdown that renders as the text it is, in a table cell, list item, heading
  or paragraph: no markup, no link, no HTML, no broken cell; with `mentions`, nobody is mentioned and
  no issue cross-referenced (for text GitHub posts as a comment or job summary).
- `html_attr`: an HTML attribute value (or text) with `& < > " '` as entities.
- `workflow_data`, `workflow_property`: a GitHub Actions workflow command's message and properties,
  so no text can end its command or start another.
- `spreadsheet_cell`: a CSV cell a spreadsheet will not run as a formula.
- `inert`, `inert_json`: a whole output as a CI runner reads it, line by line: no line starts a
  workflow command (`::set-env`, `::add-mask::`, `::stop-commands::`) or an Azure Pipelines one
  (`##[error]`, `##vso[...]` anywhere on the line); `inert_json` also writes the characters that would
  act on a terminal as JSON escapes (`\\u202e`), so the JSON still means the same.
- `shorten`: long text cut, with a note of how much was left out.
"""

from __future__ import annotations

import re
from typing import Any

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                          "\ud800-\udfff\ufffe\uffff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, keep: str = "") -> str:
    """Unprintable characters as `\\xNN` / `\\uNNNN`, except those in `keep` (e.g. "\\n")."""
    if keep:
        return _UNPRINTABLE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), text)
    return _UNPRINTABLE.sub(_escape_char, text)


def one_line(value: Any) -> str:
    """A terminal line: every control character (newlines too) shown as an escape, so no text moves the
    cursor, colours the screen or starts a line of its own."""
    return visible(str(value))


def squash(value: Any) -> str:
    """One line of prose: runs of whitespace (newlines, tabs) are one space; other controls are escapes."""
    return visible(" ".join(str(value if value is not None else "").split()))


# ---------------------------------------------------------------------------------------------------
# CI logs: a runner reads every line of stdout for commands

# A runner splits lines at CR as well as LF, and trims leading whitespace (any Unicode space) first.
_LINE_COMMAND = re.compile(r"(?<![^\n\r])([^\S\n\r]*)(::|##\[)")
_AZURE_COMMAND = re.compile(r"##(?=vso\[)", re.IGNORECASE)


def inert(text: str) -> str:
    """Text no CI runner reads a command in: the first character of `::` or `##[` that would start a
    line (after spaces) is shown as its escape (`\\x3a:set-env`, `\\x23#[group]`), and so is the first
    `#` of `##vso[` wherever it is. Lines the text does not make commands of are left as they are."""
    text = _LINE_COMMAND.sub(lambda m: f"{m.group(1)}\\x{ord(m.group(2)[0]):02x}{m.group(2)[1:]}", text)
    return _AZURE_COMMAND.sub(r"\\x23#", text)


def inert_json(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) that means the same and is safe on a
    terminal and in a CI log: the characters `visible` would escape (but the newlines between lines of
    indented JSON; json.dumps escapes those in strings) become `\\uNNNN` JSON escapes, and
    the first `#` of `##vso[` becomes `\\u0023`. Those characters only occur inside JSON strings, where
    the escapes are exact. (No JSON line can start with `::` or `##[`: each starts with a quote, bracket,
    brace, digit or keyword.)"""
    text = json_escapes(text)
    return _AZURE_COMMAND.sub(r"\\u0023#", text) if "##" in text else text


_ASCII_PLAIN = bytes(range(0x20, 0x7f))  # what no escape ever touches
_SLICE = 1 << 20


def _plain(text: str) -> bool:
    """Whether `text` is printable ASCII only, checked at C speed a slice at a time: a report of tens of
    megabytes is never copied whole for it."""
    return text.isascii() and not any(text[start:start + _SLICE].encode("ascii").translate(None, _ASCII_PLAIN)
                                      for start in range(0, len(text), _SLICE))


def json_escapes(text: str, keep: str = "\n") -> str:
    """The characters `visible` would escape, except those in `keep`, as `\\uNNNN`."""
    if _plain(text):  # nothing to escape: a large compact JSON
        return text
    return _UNPRINTABLE.sub(lambda m: m.group() if m.group() in keep else f"\\u{ord(m.group()):04x}", text)


def stdout_text(text: str) -> str:
    """Text as the command line writes it to stdout: every format is already inert, and a character a bug
    would let through still reaches no terminal raw: it is written as `\\uNNNN`, which a JSON string
    reads as the same character."""
    return json_escapes(text, keep="\n\t")


def shorten(text: str, limit: int) -> str:
    """At most about `limit` characters; a cut says how many characters it dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


# ---------------------------------------------------------------------------------------------------
# Markdown

_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]()|~])")
# What would start a heading, list, quote or setext underline at the start of a line.
_MD_BLOCK_START = re.compile(r"^(?:([#+\-=>])|(\d{1,9})([.)])(?=\s|$))")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", "@": "@&#8203;", "#": "#&#8203;"}
_MD_HTML = re.compile("[&<]")
_MD_HTML_AND_MENTIONS = re.compile("[&<@#]")


def md_text(value: Any, *, breaks: bool = False, mentions: bool = False) -> str:
    """Markdown that shows `value` as the text it is.

    Backslashes escape `\\` `` ` `` `*` `_` `[` `]` `(` `)` `|` `~` (so no `](` of a link is left,
    whatever the renderer) and a heading, list or quote marker at the start; `&` and `<` become
    entities (no HTML); control characters are shown as `\\xNN`. The text stays on one line:
    whitespace runs become one space, or, with `breaks`, newlines become `<br>`. With `mentions`, `@`
    and `#` are followed by a zero-width space, so nobody is notified and no issue is linked.
    """
    text = str(value if value is not None else "")
    text = visible(text, keep="\n") if breaks else squash(text)
    entities = _MD_HTML_AND_MENTIONS if mentions else _MD_HTML
    text = entities.sub(lambda m: _MD_ENTITIES[m.group()], text)
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    text = _MD_BLOCK_START.sub(lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", text)
    return text.replace("\n", "<br>") if breaks else text


def md_code(value: Any) -> str:
    """A Markdown code span on one line; a backtick is shown as `'` and a pipe escaped, so it cannot
    end the span or a table cell."""
    return "`" + squash(value).replace("`", "'").replace("|", "\\|") + "`"


# ---------------------------------------------------------------------------------------------------
# HTML

_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_HTML_SPECIAL = re.compile("[&<>\"']")


def html_attr(value: Any) -> str:
    """A quoted HTML attribute value (or element text): `& < > " '` as entities, controls as escapes."""
    return _HTML_SPECIAL.sub(lambda m: _HTML_ENTITIES[m.group()], visible(str(value)))


# ---------------------------------------------------------------------------------------------------
# GitHub Actions workflow commands


def workflow_data(text: str) -> str:
    """A workflow command's message: `%` CR LF escaped as the runner expects (`%25` `%0D` `%0A`), so a
    newline stays inside the annotation; other controls shown as `\\xNN`."""
    text = _AZURE_COMMAND.sub(r"\\x23#", visible(text, keep="\r\n"))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A workflow command's property value: as data, and `:` `,` escaped (`%3A` `%2C`)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


# ---------------------------------------------------------------------------------------------------
# CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> str:
    """Free text for a CSV cell: a leading `=` `+` `-` `@` (or tab, CR) gets a `'`, so a spreadsheet
    shows it rather than running it as a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
