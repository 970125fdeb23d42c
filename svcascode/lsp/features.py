"""What the editor shows, as functions of a snapshot of the workspace and a buffer: diagnostics (the
findings of `check`), go to definition, find references, symbols, hover, completion and code actions.

Positions: findings carry 1-based lines and columns in code points; the client counts in its position
encoding (UTF-16 unless it chose another), converted with `width`, the code units of one character.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp

from svcascode.escape import visible
from svcascode.lsp import text as yamltext
from svcascode.lsp.workspace import (API_VERSION, KINDS, OPENSLO_API_VERSION, REFERENCE_PATTERNS, Definition, Finding, Reference, Snapshot, explain,
                                     kind_of, kind_schema, library_path, raw_name, references_of)

Width = Callable[[str], int]
MAX_RELATED = 20
MAX_ITEMS = 1_000  # completion items, workspace symbols
SOURCE = "svcascode"


def path_of_uri(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def uri_of(snapshot: Snapshot, file: str) -> str | None:
    """The URI of a file a finding or definition names: under the root, or the installed library's file."""
    library = library_path(file)
    if library is not None:
        return library.as_uri()
    if file.startswith("<"):
        return None
    return (snapshot.root / file).as_uri()


def _lines(snapshot: Snapshot, file: str) -> list[str]:
    return yamltext.lines_of(snapshot.texts.get(file, ""))


def _position(lines: list[str], line: int, column: int, width: Width) -> lsp.Position:
    """1-based (line, column in code points) -> an LSP position in the client's units."""
    number = max(line - 1, 0)
    if number >= len(lines):
        return lsp.Position(line=number, character=0)
    text = yamltext.strip_cr(lines[number])
    return lsp.Position(line=number, character=yamltext.codepoints_to_units(text, max(column - 1, 0), width))


def _span(lines: list[str], number: int, start: int, end: int, width: Width) -> lsp.Range:
    text = yamltext.strip_cr(lines[number]) if number < len(lines) else ""
    return lsp.Range(start=lsp.Position(line=number, character=yamltext.codepoints_to_units(text, start, width)),
                     end=lsp.Position(line=number, character=yamltext.codepoints_to_units(text, end, width)))


def node_range(lines: list[str], line: int, column: int, width: Width) -> lsp.Range:
    """The range of the node a finding is located at: from its mark to the end of what it holds on its line."""
    number = max(line - 1, 0)
    if number >= len(lines):
        position = lsp.Position(line=number, character=0)
        return lsp.Range(start=position, end=position)
    text = yamltext.strip_cr(lines[number])
    start = min(max(column - 1, 0), len(text))
    return _span(lines, number, start, yamltext.line_end(text, start), width)


# ---------------------------------------------------------------------------------------------------
# Diagnostics


def severity(snapshot: Snapshot, finding: Finding) -> lsp.DiagnosticSeverity:
    """Waived: a hint; failing the run (`--fail-on`): an error; blocking or warning below it: a warning;
    audit: information."""
    if finding.suppressed:
        return lsp.DiagnosticSeverity.Hint
    if snapshot.failing(finding):
        return lsp.DiagnosticSeverity.Error
    if finding.enforcement in ("block", "warn"):
        return lsp.DiagnosticSeverity.Warning
    return lsp.DiagnosticSeverity.Information


def message(finding: Finding) -> str:
    """The line `check` prints for the finding, without its location (the editor shows it)."""
    subject = f"{finding.kind}/{finding.name}: " if finding.kind and finding.name else ""
    if finding.suppressed:
        text = (f"{subject}[waived by {finding.waiver}] {finding.message} "
                f"[justification: {finding.justification}]")
    else:
        text = f"{subject}[{finding.severity}/{finding.enforcement}] {finding.message}"
    return visible(text, keep="\n\t")


