"""The code a run executes: a pull request cannot choose it, and a repository check's answer follows what it reads.

A repository check module (`local_checks:`) is the repository's Python. In a run against a revision
(`check --base`, `check --rev`, `diff BASE`), the module list and the modules' bytes come from that
revision, never from the working tree under review; and a module's results are never reused from a cache,
since the module may read any file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from git_helpers import Repo, base_catalogue, service
from svcascode.checks import _LOCAL, _REFUSED, load_builtin
from svcascode.cli import main

AS_OF = "2026-11-27"

CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: team-file, title: Teams are listed in the team file}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [Service]}
  check: {builtin: team_file}
  rationale: The staffing sheet is the source of truth.
  remediation: Add the owner to teams.txt.
  examples: {failing: "spec: {owner: nobody}", passing: "spec: {owner: ops}"}
  mappings:
    - {framework: fw, controls: [OPS-1]}
"""

# Reads a file of the repository that is no catalogue document: its answer must follow that file.
MODULE = '''"""Every service's owner is listed in teams.txt."""
from pathlib import Path

PARAMS = {}

def check(ctx, document):
    listed = Path("teams.txt").read_text().split() if Path("teams.txt").exists() else []
    if document.spec.owner not in listed:
        yield ctx.fail(document, f"owner {document.spec.owner} is not in teams.txt (%s)", ("spec", "owner"))
'''

HOSTILE = '''from pathlib import Path
Path(%r).write_text("ran")
PARAMS = {}

def check(ctx, document):
    return iter(())
'''


@pytest.fixture(autouse=True)
def clean_local() -> Iterator[None]:
    _LOCAL.clear()
    _REFUSED.clear()
    load_builtin.cache_clear()
    yield
    _LOCAL.clear()
    _REFUSED.clear()
    load_builtin.cache_clear()


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, list(args))


def messages(result: Any) -> list[tuple[str, str, str]]:
    assert result.exit_code in (0, 1), result.output
    return [(f["name"], f["rule"], f["message"]) for f in json.loads(result.output)["findings"]]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    files = base_catalogue()
    files[".svcascode.yaml"] = "library: {enabled: false}\n"
    files["services/catalogue/beta.yaml"] = service("beta")
    repo.commit("catalogue", files)
    repo.git("branch", "base")
    return repo


def test_a_pull_request_that_adds_a_repository_check_does_not_get_it_run(repo: Repo, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    repo.commit("pull request", {".svcascode.yaml": "library: {enabled: false}\nlocal_checks: [checks/team_file.py]\n",
                                 "checks/team_file.py": HOSTILE % str(marker),
                                 "policies/controls/team-file.yaml": CONTROL})
    for args in (["check", "--base", "base"], ["check", "--rev", "HEAD", "--base", "base"],
                 ["diff", "base", "HEAD", "--format", "json"]):
        result = run(repo.path, monkeypatch, *args, "--as-of", AS_OF, "--format", "json")
        assert not marker.exists(), args  # the module was never executed
        assert result.exit_code in (0, 1), result.output
    result = run(repo.path, monkeypatch, "check", "--base", "base", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1  # the control that cannot run is a new finding of the change
    found = json.loads(result.output)["findings"]
    assert [(f["name"], f["rule"], f["status"]) for f in found] == [("team-file", "control-invalid", "new")]
    assert "checks/team_file.py not run: in a run against --base base" in found[0]["message"]
    assert "configuration at" in found[0]["message"] and "docs/git.md" in found[0]["message"]
    # the same repository checked on its own working tree runs it: the user's own choice, in their checkout
    run(repo.path, monkeypatch, "check", "--as-of", AS_OF)
    assert marker.read_text() == "ran"


def test_an_enabled_module_changed_by_a_pull_request_runs_as_the_base_has_it(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    repo.commit("enable the check", {".svcascode.yaml": "library: {enabled: false}\nlocal_checks: [checks/team_file.py]\n",
                                     "checks/team_file.py": MODULE % "base version",
                                     "policies/controls/team-file.yaml": CONTROL, "teams.txt": "ops\n"})
    base = repo.git("rev-parse", "HEAD").strip()
    # the pull request rewrites the module (to run its own code) and moves alpha to an unlisted owner
    repo.commit("pull request", {"checks/team_file.py": HOSTILE % str(marker),
                                 "services/catalogue/alpha.yaml": service("alpha", owner="platform")})
    for args in (["--base", base], ["--rev", "HEAD", "--base", base], ["--rev", base]):
        result = run(repo.path, monkeypatch, "check", *args, "--as-of", AS_OF, "--format", "json")
        assert not marker.exists(), args
        if "--base" in args:  # alpha's new owner is judged by the base's module: a new finding
            assert result.exit_code == 1, result.output
            assert [(n, m) for n, r, m in messages(result) if r == "team-file"] == [
                ("alpha", "owner platform is not in teams.txt (base version)")]


def test_rev_takes_the_modules_of_that_revision(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit("enable the check", {".svcascode.yaml": "library: {enabled: false}\nlocal_checks: [checks/team_file.py]\n",
                                     "checks/team_file.py": MODULE % "old", "policies/controls/team-file.yaml": CONTROL})
    old = repo.git("rev-parse", "HEAD").strip()
    repo.commit("new message", {"checks/team_file.py": MODULE % "new"})
    at_old = run(repo.path, monkeypatch, "check", "--rev", old, "--as-of", AS_OF, "--format", "json")
    assert {m for _, r, m in messages(at_old) if r == "team-file"} == {"owner ops is not in teams.txt (old)"}
    here = run(repo.path, monkeypatch, "check", "--as-of", AS_OF, "--format", "json")
    assert {m for _, r, m in messages(here) if r == "team-file"} == {"owner ops is not in teams.txt (new)"}


def test_a_module_that_is_a_link_at_the_trusted_revision_is_refused(repo: Repo, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(MODULE % "outside")
    (repo.path / "checks").mkdir()
    (repo.path / "checks/team_file.py").symlink_to(outside)
    repo.commit("a link", {".svcascode.yaml": "library: {enabled: false}\nlocal_checks: [checks/team_file.py]\n"})
    repo.write({".svcascode.yaml": "library: {enabled: false}\n", "checks/team_file.py": None})  # not on disk
    result = run(repo.path, monkeypatch, "check", "--rev", "HEAD", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "checks/team_file.py at " in result.output and "a link" in result.output


def test_a_repository_check_s_answer_follows_the_file_it_reads(repo: Repo, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """With the caches on (the result memo and the run cache), a changed input file is a changed answer."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    repo.write({".svcascode.yaml": "library: {enabled: false}\nlocal_checks: [checks/team_file.py]\n",
                "checks/team_file.py": MODULE % "sheet", "policies/controls/team-file.yaml": CONTROL,
                "teams.txt": "ops\n"})
    args = ("check", "--as-of", AS_OF, "--format", "json", "--select", "team-file")
    assert messages(run(repo.path, monkeypatch, *args)) == []
    assert messages(run(repo.path, monkeypatch, *args)) == []  # the same answer, the caches now filled
    (repo.path / "teams.txt").write_text("platform\n")
    assert messages(run(repo.path, monkeypatch, *args)) == [
        ("alpha", "team-file", "owner ops is not in teams.txt (sheet)"),
        ("beta", "team-file", "owner ops is not in teams.txt (sheet)")]
