"""The README's two commands, run from a clean copy of the repository as a newcomer runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text()


def quick_start_commands() -> list[str]:
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, re.S)
    assert block is not None, "README has no Quick start block"
    return [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_quick_start_gives_the_two_commands_first() -> None:
    assert quick_start_commands() == ["make demo", "make test"]
    assert README.index("## Quick start") < README.index("## A tour")


def test_ci_runs_the_readme_test_command() -> None:
    lines = [l.strip() for l in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "make test" in lines


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fresh") / "svcascode"
    if (REPO / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    else:
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(".venv*", "out", ".svcascode-cache", "*.egg-info"))
    return target


# what an enclosing `make test PYTHON=... VENV=...` hands down (make passes its command line on in MAKEFLAGS):
# a newcomer's shell has none of it
MAKE_STATE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTHON", "VENV", "PYTEST_ARGS", "AS_OF", "OUT")


def _make(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_STATE}
    env["PIP_NO_COMPILE"] = "1"  # pip's bytecode of every dependency proves nothing the set-up needs
    return subprocess.run(["make", *args], cwd=target, env=env, capture_output=True, text=True, timeout=1800)


@pytest.mark.consumer
def test_make_demo_from_a_clean_copy(clean_copy: Path) -> None:
    result = _make(clean_copy, "demo", "AS_OF=2026-11-27")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (clean_copy / ".venv" / "bin" / "svcascode").exists()
    assert "valid: " in result.stdout and "FAIL: 1 critical, 3 high, 1 waived" in result.stdout
    printed = re.findall(r"(?:file://)?(/\S+/out/\S+)", result.stdout)
    assert len(printed) >= 5
    for path in printed:
        assert Path(path).exists(), path
    assert "Traceback" not in result.stderr


@pytest.mark.consumer
def test_make_test_from_a_clean_copy(clean_copy: Path) -> None:
    # the whole suite is what is running now; the nested run proves the set-up with one quick file. mypy
    # checks the copy's every file; its cache (keyed on each file's hash) is the one this run's typecheck wrote
    if (REPO / ".mypy_cache").is_dir() and not (clean_copy / ".mypy_cache").exists():
        shutil.copytree(REPO / ".mypy_cache", clean_copy / ".mypy_cache")
    result = _make(clean_copy, "test", "PYTEST_ARGS=tests/test_slamath.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout)
    assert (clean_copy / ".venv" / ".installed-test").exists()
