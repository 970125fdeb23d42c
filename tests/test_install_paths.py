"""The install paths as an adopter writes them, run in a fresh temporary catalogue repository.

- the composite Action (action.yml): its `run:` steps in order, with the inputs substituted as the
  runner does, GITHUB_ACTION_PATH at a clone of the committed HEAD (what `uses: <owner>/svcascode@<tag>`
  checks out) and a fresh virtualenv's python standing in for actions/setup-python;
- the example pull-request workflow (examples/workflows/pr-check.yml): its install step with the
  repository placeholder pointing at that clone and the tag at its commit, then its svcascode steps;
- the README's Action snippet names only inputs the Action has. The README's pre-commit snippet is
  run by the real pre-commit in tests/test_precommit.py.

svcascode itself is installed from the clone; its dependencies come from whatever index pip is
configured with. When pip cannot get them at all, the tests are skipped and say so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.consumer

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "tests" / "cases" / "_base.yaml"  # a small catalogue that validates and passes every check
AS_OF = "2026-11-27"
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
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` script as GitHub runs it with `shell: bash`."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=540)


def _installed_or_skip(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    offline = [line.strip() for line in output.splitlines() if any(sign in line for sign in OFFLINE_SIGNS)]
    if offline:
        pytest.skip(f"{what}: pip cannot get the dependencies: {offline[0]!r}")
    pytest.fail(f"{what} failed:\n{output[-3000:]}")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A clone of the committed HEAD and its commit: what an adopter gets at a tag."""
    if not (REPO / ".git").exists():
        pytest.skip("needs this repository's git history to clone it")
    clone = tmp_path_factory.mktemp("action") / "svcascode"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, capture_output=True)
    return clone, _git(clone, "rev-parse", "HEAD")


def _venv(path: Path) -> dict[str, str]:
    """A fresh virtualenv, first on PATH, with nothing of this test run's svcascode in it."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "SVCASCODE_DEBUG")}
    env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(path)
    # pip's bytecode compilation of every dependency proves nothing about the install path; Python compiles
    # what a run imports
    env["PIP_NO_COMPILE"] = "1"
    return env


def _catalogue(path: Path) -> str:
    """A catalogue repository with one commit that passes every check; returns that commit."""
    (path / "services").mkdir(parents=True)
    shutil.copy(BASE, path / "services" / "base.yaml")
    # the install paths are under test, not the built-in library's verdict on this small catalogue
    (path / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    _git(path, "init", "--quiet")
    _git(path, "config", "user.email", "ci@example.com")
    _git(path, "config", "user.name", "CI")
    _git(path, "config", "commit.gpgsign", "false")
    _git(path, "add", "-A")
    _git(path, "commit", "--quiet", "-m", "catalogue")
    return _git(path, "rev-parse", "HEAD")


def _break(path: Path) -> None:
    """A pull request's commit that adds a schema-invalid document (a critical, blocking finding)."""
    (path / "services" / "broken.yaml").write_text(BROKEN_TEAM)
    _git(path, "add", "services/broken.yaml")
    _git(path, "commit", "--quiet", "-m", "break the catalogue")


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


# --- the composite Action -----------------------------------------------------------------------


