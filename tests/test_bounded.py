"""Work bounded by the input: however many errors a document has, however dense a recurrence rule,
whatever the as-of date, whatever pattern or number a document holds, the answer comes within seconds,
located, with the documented exit code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from svcascode.catalogue import validate_file
from svcascode.finding import Finding
from svcascode.loading.yamlfile import Limits, parse_text


def _validate(text: str, path: str = "big.yaml", within: float | None = None) -> tuple[int, list[Finding]]:
    """Documents that passed, and the findings of one file's text; validated `within` seconds."""
    parsed = parse_text(path, text.encode(), Limits())
    started = time.process_time()
    validated = validate_file(parsed)
    if within is not None:
        assert time.process_time() - started < within
    return len(validated.documents), validated.problems


def _messages(findings: list[Finding]) -> list[str]:
    return [f"{f.line}:{f.column} {f.message}" for f in findings]


# --- validation linear in its errors -------------------------------------------------------------


def test_ten_thousand_errors_validate_in_linear_time() -> None:
    lines = ["apiVersion: svcascode.io/v1alpha1", "kind: Service", "metadata:", "  name: big", "  tags:"]
    lines += [f"    - {i}" for i in range(10_000)]
    lines += ["spec:", "  type: business", "  dependencies:"]
    lines += [f"    - {{service: x{i}, criticality: yes}}" for i in range(10_000)]
    documents, findings = _validate("\n".join(lines) + "\n", within=5)  # 409 s when each error re-validated
    assert documents == 0
    messages = _messages(findings)
    assert '6:7 metadata.tags[0]: 0 was read as the number 0; quote it: "0"' in messages
    assert len(findings) <= 101
    last = [m for m in messages if "more problem" in m]
    assert last and last[0].startswith("1:1 document: ... and ")


def test_quoting_advice_still_says_what_stays_wrong() -> None:
    text = ("apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: business\n"
            "  dependencies:\n    - {service: a, criticality: yes}\n")
    _, findings = _validate(text)
    assert any("'yes' is not one of: hard, soft (YAML read yes as the boolean true)" in m for m in _messages(findings))


# --- Framework idFormat on RE2 ---------------------------------------------------------------------

FRAMEWORK = """apiVersion: svcascode.io/v1alpha1
kind: Framework
metadata: {{name: hostile}}
spec:
  idFormat: '{pattern}'
  controls:
    - {{id: "{id}"}}
"""


def test_a_backtracking_id_format_is_matched_in_linear_time() -> None:
    _, findings = _validate(FRAMEWORK.format(pattern="^(a+)+$", id="a" * 60 + "!"), within=5)
    assert _messages(findings) == [f"6:3 spec.controls: control ids not matching idFormat: {'a' * 60}!"]


def test_an_id_format_re2_cannot_run_is_located() -> None:
    _, findings = _validate(FRAMEWORK.format(pattern=r"^(a)\1$", id="aa"))
    [finding] = findings
    assert (finding.line, finding.rule, finding.path) == (5, "schema-invalid", ("spec", "idFormat"))
    assert "backreferences" in finding.message


# --- numbers too large to work with ----------------------------------------------------------------


def test_numbers_too_large_to_convert_are_located_findings() -> None:
    text = f"""apiVersion: svcascode.io/v1alpha1
kind: Baseline
metadata: {{name: b}}
spec:
  appliesTo: {{tiers: [tier-1]}}
  parameters:
    min_availability_percent: .inf
    oncall_min_people: {"9" * 4000}
    max_planned_budget_share: 1.0e+999
    p1_response_max: {"9" * 5000}ms
    dr_test_max_age: 99999999999999999999999y
    restore_test_max_age: 1001y
"""
    documents, findings = _validate(text)
    assert documents == 0
    by_line = {f.line: f.message for f in findings}
    assert sorted(by_line) == [7, 8, 9, 10, 11, 12]
    assert "less than or equal to 100" in by_line[7]
    assert "is more than 1,000,000,000, the largest count" in by_line[8]
    assert "(5002 characters) is longer than 1000y" in by_line[10]
    assert by_line[12].endswith("1001y is longer than 1000y, the longest duration svcascode works with")
    assert all(len(m) < 300 for m in by_line.values())