def finding_data(snapshot: Snapshot, finding: Finding) -> dict[str, Any]:
    """The finding as `check --format json` gives it (for clients and code actions to read)."""
    return {"rule": finding.rule, "severity": finding.severity, "enforcement": finding.enforcement,
            "failing": snapshot.failing(finding), "message": finding.message, "file": finding.file,
            "line": finding.line, "column": finding.column, "path": finding.json_path,
            "jsonPath": list(finding.path), "kind": finding.kind or None, "name": finding.name or None,
            "fingerprint": finding.fingerprint, "suppressed": finding.suppressed, "waiver": finding.waiver}


def diagnostics(snapshot: Snapshot, file: str, width: Width) -> list[lsp.Diagnostic]:
    lines = _lines(snapshot, file)
    out = []
    for finding in snapshot.by_file.get(file, ()):
        out.append(lsp.Diagnostic(
            range=node_range(lines, finding.line, finding.column, width),
            message=message(finding), severity=severity(snapshot, finding), code=finding.rule, source=SOURCE,
            related_information=related(snapshot, finding, width) or None,
            data=finding_data(snapshot, finding)))
    return out


_CYCLE = re.compile(r"cycle: (.*?);")
_SUGGESTED = re.compile(r"refers to (\w+) '([^']*)', which is not defined; did you mean '([^']*)'\?")


def related(snapshot: Snapshot, finding: Finding, width: Width) -> list[lsp.DiagnosticRelatedInformation]:
    """The other ends of a finding: what the finding's node refers to, the documents its message names (a
    dependency chain, a duplicate's first definition), the waiver that waived it."""
    out: list[lsp.DiagnosticRelatedInformation] = []
    seen: set[tuple[str, str]] = set()

    def add(key: tuple[str, str], note: str) -> None:
        found = snapshot.definition(key)
        if found is None or key in seen or len(out) >= MAX_RELATED:
            return
        if found.file == finding.file and found.line == finding.line:
            return
        location = _definition_location(snapshot, found, width)
        if location is not None:
            seen.add(key)
            out.append(lsp.DiagnosticRelatedInformation(location=location, message=note))

    if finding.waiver:
        add(("Waiver", finding.waiver), f"waived by {finding.waiver}")
    words = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", finding.message))
    cycle = _CYCLE.search(finding.message)
    if cycle is not None:
        for part in cycle.group(1).split(" -> "):
            kind, _, name = part.partition("/")
            key = (kind, name) if name else ("Service", kind)
            add(key, f"{key[0]}/{key[1]}, on the cycle")
    suggested = _SUGGESTED.search(finding.message)
    if suggested is not None:  # an unresolved reference: the document of the name it probably meant
        add((suggested.group(1), suggested.group(3)), f"did you mean {suggested.group(1)}/{suggested.group(3)}?")
    if finding.rule == "name-duplicate" and finding.kind:
        add((finding.kind, finding.name), f"{finding.kind}/{finding.name} first defined here")
    for reference in snapshot.references_in(finding.file):
        if reference.target is None:
            continue
        under = bool(finding.path) and reference.path[:len(finding.path)] == finding.path
        if (under or reference.target[1] in words) and _in_document(snapshot, finding, reference):
            add(reference.target, f"{reference.target[0]}/{reference.target[1]}")
    return out


def _in_document(snapshot: Snapshot, finding: Finding, reference: Reference) -> bool:
    """Whether a reference is in the document a finding is about."""
    if not finding.kind:
        return False
    found = snapshot.catalogue.by_kind.get(finding.kind, {}).get(finding.name)
    if found is None or found.file != reference.file:
        return False
    return any(raw.index == found.raw.index and raw.locate(reference.path) == (reference.line, reference.column)
               for raw in snapshot.raw_documents.get(reference.file, ()))


def _definition_location(snapshot: Snapshot, found: Definition, width: Width) -> lsp.Location | None:
    uri = uri_of(snapshot, found.file)
    if uri is None:
        return None
    lines = _lines(snapshot, found.file)
    number = found.line - 1
    text = yamltext.strip_cr(lines[number]) if 0 <= number < len(lines) else ""
    span = yamltext.value_span(text, found.column - 1, True)
    if span is None:
        return lsp.Location(uri=uri, range=node_range(lines, found.line, found.column, width))
    return lsp.Location(uri=uri, range=_span(lines, number, span[0], span[1], width))


