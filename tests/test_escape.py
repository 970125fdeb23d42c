"""svcascode.escape on hostile text, and the outputs that now share it: diff, history, the render filters.

Each escaper is asserted for what its reader would see: a terminal that gets no escape sequence, a
Markdown comment that gets no markup, mention or broken table, an HTML attribute that stays quoted,
a workflow command that cannot start another, a spreadsheet that runs no formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from types import SimpleNamespace

import pytest

from svcascode.escape import (html_attr, inert_json, md_code, md_text, one_line, shorten, spreadsheet_cell, squash,
                              visible, workflow_data, workflow_property)

HOSTILE = "a\x1b[2J\x00b\x7f\x85c\u202ed\u2028e\ud800\ufffe"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202e\u2028\ud800\ufffe]")


# ---------------------------------------------------------------------------------------------------
# Terminal and one-line text


def test_one_line_shows_every_control_character_as_an_escape() -> None:
    assert one_line(HOSTILE) == "a\\x1b[2J\\x00b\\x7f\\x85c\\u202ed\\u2028e\\ud800\\ufffe"
    assert one_line("line one\nline two\r\n\t") == "line one\\x0aline two\\x0d\\x0a\\x09"
    assert one_line("😀 𝔘𝔫𝔦 é\u200d") == "😀 𝔘𝔫𝔦 é\u200d"  # printable text, emoji joiners, untouched


def test_visible_keeps_only_what_it_is_told_to() -> None:
    assert visible("a\nb\tc\x1bd", keep="\n") == "a\nb\\x09c\\x1bd"


def test_squash_makes_prose_one_line_and_escapes_the_rest() -> None:
    assert squash("  Backups\n  meet\tthe RPO\x1b[0m  ") == "Backups meet the RPO\\x1b[0m"
    assert squash(None) == ""


def test_shorten_says_how_much_it_cut() -> None:
    assert shorten("abcdef", 3) == "abc… (3 more characters)"
    assert shorten("abc", 3) == "abc"


# ---------------------------------------------------------------------------------------------------
# Markdown


def test_md_text_shows_markup_as_text() -> None:
    text = md_text("<script>alert(1)</script> **bold** _em_ `code` [link](http://x) a|b ~~s~~ \\ & &lt;")
    assert text == ("&lt;script>alert\\(1\\)&lt;/script> \\*\\*bold\\*\\* \\_em\\_ \\`code\\` \\[link\\]\\(http://x\\) "
                    "a\\|b \\~\\~s\\~\\~ \\\\ &amp; &amp;lt;")
    assert "<" not in text and "](" not in text  # no HTML element can open, no link can form


@pytest.mark.parametrize(("start", "escaped"), [
    ("# heading", "\\# heading"), ("+ item", "\\+ item"), ("- item", "\\- item"), ("= underline", "\\= underline"),
    ("> quote", "\\> quote"), ("1. item", "1\\. item"), ("2) item", "2\\) item"), ("99.9 % up", "99.9 % up")])
def test_md_text_never_starts_a_block(start: str, escaped: str) -> None:
    assert md_text(start) == escaped


def test_md_text_stays_on_one_line_or_breaks_with_br() -> None:
    assert md_text("one\ntwo\r\n  three") == "one two three"
    assert md_text("one\ntwo\rthree", breaks=True) == "one<br>two\\\\x0dthree"
    assert "\n" not in md_text(HOSTILE) and not CONTROL.search(md_text(HOSTILE))


def test_md_text_mentions_nobody_in_a_comment() -> None:
    assert md_text("@octocat see #42", mentions=True) == "@&#8203;octocat see #&#8203;42"
    assert md_text("ops@example.com") == "ops@example.com"  # a catalogue page keeps addresses as they are


def test_md_text_cannot_issue_a_workflow_command_or_end_a_table_cell() -> None:
    cell = md_text("x\n::set-env name=A::1 | y", breaks=True, mentions=True)
    assert cell == "x<br>::set-env name=A::1 \\| y"
    assert "\n" not in cell and not re.search(r"(?<!\\)\|", cell)


def test_md_code_is_one_span_that_no_backtick_or_pipe_ends() -> None:
    assert md_code("a`b|c\nd\x1b") == "`a'b\\|c d\\x1b`"
    assert md_code("services/a.yaml:12").count("`") == 2


# ---------------------------------------------------------------------------------------------------
# HTML, workflow commands, CSV


def test_html_attr_stays_inside_its_quotes() -> None:
    assert html_attr('x" onmouseover="alert(1)\' <b>&') == "x&#34; onmouseover=&#34;alert(1)&#39; &lt;b&gt;&amp;"
    assert html_attr("a\x00b") == "a\\x00b"


def test_workflow_escapes_keep_text_inside_its_own_command() -> None:
    assert workflow_data("ok\n::set-env name=A::1\r%0A") == "ok%0A::set-env name=A::1%0D%250A"
    assert workflow_property("a:b,c\n") == "a%3Ab%2Cc%0A"
    assert workflow_data("\x1b[31m") == "\\x1b[31m"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_spreadsheet_cell_runs_no_formula(text: str) -> None:
    assert spreadsheet_cell(text) == "'" + text
    assert spreadsheet_cell("plain") == "plain"


# ---------------------------------------------------------------------------------------------------
# The outputs that share them


def _diff_report(message: str) -> object:
    from svcascode.diff import ChangeSet
    from svcascode.diffreport import DiffReport
    from svcascode.finding import Finding

    finding = Finding("svc-runbook", "high", message, "services/a.yaml", 3, 1, ("spec",), "Service", "a", "block")
    return DiffReport("a" * 40, "working tree", ChangeSet(()), introduced=(finding,))


def test_diff_text_and_markdown_escape_yaml_text_as_check_does() -> None:
    from svcascode.diffreport import DIFF_FORMATS

    report = _diff_report("@octocat #7 \x1b[2J <b>x</b>\n::error::y")
    text = DIFF_FORMATS["text"](report)  # type: ignore[arg-type]
    assert "\\x1b[2J" in text and "\\x0a::error::y" in text and "\x1b" not in text
    markdown = DIFF_FORMATS["markdown"](report)  # type: ignore[arg-type]
    assert "@&#8203;octocat #&#8203;7 \\\\x1b\\[2J &lt;b>x&lt;/b> ::error::y" in markdown
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text + markdown)  # only the lines' own newlines


def _commit(message: str) -> SimpleNamespace:
    return SimpleNamespace(sha="b" * 40, author="=cmd|' /C calc'!A0", email="e@x", date="2026-01-02T03:04:05Z",
                           committed="2026-01-02T03:04:05Z", message=message)


def test_history_formats_are_the_choices_and_escape_what_they_print() -> None:
    from svcascode.commands.history import history
    from svcascode.formats.history import AUDIT, HISTORY_FORMATS, POSTURE, HistoryReport

    choices = next(p for p in history.params if p.name == "fmt").type.choices  # type: ignore[attr-defined]
    assert list(choices) == list(HISTORY_FORMATS) == ["text", "json", "csv"]
    change = SimpleNamespace(kind="Service", name="a", action="changed", file="services/a.yaml", old_file=None,
                             new_file=None, subject="Service/a", classes=[],
                             fields=[SimpleNamespace(where="spec.tier", old="1", new="2\x1b[2J")])
    audit = HistoryReport(AUDIT, [SimpleNamespace(commit=_commit("tier \x1b]0;pwned\x07"), changes=[change])],
                          {"document": None})
    text = HISTORY_FORMATS["text"](audit)
    assert "tier \\x1b]0;pwned\\x07" in text and "spec.tier: 1 -> 2\\x1b[2J" in text and "\x1b" not in text
    row = next(csv.DictReader(io.StringIO(HISTORY_FORMATS["csv"](audit))))
    assert row["author"].startswith("'=") and row["new"] == "2\\x1b[2J"  # CSV shows the control as an escape
    assert json.loads(HISTORY_FORMATS["json"](audit))["commits"][0]["changes"][0]["fields"][0]["new"] == "2\x1b[2J"
    posture_row = SimpleNamespace(commit=_commit("fix"), as_of="2026-01-02", waived=0, failing=1,
                                  severities={"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
                                  controls={"svc-runbook": 1})
    posture = HistoryReport(POSTURE, [posture_row], {"stats": {"blobsRead": 1, "blobsSeen": 2}})
    assert json.loads(HISTORY_FORMATS["json"](posture))["mode"] == "posture"
    assert "svc-runbook" in HISTORY_FORMATS["csv"](posture).splitlines()[0]


def test_report_formats_are_the_render_report_choices() -> None:
    from svcascode.commands.render import report_command
    from svcascode.render.report import REPORT_FORMATS

    choices = next(p for p in report_command.params if p.name == "formats").type.choices  # type: ignore[attr-defined]
    assert list(choices) == list(REPORT_FORMATS) == ["html", "md", "json", "oscal", "pdf"]


def test_render_md_filter_is_the_shared_markdown_escaper() -> None:
    from svcascode.render import environment

    env = environment()
    assert env.filters["md"] is md_text and env.filters["code"] is md_code
    rendered = env.from_string("{{ x|md }}").render(x="# <script>x</script> [a](javascript:b)\x1b")
    assert rendered == "\\# &lt;script>x&lt;/script> \\[a\\]\\(javascript:b\\)\\\\x1b"


@pytest.mark.parametrize("at", [0, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 17])
def test_a_large_json_text_is_escaped_wherever_its_one_unprintable_character_is(at: int) -> None:
    plain = json.dumps({"findings": ["x" * 97] * 40_000}, ensure_ascii=False)  # about 4 MB of printable ASCII
    assert inert_json(plain) is plain  # nothing to escape: the same text, not a copy
    inside = plain.index('"x', at) + 1  # inside a string, where JSON escapes are exact
    hostile = plain[:inside] + "\x1b" + plain[inside + 1:]
    escaped = inert_json(hostile)
    assert "\x1b" not in escaped and escaped.count("\\u001b") == 1
    assert json.loads(escaped) == json.loads(hostile, strict=False)  # the same text, the character escaped
