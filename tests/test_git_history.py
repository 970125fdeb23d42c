"""`svcascode history`: audit trail and posture over real git histories, including a 300-commit one."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from git_helpers import Repo, base_catalogue, fast_history, run, service
from svcascode.config import Settings
from svcascode.gitload import RevisionLoader


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("base catalogue", base_catalogue())
    return r


def test_audit_trail_of_one_document_follows_it_across_files(repo: Repo) -> None:
    repo.commit("give alpha to platform", {"services/catalogue/alpha.yaml": service("alpha", owner="platform")})
    repo.commit("unrelated", {"services/catalogue/beta.yaml": service("beta")})
    repo.commit("move alpha", {"services/catalogue/alpha.yaml": None,
                               "services/platform/-alpha ü.yaml": service("alpha", owner="platform")})
    repo.commit("retire alpha", {"services/platform/-alpha ü.yaml": None})
    result = run(repo.path, "history", "--document", "Service/alpha", "--format", "json")
    assert result.returncode == 0, result.stderr
    commits = json.loads(result.stdout)["commits"]
    assert [(c["message"], [ch["action"] for ch in c["changes"]]) for c in commits] == [
        ("base catalogue", ["added"]), ("give alpha to platform", ["changed"]),
        ("move alpha", ["renamed"]), ("retire alpha", ["removed"])]
    assert {c["author"] for c in commits} == {"Ada Author"} and all(c["date"] for c in commits)
    owner = commits[1]["changes"][0]["fields"]
    assert owner == [{"path": "spec.owner", "old": "ops", "new": "platform", "added": False, "removed": False}]
    assert commits[2]["changes"][0]["newFile"] == "services/platform/-alpha ü.yaml"

    text = run(repo.path, "history", "--document", "service:alpha").stdout
    assert "owner changed: ops -> platform" in text and "4 commits changed service:alpha" in text


def test_history_over_300_commits_parses_each_blob_once(repo: Repo) -> None:
    commits = []
    for number in range(300):
        name = f"svc-{number % 20}"
        text = service(name, runbook=number % 3 != 0, tier=f"tier-{number % 4}") + f"# revision {number}\n"
        commits.append({f"services/many/{name}.yaml": text})
    fast_history(repo, commits, start=int(repo.git("log", "-1", "--format=%ct")))
    result = run(repo.path, "history", "--posture", "--format", "json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["commits"]) == 301
    stats = body["stats"]
    objects = repo.git("rev-list", "--objects", "--all", "--", "services", "policies").split()
    kinds = subprocess.run(["git", "cat-file", "--batch-check=%(objecttype)"], cwd=repo.path, capture_output=True,
                           text=True, input="\n".join(o for o in objects if len(o) == 40) + "\n").stdout.split()
    distinct = kinds.count("blob")  # every version of every catalogue file in the history
    assert stats["blobsRead"] == distinct  # each file version read and parsed once, not once per commit
    assert stats["blobsSeen"] > 20 * stats["blobsRead"] / 10
    last = body["commits"][-1]
    assert last["asOf"] > body["commits"][1]["asOf"]  # each commit evaluated as of its own date
    # the last state: svc-N without a runbook when its last change had number % 3 == 0
    open_runbook = sum(1 for n in range(20) if max(k for k in range(300) if k % 20 == n) % 3 == 0)
    assert last["controls"].get("svc-runbook", 0) == open_runbook + 1  # + beta, from the base

    rows = list(csv.DictReader(io.StringIO(run(repo.path, "history", "--posture", "--format", "csv",
                                               "HEAD~5..HEAD").stdout)))
    assert len(rows) == 5 and {"commit", "as_of", "critical", "high", "svc-runbook"} <= set(rows[0])
    trail = run(repo.path, "history", "--format", "json", "HEAD~10..HEAD")
    # comment-only commits change no document, so the trail leaves them out
    semantic = [k for k in range(290, 300) if (k % 3 != 0) != ((k - 20) % 3 != 0)]
    assert len(json.loads(trail.stdout)["commits"]) == len(semantic) < 10
    assert trail.stderr == ""  # no progress bar when stderr is not a terminal


def test_loader_reuses_parsed_blobs_between_commits(repo: Repo) -> None:
    repo.commit("one change", {"services/catalogue/gamma.yaml": service("gamma")})
    loader = RevisionLoader(repo.path, Settings(cache=False))
    try:
        first = loader.load("HEAD~1")
        read_first = loader.blobs_read
        second = loader.load("HEAD")
    finally:
        loader.close()
    assert len(second.catalogue.documents) == len(first.catalogue.documents) + 1
    assert loader.blobs_read == read_first + 1  # only the new file was read and parsed


def test_incremental_reference_checks_see_a_removed_target(repo: Repo) -> None:
    repo.commit("alpha to platform", {"services/catalogue/alpha.yaml": service("alpha", owner="platform")})
    repo.commit("drop the platform team", {"services/teams/platform.yaml": None})
    repo.commit("alpha back to ops", {"services/catalogue/alpha.yaml": service("alpha")})
    rows = json.loads(run(repo.path, "history", "--posture", "--format", "json").stdout)["commits"]
    assert [r["controls"].get("ref-unresolved", 0) for r in rows] == [0, 0, 1, 0]


def test_history_bad_range_and_not_a_repository(repo: Repo, tmp_path: Path) -> None:
    assert run(repo.path, "history", "--", "--output=x").returncode == 2
    assert not (repo.path / "x").exists()
    assert run(repo.path, "history", "nope..HEAD").returncode == 2
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = run(plain, "history")
    assert outside.returncode == 2 and "not a git repository" in outside.stderr


def test_document_that_is_not_kind_slash_name_is_refused(repo: Repo) -> None:
    for wanted in ("alpha", "Servce/alpha", "--output=x"):
        result = run(repo.path, "history", "--document", wanted)
        assert result.returncode == 2, (wanted, result.stdout)
        assert "KIND/NAME" in result.stderr and "Traceback" not in result.stderr


def test_audit_csv_has_every_field_change_and_is_safe_in_a_spreadsheet(repo: Repo) -> None:
    repo.commit("=HYPERLINK(\"http://evil.example\")", {"services/catalogue/alpha.yaml": service(
        "alpha").replace("metadata: {name: alpha}", "metadata: {name: alpha, title: New title}")})
    result = run(repo.path, "history", "--document", "Service/alpha", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    change = rows[-1]
    assert change["message"].startswith("'=")  # a formula would run when the auditor opens the file
    assert (change["path"], change["old"], change["new"]) == ("metadata.title", "(none)", "New title")


def test_since_and_until_dates_are_whole_days_and_nonsense_is_refused(repo: Repo) -> None:
    repo.commit("early on the 5th", {"services/catalogue/gamma.yaml": service("gamma")},
                date="2026-11-05T00:30:00+00:00")
    repo.commit("late on the 7th", {"services/catalogue/delta.yaml": service("delta")},
                date="2026-11-07T23:50:00+00:00")
    repo.commit("on the 8th", {"services/catalogue/zeta.yaml": service("zeta")}, date="2026-11-08T00:10:00+00:00")
    result = run(repo.path, "history", "--since", "2026-11-05", "--until", "2026-11-07", "--format", "json")
    assert result.returncode == 0, result.stderr
    # a bare date is the whole day, whatever the time of day the command runs at
    assert [c["message"] for c in json.loads(result.stdout)["commits"]] == ["early on the 5th", "late on the 7th"]
    for bad in ("not a date", "2026-13-40", "yesterday-ish"):
        refused = run(repo.path, "history", "--posture", "--since", bad)
        assert refused.returncode == 2 and "YYYY-MM-DD" in refused.stderr, (bad, refused.stderr)
    assert run(repo.path, "history", "--since", "2 weeks ago").returncode == 0