# ---------------------------------------------------------------------------------------------------
# What is under the cursor


@dataclass(frozen=True)
class Buffer:
    """An open document as the editor has it now (its text may be newer than the snapshot's)."""

    file: str
    text: str
    raw: list[Any]  # its RawDocuments, parsed from `text`

    @property
    def lines(self) -> list[str]:
        return yamltext.lines_of(self.text)


@dataclass(frozen=True)
class Target:
    """What the cursor is on: a reference to a document, or a document's own name."""

    key: tuple[str, str]  # (kind, name)
    range: lsp.Range
    reference: Reference | None  # None: the definition itself (`metadata.name`)


def target_at(snapshot: Snapshot, buffer: Buffer, position: lsp.Position, width: Width) -> Target | None:
    lines = buffer.lines
    if position.line >= len(lines):
        return None
    text = yamltext.strip_cr(lines[position.line])
    column = yamltext.units_to_codepoints(text, position.character, width)
    for raw in buffer.raw:
        for reference, _ in references_of(raw):
            if reference.target is None or reference.line - 1 != position.line:
                continue
            span = yamltext.value_span(text, reference.column - 1, isinstance(reference.path[-1], str))
            if span is not None and span[0] <= column <= span[1]:
                return Target(reference.target, _span(lines, position.line, *span, width), reference)
        data = raw.data
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            line, col = raw.locate(("metadata", "name"))
            mark = raw.mark(("metadata", "name"))
            if mark is None or line - 1 != position.line:
                continue
            span = yamltext.value_span(text, col - 1, True)
            name = data.get("metadata", {}).get("name")
            if span is not None and span[0] <= column <= span[1] and isinstance(name, str):
                kind = kind_of(data)
                if kind is not None:
                    return Target((kind, name), _span(lines, position.line, *span, width), None)
    return None


def definition(snapshot: Snapshot, buffer: Buffer, position: lsp.Position, width: Width) -> list[lsp.Location]:
    target = target_at(snapshot, buffer, position, width)
    if target is None:
        return []
    found = snapshot.definition(target.key)
    if found is None:
        return []
    location = _definition_location(snapshot, found, width)
    return [location] if location is not None else []


def references(snapshot: Snapshot, buffer: Buffer, position: lsp.Position, width: Width,
               include_declaration: bool) -> list[lsp.Location]:
    target = target_at(snapshot, buffer, position, width)
    if target is None:
        return []
    out: list[lsp.Location] = []
    if include_declaration:
        found = snapshot.definition(target.key)
        location = _definition_location(snapshot, found, width) if found is not None else None
        if location is not None:
            out.append(location)
    for reference in snapshot.references[1].get(target.key, ()):
        uri = uri_of(snapshot, reference.file)
        if uri is None:
            continue
        lines = _lines(snapshot, reference.file)
        number = reference.line - 1
        text = yamltext.strip_cr(lines[number]) if 0 <= number < len(lines) else ""
        span = yamltext.value_span(text, reference.column - 1, isinstance(reference.path[-1], str))
        where = _span(lines, number, *span, width) if span else node_range(lines, reference.line, reference.column,
                                                                          width)
        out.append(lsp.Location(uri=uri, range=where))
    return out


# ---------------------------------------------------------------------------------------------------
# Symbols


_SYMBOL_KINDS = {"Service": lsp.SymbolKind.Class, "ServiceLevel": lsp.SymbolKind.Interface,
                 "Team": lsp.SymbolKind.Module, "BusinessCalendar": lsp.SymbolKind.Event,
                 "MaintenanceWindow": lsp.SymbolKind.Event, "Control": lsp.SymbolKind.Function,
                 "Waiver": lsp.SymbolKind.Key, "Evidence": lsp.SymbolKind.File, "Framework": lsp.SymbolKind.Package,
                 "Baseline": lsp.SymbolKind.Package, "Incident": lsp.SymbolKind.Event}


