"""Hypothesis strategies for the surfaces beyond loading and checking a catalogue: the writers (a link planted at
a random component of an output path), the importers (hostile ticket exports and Backstage files, special
files among them) and expression controls (random CEL, hostile messages).

Each is a category of `strategies.ALL` (`writers`, `imports`, `cel`), enabled and disabled like the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from fuzz.strategies import BIDI, ESCAPE, MARKUP, WORKFLOW, pick

HERE = Path(__file__).resolve().parents[1]
HOSTILE = WORKFLOW + MARKUP + ESCAPE + BIDI

# --------------------------------------------------------------------------------------------------
# Writers: (command, the option that names the output, whether it is a folder)

WRITERS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("check", "--format", "sarif"), "--output", False),
    (("validate", "--format", "json"), "--output", False),
    (("forecast", "--days", "2"), "--output", False),
    (("forecast", "--days", "2"), "--ical", True),
    (("sla", "review", "--period", "2026-01..2026-10"), "--output", False),
    (("test", "--no-examples"), "--output", False),
    (("render", "report", "--history-commits", "0", "--format", "md"), "--out", True),
    (("render", "catalogue", "--deadline-days", "0"), "--out", True),
    (("generate", "prometheus"), "--out", True),
    (("generate", "alertmanager"), "--out", True),
    (("export", "openslo"), "--out", True),
    (("export", "backstage"), "--out", True),
    (("schema", "--write"), "--dir", True),
    (("import", "incidents", "tickets.csv", "--mapping", "servicenow"), "--out", True),
    (("import", "backstage", "catalog-info.yaml"), "--out", True),
)
NAMES = ["out", "reports", "a b", "-dash", "ünï", "x.yaml", ".hidden", "deep"]


@dataclass(frozen=True)
class WriterCase:
    command: tuple[str, ...]
    option: str
    parts: tuple[str, ...]  # the output path's components, relative to the repository
    link_at: int  # the component that is a link
    to_file: bool  # the link names a file outside (else a folder outside)

    def args(self) -> list[str]:
        return [*self.command, self.option, "/".join(self.parts)]

    def reproducer(self) -> str:
        return (f"link {'/'.join(self.parts[:self.link_at + 1])!r} -> outside {'file' if self.to_file else 'folder'};"
                f" svcascode {' '.join(map(repr, self.args()))}")


@st.composite
def writer_cases(draw: st.DrawFn) -> WriterCase:
    command, option, folder = draw(st.sampled_from(WRITERS))
    depth = draw(st.integers(1, 3))
    parts = tuple(draw(st.lists(st.sampled_from(NAMES), min_size=depth, max_size=depth, unique=True)))
    if not folder:
        parts = (*parts[:-1], draw(st.sampled_from(["out.txt", "a b.sarif", "-x.json", "ünï.md"])))
    link_at = draw(st.integers(0, len(parts) - 1))
    to_file = link_at == len(parts) - 1 and not folder and draw(st.booleans())
    return WriterCase(command, option, parts, link_at, to_file)


@st.composite
def folder_writes(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[str, ...], int, str]:
    """(folder components, file components below it, the component that is a link, where it leads)."""
    folder = tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True)))
    below = tuple(draw(st.lists(st.sampled_from(["sub", "x", "ünï"]), min_size=0, max_size=2, unique=True))) + (
        draw(st.sampled_from(["page.html", "a.yaml", "-b.json"])),)
    at = draw(st.integers(0, len(folder) + len(below) - 1))
    target = draw(st.sampled_from(["outside-folder", "outside-file", "inside", "loop", "dev-null"]))
    return folder, below, at, target


# --------------------------------------------------------------------------------------------------
# Imports

INCIDENT_EXPORTS = ("servicenow", "jsm", "pagerduty")


@dataclass(frozen=True)
class ImportCase:
    kind: str  # incidents | backstage
    mapping: str
    data: bytes
    special: str = ""  # "", fifo, dev-zero, link-outside, folder

    def reproducer(self) -> str:
        return f"import {self.kind} ({self.mapping}, special={self.special!r}): {self.data[:400]!r}"


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def import_cases(draw: st.DrawFn) -> ImportCase:
    special = draw(st.sampled_from(["", "", "", "", "fifo", "dev-zero", "link-outside", "folder"]))
    if draw(st.booleans()):
        mapping = draw(st.sampled_from(INCIDENT_EXPORTS))
        lines = (HERE / "incident_exports" / f"{mapping}.csv").read_text(encoding="utf-8").splitlines()
        header, rows = lines[0], lines[1:]
        width = len(header.split(","))
        chosen = draw(st.lists(st.sampled_from(rows), min_size=0, max_size=4))
        for _ in range(draw(st.integers(0, 3))):  # hostile rows: cells from the pool, or shapes a CSV can take
            cells = [_csv_cell(draw(pick(HOSTILE))) for _ in range(draw(st.integers(1, width + 2)))]
            chosen.append(",".join(cells))
        ends = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        data = (header + ends + ends.join(chosen) + ends).encode("utf-8")
        if draw(st.booleans()):
            data = draw(st.sampled_from([b"\xef\xbb\xbf", b"", b"\xff\xfe"])) + data
        return ImportCase("incidents", mapping, data, special)
    name = draw(pick(HOSTILE + ["checkout-web", "a" * 300, "UPPER", "-x", ""]))
    entity = {"apiVersion": draw(st.sampled_from(["backstage.io/v1alpha1", "backstage.io/v1beta1", "x"])),
              "kind": draw(st.sampled_from(["Component", "API", "Resource", "Group", "User", "System", "Domain",
                                            "Location", "Widget"])),
              "metadata": {"name": name, "description": draw(pick(HOSTILE)),
                           "annotations": {"x/y": draw(pick(HOSTILE))}},
              "spec": {"type": draw(pick(HOSTILE + ["service", "website"])), "lifecycle": "production",
                       "owner": draw(pick(HOSTILE + ["group:default/web-team", "web-team"])),
                       "dependsOn": draw(st.lists(pick(HOSTILE + ["component:x", "resource:db"]), max_size=3))}}
    data = json.dumps(entity, ensure_ascii=False).encode("utf-8")  # JSON is YAML
    if draw(st.booleans()):
        data = data + b"\n---\n" + draw(st.sampled_from([b"a: &a [*a]", b"- [" * 200, b"\x00", b"!!python/object:os.system x",
                                                         b"key: value\nkey: again"]))
    return ImportCase("backstage", "", data, special)


# --------------------------------------------------------------------------------------------------
# Expression controls

ATOMS = ["document", "document.metadata.name", "asOf", "params", "[1, 2, 3]", "[]", "{}", "'x'", "\"::error::x\"",
         "1", "2.5", "true", "null", "duration('90d')", "date('2026-12-15')", "owner(document)", "levels(document)",
         "services(document)", "dependencies(document)", "evidence(document)", "tier(document)",
         "timestamp('2026-01-01T00:00:00Z')", "size(document.metadata.name)", "'\u202e'"]
UNARY = ["size({0})", "!{0}", "-{0}", "string({0})", "{0}.map(x, x)", "{0}.filter(x, x != null)",
         "{0}.all(x, x == x)", "{0}.exists(x, true)", "[{0}, {0}]", "{0} + {0}", "{0}.join(', ')", "has({0}.spec)",
         "{0}[0]", "{0}.metadata", "type({0})"]
BINARY = ["{0} == {1}", "{0} < {1}", "{0} && {1}", "{0} || {1}", "{0} ? {1} : {0}", "{0} - {1}", "{0} in {1}"]


@st.composite
def cel_expressions(draw: st.DrawFn, depth: int = 4) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return str(draw(st.sampled_from(ATOMS)))
    if draw(st.booleans()):
        return str(draw(st.sampled_from(UNARY))).format(draw(cel_expressions(depth - 1)))
    return str(draw(st.sampled_from(BINARY))).format(draw(cel_expressions(depth - 1)), draw(cel_expressions(depth - 1)))


@dataclass(frozen=True)
class CelCase:
    variables: tuple[str, ...]
    expression: str
    message: str

    def control(self) -> str:
        variables = "".join(f"      - {{name: v{i}, expression: {json.dumps(v)}}}\n" for i, v in enumerate(self.variables))
        return (f"apiVersion: svcascode.io/v1alpha1\nkind: Control\nmetadata: {{name: fuzz-cel, title: Fuzzed}}\n"
                f"spec:\n  severity: high\n  enforcement: block\n  appliesTo: {{kinds: [Service, Team]}}\n"
                f"  check:\n    params: {{n: 2}}\n    variables:\n{variables or '      []' + chr(10)}"
                f"    expression: {json.dumps(self.expression)}\n    message: {json.dumps(self.message)}\n"
                f"  rationale: x\n  remediation: x\n  examples: {{failing: 'spec: {{}}', passing: 'spec: {{}}'}}\n"
                f"  mappings: [{{framework: internal-policy, controls: [OPS-7]}}]\n")

    def reproducer(self) -> str:
        return self.control()


@st.composite
def cel_cases(draw: st.DrawFn) -> CelCase:
    count = draw(st.sampled_from([0, 1, 3, 50, 200]))
    variables = tuple(draw(cel_expressions(2)) for _ in range(min(count, 3))) * max(1, count // 3) if count else ()
    placeholders = draw(st.lists(cel_expressions(2), max_size=3))
    repeat = draw(st.sampled_from([1, 1, 50, 500]))
    text = draw(pick(HOSTILE)) + "".join("{{" + p + "}}" for p in placeholders) * repeat
    return CelCase(variables, draw(cel_expressions()), text)
