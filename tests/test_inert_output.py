"""Inert output: whatever the documents, file names and commit messages hold, no command prints a line a CI
runner runs as a command (`::set-env`, `::stop-commands::`, `::add-mask::`, `##[group]`, `##vso[...]`) or a
character a terminal acts on (ESC sequences, other C0 and C1 controls, DEL, bidirectional overrides and
isolates), in any format, on stdout or stderr. The github format's own annotations are the one exception,
and their data is escaped. Every structured output still parses.

The catalogue is a real git repository (tests/git_helpers.Repo), so diff and history run too.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from git_helpers import CONTROL, Repo, base_catalogue, run, service

from svcascode.diffreport import DIFF_FORMATS
from svcascode.escape import inert, inert_json, workflow_data
from svcascode.formats import FORMATS
from svcascode.formats.history import HISTORY_FORMATS

AS_OF = "2026-11-27"

HOSTILE = ("pay now\n::set-env name=X::1\n::stop-commands::tok\n  ::add-mask::secret\n"
           "##vso[task.setvariable variable=x]1\n##[group]g\n\r::error::cr\n"
           "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07 \x1b]0;title\x07 \x9b2J \x85 \x7f "
           "\u202eevil\u202c \u2066iso\u2069 \u200f\u200e\u061c\u202a\u202b\u202d\u2067\u2068 "
           "inline ##VSO[task.complete]x ::warning::y")
# A file named with a newline, a tab and an escape, as every command must show it: one line, escaped.
ODD_FILE = "services/catalogue/a\nb\tc\x1b.yaml"
ODD_SHOWN = "services/catalogue/a\\x0ab\\x09c\\x1b.yaml"

COMMAND_START = re.compile(r"^\s*(::|##\[|##vso\[)", re.IGNORECASE)
AZURE_ANYWHERE = re.compile(r"##vso\[", re.IGNORECASE)
# What a terminal or a bidi-aware viewer acts on: every C0 control but LF (and TAB), C1, DEL, bidi.
ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The github format's own annotation: a level, the tool's own properties with escaped values, escaped data.
ANNOTATION = re.compile(r"::(error|warning|notice)"
                        r"( (file|line|col|title)=[^,:\n\r]*(,(file|line|col|title)=[^,:\n\r]*)*)?::[^\n\r]*")


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar holding `text` exactly (JSON escapes are YAML escapes)."""
    return json.dumps(text)


def hostile_control() -> str:
    text = CONTROL % {"severity": "high", "enforcement": "block"}
    text = text.replace("remediation: Set spec.operations.runbook.", f"remediation: {yaml_string(HOSTILE)}")
    return text.replace("rationale: People on call need a runbook.", f"rationale: {yaml_string(HOSTILE)}")