def document_symbols(buffer: Buffer, width: Width) -> list[lsp.DocumentSymbol]:
    lines = buffer.lines
    out = []
    for raw in buffer.raw:
        data = raw.data
        if not isinstance(data, dict):
            continue
        kind, name = kind_of(data), raw_name(data)
        if kind is None:
            continue
        marks = raw.marks
        first = min((line for line, _ in marks.values()), default=1)
        last = max((line for line, _ in marks.values()), default=first)
        last_text = yamltext.strip_cr(lines[last - 1]) if 0 < last <= len(lines) else ""
        whole = lsp.Range(start=lsp.Position(line=first - 1, character=0),
                          end=lsp.Position(line=last - 1, character=yamltext.codepoints_to_units(
                              last_text, len(last_text), width)))
        line, column = raw.locate(("metadata", "name"))
        text = yamltext.strip_cr(lines[line - 1]) if 0 < line <= len(lines) else ""
        span = yamltext.value_span(text, column - 1, True) if raw.mark(("metadata", "name")) else None
        selection = _span(lines, line - 1, *span, width) if span else lsp.Range(start=whole.start, end=whole.start)
        out.append(lsp.DocumentSymbol(name=name or "(no name)", detail=kind,
                                      kind=_SYMBOL_KINDS.get(kind, lsp.SymbolKind.Object),
                                      range=whole, selection_range=selection))
    return out


def workspace_symbols(snapshot: Snapshot, query: str, width: Width) -> list[lsp.SymbolInformation]:
    wanted = query.lower()
    out = []
    for (kind, name), found in snapshot.definitions.items():
        if wanted and wanted not in name.lower() and wanted not in f"{kind}/{name}".lower():
            continue
        location = _definition_location(snapshot, found, width)
        if location is None:
            continue
        out.append(lsp.SymbolInformation(name=name, kind=_SYMBOL_KINDS.get(kind, lsp.SymbolKind.Object),
                                         location=location, container_name=kind))
        if len(out) >= MAX_ITEMS:
            break
    return out


# ---------------------------------------------------------------------------------------------------
# Hover


_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~])")


def md(value: Any) -> str:
    """Text of a document shown in Markdown: its markup characters escaped, nothing rendered from it."""
    return _MARKDOWN.sub(r"\\\1", visible(str(value)))


def _spec(document: Any) -> dict[str, Any]:
    data = document.data if document is not None else None
    spec = data.get("spec") if isinstance(data, dict) else None
    return spec if isinstance(spec, dict) else {}


