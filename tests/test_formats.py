"""Every output format: golden files from one hostile Report, and what each consumer (GitHub code scanning,
JUnit dashboards, the Actions runner, a PR comment) needs from it.

Regenerate the golden files after an intended change with `SVCASCODE_UPDATE_GOLDEN=1 pytest tests/test_formats.py`
and read the diff.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from svcascode.finding import Finding
from svcascode.formats import FORMATS, Report
from svcascode.formats import github, markdown, sarif

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SARIF_SCHEMA = HERE / "schemas" / "sarif-schema-2.1.0.json"  # the OASIS schema, see tests/schemas/NOTICE
EXTENSIONS = {"text": "txt", "json": "json", "sarif": "sarif", "junit": "junit.xml", "github": "github.txt",
              "markdown": "md"}

HOSTILE = ("<script>alert(1)</script> ]]> \x00\x01\x07\x08\x0b\x0c\x1b[31mred\x1f %0A and %25 "
           "\n::error file=x::injected\r\n@octocat `rm -rf /` | a|b * _ [link](http://x) #42 😀 𝔘𝔫𝔦")
LONG = "the runbook link is missing; " * 300 + "END"

FINDINGS = (
    Finding("svc-deps-declared", "critical", HOSTILE, "services/pay ments.yaml", 12, 5,
            ("spec", "dependencies", 0, "service"), "Service", "payments", "block"),
    Finding("svc-runbook-linked", "high", LONG, "services/pay ments.yaml", 30, 3, ("spec", "runbook"),
            "Service", "payments", "warn"),
    Finding("sec-data-protection", "medium", "classification 'secret' needs encryption at rest",
            "services/ledger.yaml", 8, 7, ("spec", "data"), "Service", "ledger", "block"),
    Finding("ctl-unused", "info", "appliesTo matched no document", "policies/controls/x.yaml", 0, 0,
            (), "", "", "audit"),
    Finding("bck-rpo-consistent", "high", "snapshot interval 24h is longer than the RPO 4h",
            "services/ledger.yaml", 20, 9, ("spec", "backup", "interval"), "Service", "ledger", "block",
            waiver="wvr-ledger-backup", justification="Legacy <b>batch</b> system, retired in Q1: see @ops #7\nline two"),
)
RULES: dict[str, dict[str, Any]] = {
    "svc-deps-declared": {"title": "Dependencies are declared, with <b>owners</b>: all of them", "severity": "critical",
                          "enforcement": "block", "help": "Declare every dependency in spec.dependencies.",
                          "description": "Undeclared dependencies hide outage paths.",
                          "mappings": [{"framework": "iso27001-2022", "controls": ["A.5.9", "A.8.1"],
                                        "relationship": "partial"}]},
    "svc-runbook-linked": {"title": "Runbook linked", "severity": "high", "enforcement": "warn",
                           "help": "Add spec.runbook.", "description": "On-call needs a runbook.", "mappings": [],
                           "helpUri": "https://github.com/svcascode/svcascode/blob/main/docs/controls.md#svc-runbook-linked"},
    "bck-rpo-consistent": {"title": "Backups meet the RPO", "severity": "high", "enforcement": "block",
                           "help": "Shorten the snapshot interval.", "description": "", "mappings": []},
}
REPORT = Report("check", FINDINGS, fail_on="high", documents=12, files=5, rules=RULES, as_of="2026-11-27",
                version="0.0.0-test")


def _golden(name: str) -> Path:
    return GOLDEN / f"report.{EXTENSIONS[name]}"


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_format_matches_its_golden_file(name: str) -> None:
    rendered = FORMATS[name](REPORT)
    path = _golden(name)
    if os.environ.get("SVCASCODE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8", newline="")
        pytest.skip(f"updated {path.name}: read the diff")  # comparing with what was just written proves nothing
    with path.open(encoding="utf-8", newline="") as expected:
        assert rendered == expected.read(), f"{name} differs from {path}"


def test_every_format_has_a_golden_file_and_is_a_choice() -> None:
    assert set(FORMATS) == set(EXTENSIONS)


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_no_format_emits_raw_control_characters_from_yaml(name: str) -> None:
    rendered = FORMATS[name](REPORT)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", rendered)
    rendered.encode("utf-8")  # no lone surrogate survives


RUNNER_COMMANDS = ("::set-env name=X::1\n::stop-commands::tok\n  ::add-mask::s\r::warning::w\n"
                   "##vso[task.setvariable variable=x]1\n##[group]g \u202eevil\u2066 \x85 \x9b2J")


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_no_format_prints_a_line_a_ci_runner_runs(name: str) -> None:
    finding = replace(FINDINGS[4], message=RUNNER_COMMANDS, file="services/a\nb\tc.yaml",
                      justification=RUNNER_COMMANDS)
    rules = {**RULES, "bck-rpo-consistent": {**RULES["bck-rpo-consistent"], "help": RUNNER_COMMANDS}}
    report = replace(REPORT, findings=(*FINDINGS, replace(finding, waiver=None, justification=None), finding),
                     rules=rules)
    rendered = FORMATS[name](report)
    own = COMMAND if name == "github" else None
    for line in re.split(r"\r\n|\r|\n", rendered):
        assert not re.match(r"\s*(::|##\[)", line) or (own and own.match(line)), line
    assert not re.search(r"(?i)##vso\[", rendered)
    assert not re.search("[\x80-\x9f\u202a-\u202e\u2066-\u2069]", rendered)
    if name == "json":
        assert RUNNER_COMMANDS in {f["message"] for f in json.loads(rendered)["findings"]}  # the exact text
    if name == "sarif":
        json.loads(rendered)
    if name in ("text", "junit", "markdown"):
        assert "services/a\\x0ab\\x09c.yaml" in rendered.replace("\\\\", "\\")


# ---------------------------------------------------------------------------------------------------
# SARIF


def _sarif(report: Report = REPORT) -> dict[str, Any]:
    return json.loads(FORMATS["sarif"](report))


def test_sarif_is_valid_against_the_2_1_0_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    errors = [e.message for e in Draft4Validator(schema).iter_errors(_sarif())]
    assert errors == []


def test_sarif_rules_carry_what_code_scanning_shows() -> None:
    rules = {r["id"]: r for r in _sarif()["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {f.rule for f in FINDINGS}  # metadata-less ctl-unused too
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
    assert rules["svc-deps-declared"]["properties"]["security-severity"] == "9.5"
    assert rules["svc-runbook-linked"]["properties"]["security-severity"] == "8.0"
    assert rules["ctl-unused"]["properties"]["security-severity"] == "0.0"
    assert "iso27001-2022: A.5.9, A.8.1 (partial)" in rules["svc-deps-declared"]["help"]["text"]
    assert rules["bck-rpo-consistent"]["fullDescription"]["text"] == "Backups meet the RPO"  # no empty text
    assert rules["svc-runbook-linked"]["helpUri"].endswith("/docs/controls.md#svc-runbook-linked")
    assert "helpUri" not in rules["svc-deps-declared"]  # a rule without an entry in the reference links nothing


def test_sarif_results_are_located_relatively_and_from_line_one() -> None:
    results = _sarif()["runs"][0]["results"]
    assert len(results) == len(FINDINGS)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"services/pay%20ments.yaml", "services/ledger.yaml", "policies/controls/x.yaml"}
    regions = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"] for r in results}
    assert regions == {"svc-deps-declared": {"startLine": 12, "startColumn": 5},
                       "svc-runbook-linked": {"startLine": 30, "startColumn": 3},
                       "sec-data-protection": {"startLine": 8, "startColumn": 7},
                       "bck-rpo-consistent": {"startLine": 20, "startColumn": 9},
                       "ctl-unused": {"startLine": 1, "startColumn": 1}}  # line 0 (no line) starts at line one
    assert sarif.relative_uri("/home/ci/repo/services/a.yaml") == "home/ci/repo/services/a.yaml"
    assert sarif.relative_uri("services\\b c.yaml") == "services/b%20c.yaml"


def test_sarif_levels_follow_enforcement_and_waived_findings_are_suppressed() -> None:
    results = {r["ruleId"]: r for r in _sarif()["runs"][0]["results"]}
    assert results["svc-deps-declared"]["level"] == "error"
    assert results["svc-runbook-linked"]["level"] == "warning"
    assert results["ctl-unused"]["level"] == "note"
    waived = results["bck-rpo-consistent"]
    assert waived["level"] == "error"  # still listed, at its own level
    assert waived["suppressions"] == [{"kind": "external", "status": "accepted",
                                       "justification": FINDINGS[4].justification,
                                       "properties": {"waiver": "wvr-ledger-backup"}}]
    assert all("suppressions" not in r for rule, r in results.items() if rule != "bck-rpo-consistent")


def test_sarif_fingerprint_survives_moved_lines_but_not_a_different_place() -> None:
    def fingerprints(report: Report) -> list[str]:
        return [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in _sarif(report)["runs"][0]["results"]]

    moved = replace(REPORT, findings=tuple(replace(f, line=f.line + 40, column=1) for f in FINDINGS))
    assert fingerprints(moved) == fingerprints(REPORT)
    elsewhere = replace(REPORT, findings=(replace(FINDINGS[0], path=("spec", "dependencies", 1, "service")),))
    assert fingerprints(elsewhere)[0] != fingerprints(REPORT)[0]


def test_sarif_repeated_fingerprints_stay_distinct() -> None:
    twice = (FINDINGS[2], replace(FINDINGS[2], message="another problem at the same path", line=9))
    prints = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in _sarif(replace(REPORT, findings=twice))["runs"][0]["results"]]
    assert len(set(prints)) == 2


def test_sarif_caps_a_run_at_25000_results_and_says_so() -> None:
    many = tuple(Finding("svc-runbook-linked", "low", f"problem {i}", f"services/s{i:05}.yaml", 3, 1,
                         ("spec",), "Service", f"s{i:05}", "warn") for i in range(25_010))
    failing = replace(FINDINGS[0], file="services/zz-last.yaml")
    log = _sarif(replace(REPORT, findings=(*many, failing)))
    run = log["runs"][0]
    assert len(run["results"]) == 25_000 == sarif.MAX_RESULTS
    assert any(r["ruleId"] == "svc-deps-declared" for r in run["results"])  # the failing one is kept
    assert run["properties"]["truncated"] is True
    assert run["properties"]["totalResults"] == 25_011 and run["properties"]["omittedResults"] == 11
    assert "11 of 25011 results were left out" in run["properties"]["note"]
    assert "truncated" not in _sarif()["runs"][0]["properties"]


RATCHET = replace(REPORT, base="abc123def4567890", existing=frozenset({FINDINGS[0].fingerprint, FINDINGS[3].fingerprint}),
                  extra={"fixed": [{"rule": "svc-owner-set", "severity": "high", "message": "no owner | `x` @team",
                                    "file": "services/old.yaml", "line": 4, "path": "metadata", "kind": "Service",
                                    "name": "old", "fingerprint": "f" * 32}]})


def test_sarif_marks_findings_that_existed_at_the_base() -> None:
    states = {r["ruleId"]: r["baselineState"] for r in _sarif(RATCHET)["runs"][0]["results"]}
    assert states == {"svc-deps-declared": "unchanged", "ctl-unused": "unchanged", "svc-runbook-linked": "new",
                      "sec-data-protection": "new", "bck-rpo-consistent": "new"}
    assert "baselineState" not in _sarif()["runs"][0]["results"][0]


def test_json_and_junit_say_new_or_existing_with_a_base() -> None:
    body = json.loads(FORMATS["json"](RATCHET))
    assert {f["rule"]: f["status"] for f in body["findings"]} == {
        "svc-deps-declared": "existing", "ctl-unused": "existing", "svc-runbook-linked": "new",
        "sec-data-protection": "new", "bck-rpo-consistent": "new"}
    assert all("status" not in f for f in json.loads(FORMATS["json"](REPORT))["findings"])
    root = ET.fromstring(FORMATS["junit"](RATCHET))
    cases = {c.get("name", "").split()[0]: c for c in root.iter("testcase")}
    assert "status: existing" in (cases["svc-deps-declared"].findtext("system-out") or "")
    assert "status: new" in (cases["sec-data-protection"].findtext("system-out") or "")
    assert (cases["bck-rpo-consistent"].find("skipped").get("message") or "").endswith("(new)")  # type: ignore[union-attr]
    assert "status:" not in FORMATS["junit"](REPORT)


# ---------------------------------------------------------------------------------------------------
# check --base: the ratchet in text, GitHub and Markdown


def test_text_with_a_base_tags_existing_findings_and_lists_new_and_fixed() -> None:
    text = FORMATS["text"](RATCHET)
    lines = text.splitlines()
    assert any(line.startswith("  services/pay ments.yaml:12:5: Service/payments: [existing] [critical/block]")
               for line in lines)
    assert "against abc123def456: 3 new, 2 existing (reported, never failing), 1 fixed" in lines
    new = lines[lines.index("new:") + 1:lines.index("fixed:")]
    assert [line.split(": ")[0] for line in new] == ["  services/ledger.yaml:8:7", "  services/ledger.yaml:20:9",
                                                     "  services/pay ments.yaml:30:3"]
    assert lines[lines.index("fixed:") + 1] == "  services/old.yaml:4: Service/old: svc-owner-set: no owner | `x` @team"
    assert "against " not in FORMATS["text"](REPORT)


def test_text_ratchet_shows_control_characters_as_escapes() -> None:
    hostile = replace(RATCHET, findings=(replace(FINDINGS[2], message="a\x1b[2Jb\nc\u202ed"),))
    new_line = FORMATS["text"](hostile).split("new:\n")[1].splitlines()[0]
    assert new_line.endswith("sec-data-protection: a\\x1b[2Jb\\x0ac\\u202ed")


def test_github_with_a_base_annotates_only_new_findings_and_counts_the_others() -> None:
    lines = FORMATS["github"](RATCHET).splitlines()
    annotations = [line for line in lines if COMMAND.match(line)]
    assert [a.split("title=")[1].split(" ")[0] for a in annotations] == ["sec-data-protection", "svc-runbook-linked"]
    assert all("existing" not in a for a in annotations)
    assert all("(medium%2C new)" in a or "(high%2C new)" in a for a in annotations)
    notice = lines[-2]
    assert notice.startswith("::notice title=svcascode check --base abc123def456::")
    assert "2 findings already at the base abc123def456 are not annotated" in notice
    assert "2 new findings annotated" in notice
    assert lines[-1].startswith("PASS: ")  # the existing critical one does not fail
    assert len(lines) == 4


def test_github_with_a_base_a_hostile_base_cannot_form_a_command() -> None:
    hostile = replace(RATCHET, base="x\n::set-env name=A::1,y:z%0A")
    lines = FORMATS["github"](hostile).splitlines()
    assert len(lines) == 4  # two annotations, the notice, the summary: the base's newline started nothing
    assert [line.split(" ")[0] for line in lines] == ["::warning", "::warning", "::notice", "PASS:"]
    assert lines[2].startswith("::notice title=svcascode check --base x%0A%3A%3Aset-env ::")


def test_markdown_with_a_base_marks_new_and_existing_and_counts_fixed() -> None:
    body = FORMATS["markdown"](RATCHET)
    assert "Against the base `abc123def456`: **3 new**, 2 existing (reported, never failing), 1 fixed." in body
    assert "| | Severity | Rule | Location | Finding | Base |\n|---|---|---|---|---|---|\n" in body
    rows = {line.split(" | ")[2]: line for line in body.splitlines() if line.startswith("| ") and " | " in line}
    assert rows["svc-deps-declared"].endswith("| existing |") and rows["ctl-unused"].endswith("| existing |")
    assert rows["sec-data-protection"].endswith("| 🆕 new |") and rows["svc-runbook-linked"].endswith("| 🆕 new |")
    assert body.index("sec-data-protection") < body.index("| svc-deps-declared")  # new findings first
    assert "<details><summary>1 fixed since the base</summary>" in body
    fixed = next(line for line in body.splitlines() if line.startswith("| svc-owner-set"))
    assert fixed == "| svc-owner-set | services/old.yaml:4 | Service/old: no owner \\| \\`x\\` @&#8203;team |"
    plain = FORMATS["markdown"](REPORT)
    assert "Base |" not in plain and "Against the base" not in plain and "fixed since" not in plain


# ---------------------------------------------------------------------------------------------------
# JUnit


def test_junit_parses_and_counts_failures_and_waivers() -> None:
    root = ET.fromstring(FORMATS["junit"](REPORT))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "1", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"services/pay ments.yaml", "services/ledger.yaml", "policies/controls/x.yaml"}
    failure = root.find(".//failure")
    assert failure is not None and "<script>alert(1)</script> ]]>" in (failure.get("message") or "")
    assert "\\x00\\x01" in (failure.text or "") and "😀 𝔘𝔫𝔦" in (failure.text or "")
    skipped = root.find(".//skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("waived by wvr-ledger-backup: Legacy <b>")


@pytest.mark.parametrize("code", [*range(0x20), 0x7F, 0xFFFE, 0xFFFF, 0xD800])
def test_junit_stays_xml_whatever_character_the_yaml_holds(code: int) -> None:
    # (YAML cannot hold a lone surrogate; a message still might, from a check's own text)
    name = "n" if 0xD800 <= code <= 0xDFFF else f"n{chr(code)}"
    finding = replace(FINDINGS[0], message=f"a{chr(code)}b", name=name, file=f"services/{chr(code)}.yaml")
    root = ET.fromstring(FORMATS["junit"](replace(REPORT, findings=(finding,))))
    assert root.find(".//failure") is not None


def test_junit_without_findings_is_one_passing_case() -> None:
    root = ET.fromstring(FORMATS["junit"](replace(REPORT, findings=())))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")


# ---------------------------------------------------------------------------------------------------
# GitHub workflow commands

COMMAND = re.compile(r"^::(error|warning|notice) file=[^,:\r\n]*,line=\d+,col=\d+,title=[^,:\r\n]*::[^\r\n]*$")


def _unescape(data: str) -> str:
    return data.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_lines_are_our_commands_and_a_summary() -> None:
    lines = FORMATS["github"](REPORT).splitlines()
    assert len(lines) == 5  # four unwaived findings, then the summary
    assert all(COMMAND.match(line) for line in lines[:-1])
    assert lines[-1].startswith("FAIL: ")
    levels = [COMMAND.match(line).group(1) for line in lines[:-1]]  # type: ignore[union-attr]
    assert levels == ["notice", "warning", "error", "warning"]  # x.yaml audit; ledger medium < high; pay ments


def test_github_message_cannot_start_a_new_command() -> None:
    finding = replace(FINDINGS[0], message="ok\n::error::pwned\r::warning::also %0A::notice::x")
    [annotation, _] = FORMATS["github"](replace(REPORT, findings=(finding,))).splitlines()
    assert annotation.endswith("::Service/payments: ok%0A::error::pwned%0D::warning::also %250A::notice::x")
    assert _unescape(annotation.split("::", 2)[2]) == "Service/payments: " + finding.message


def test_github_properties_escape_colons_and_commas() -> None:
    assert github.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    finding = replace(FINDINGS[0], file="services/a,b:c.yaml")
    [annotation, _] = FORMATS["github"](replace(REPORT, findings=(finding,))).splitlines()
    assert annotation.startswith("::error file=services/a%2Cb%3Ac.yaml,line=12,col=5,title=svc-deps-declared "
                                 "(critical)%3A Dependencies are declared%2C with <b>owners</b>%3A all of them::")


# ---------------------------------------------------------------------------------------------------
# Markdown


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_markdown_for_5000_findings_fits_a_comment_and_says_what_it_left_out() -> None:
    many = tuple(replace(FINDINGS[0], message=f"{i} 😀 " + LONG, file=f"services/s{i:04}.yaml") for i in range(5_000))
    body = FORMATS["markdown"](replace(REPORT, findings=many))
    assert _utf16_length(body) < 65_536
    rows = [line for line in body.splitlines() if line.startswith("| ❌")]
    assert 50 < len(rows) < 5_000
    assert f"_{5_000 - len(rows)} more findings not shown" in body


def test_markdown_escapes_what_would_change_the_comment() -> None:
    body = FORMATS["markdown"](REPORT)
    assert "<script>" not in body and "&lt;script>" in body and "<b>" not in body
    assert "@octocat" not in body and "@&#8203;octocat" in body
    assert "\\`rm -rf /\\`" in body and "a\\|b" in body and "\\[link\\]" in body
    rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line]
    # every row has its table's cells and no more: unescaped pipes are only ours (five findings cells, then the
    # four of the waived table)
    assert [len(re.findall(r"(?<!\\)\|", row)) for row in rows] == [6, 6, 6, 6, 6, 5, 5]
    assert "<br>::error file=x::injected" in body  # the newline stays inside its cell
    assert "<details><summary>1 waived</summary>" in body and "wvr-ledger-backup" in body
    assert markdown.cell("@a #1 <b> & x") == "@&#8203;a #&#8203;1 &lt;b> &amp; x"


# ---------------------------------------------------------------------------------------------------
# Text and JSON


def test_text_groups_by_file_keeps_one_line_per_finding_and_summarises() -> None:
    lines = FORMATS["text"](REPORT).splitlines()
    assert lines[0] == "policies/controls/x.yaml"
    assert "services/ledger.yaml" in lines and "services/pay ments.yaml" in lines
    finding_lines = [line for line in lines if line.startswith("  ")]
    assert len(finding_lines) == len(FINDINGS)
    assert lines[-1] == ("FAIL: 1 critical, 1 high, 1 medium, 1 info, 1 waived; 1 at or above 'high' that block "
                         "(12 documents in 5 files)")


def test_json_keeps_the_message_exactly_and_marks_waivers() -> None:
    body = json.loads(FORMATS["json"](REPORT))
    assert body["version"] == 1 and body["exitCode"] == 1
    by_rule = {f["rule"]: f for f in body["findings"]}
    assert by_rule["svc-deps-declared"]["message"] == HOSTILE
    assert by_rule["bck-rpo-consistent"]["waiver"]["name"] == "wvr-ledger-backup"