WAIVER = """apiVersion: svcascode.io/v1alpha1
kind: Waiver
metadata: {name: accept-beta}
spec:
  control: svc-runbook
  subjects: [service:beta]
  justification: %s
  requestedBy: ana@example.com
  approvedBy: [rita@example.com]
  approvedAt: 2026-11-01
  expiresAt: 2027-01-31
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    r = Repo(tmp_path_factory.mktemp("inert") / "repo")
    r.commit("base", base_catalogue())
    r.commit(f"tier {HOSTILE}", {
        "policies/controls/svc-runbook.yaml": hostile_control(),
        "policies/waivers/accept-beta.yaml": WAIVER % yaml_string(HOSTILE),
        ODD_FILE: service("gamma", runbook=False),
        "services/catalogue/alpha.yaml": service("alpha", tier="tier-1"),
        "services/catalogue/delta.yaml": service("delta", owner=yaml_string(HOSTILE[:40])),
    })
    return r


def assert_inert(stream: str, where: str, annotations: bool = False) -> None:
    """No line of `stream` starts a runner's command (but, with `annotations`, the github format's own),
    no `##vso[` anywhere, no character a terminal acts on."""
    assert not ACTIVE.search(stream), f"{where}: raw {ACTIVE.search(stream)!r} in {stream[:2000]!r}"
    assert not AZURE_ANYWHERE.search(stream), f"{where}: ##vso[ in output"
    for line in re.split(r"\r\n|\r|\n", stream):
        if annotations and ANNOTATION.fullmatch(line):
            continue
        assert not COMMAND_START.match(line), f"{where}: a runner would run {line[:300]!r}"


def run_inert(repo: Repo, *args: str, codes: tuple[int, ...] = (0, 1)) -> str:
    result = run(repo.path, *args)
    assert result.returncode in codes, (args, result.returncode, result.stderr)
    where = " ".join(args)
    assert_inert(result.stdout, where, annotations="github" in args)
    assert_inert(result.stderr, where + " (stderr)")
    return result.stdout


def parses(fmt: str, text: str) -> Any:
    if fmt in ("json", "sarif"):
        return json.loads(text)
    if fmt == "junit":
        return ET.fromstring(text)
    return text


# ---------------------------------------------------------------------------------------------------
# Every command, every format, on stdout and stderr


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("base", [False, True])
def test_check_output_is_inert_in_every_format(repo: Repo, fmt: str, base: bool) -> None:
    args = ("check", "--format", fmt, "--as-of", AS_OF, *(("--base", "HEAD~1") if base else ()))
    out = run_inert(repo, *args)
    parsed = parses(fmt, out)
    if fmt == "json":
        assert any(f["file"] == ODD_FILE for f in parsed["findings"])  # the exact name, JSON-escaped
        assert any(f.get("waiver", {}).get("justification") == HOSTILE for f in parsed["findings"])
    if fmt == "text":
        assert ODD_SHOWN in out
    if fmt == "junit":
        assert f"{ODD_SHOWN}:" in "".join(parsed.itertext())
        assert "\\x3a:set-env name=X::1" in out  # the remediation's line, shown, not run


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_output_is_inert(repo: Repo, fmt: str) -> None:
    parses(fmt, run_inert(repo, "validate", "--format", fmt))


@pytest.mark.parametrize("fmt", sorted(DIFF_FORMATS))
def test_diff_output_is_inert_and_shows_file_names_escaped(repo: Repo, fmt: str) -> None:
    out = run_inert(repo, "diff", "HEAD~1", "HEAD", "--format", fmt, "--fail-on-weakened", "--as-of", AS_OF)
    parsed = parses(fmt, out)
    if fmt == "json":
        assert ODD_FILE in {c["newFile"] for c in parsed["changes"]}
    elif fmt == "text":
        assert ODD_SHOWN in out
    else:  # Markdown: the same escape, its backslashes escaped or inside a code span
        assert ODD_SHOWN in out or ODD_SHOWN.replace("\\", "\\\\") in out


@pytest.mark.parametrize("fmt", sorted(HISTORY_FORMATS))
@pytest.mark.parametrize("posture", [False, True])
def test_history_output_is_inert(repo: Repo, fmt: str, posture: bool) -> None:
    out = run_inert(repo, "history", "--format", fmt, *(("--posture",) if posture else ()))
    if fmt == "json":
        messages = [c["message"] for c in json.loads(out)["commits"]]
        assert any("::set-env name=X::1" in m and "##vso[task.setvariable" in m for m in messages)  # JSON says it
    if fmt == "text" and not posture:
        assert ODD_SHOWN in out


@pytest.mark.parametrize("args", [("controls",), ("controls", "--format", "json"), ("explain", "svc-runbook")])
def test_control_listings_are_inert(repo: Repo, args: tuple[str, ...]) -> None:
    parses("json" if "json" in args else "text", run_inert(repo, *args))


def test_render_messages_are_inert(repo: Repo, tmp_path: Path) -> None:
    run_inert(repo, "render", "catalogue", "--out", str(tmp_path / "site"), "--as-of", AS_OF)


@pytest.mark.parametrize("args", [
    ("check", "--select", f"nope-{HOSTILE}"),
    ("check", "--rev", f"main{HOSTILE}"),
    ("diff", f"x{HOSTILE}", "HEAD"),
    ("history", "--document", f"Service/{HOSTILE}"),
    ("history", "--since", HOSTILE),
    ("validate", f"services/missing\n::set-env name=Z::1\x1b[2J\u202e.yaml"),
    ("-C", f"/nonexistent\n::set-env name=Z::1\x1b[2J\u202e"),
    ("check", "--format", f"x{HOSTILE}"),
])
def test_error_messages_quoting_user_input_are_inert(repo: Repo, args: tuple[str, ...]) -> None:
    run_inert(repo, *args, codes=(0, 1, 2))


# ---------------------------------------------------------------------------------------------------
# The escapers themselves


def test_inert_shows_the_first_character_of_a_command_at_a_line_start() -> None:
    assert inert("::set-env name=X::1") == "\\x3a:set-env name=X::1"
    assert inert("a\n  ::add-mask::s\r::error::x\n\u3000::x") == "a\n  \\x3a:add-mask::s\r\\x3a:error::x\n\u3000\\x3a:x"
    assert inert("##[group]x\n ##vso[task.complete]") == "\\x23#[group]x\n \\x23#vso[task.complete]"
    assert inert("see ##VSO[x] and a::b ::c") == "see \\x23#VSO[x] and a::b ::c"  # ::c mid-line is no command
    assert inert("plain\ntext: a::b\n") == "plain\ntext: a::b\n"


def test_inert_json_means_the_same_json() -> None:
    body = {"m": HOSTILE, "k\u202e": ["##vso[x]", "\ud800"]}
    text = inert_json(json.dumps(body, indent=2, ensure_ascii=False))
    assert json.loads(text) == body
    assert not ACTIVE.search(text) and not AZURE_ANYWHERE.search(text)


def test_workflow_data_breaks_azure_commands_too() -> None:
    assert workflow_data("x ##vso[task.setvariable variable=a]1") == "x \\x23#vso[task.setvariable variable=a]1"