def summary(snapshot: Snapshot, key: tuple[str, str]) -> str | None:
    """A document's summary for hover: a team's on-call, a service's tier and SLAs, a calendar's hours."""
    kind, name = key
    found = snapshot.definition(key)
    document = found.document if found is not None else snapshot.catalogue.get(kind, name)
    if document is None:
        return None
    metadata = document.data.get("metadata", {}) if isinstance(document.data, dict) else {}
    title = metadata.get("title") if isinstance(metadata, dict) else None
    lines = [f"**{md(kind)}/{md(name)}**" + (f": {md(title)}" if title else "")]
    spec = _spec(document)
    if kind == "Team":
        on_call = spec.get("onCall") if isinstance(spec.get("onCall"), dict) else {}
        if on_call:
            lines.append(f"on call: primary {md(', '.join(map(str, on_call.get('primary') or [])) or '-')}; "
                         f"secondary {md(', '.join(map(str, on_call.get('secondary') or [])) or '-')}; "
                         f"coverage {md(on_call.get('coverage', '-'))}")
        else:
            lines.append("on call: none")
        if spec.get("email"):
            lines.append(f"email: {md(spec['email'])}")
        owned = snapshot.catalogue.services_by_owner.get(name, [])
        lines.append(f"owns {len(owned)} service{'s' * (len(owned) != 1)}")
    elif kind == "Service":
        lines.append(f"tier {md(spec.get('tier', '-'))}, {md(spec.get('lifecycle', '-'))}, owner "
                     f"{md(spec.get('owner', '-'))}")
        for level in sorted(snapshot.catalogue.levels_by_service.get(name, []), key=lambda d: d.name):
            level_spec = _spec(level)
            availability = level_spec.get("availability")
            target = availability.get("targetPercent") if isinstance(availability, dict) else None
            lines.append(f"{md(level_spec.get('type', 'level'))} {md(level.name)}: availability "
                         f"{md(target) + '%' if target is not None else '-'}")
    elif kind == "BusinessCalendar":
        lines.append(f"time zone {md(spec.get('timezone', '-'))}")
        if spec.get("alwaysOn"):
            lines.append("always on (24x7)")
        for entry in spec.get("weekly") or []:
            if isinstance(entry, dict):
                days = entry.get("days")
                shown = ", ".join(map(str, days)) if isinstance(days, list) else str(days)
                lines.append(f"{md(shown)} {md(entry.get('from', '?'))} to {md(entry.get('to', '?'))}")
        if spec.get("publicHolidays"):
            lines.append(f"public holidays: {md(json.dumps(spec['publicHolidays'], default=str))}")
    elif kind == "Control":
        text = explain(name, snapshot.catalogue)
        if text:
            return f"```text\n{visible(text, keep=chr(10))}```"
    description = metadata.get("description") if isinstance(metadata, dict) else None
    if description:
        lines.append(md(str(description).strip()[:500]))
    lines.append(f"defined in {md(document.file)}:{document.locate(())[0]}")
    return "\n\n".join(lines)


def hover(snapshot: Snapshot, buffer: Buffer, position: lsp.Position, width: Width) -> lsp.Hover | None:
    target = target_at(snapshot, buffer, position, width)
    if target is not None:
        text = summary(snapshot, target.key)
        if text is None:
            text = f"{md(target.key[0])} '{md(target.key[1])}' is not defined"
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=target.range)
    found = _finding_at(snapshot, buffer, position)
    if found is not None:
        text = explain(found.rule, snapshot.catalogue)
        head = f"**{md(found.rule)}**: {md(found.message)}"
        value = head + (f"\n\n```text\n{visible(text, keep=chr(10))}```" if text else "")
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=value))
    field = field_at(buffer, position, width)
    if field is not None:
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=field[0]), range=field[1])
    return None


def _finding_at(snapshot: Snapshot, buffer: Buffer, position: lsp.Position) -> Finding | None:
    if snapshot.texts.get(buffer.file) != buffer.text:
        return None  # the findings are of another version of the text: their places may have moved
    for finding in snapshot.by_file.get(buffer.file, ()):
        if finding.line - 1 == position.line:
            return finding
    return None


def field_at(buffer: Buffer, position: lsp.Position, width: Width) -> tuple[str, lsp.Range] | None:
    """A key's schema description, type, units and allowed values, when the cursor is on a key."""
    lines = buffer.lines
    if position.line >= len(lines):
        return None
    text = yamltext.strip_cr(lines[position.line])
    column = yamltext.units_to_codepoints(text, position.character, width)
    own = yamltext.frames(text)
    key = next((f for f in reversed(own) if f.key is not None), None)
    if key is None:
        return None
    span = yamltext.key_span(text, key.column)
    if span is None or not span[0] <= column <= span[1]:
        return None
    cursor = yamltext.cursor_at(lines, position.line, span[1])
    if cursor is None:
        return None
    kind, _ = yamltext.document_kind(lines, position.line)
    path = (*cursor.path[:-1], str(key.key)) if cursor.in_key else cursor.path
    schema = schema_at(kind, path)
    if schema is None:
        return None
    return describe_field(str(key.key), schema), _span(lines, position.line, span[0], span[1], width)


# ---------------------------------------------------------------------------------------------------
# The schema of a path


