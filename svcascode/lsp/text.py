"""Reading a buffer's text where the YAML may be half typed: the span of a scalar on its line, and the
path of keys under the cursor from indentation alone. Every scan is bounded in lines and characters,
so any buffer content costs bounded time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

MAX_SCAN_LINES = 5_000  # lines looked at above or below the cursor
MAX_LINE = 32 * 1024  # longer lines are not read for tokens (the parser refuses them too)

_KEY = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#:,\[\]{}"'-][^#:,\[\]{}]*?|-[^\s#:,\[\]{}][^#:,\[\]{}]*?)"""
                  r"""\s*:(?=\s|$)""")
_ITEM = re.compile(r"-(?=\s|$)")


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def strip_cr(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


def units_to_codepoints(line: str, units: int, width: Callable[[str], int]) -> int:
    """A column in the client's code units -> a column in code points, on one line."""
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += width(char)
    return len(line)


def codepoints_to_units(line: str, column: int, width: Callable[[str], int]) -> int:
    if all(ord(c) < 0x80 for c in line[:column]):
        return column
    return sum(width(c) for c in line[:column])


def _token_end(line: str, start: int) -> int:
    """The end of a plain or quoted scalar starting at `start`: before ` #`, a flow indicator or the end."""
    if start >= len(line):
        return start
    quote = line[start]
    if quote in "\"'":
        index = start + 1
        while index < len(line):
            if quote == '"' and line[index] == "\\":
                index += 2
                continue
            if line[index] == quote:
                if quote == "'" and index + 1 < len(line) and line[index + 1] == "'":
                    index += 2
                    continue
                return index + 1
            index += 1
        return len(line)
    end = start
    while end < len(line):
        char = line[end]
        if char in ",]}" or (char == "#" and end > start and line[end - 1] in " \t"):
            break
        end += 1
    while end > start and line[end - 1] in " \t":
        end -= 1
    return end


def key_span(line: str, column: int) -> tuple[int, int] | None:
    """The span (code points, 0-based, end exclusive) of the key that starts at `column`, when one does."""
    if len(line) > MAX_LINE:
        return None
    match = _KEY.match(line, column)
    if match is None:
        return None
    return match.start(1), match.end(1)


def value_span(line: str, column: int, is_entry: bool) -> tuple[int, int] | None:
    """The span of the scalar of a node located at `column` (0-based): for a mapping entry (the node's
    mark is its key) the value after `key:`, else the node itself. None when it is not on this line."""
    if len(line) > MAX_LINE or column > len(line):
        return None
    start = column
    if is_entry:
        match = _KEY.match(line, column)
        if match is None:
            return None
        start = match.end()
        while start < len(line) and line[start] in " \t":
            start += 1
    if start >= len(line) or line[start] in "#[{|>" or line.startswith("- ", start) or line[start:] == "-":
        return None
    end = _token_end(line, start)
    return (start, end) if end > start else None


def line_end(line: str, column: int) -> int:
    """The end of what the node at `column` holds on its line: before a trailing comment and spaces."""
    if len(line) > MAX_LINE:
        return len(line)
    end = len(line)
    hash_at = line.find(" #", column)
    if hash_at >= 0:
        end = hash_at
    while end > column and line[end - 1] in " \t":
        end -= 1
    return max(end, min(column + 1, len(line)))


@dataclass(frozen=True)
class Frame:
    column: int
    key: str | None  # None: a list item (`- `)


def frames(line: str) -> list[Frame]:
    """The list items and the key a block-style line opens, left to right: `  - service: x` is an item at
    column 2 and the key `service` at column 4."""
    if len(line) > MAX_LINE:
        return []
    out: list[Frame] = []
    index = len(line) - len(line.lstrip(" "))
    while index < len(line):
        if _ITEM.match(line, index):
            out.append(Frame(index, None))
            index += 1
            while index < len(line) and line[index] == " ":
                index += 1
            continue
        match = _KEY.match(line, index)
        if match is not None:
            out.append(Frame(index, _unquote(match.group(1))))
        break
    return out


def _unquote(key: str) -> str:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return key[1:-1]
    return key


def _blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def document_bounds(lines: list[str], line: int) -> tuple[int, int]:
    """The first and last line (0-based) of the YAML document holding `line`, by `---` markers."""
    start = line
    scanned = 0
    while start > 0 and not lines[start].startswith("---") and scanned < MAX_SCAN_LINES:
        start -= 1
        scanned += 1
    if lines[start].startswith("---"):
        start += 1
    end = line
    scanned = 0
    while end + 1 < len(lines) and not lines[end + 1].startswith("---") and scanned < MAX_SCAN_LINES:
        end += 1
        scanned += 1
    return start, end


_TOP_KIND = re.compile(r"""^kind:[ \t]*["']?([A-Za-z/]+)""")
_TOP_API = re.compile(r"""^apiVersion:[ \t]*["']?([^\s"'#]+)""")


def document_kind(lines: list[str], line: int) -> tuple[str | None, str | None]:
    """The `kind` and `apiVersion` written at the top level of the document holding `line`."""
    start, end = document_bounds(lines, min(line, len(lines) - 1))
    kind = api = None
    for number in range(start, min(end + 1, start + MAX_SCAN_LINES)):
        text = lines[number]
        if kind is None and (match := _TOP_KIND.match(text)):
            kind = match.group(1)
        if api is None and (match := _TOP_API.match(text)):
            api = match.group(1)
    return kind, api


@dataclass(frozen=True)
class Cursor:
    """Where the cursor is in the YAML structure, read from indentation."""

    path: tuple[str, ...]  # keys and "[*]" from the document's top down to the node under the cursor
    in_key: bool  # typing a key (the last element of `path` is the partial key, possibly "")
    prefix: str  # what is typed of the key or value before the cursor
    start: int  # code point column where the typed prefix starts
    siblings: frozenset[str]  # keys already present beside the one typed


def cursor_at(lines: list[str], line: int, column: int) -> Cursor | None:
    """The structure around (line, column), code points, 0-based; None where it cannot be told (flow
    collections, block scalars, lines too long)."""
    if line >= len(lines):
        return None
    text = strip_cr(lines[line])
    if len(text) > MAX_LINE:
        return None
    before = text[:column]
    own = frames(before)
    path: list[str] = []
    in_key = False
    if own and own[-1].key is not None and before.rstrip() != before[:own[-1].column].rstrip():
        last = own[-1]
        match = _KEY.match(before, last.column)
        assert match is not None
        value_start = match.end()
        while value_start < len(before) and before[value_start] == " ":
            value_start += 1
        prefix = before[value_start:]
        if any(c in prefix for c in "[{#\"'|>"):
            return None
        start = value_start
        path = [f.key if f.key is not None else "[*]" for f in own]
    else:
        # typing a key or a list item's value: what follows the last item marker or the indentation
        indent = len(before) - len(before.lstrip(" "))
        rest = before[indent:]
        path = []
        base = indent
        for frame in own:
            if frame.key is None:
                path.append("[*]")
                base = frame.column + 2
        rest = before[base:] if base <= len(before) else ""
        if ":" in rest or any(c in rest for c in "[{#\"'|>"):
            return None
        prefix = rest.lstrip(" ")
        start = len(before) - len(prefix)
        in_key = True
        path.append(prefix)
    threshold = own[0].column if own else len(before) - len(before.lstrip(" "))
    if own and own[0].key is None and not in_key:
        threshold = own[0].column
    parents: list[str] = []
    scanned = 0
    number = line - 1
    while number >= 0 and threshold > 0 and scanned < MAX_SCAN_LINES:
        scanned += 1
        above = strip_cr(lines[number])
        number -= 1
        if above.startswith("---"):
            break
        if _blank(above):
            continue
        for frame in reversed(frames(above)):
            head_is_item = (parents[0] if parents else (path[0] if path else "")) == "[*]"
            if frame.column < threshold or (frame.column == threshold and frame.key is not None and head_is_item):
                parents.insert(0, frame.key if frame.key is not None else "[*]")
                threshold = frame.column
    full = tuple(parents + path)
    siblings = frozenset(_siblings(lines, line, own, in_key)) if in_key else frozenset()
    return Cursor(full, in_key, prefix, start, siblings)


def _siblings(lines: list[str], line: int, own: list[Frame], in_key: bool) -> set[str]:
    """Keys at the same indentation as the one typed, above and below it, in the same mapping."""
    text = strip_cr(lines[line])
    column = own[-1].column + 2 if own and own[-1].key is None else len(text) - len(text.lstrip(" "))
    found: set[str] = set()
    for step in (-1, 1):
        number = line + step
        scanned = 0
        while 0 <= number < len(lines) and scanned < MAX_SCAN_LINES:
            scanned += 1
            above = strip_cr(lines[number])
            number += step
            if above.startswith("---"):
                break
            if _blank(above):
                continue
            indent = len(above) - len(above.lstrip(" "))
            line_frames = frames(above)
            if indent < column and not (line_frames and line_frames[-1].column == column and step < 0
                                        and line_frames[-1].key is not None and indent + 2 == column):
                break
            for frame in line_frames:
                if frame.column == column and frame.key is not None:
                    found.add(frame.key)
            if indent < column:
                break
    return found
