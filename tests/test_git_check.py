"""`check --rev` and `check --base` against real temporary git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_helpers import CALENDAR, Repo, base_catalogue, findings, run, service

AS_OF = "2026-11-27"
ODD = {  # file names git and shells get wrong: spaces, unicode, a leading dash
    "services/catalogue/with space.yaml": service("spaced", runbook=False),
    "services/catalogue/ünïcode-服务.yaml": service("unicode", runbook=False),
    "services/catalogue/-dash.yaml": service("dash", runbook=False),
}


def located(result_json: str) -> list[tuple[str, str, int, int, str]]:
    return [(f["rule"], f["file"], f["line"], f["column"], f["message"]) for f in findings(result_json)]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("base catalogue", base_catalogue())
    return r


def test_rev_reports_what_a_checkout_of_the_revision_reports(repo: Repo, tmp_path: Path) -> None:
    broken = "apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {name: broken}\nspec: [oops\n"
    target = repo.commit("odd names, a broken file", {**ODD, "services/catalogue/broken.yaml": broken})
    # the working tree moves on: fixes, deletions and new problems that --rev must not see
    repo.commit("later", {"services/catalogue/broken.yaml": None, "services/catalogue/beta.yaml": service("beta")})
    repo.write({"services/catalogue/zeta.yaml": service("zeta", runbook=False)})

    from_git = run(repo.path, "check", "--rev", target, "--format", "json", "--as-of", AS_OF)
    checkout = tmp_path / "checkout"
    repo.git("worktree", "add", "-q", "--detach", str(checkout), target)
    on_disk = run(checkout, "check", "--format", "json", "--as-of", AS_OF)

    assert from_git.returncode == on_disk.returncode == 1, from_git.stderr
    assert located(from_git.stdout) == located(on_disk.stdout)
    files = {f[1] for f in located(from_git.stdout)}
    assert set(ODD) | {"services/catalogue/beta.yaml", "services/catalogue/broken.yaml"} <= files
    assert "services/catalogue/zeta.yaml" not in files


def test_rev_follows_symlinks_inside_the_repository_and_refuses_those_leaving_it(repo: Repo) -> None:
    (repo.path / "services/catalogue/alias.yaml").symlink_to("beta.yaml")
    (repo.path / "services/catalogue/escape.yaml").symlink_to("/etc/hostname")
    sha = repo.commit("symlinks")
    result = run(repo.path, "check", "--rev", sha, "--format", "json", "--as-of", AS_OF)
    by_file = {(f["file"], f["rule"]) for f in findings(result.stdout)}
    assert ("services/catalogue/escape.yaml", "file-refused") in by_file
    assert ("services/catalogue/alias.yaml", "svc-runbook") in by_file  # the target's content was read
    assert located(result.stdout) == located(run(repo.path, "check", "--format", "json", "--as-of", AS_OF).stdout)


def test_base_ratchet_new_existing_and_fixed(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    # beta's finding moves to another file and to other lines: still the same finding
    moved = "# moved here\n# with lines above it\n" + service("beta", runbook=False)
    repo.commit("move beta", {"services/catalogue/beta.yaml": None, "services/moved/beta service.yaml": moved})

    unchanged = run(repo.path, "check", "--base", base, "--format", "json", "--as-of", AS_OF)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    body = json.loads(unchanged.stdout)
    assert [(f["name"], f["status"], f["failing"]) for f in body["findings"]] == [("beta", "existing", False)]
    assert body["findings"][0]["file"] == "services/moved/beta service.yaml"
    listed = run(repo.path, "check", "--base", base, "--as-of", AS_OF).stdout
    assert "Service/beta: [existing] [" in listed

    repo.write({"services/catalogue/gamma.yaml": service("gamma", runbook=False),  # new
                "services/moved/beta service.yaml": service("beta")})  # fixed
    changed = run(repo.path, "check", "--base", base, "--format", "json", "--as-of", AS_OF)
    assert changed.returncode == 1
    body = json.loads(changed.stdout)
    assert [(f["name"], f["status"], f["failing"]) for f in body["findings"]] == [("gamma", "new", True)]
    assert [(f["name"], f["rule"]) for f in body["fixed"]] == [("beta", "svc-runbook")]

    text = run(repo.path, "check", "--base", base, "--as-of", AS_OF).stdout
    assert "1 new, 0 existing" in text and "1 fixed" in text and "Service/beta" in text


def test_base_that_does_not_parse_counts_its_problems_as_fixed(repo: Repo) -> None:
    base = repo.commit("broken", {"services/catalogue/alpha.yaml": "kind: Service\nmetadata: {name: [\n"})
    repo.write({"services/catalogue/alpha.yaml": service("alpha")})
    result = run(repo.path, "check", "--base", base, "--format", "json", "--as-of", AS_OF)
    body = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert "yaml-invalid" in {f["rule"] for f in body["fixed"]}


@pytest.mark.parametrize("args", [["--base", "--output=canary"], ["--rev", "-canary"], ["--base=-p"]])
def test_revisions_that_look_like_options_are_refused(repo: Repo, args: list[str]) -> None:
    result = run(repo.path, "check", *args)
    assert result.returncode == 2
    assert "cannot start with '-'" in result.stderr
    assert not (repo.path / "canary").exists()


def test_unknown_revision_and_no_repository_exit_2(repo: Repo, tmp_path: Path) -> None:
    unknown = run(repo.path, "check", "--rev", "no-such-branch")
    assert unknown.returncode == 2 and "unknown revision" in unknown.stderr and "git fetch" in unknown.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "services").mkdir()
    (plain / "services" / "calendars.yaml").write_text(CALENDAR)  # a catalogue, but not in git
    outside = run(plain, "check", "--base", "HEAD")
    assert outside.returncode == 2 and "not a git repository" in outside.stderr
    assert "Traceback" not in outside.stderr


def test_shallow_clone_with_and_without_the_base(repo: Repo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.commit("second", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)})
    without = tmp_path / "depth1"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.path}", str(without), cwd=tmp_path)
    missing = run(without, "check", "--base", base, "--as-of", AS_OF)
    assert missing.returncode == 2
    assert f"`git fetch origin {base}`" in missing.stderr and "shallow clone" in missing.stderr

    with_base = tmp_path / "depth2"
    repo.git("clone", "-q", "--depth", "2", f"file://{repo.path}", str(with_base), cwd=tmp_path)
    found = run(with_base, "check", "--base", base, "--format", "json", "--as-of", AS_OF)
    assert found.returncode == 1
    assert {(f["name"], f["status"]) for f in findings(found.stdout)} == {("beta", "existing"), ("gamma", "new")}


def test_shallow_clone_relative_base_gets_a_fetch_command_that_works(repo: Repo, tmp_path: Path) -> None:
    repo.commit("second", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)})
    repo.commit("third", {"services/catalogue/delta.yaml": service("delta")})
    clone = tmp_path / "depth1"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone), cwd=tmp_path)
    missing = run(clone, "check", "--base", "HEAD~2", "--as-of", AS_OF)
    assert missing.returncode == 2
    assert "`git fetch --deepen=2 origin`" in missing.stderr
    assert "git fetch origin HEAD~2" not in missing.stderr
    repo.git("fetch", "-q", "--deepen=2", "origin", cwd=clone)  # the command the message gives, run as given
    found = run(clone, "check", "--base", "HEAD~2", "--format", "json", "--as-of", AS_OF)
    assert found.returncode == 1
    assert [f["name"] for f in findings(found.stdout) if f["status"] == "new"] == ["gamma"]


def test_unknown_relative_revision_in_a_full_clone_gives_no_fetch_command(repo: Repo) -> None:
    result = run(repo.path, "check", "--base", "HEAD~40")
    assert result.returncode == 2 and "unknown revision" in result.stderr
    assert "git fetch origin HEAD~40" not in result.stderr


def test_detached_head(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.commit("second", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)})
    repo.git("checkout", "-q", "--detach", "HEAD")
    assert run(repo.path, "check", "--rev", "HEAD", "--as-of", AS_OF).returncode == 1
    result = run(repo.path, "check", "--base", base, "--format", "json", "--as-of", AS_OF)
    assert result.returncode == 1
    assert [f["name"] for f in findings(result.stdout) if f["status"] == "new"] == ["gamma"]


def test_the_example_pull_request_workflow_runs_as_written(repo: Repo, tmp_path: Path) -> None:
    """Each `run:` step of examples/workflows/pr-check.yml, with the event values in its env."""
    import os
    import subprocess
    import sys

    import yaml

    workflow = Path(__file__).resolve().parent.parent / "examples" / "workflows" / "pr-check.yml"
    steps = [s for s in yaml.safe_load(workflow.read_text())["jobs"]["check"]["steps"]
             if s.get("run", "").lstrip().startswith("svcascode ")]
    assert len(steps) >= 3
    base = repo.git("rev-parse", "HEAD").strip()
    repo.commit("pull request", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)})
    summary = tmp_path / "summary.md"
    env = {**os.environ, "BASE_SHA": base, "LABELS": "docs", "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    codes = {}
    for step in steps:
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo.path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert "Traceback" not in done.stderr and "Error:" not in done.stderr, done.stderr
        codes[step["name"]] = done.returncode
    assert list(codes.values()) == [0, 0, 1]  # the new finding fails only the last step
    assert "svcascode: catalogue changes" in summary.read_text()
    sarif = json.loads((repo.path / "svcascode.sarif").read_text())
    assert {r["baselineState"] for r in sarif["runs"][0]["results"]} == {"new", "unchanged"}


def test_outside_git_no_repository_is_said_without_loading_gitpython(tmp_path: Path) -> None:
    """Outside any repository (no `.git` from the folder up), a run that would read git history learns so
    from the file system: gitpython, a tenth of a second to import, is never imported. Inside one, the
    same folder is found through gitpython as before."""
    import subprocess
    import sys

    probe = ("import sys\nfrom pathlib import Path\nfrom svcascode.errors import SvcascodeError\n"
             "from svcascode.gitrepo import GitRepo\n"
             "try:\n    print(GitRepo(Path('.')).prefix or '.')\n"
             "except SvcascodeError as error:\n    print(error)\n"
             "print('git' in sys.modules)\n")
    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    outside = subprocess.run([sys.executable, "-c", probe], cwd=plain, capture_output=True, text=True, check=True)
    assert outside.stdout.splitlines() == [".: not a git repository (or any of its parents); run in a clone, or "
                                           "`git init` first", "False"]
    subprocess.run(["git", "init", "-q", str(tmp_path / "plain")], check=True)
    inside = subprocess.run([sys.executable, "-c", probe], cwd=plain, capture_output=True, text=True, check=True)
    assert inside.stdout.splitlines() == ["sub/", "True"]