def _resolve(schema: dict[str, Any], node: Any, depth: int = 0) -> list[dict[str, Any]]:
    """A schema node's alternatives with `$ref`s followed (and `null` left out)."""
    if not isinstance(node, dict) or depth > 8:
        return []
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref[len("#/$defs/"):])
        merged = _resolve(schema, target, depth + 1)
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return [{**m, **extra} for m in merged] if extra else merged
    branches = node.get("anyOf") or node.get("oneOf")
    if isinstance(branches, list):
        out = []
        for branch in branches:
            for resolved in _resolve(schema, branch, depth + 1):
                if resolved.get("type") != "null":
                    out.append({**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, **resolved})
        return out
    return [node]


def schema_at(kind: str | None, path: Iterable[str]) -> dict[str, Any] | None:
    """The (merged) schema node of a path of keys and `[*]` in a document of `kind`."""
    if kind is None:
        return None
    schema = kind_schema(kind)
    if schema is None:
        return None
    nodes = [schema]
    for part in path:
        following: list[dict[str, Any]] = []
        for node in nodes:
            for option in _resolve(schema, node):
                if part == "[*]":
                    if isinstance(option.get("items"), dict):
                        following.append(option["items"])
                elif isinstance(option.get("properties"), dict) and part in option["properties"]:
                    following.append(option["properties"][part])
                elif isinstance(option.get("additionalProperties"), dict):
                    following.append(option["additionalProperties"])
        if not following:
            return None
        nodes = following
    resolved = [r for node in nodes for r in _resolve(schema, node)]
    if not resolved:
        return None
    merged: dict[str, Any] = {}
    for option in resolved:
        for k, v in option.items():
            merged.setdefault(k, v)
        if isinstance(option.get("properties"), dict):
            merged.setdefault("properties", {}).update(option["properties"])
    return merged


def describe_field(key: str, schema: dict[str, Any]) -> str:
    lines = [f"**{md(key)}**" + (f" ({md(schema['type'])})" if isinstance(schema.get("type"), str) else "")]
    for field in ("description",):
        if schema.get(field):
            lines.append(md(schema[field]))
    if isinstance(schema.get("enum"), list):
        lines.append("one of: " + ", ".join(md(v) for v in schema["enum"]))
    if isinstance(schema.get("const"), (str, int)):
        lines.append(f"always: {md(schema['const'])}")
    if isinstance(schema.get("items"), dict) and schema["items"].get("description"):
        lines.append("each item: " + md(schema["items"]["description"]))
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                  "minItems"):
        if bound in schema:
            lines.append(f"{bound}: {md(schema[bound])}")
    if "default" in schema and schema["default"] is not None:
        lines.append(f"default: {md(json.dumps(schema['default']))}")
    if isinstance(schema.get("required"), list) and schema["required"]:
        lines.append("requires: " + ", ".join(md(r) for r in schema["required"]))
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Completion


def _matches(path: tuple[str, ...], pattern: list[str]) -> bool:
    return len(path) == len(pattern) and all(p == q or (q == "*" and p != "[*]") for p, q in zip(path, pattern))


def reference_field(kind: str | None, path: tuple[str, ...]) -> str | None:
    """The REFERENCES target of the field at `path` in a document of `kind` (a kind, `team:` or `*`)."""
    for pattern, target in REFERENCE_PATTERNS.get(kind or "", ()):
        if _matches(path, pattern):
            return target
    return None