def _substitute(text: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match[1]
        assert expression in values, f"an expression the test does not know: {expression}"
        return values[expression]

    return EXPRESSION.sub(value, text)


def test_the_action_installs_from_its_own_checkout_and_gates(checkout: tuple[Path, str], tmp_path: Path) -> None:
    clone, _ = checkout
    action = yaml.safe_load((clone / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = [step for step in action["runs"]["steps"] if "run" in step]
    assert [s["name"] for s in steps][0] == "Install svcascode from this action's checkout"
    assert '"$GITHUB_ACTION_PATH"' in steps[0]["run"] and "pip install" in steps[0]["run"]
    for step in steps:  # inputs reach the scripts through env only
        assert "${{" not in step["run"], step["name"]

    work = tmp_path / "catalogue"
    base = _catalogue(work)
    env = _venv(tmp_path / "setup-python")
    env["GITHUB_ACTION_PATH"] = str(clone)
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"as-of": AS_OF, "sarif-file": "out/svcascode.sarif"})

    def run_steps(given: dict[str, str]) -> tuple[list[int], dict[str, str], str]:
        output, summary = tmp_path / "github-output", tmp_path / "step-summary"
        output.write_text("")
        summary.write_text("")
        values = {f"inputs.{name}": value for name, value in given.items()} | {"github.action_path": str(clone)}
        codes = []
        for step in steps:
            step_env = {**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
                        **{key: _substitute(str(value), values) for key, value in step.get("env", {}).items()}}
            done = _bash(step["run"], work, step_env)
            if step is steps[0]:
                _installed_or_skip(done, "the Action's install step")
            assert "Traceback" not in done.stderr, done.stderr
            codes.append(done.returncode)
            if done.returncode != 0:
                break  # a failing step ends the job
        return codes, _outputs(output), summary.read_text()

    codes, outputs, summary = run_steps(inputs)
    assert codes == [0, 0, 0], codes
    installed = subprocess.run(["python", "-m", "pip", "show", "-f", "svcascode"], env=env, capture_output=True,
                               text=True, check=True).stdout
    assert "Editable project location" not in installed  # a real install from the checkout, not a link to it
    assert shutil.which("svcascode", path=env["PATH"]) == str(tmp_path / "setup-python" / "bin" / "svcascode")
    assert outputs["exit-code"] == "0"
    sarif = Path(outputs["sarif-file"])
    assert sarif == work / "out" / "svcascode.sarif" and json.loads(sarif.read_text())["runs"][0]["results"] == []
    assert "svcascode" in summary

    # a pull request that adds a blocking finding, ratcheted against its base: the gate step fails
    _break(work)
    codes, outputs, summary = run_steps({**inputs, "base": base})
    assert codes == [0, 0, 1], codes
    assert outputs["exit-code"] == "1"
    results = json.loads(Path(outputs["sarif-file"]).read_text())["runs"][0]["results"]
    assert {r["baselineState"] for r in results} == {"new"}
    assert "schema-invalid" in summary


def test_the_readme_action_snippet_uses_only_inputs_the_action_has() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Using it in your repository"):]
    snippet = next(block for block in re.findall(r"```yaml\n(.*?)```", section, re.S) if "uses:" in block)
    steps = yaml.safe_load(snippet)["steps"]
    ours = [step for step in steps if "svcascode" in step.get("uses", "")]
    assert [step["uses"] for step in ours] == ["<owner>/svcascode@<tag>"]
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(ours[0]["with"]) <= set(action["inputs"])


# --- the example pull-request workflow ----------------------------------------------------------


def test_the_example_workflow_installs_from_the_repository_and_runs(checkout: tuple[Path, str],
                                                                    tmp_path: Path) -> None:
    clone, commit = checkout
    workflow = yaml.safe_load((clone / "examples" / "workflows" / "pr-check.yml").read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["check"]["steps"]
    install = next(step for step in steps if step.get("name") == "Install svcascode")
    placeholder = "git+https://github.com/<owner>/svcascode@<tag>"
    assert placeholder in install["run"], "the install step should name the repository, with placeholders"
    ours = [step for step in steps if step.get("run", "").lstrip().startswith("svcascode ")]
    assert len(ours) >= 3

    work = tmp_path / "catalogue"
    base = _catalogue(work)
    _break(work)
    env = _venv(tmp_path / "setup-python")
    done = _bash(install["run"].replace(placeholder, f"git+file://{clone}@{commit}"), work, env)
    _installed_or_skip(done, "the workflow's install step")
    installed = subprocess.run(["python", "-m", "pip", "show", "svcascode"], env=env, capture_output=True,
                               text=True, check=True).stdout
    assert "Name: svcascode" in installed

    summary = tmp_path / "step-summary"
    values = {"github.event.pull_request.base.sha": base,
              "join(github.event.pull_request.labels.*.name, ',')": ""}
    codes = []
    for step in ours:
        step_env = {**env, "GITHUB_STEP_SUMMARY": str(summary),
                    **{key: _substitute(str(value), values) for key, value in step.get("env", {}).items()}}
        ran = _bash(step["run"], work, step_env)
        assert "Traceback" not in ran.stderr, ran.stderr
        codes.append(ran.returncode)
    assert codes == [0, 0, 1], codes  # the finding the pull request adds fails only the last step
    assert "svcascode: catalogue changes" in summary.read_text()
    sarif = json.loads((work / "svcascode.sarif").read_text())
    assert {r["baselineState"] for r in sarif["runs"][0]["results"]} == {"new"}


# --- the workflow `svcascode init` writes -------------------------------------------------------


def test_the_init_workflow_installs_and_runs_as_written(checkout: tuple[Path, str], tmp_path: Path) -> None:
    """A fresh `init` catalogue whose workflow names the clone as svcascode's repository and HEAD's commit
    as the rev (`init --repository file://... --rev SHA`): its install step, run as written in a fresh
    virtualenv, installs svcascode from there; its check step passes on a push and fails a pull request
    that adds a blocking finding."""
    from click.testing import CliRunner

    from svcascode.cli import main

    clone, commit = checkout
    work = tmp_path / "catalogue"
    made = CliRunner().invoke(main, ["init", str(work), "--repository", f"file://{clone}", "--rev", commit])
    assert made.exit_code == 0, made.output
    assert "placeholder" not in made.output
    _git(work, "init", "--quiet")
    _git(work, "config", "user.email", "ci@example.com")
    _git(work, "config", "user.name", "CI")
    _git(work, "config", "commit.gpgsign", "false")
    _git(work, "add", "-A")
    _git(work, "commit", "--quiet", "-m", "scaffold")
    base = _git(work, "rev-parse", "HEAD")

    workflow = yaml.safe_load((work / ".github" / "workflows" / "svcascode.yml").read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["check"]["steps"]
    assert [step.get("uses") for step in steps[:2]] == ["actions/checkout@v4", "actions/setup-python@v5"]
    install, check = steps[2], steps[3]
    assert install["name"] == "Install svcascode" and "${{" not in install["run"]
    env = _venv(tmp_path / "setup-python")
    done = _bash(install["run"], work, {**env, **install["env"]})
    _installed_or_skip(done, "the init workflow's install step")
    shown = subprocess.run(["python", "-m", "pip", "show", "svcascode"], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "Name: svcascode" in shown
    assert shutil.which("svcascode", path=env["PATH"]) == str(tmp_path / "setup-python" / "bin" / "svcascode")

    def run_check(base_sha: str) -> subprocess.CompletedProcess[str]:
        values = {"github.event.pull_request.base.sha": base_sha}
        step_env = {**env, **{key: _substitute(str(value), values) for key, value in check["env"].items()}}
        ran = _bash(check["run"], work, step_env)
        assert "Traceback" not in ran.stderr, ran.stderr
        return ran

    pushed = run_check("")  # a push: the whole catalogue
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "PASS" in pushed.stdout
    _break(work)
    pull_request = run_check(base)
    assert pull_request.returncode == 1, pull_request.stdout + pull_request.stderr
    assert "schema-invalid" in pull_request.stdout
