"""Odd paths in git: a catalogue folder whose name git would read as a pattern or as pathspec magic, and file
names with line breaks, quotes, backslashes, leading dashes and non-UTF-8 bytes. Every git mode reads the
same files, reports the same findings, and the weakening gate fails where it must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from git_helpers import Repo, base_catalogue, service
from svcascode.cli import main

AS_OF = "2026-11-27"
SLA = """apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata: {name: alpha-sla}
spec:
  type: SLA
  service: alpha
  customer: Operations
  validFrom: 2026-01-01
  coverage: always-on
  availability: {targetPercent: %s, window: {calendar: month, timezone: UTC}, measurement: time}
  reporting: {cadence: monthly, recipients: [ana@example.com]}
  review: {cadence: 90d}
"""


def run(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["--no-cache", *args, "--as-of", AS_OF] if args[0] != "history" else
                              ["--no-cache", *args])


def nested(folder: str, files: dict[str, str | None]) -> dict[str, str | None]:
    return {f"{folder}/{name}": text for name, text in files.items()}


@pytest.mark.parametrize("folder", [":(glob)cat", "a*b", "ca[t]", ":!x", ":x", ":^y"])
def test_a_catalogue_folder_named_like_a_pattern_is_read_as_that_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str) -> None:
    repo = Repo(tmp_path / "repo")
    # a sibling the folder's name would match as a pattern, with a catalogue of its own
    sibling = {"a*b": "aXb", "ca[t]": "cat"}.get(folder, "other")
    repo.commit("base", {**nested(folder, {**base_catalogue(), "services/sla/alpha.yaml": SLA % "99.9"}),
                         **nested(sibling, {**base_catalogue(), "services/catalogue/gamma.yaml": service("gamma")})})
    repo.commit("sibling only", nested(sibling, {"services/catalogue/delta.yaml": service("delta")}))
    repo.commit("weaken", nested(folder, {"services/sla/alpha.yaml": SLA % "99.0",
                                         "services/catalogue/gamma.yaml": service("gamma", runbook=False)}))
    root = repo.path / folder

    gate = run(root, monkeypatch, "diff", "HEAD~2", "HEAD", "--fail-on-weakened", "--format", "json")
    assert gate.exit_code == 1, gate.output  # the lowered target is caught
    body = json.loads(gate.output)
    assert [(f["name"], f["rule"]) for f in body["introduced"]] == [("gamma", "svc-runbook")]
    assert [c["name"] for c in body["gate"]["unapproved"]] == ["alpha-sla"]

    # against the working tree: the base is read from git, and must not come out empty (which made the gate
    # see every document as added, nothing weakened, and exit 0)
    working = run(root, monkeypatch, "diff", "HEAD~2", "--fail-on-weakened", "--format", "json")
    assert working.exit_code == 1, working.output
    assert [c["name"] for c in json.loads(working.output)["gate"]["unapproved"]] == ["alpha-sla"]

    at_rev = run(root, monkeypatch, "check", "--rev", "HEAD", "--format", "json")
    assert at_rev.exit_code == 1, at_rev.output
    assert sorted({f["file"] for f in json.loads(at_rev.output)["findings"]}) == [
        "services/catalogue/beta.yaml", "services/catalogue/gamma.yaml"]  # none of the sibling's files

    ratchet = run(root, monkeypatch, "check", "--base", "HEAD~1", "--format", "json")
    assert [(f["name"], f["status"]) for f in json.loads(ratchet.output)["findings"]] == [
        ("beta", "existing"), ("gamma", "new")]

    trail = run(root, monkeypatch, "history", "--format", "json")
    assert trail.exit_code == 0, trail.output
    messages = [commit["message"] for commit in json.loads(trail.output)["commits"]]
    assert messages == ["base", "weaken"]  # not the commit that changed only the sibling


def test_odd_file_names_are_diffed_and_gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path / "repo")
    odd = ["services/sla/new\nline.yaml", "services/sla/-dash.yaml", "services/sla/q\"uote.yaml",
           "services/sla/back\\slash.yaml", "services/sla/ünï cödé.yaml"]
    repo.commit("base", {**base_catalogue(), odd[0]: SLA % "99.9"})
    names = {name: service(f"odd{i}", runbook=False) for i, name in enumerate(odd[1:])}
    repo.commit("weaken and add", {odd[0]: SLA % "99.0", **names})
    gate = run(repo.path, monkeypatch, "diff", "HEAD~1", "HEAD", "--fail-on-weakened", "--format", "json")
    assert gate.exit_code == 1, gate.output
    body = json.loads(gate.output)
    assert sorted(f["file"] for f in body["introduced"]) == sorted(odd[1:])
    assert [c["name"] for c in body["gate"]["unapproved"]] == ["alpha-sla"]
    assert [c["newFile"] for c in body["changes"] if c["name"] == "alpha-sla"] == [odd[0]]