def completion(snapshot: Snapshot | None, buffer: Buffer, position: lsp.Position, width: Width
               ) -> list[lsp.CompletionItem]:
    lines = buffer.lines
    if position.line >= len(lines):
        return []
    text = yamltext.strip_cr(lines[position.line])
    column = yamltext.units_to_codepoints(text, position.character, width)
    cursor = yamltext.cursor_at(lines, position.line, column)
    if cursor is None:
        return []
    kind, api = yamltext.document_kind(lines, position.line)
    replace = _span(lines, position.line, cursor.start, column, width)
    items: list[lsp.CompletionItem] = []

    def item(label: str, item_kind: lsp.CompletionItemKind, detail: str | None = None, insert: str | None = None,
             documentation: str | None = None) -> None:
        if len(items) < MAX_ITEMS and label.lower().startswith(cursor.prefix.lower()):
            items.append(lsp.CompletionItem(
                label=label, kind=item_kind, detail=detail,
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=documentation)
                if documentation else None,
                text_edit=lsp.TextEdit(range=replace, new_text=insert if insert is not None else label)))

    if cursor.in_key:
        parent = cursor.path[:-1]
        if not parent and kind is None:
            for top in ("apiVersion", "kind", "metadata", "spec"):
                if top not in cursor.siblings:
                    item(top, lsp.CompletionItemKind.Field, insert=f"{top}: ")
            return items
        schema = schema_at(kind, parent)
        properties = schema.get("properties", {}) if schema else {}
        required = set(schema.get("required", [])) if schema else set()
        for name, node in properties.items():
            if name in cursor.siblings:
                continue
            merged = schema_at(kind, (*parent, name)) or {}
            item(name, lsp.CompletionItemKind.Field, "required" if name in required else None, f"{name}: ",
                 describe_field(name, merged))
        return items
    path = cursor.path
    if path == ("kind",):
        for name in KINDS:
            item(name, lsp.CompletionItemKind.Class)
        return items
    if path == ("apiVersion",):
        item(API_VERSION, lsp.CompletionItemKind.Constant)
        item(OPENSLO_API_VERSION, lsp.CompletionItemKind.Constant)
        return items
    target = reference_field(kind, path)
    if target is not None and snapshot is not None:
        if target == "team:":
            for name in snapshot.names("Team"):
                item(f"team:{name}", lsp.CompletionItemKind.Reference, "Team")
        elif target == "*":
            for kind_name in ("Service", "Team", "ServiceLevel", "AccessPolicy", "MaintenanceWindow", "Control"):
                for name in snapshot.names(kind_name):
                    item(f"{kind_name.lower()}:{name}", lsp.CompletionItemKind.Reference, kind_name)
        else:
            for name in snapshot.names(target):
                item(name, lsp.CompletionItemKind.Reference, target, documentation=summary(snapshot, (target, name)))
        return items
    schema = schema_at(kind, path)
    if schema is not None:
        for value in schema.get("enum", []) or []:
            item(str(value), lsp.CompletionItemKind.EnumMember)
        if schema.get("type") == "boolean":
            item("true", lsp.CompletionItemKind.Value)
            item("false", lsp.CompletionItemKind.Value)
    return items


# ---------------------------------------------------------------------------------------------------
# Code actions


_QUOTE = re.compile(r'; quote it: (".*")$')
_DID_YOU_MEAN_FIELD = re.compile(r"unknown field '([^']*)'; did you mean '([^']*)'\?")
_MISSING = re.compile(r"required field missing: add `([^`]*):`")
_DID_YOU_MEAN_NAME = re.compile(r"refers to .*, which is not defined; did you mean '([^']*)'\?")


