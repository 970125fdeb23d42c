"""The cost bounds of expression controls hold however the cost is spread: over hundreds of variables, over a
message's placeholders, over the documents of a catalogue. Bounded in counted steps and CPU time, never in
wall-clock time."""

from __future__ import annotations

import json
import resource
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import copy_example
from svcascode import expressions
from svcascode.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
CONTROL = "policies/tier1-thin-rota-ola.yaml"
AS_OF = "2026-11-27"


@pytest.fixture
def org(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "org-rules", tmp_path / "org")
    return tmp_path / "org"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def findings(root: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["-C", str(root), "--no-cache", "check", "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return list(json.loads(result.output)["findings"])


def edit(root: Path, old: str, new: str) -> None:
    path = root / CONTROL
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_many_cheap_variables_share_one_document_s_budget(org: Path) -> None:
    """150 variables, each a cheap loop: together they cost what one evaluation may, not 150 times it (each
    loop step copies every name in scope, which is counted too)."""
    numbers = "[" + ", ".join(str(i) for i in range(30)) + "]"
    variables = "".join(f"      - {{name: v{i}, expression: '{numbers}.all(a, a >= 0)'}}\n" for i in range(150))
    edit(org, "    variables:\n", "    variables:\n" + variables)
    started = cpu()
    found = findings(org)
    assert cpu() - started < 15  # was a minute and more per document as the variables grew
    assert [(f["rule"], f["line"]) for f in found] == [("check-error", 34), ("check-error", 45), ("check-error", 58)]
    assert all(f["message"].endswith("evaluation cost more than 200,000 steps") for f in found)


def test_a_message_cannot_amplify_a_large_value(org: Path) -> None:
    """A value of 8,192 numbers shown by 1,400 placeholders would be 80 MB of message: the placeholders'
    text counts against the document's budget, and a message is cut at 2,000 characters."""
    doubling = "[[1, 2]]" + "".join(f".map(x{i}, x{i} + x{i})" for i in range(12))
    edit(org, "    variables:\n", f"    variables:\n      - {{name: big, expression: '{doubling}'}}\n")
    edit(org, "    message: >-\n", "    message: >-\n      " + "{{big}}" * 1400 + "\n")
    started = cpu()
    found = findings(org)
    assert cpu() - started < 15
    assert {f["rule"] for f in found} == {"check-error"}
    # the control reads the service's owning team: that document adds its allowance to the budget
    assert found[0]["message"].endswith("evaluation cost more than 205,000 steps (200,000, and 5,000 for the other "
                                        "document it read)")

    # one placeholder: the message is written, cut to its bound with a note of what was left out
    edit(org, "{{big}}" * 1400, "{{big}}")
    found = findings(org)
    message = next(f["message"] for f in found if f["rule"] == "tier1-thin-rota-ola")
    assert message.startswith("1, 2, 1, 2, ")
    assert len(message) < 2_100 and "more characters)" in message


def test_a_list_of_messages_gives_at_most_a_hundred_findings_per_document(org: Path) -> None:
    numbers = "[" + ", ".join(str(i) for i in range(250)) + "]"
    edit(org, "expression: team == null || size(onCall(team)) >= params.minOnCall || supported",
         f"expression: '{numbers}.map(i, \"message \" + string(i))'")
    found = [f["message"] for f in findings(org) if f["name"] == "ledger"]
    assert len(found) == 101
    assert "message 99" in found and "message 100" not in found
    assert "... and 150 more messages of this expression (at most 100 are reported per document)" in found


def test_a_control_s_evaluations_stop_at_its_cpu_budget(org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each document within its own budget, the catalogue's together past the control's: the documents left
    get a check-error saying so. The budget is CPU time (20 s by default; a hundredth of a second here, which
    two documents of about 157,000 counted steps each, under their own limit of 200,000, exceed by far)."""
    monkeypatch.setattr(expressions, "SECONDS_PER_CONTROL", 0.01)
    numbers = "[" + ", ".join(str(i) for i in range(60)) + "]"
    edit(org, "    variables:\n", f"    variables:\n      - {{name: slow, expression: '{numbers}.all(a, "
         f"{numbers}.all(b, a + b >= 0))'}}\n")
    edit(org, "where: {tier: tier-1}", "where: {}")
    started = cpu()
    found = findings(org)
    assert cpu() - started < 10
    budget = [f for f in found if "took more than 0.01 s of CPU time" in f["message"]]
    assert budget and {f["rule"] for f in budget} == {"check-error"}


def test_a_control_whose_text_is_too_large_is_invalid(org: Path) -> None:
    variables = "".join(f"      - {{name: v{i}, expression: '{'1 + ' * 1000}1 > 0'}}\n" for i in range(20))
    edit(org, "    variables:\n", "    variables:\n" + variables)
    found = findings(org)
    assert [(f["rule"], f["file"]) for f in found] == [("control-invalid", CONTROL)]
    assert "over the limit of 65,536: split it into several controls" in found[0]["message"]


def test_a_library_control_over_hundreds_of_services_gives_its_answer(tmp_path: Path) -> None:
    """An access policy that 500 services name: acc-mfa-sso reads each of them, about 500 steps apiece. The
    budget grows with the documents an evaluation reads, so the policy is judged (here it passes: SSO and
    required MFA), not left with a check-error that the starter library's control cost too much."""
    root = copy_example(tmp_path / "catalogue")
    text = (root / "services/catalogue/app-platform.yaml").read_text()
    assert "accessPolicy: platform-admin-access" in text
    (root / "services/generated").mkdir()
    for i in range(500):
        (root / f"services/generated/s{i:03d}.yaml").write_text(
            text.replace("  name: app-platform\n", f"  name: app-platform-{i:03d}\n", 1))
    found = findings(root)
    about = [(f["rule"], f["message"]) for f in found if f["name"] == "platform-admin-access"]
    assert not [f for f in found if f["rule"] == "check-error"], about
    assert not [rule for rule, _ in about if rule == "acc-mfa-sso"]


def test_each_document_read_adds_to_the_budget_once_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget of one evaluation: COST_PER_DOCUMENT, and COST_PER_DOCUMENT_READ for each other document it
    was given, counted once however often it is read again, never past MAX_COST_PER_DOCUMENT."""
    subject, team, service = object(), object(), object()
    meter = expressions.Meter()
    meter.start(subject)
    for document in (subject, team, team, service, team):  # the subject and repeated reads add nothing
        meter.reads(document)
    allowed = expressions.COST_PER_DOCUMENT + 2 * expressions.COST_PER_DOCUMENT_READ
    meter.charge(allowed)
    with pytest.raises(expressions.CostExceeded) as stopped:
        meter.charge(1)
    assert str(stopped.value) == (f"evaluation cost more than {allowed:,} steps (200,000, and 5,000 for each of the 2 "
                                  "other documents it read)")

    meter.start(subject)  # the next document starts again from its own budget
    meter.reads(team)
    with pytest.raises(expressions.CostExceeded, match="more than 205,000 steps .* for the other document it read"):
        meter.charge(205_001)

    monkeypatch.setattr(expressions, "MAX_COST_PER_DOCUMENT", 210_000)
    meter.start(subject)
    others = [object() for _ in range(10)]
    for document in others:
        meter.reads(document)
    with pytest.raises(expressions.CostExceeded) as capped:
        meter.charge(210_001)
    assert str(capped.value) == "evaluation cost more than 210,000 steps, the most any evaluation may cost"
