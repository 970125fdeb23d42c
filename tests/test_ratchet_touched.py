"""`check --base REV --ratchet touched`: a pull request that edits a document cannot leave its old findings there.

A real git repository: the base has a service with a finding (beta has no runbook); the pull request edits
beta (its tier) without fixing it. With the default ratchet the finding is existing and the gate passes;
with `touched` it blocks as if new, and every format says why.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from git_helpers import Repo, base_catalogue, service
from svcascode.cli import main

AS_OF = "2026-11-27"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit("base", {**base_catalogue(), "services/catalogue/gamma.yaml": service("gamma", runbook=False)})
    repo.git("branch", "base")
    repo.git("checkout", "-q", "-b", "pull-request")
    return repo


def run(repo: Repo, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(repo.path)
    return CliRunner().invoke(main, ["check", "--base", "base", "--as-of", AS_OF, *args])


def statuses(result: Any) -> list[tuple[str, str, bool]]:
    return [(f["name"], f["status"], f["failing"]) for f in json.loads(result.output)["findings"]]


def test_editing_a_document_with_an_old_finding_fails_with_touched_and_passes_without(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit("beta moves to tier 1", {"services/catalogue/beta.yaml": service("beta", runbook=False, tier="tier-1")})

    default = run(repo, monkeypatch, "--format", "json")
    assert default.exit_code == 0, default.output
    assert statuses(default) == [("beta", "existing", False), ("gamma", "existing", False)]

    touched = run(repo, monkeypatch, "--ratchet", "touched", "--format", "json")
    assert touched.exit_code == 1, touched.output
    assert statuses(touched) == [("beta", "touched", True), ("gamma", "existing", False)]  # gamma was not edited
    body = json.loads(touched.output)
    assert (body["ratchet"], body["touched"], body["new"]) == ("touched", 1, 0)

    text = run(repo, monkeypatch, "--ratchet", "touched").output
    assert "Service/beta: [touched] [high/block] svc-runbook" in text
    assert ("against " in text and "0 new, 1 touched (at the base, on documents this change edits: failing as if "
            "new), 1 existing (reported, never failing), 0 fixed") in text
    assert "touched (its document is edited by this change):\n  services/catalogue/beta.yaml:4:1: Service/beta" in text

    comment = run(repo, monkeypatch, "--ratchet", "touched", "--format", "markdown").output
    assert comment.startswith("### svcascode check: FAIL")
    assert "**0 new**, **1 touched**, 1 existing (reported, never failing), 0 fixed." in comment
    assert "this change edits its document, so it blocks as if new" in comment
    beta = next(line for line in comment.splitlines() if "beta.yaml" in line)
    assert beta.startswith("| ❌ |") and beta.endswith("✏️ touched |")
    gamma = next(line for line in comment.splitlines() if "gamma.yaml" in line)
    assert gamma.endswith(" existing |") and not gamma.startswith("| ❌ |")

    sarif = json.loads(run(repo, monkeypatch, "--ratchet", "touched", "--format", "sarif").output)
    states = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["baselineState"]
              for r in sarif["runs"][0]["results"]}
    assert states == {"services/catalogue/beta.yaml": "updated", "services/catalogue/gamma.yaml": "unchanged"}

    github = run(repo, monkeypatch, "--ratchet", "touched", "--format", "github").output
    assert "::error file=services/catalogue/beta.yaml" in github and "(high%2C touched)" in github
    assert "gamma.yaml" not in github.split("::notice")[0]  # the existing one is not annotated

    junit = ET.fromstring(run(repo, monkeypatch, "--ratchet", "touched", "--format", "junit").output)
    failures = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    assert len(failures) == 1 and "status: touched" in (failures[0].find("failure").text or "")


def test_edits_that_change_no_content_touch_nothing(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    moved = "# a comment, and the document moved to another file\n" + service("beta", runbook=False)
    repo.commit("comment and move", {"services/catalogue/beta.yaml": None, "services/moved/beta.yaml": moved})
    result = run(repo, monkeypatch, "--ratchet", "touched", "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(statuses(result)) == [("beta", "existing", False), ("gamma", "existing", False)]


def test_the_setting_and_a_pull_request_that_tries_to_loosen_it(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.git("checkout", "-q", "base")
    repo.commit("the base asks for the touched ratchet",
                {".svcascode.yaml": "library: {enabled: false}\nratchet: touched\n"})
    repo.git("checkout", "-q", "-B", "pull-request")
    # the pull request edits beta and sets the ratchet back to new in its own configuration
    repo.commit("edit beta, loosen the gate", {
        "services/catalogue/beta.yaml": service("beta", runbook=False, tier="tier-1"),
        ".svcascode.yaml": "library: {enabled: false}\nratchet: new\n"})
    result = run(repo, monkeypatch, "--format", "json")
    assert result.exit_code == 1, result.output  # the base's stricter setting holds
    assert ("beta", "touched", True) in statuses(result)
    assert run(repo, monkeypatch, "--ratchet", "new").exit_code == 0  # the workflow's own choice decides


def test_ratchet_without_base_is_exit_2(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.path)
    result = CliRunner().invoke(main, ["check", "--ratchet", "touched"])
    assert result.exit_code == 2 and "give --base REV too" in result.output
