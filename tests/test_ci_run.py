"""`.ci/run`: `make test` on the default python3, then the core suite (`make test-core`) on every other supported
Python the machine has, each in a venv of its own, saying which versions ran and which were not found. Run here with a `make` that records
what it is asked and interpreters that only answer the questions the script asks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import REPO

FAKE_MAKE = """#!/bin/sh
echo "$*" >> "$MAKE_LOG"
case "$*" in *"$FAIL_ON"*) [ -n "$FAIL_ON" ] && exit 1 ;; esac
exit 0
"""


def fake_python(version: str, can_make_venvs: bool = True) -> str:
    return f"""#!/bin/sh
case "$2" in
  *version_info*) echo {version} ;;
  *ensurepip*) exit {0 if can_make_venvs else 1} ;;
  *) exit 3 ;;
esac
"""


SHIM = """#!/bin/sh
echo "pyenv: $(basename "$0"): command not found" >&2
exit 127
"""


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _machine(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A clone with .ci/run; python3 is 3.11, python3.12 on PATH is a shim of no installed version, pyenv has
    3.12.1 and 3.12.4, and a 3.13 that cannot make a venv."""
    clone = tmp_path / "clone"
    _executable(clone / ".ci" / "run", (REPO / ".ci" / "run").read_text())
    bin_dir = tmp_path / "bin"
    _executable(bin_dir / "make", FAKE_MAKE)
    _executable(bin_dir / "python3", fake_python("3.11"))
    _executable(bin_dir / "python3.12", SHIM)
    pyenv = tmp_path / "pyenv"
    for version in ("3.12.1", "3.12.4"):
        _executable(pyenv / "versions" / version / "bin" / "python3.12", fake_python("3.12"))
    _executable(pyenv / "versions" / "3.13.0" / "bin" / "python3.13", fake_python("3.13", can_make_venvs=False))
    system = ":".join(str(Path(shutil.which(tool) or tool).parent) for tool in ("bash", "ls", "sort"))
    env = {"PATH": f"{bin_dir}:{system}", "HOME": str(tmp_path), "PYENV_ROOT": str(pyenv),
           "MAKE_LOG": str(tmp_path / "make.log"), "FAIL_ON": ""}
    return clone, env


def _run(clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(clone / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)


def test_ci_runs_make_test_then_the_core_suite_on_each_other_python_found_and_says_which(tmp_path: Path) -> None:
    clone, env = _machine(tmp_path)
    result = _run(clone, env)
    assert result.returncode == 0, result.stdout + result.stderr
    newest = tmp_path / "pyenv" / "versions" / "3.12.4" / "bin" / "python3.12"
    assert (tmp_path / "make.log").read_text().splitlines() == [
        "test", f"test-core PYTHON={newest} VENV=.venv-3.12"]  # the shim on PATH does not run: pyenv's newest 3.12
    summary = result.stdout.splitlines()[-2:]
    assert summary == [f"Python versions passed: 3.11 (python3), 3.12 ({newest})",
                       "Python versions not found on this machine, not tested: 3.13"]


def test_ci_fails_when_any_python_fails_and_still_runs_the_others(tmp_path: Path) -> None:
    clone, env = _machine(tmp_path)
    _executable(tmp_path / "bin" / "python3.13", fake_python("3.13"))  # now a 3.13 that works, on PATH
    result = _run(clone, {**env, "FAIL_ON": "VENV=.venv-3.12"})
    assert result.returncode == 1
    assert (tmp_path / "make.log").read_text().splitlines()[-1] == (
        f"test-core PYTHON={tmp_path / 'bin' / 'python3.13'} VENV=.venv-3.13")
    assert result.stdout.splitlines()[-2:] == [
        f"Python versions passed: 3.11 (python3), 3.13 ({tmp_path / 'bin' / 'python3.13'})",
        f"Python versions FAILED: 3.12 ({tmp_path / 'pyenv' / 'versions' / '3.12.4' / 'bin' / 'python3.12'})"]


def test_ci_stops_when_the_default_python_fails(tmp_path: Path) -> None:
    clone, env = _machine(tmp_path)
    result = _run(clone, {**env, "FAIL_ON": "test"})
    assert result.returncode == 1
    assert (tmp_path / "make.log").read_text().splitlines() == ["test"]