def code_actions(uri: str, buffer: Buffer, diagnostics: Iterable[lsp.Diagnostic], width: Width
                 ) -> list[lsp.CodeAction]:
    lines = buffer.lines
    out: list[lsp.CodeAction] = []
    for diagnostic in diagnostics:
        data = diagnostic.data if isinstance(diagnostic.data, dict) else None
        if diagnostic.source != SOURCE or data is None:
            continue
        text = str(data.get("message", ""))
        path = tuple(data.get("jsonPath") or ())
        number = int(data.get("line", 0)) - 1
        column = int(data.get("column", 0)) - 1
        if not 0 <= number < len(lines):
            continue
        line = yamltext.strip_cr(lines[number])
        is_entry = bool(path) and isinstance(path[-1], str)
        edit: tuple[lsp.Range, str] | None = None
        title = ""
        if (match := _QUOTE.search(text)) is not None:
            span = yamltext.value_span(line, column, is_entry)
            if span is not None:
                edit, title = (_span(lines, number, *span, width), match.group(1)), f"Quote the value: {match.group(1)}"
        elif (match := _DID_YOU_MEAN_FIELD.search(text)) is not None:
            span = yamltext.key_span(line, column)
            if span is not None and line[span[0]:span[1]].strip("\"'") == match.group(1):
                edit, title = (_span(lines, number, *span, width), match.group(2)), \
                    f"Rename field '{match.group(1)}' to '{match.group(2)}'"
        elif (match := _DID_YOU_MEAN_NAME.search(text)) is not None:
            span = yamltext.value_span(line, column, is_entry)
            if span is not None:
                written = line[span[0]:span[1]].strip("\"'")
                prefix = written.rpartition(":")[0] + ":" if ":" in written else ""
                new = prefix + match.group(1)
                edit, title = (_span(lines, number, *span, width), new), f"Change the reference to '{new}'"
        elif (match := _MISSING.search(text)) is not None:
            kind = data.get("kind") or yamltext.document_kind(lines, number)[0]
            insertion = _skeleton_insertion(lines, number, column, path, str(kind) if kind else None)
            if insertion is not None:
                edit, title = insertion, f"Add the required field '{match.group(1)}'"
        if edit is not None:
            out.append(lsp.CodeAction(
                title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic], is_preferred=True,
                edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(range=edit[0], new_text=edit[1])]})))
    return out


def skeleton(kind: str | None, path: tuple[str, ...], indent: str, depth: int = 0) -> str:
    """`key:` with its required fields below it, for the field at `path` (the last element is the key)."""
    key = path[-1]
    schema = schema_at(kind, path) or {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)] if depth < 3 else []
    if schema.get("type") == "array" or "items" in schema:
        items = schema_at(kind, (*path, "[*]")) or {}
        inner = [r for r in items.get("required", []) if isinstance(r, str)] if depth < 3 else []
        if inner:
            first, *rest = [skeleton(kind, (*path, "[*]", r), indent + "    ", depth + 1).lstrip() for r in inner]
            body = f"{indent}  - {first}" + "".join(f"\n{indent}    {r.lstrip()}" for r in rest)
            return f"{indent}{key}:\n{body}"
        return f"{indent}{key}: []"
    if required:
        return f"{indent}{key}:\n" + "\n".join(skeleton(kind, (*path, r), indent + "  ", depth + 1) for r in required)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return f"{indent}{key}: {enum[0]}"
    return f"{indent}{key}: "


def _skeleton_insertion(lines: list[str], number: int, column: int, path: tuple[Any, ...], kind: str | None
                        ) -> tuple[lsp.Range, str] | None:
    """Where and what to insert for a missing field: after the last line of its parent mapping, indented as
    the parent's children."""
    if not path or not all(isinstance(p, (str, int)) for p in path):
        return None
    keys = tuple("[*]" if isinstance(p, int) else p for p in path)
    parent_line = yamltext.strip_cr(lines[number])
    if not keys[:-1]:  # a top-level field: at the end of the document
        _, end = yamltext.document_bounds(lines, number)
        while end > number and not lines[end].strip():
            end -= 1
        indent = ""
    else:
        if parent_line.rstrip().endswith(("{", "}", "]")):
            return None  # a flow mapping: not edited
        base = column
        end = number
        child_indent: int | None = None
        for index in range(number + 1, min(len(lines), number + yamltext.MAX_SCAN_LINES)):
            candidate = yamltext.strip_cr(lines[index])
            if candidate.startswith("---"):
                break
            if not candidate.strip() or candidate.lstrip().startswith("#"):
                continue
            indent_of = len(candidate) - len(candidate.lstrip(" "))
            if indent_of <= base:
                break
            if child_indent is None:
                child_indent = indent_of
            end = index
        indent = " " * (child_indent if child_indent is not None else base + 2)
    text = skeleton(kind, keys, indent)
    last = yamltext.strip_cr(lines[end])
    position = lsp.Position(line=end, character=len(last.encode("utf-16-le")) // 2)
    return lsp.Range(start=position, end=position), "\n" + text
