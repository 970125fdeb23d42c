"""svcascode documents as YAML text: a yaml-language-server modeline, then block style, one key a line,
with a `# TODO` comment on each value that is a placeholder.

Every string that plain YAML could misread (a YAML 1.1 boolean or number, a date, text with `: ` or
` #`, anything from another tool's file) is written double-quoted with JSON escapes, which YAML reads
back exactly. `render` checks that: the text it makes parses back to the data it was given.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from svcascode.finding import JsonPath

SCHEMA_FILE = "schemas/svcascode.schema.json"

_PLAIN = re.compile(r"^[A-Za-z0-9_/.@+][A-Za-z0-9 _/.@+()#':-]*$")


def modeline(file: Path, root: Path) -> str:
    """The yaml-language-server modeline of `file`: the combined schema, relative to the file."""
    schema = os.path.relpath(root / SCHEMA_FILE, file.parent)
    return f"# yaml-language-server: $schema={Path(schema).as_posix()}"


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if (_PLAIN.match(text) and not text.endswith((" ", ":")) and " #" not in text and ": " not in text
            and yaml.safe_load(text) == text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _lines(value: Any, path: JsonPath, indent: int, comments: dict[JsonPath, str], out: list[str],
           lead: str) -> None:
    """Append the lines of a mapping or sequence; `lead` is the text before the first line's content."""
    pad = " " * indent
    items: list[tuple[Any, Any]] = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    for position, (key, item) in enumerate(items):
        prefix = lead if position == 0 else pad
        head = f"{prefix}{scalar(key)}:" if isinstance(value, dict) else f"{prefix}-"
        where = (*path, key)
        note = f"  # {comments[where]}" if where in comments else ""
        if isinstance(item, (dict, list)) and item:
            if isinstance(value, dict):
                out.append(head + note)
                child_indent = indent + 2
                _lines(item, where, child_indent, comments, out, " " * child_indent)
            else:  # a sequence item that is a mapping or sequence starts on the dash's line
                if note:
                    out.append(head + note)
                    _lines(item, where, indent + 2, comments, out, " " * (indent + 2))
                else:
                    _lines(item, where, indent + 2, comments, out, head + " ")
        else:
            shown = "{}" if item == {} else "[]" if item == [] else scalar(item)
            out.append(f"{head} {shown}{note}")


def render(data: dict[str, Any], comments: dict[JsonPath, str], header: list[str]) -> str:
    """`data` as a YAML document after the `header` comment lines; a ValueError if it would not read back."""
    out = list(header)
    _lines(data, (), 0, comments, out, "")
    text = "\n".join(out) + "\n"
    if yaml.safe_load(text) != data:
        raise ValueError("the YAML written would not read back as the data it was made from")
    return text
