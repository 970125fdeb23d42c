"""The pre-commit hooks, run by the real pre-commit in a temporary catalogue repository.

The catalogue repository uses this one as a hook repository: `repo:` is a clone of the committed
HEAD and `rev:` its commit, exactly as an adopter pins a tag. pre-commit then builds its own
virtualenv and pip-installs this package and its dependencies into it. That install is the only step
that needs packages from outside; it uses whatever index pip is configured with (pip.conf,
PIP_INDEX_URL, PIP_FIND_LINKS), so it works offline against a local mirror or wheelhouse. When
pip cannot get the packages at all, the test is skipped and says so; the hooks themselves never
touch the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "tests" / "cases" / "_base.yaml"  # a small catalogue that validates and passes every check
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
# what pip prints when the packages cannot be had from any configured index without a network
OFFLINE_SIGNS = ("No matching distribution", "Could not find a version", "NewConnectionError",
                 "Network is unreachable", "Temporary failure in name resolution")
BROKEN_TEAM = """\
apiVersion: svcascode.io/v1alpha1
kind: Team
metadata: {name: broken}
spec:
  type: team
  membres: []
"""

pytestmark = pytest.mark.consumer


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=540)


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A clone of the committed HEAD, its commit, and one PRE_COMMIT_HOME so the hook env is built once."""
    pytest.importorskip("pre_commit", reason="pre-commit is a test extra: pip install -e '.[test]'")
    if not (REPO / ".git").exists():
        pytest.skip("needs this repository's git history to clone the hooks from")
    base = tmp_path_factory.mktemp("hooks")
    hooks = base / "svcascode"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(hooks)], check=True, capture_output=True)
    if not (hooks / ".pre-commit-hooks.yaml").exists():
        pytest.fail(".pre-commit-hooks.yaml is not in the committed HEAD")
    return hooks, _git(hooks, "rev-parse", "HEAD"), base / "pre-commit-home"


@pytest.fixture()
def catalogue(tmp_path: Path, hook_repository: tuple[Path, str, Path]) -> tuple[Path, dict[str, str]]:
    hooks, rev, home = hook_repository
    work = tmp_path / "catalogue"
    (work / "services").mkdir(parents=True)
    shutil.copy(BASE, work / "services" / "base.yaml")
    # the hooks' own behaviour is under test, not the built-in library's verdict on this small catalogue
    (work / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (work / ".pre-commit-config.yaml").write_text(f"""\
repos:
  - repo: {hooks}
    rev: {rev}
    hooks:
      - id: svcascode-validate
      - id: svcascode-check
        args: [--as-of, "2026-11-27"]
""")
    _git(work, "init", "--quiet")
    _git(work, "config", "user.email", "ci@example.com")
    _git(work, "config", "user.name", "CI")
    _git(work, "config", "commit.gpgsign", "false")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("SVCASCODE_DEBUG", None)
    return work, env


def _install_or_skip(work: Path, env: dict[str, str]) -> None:
    """Build the hook environment once; skip (with pip's reason) only when its packages cannot be had."""
    _git(work, "add", "-A")
    result = _run(work, env, *PRE_COMMIT, "install-hooks")
    if result.returncode != 0:
        log = Path(env["PRE_COMMIT_HOME"]) / "pre-commit.log"
        details = (log.read_text(errors="replace") if log.exists() else "") + result.stdout + result.stderr
        offline = [line.strip() for line in details.splitlines() if any(sign in line for sign in OFFLINE_SIGNS)]
        if offline:
            pytest.skip(f"pre-commit cannot build the hook environment offline: pip says {offline[0]!r}")
        pytest.fail(f"pre-commit install-hooks failed:\n{details[-3000:]}")


def test_hooks_pass_a_valid_catalogue_and_block_a_commit_that_breaks_it(catalogue: tuple[Path, dict[str, str]]) -> None:
    work, env = catalogue
    _install_or_skip(work, env)

    first = _run(work, env, *PRE_COMMIT, "run", "--all-files")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "svcascode validate" in first.stdout and "svcascode check" in first.stdout
    assert first.stdout.count("Passed") == 2

    assert _run(work, env, *PRE_COMMIT, "install").returncode == 0
    committed = _run(work, env, "git", "commit", "--quiet", "-m", "valid catalogue")
    assert committed.returncode == 0, committed.stdout + committed.stderr

    (work / "services" / "broken.yaml").write_text(BROKEN_TEAM)
    _git(work, "add", "services/broken.yaml")
    refused = _run(work, env, "git", "commit", "--quiet", "-m", "break the catalogue")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert output.count("Failed") == 2  # both hooks
    assert "services/broken.yaml:6:3: Team/broken: spec.membres: unknown field 'membres'" in output
    assert "schema-invalid" in output  # the check hook reports it as a finding of its own
    assert _git(work, "log", "--format=%s") == "valid catalogue"  # the broken commit did not happen


def test_hooks_ignore_files_outside_the_catalogue(catalogue: tuple[Path, dict[str, str]]) -> None:
    work, env = catalogue
    _install_or_skip(work, env)
    _git(work, "commit", "--quiet", "--no-verify", "-m", "catalogue")
    (work / "notes.yaml").write_text("not: [a catalogue\n")  # broken YAML, but not under services/ or policies/
    _git(work, "add", "notes.yaml")
    result = _run(work, env, *PRE_COMMIT, "run")
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("(no files to check)Skipped") == 2


def test_the_readme_snippet_as_written(catalogue: tuple[Path, dict[str, str]],
                                       hook_repository: tuple[Path, str, Path]) -> None:
    """The README's .pre-commit-config.yaml, with this repository's clone for the adopter's URL and HEAD's
    commit for the rev; only the check's date is pinned, so that the outcome does not depend on the day."""
    import re

    import yaml

    work, env = catalogue
    hooks, rev, _ = hook_repository
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Using it in your repository"):]
    snippet = next(block for block in re.findall(r"```yaml\n(.*?)```", section, re.S) if "repos:" in block)
    config = yaml.safe_load(snippet)
    (entry,) = config["repos"]
    assert (entry["repo"], entry["rev"]) == ("https://github.com/<owner>/svcascode", "<tag or sha>")
    entry["repo"], entry["rev"] = str(hooks), rev
    assert [hook["id"] for hook in entry["hooks"]] == ["svcascode-validate", "svcascode-check"]
    entry["hooks"][1]["args"] = ["--as-of", "2026-11-27"]
    (work / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _install_or_skip(work, env)
    result = _run(work, env, *PRE_COMMIT, "run", "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Passed") == 2


@pytest.mark.consumer
def test_the_init_scaffold_hooks_as_written(tmp_path: Path, hook_repository: tuple[Path, str, Path]) -> None:
    """`svcascode init --repository URL --rev REV` writes a .pre-commit-config.yaml with the repository's
    hooks (not local ones): pre-commit installs them from that repository and they pass the scaffold."""
    from click.testing import CliRunner

    from svcascode.cli import main

    hooks, rev, home = hook_repository
    work = tmp_path / "catalogue"
    made = CliRunner().invoke(main, ["init", str(work), "--repository", f"file://{hooks}", "--rev", rev])
    assert made.exit_code == 0, made.output
    config = (work / ".pre-commit-config.yaml").read_text()
    assert "repo: local" not in config and "language: system" not in config
    _git(work, "init", "--quiet")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("SVCASCODE_DEBUG", None)
    _install_or_skip(work, env)
    result = _run(work, env, *PRE_COMMIT, "run", "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Passed") == 2
