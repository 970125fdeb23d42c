"""Shared fixtures: copies of the example catalogue, and the command line run as a user runs it.

`run_cli` runs a command in this process, through the same click entry point a user's shell reaches:
arguments, exit code and both streams are what a separate process gives. A test that proves something
about a process itself (what it imports at start-up, signals, the installed script, a cache shared by
separate runs, a plugin installed into the interpreter) uses `run_process` and says why.
"""

from __future__ import annotations

import gc
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

REPO = Path(__file__).resolve().parent.parent
_T = TypeVar("_T")


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every run's parse cache in one temporary folder, not in the user's ~/.cache: the suite makes
    thousands of catalogues, each of which would leave a cache folder there. A test that sets
    SVCASCODE_CACHE_DIR itself still chooses its own."""
    with pytest.MonkeyPatch.context() as patch:
        if "SVCASCODE_CACHE_DIR" not in os.environ:
            patch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path_factory.mktemp("svcascode-cache")))
        yield


def copy_example(target: Path) -> Path:
    """The example catalogue (services/ and policies/) copied into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("services", "policies"):
        shutil.copytree(REPO / folder, target / folder)
    return target


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "catalogue")


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The processes `os.fork` makes during the test (svcascode.twocores), with forking allowed where the
    command line would fork: the test runner's worker has a thread of its own (pytest-xdist's channel to the
    controller), which the command line has not and which none of the forked computations touches, so it is
    not counted. Skipped without `fork` or a second core."""
    from svcascode import twocores

    if not hasattr(os, "fork") or twocores.cores() < 2:
        pytest.skip("no fork here, or a single core: everything is computed in this process")
    monkeypatch.setattr(twocores, "_threads", lambda: 1)
    made: list[int] = []
    fork = os.fork

    def counted() -> int:
        pid = fork()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted)
    return made


@dataclass
class Ran:
    """What a run of the command line gave: the shape of `subprocess.CompletedProcess`."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
    """`svcascode ARGS` in `cwd`, with the exit code and both streams, run in this process.

    The entry point is the one the installed script calls (`svcascode.cli:run` calls `main`, click in standalone
    mode): its error handling, exit codes and output encoding are the same. What a run changes in the
    process is put back: the working folder (`-C`), the garbage collector (a run turns it off), the
    repository check modules it registered, and the environment given in `env`.
    """
    from click.testing import CliRunner

    from svcascode import checks
    from svcascode.cli import main

    before, collecting = os.getcwd(), gc.isenabled()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), input=stdin, env={"SVCASCODE_DEBUG": "", **(env or {})},
                                    catch_exceptions=True, prog_name="svcascode")
    finally:
        os.chdir(before)
        if collecting:
            gc.enable()
        checks.set_local_checks({})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a defect of the test harness, not of a command: the CLI catches those
    return Ran(["svcascode", *args], result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`svcascode ARGS` in a fresh process: for the tests that prove something about a process."""
    return subprocess.run([sys.executable, "-m", "svcascode", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=timeout, env={**os.environ, "SVCASCODE_DEBUG": "", **(env or {})})


def cpu_seconds() -> float:
    """CPU time used so far by this process and the children it has waited for (parse workers): what a
    bound on work measures, whatever else the machine is doing."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def within_cpu(limit: float, work: Callable[[], _T]) -> _T:
    """`work()`'s result, failing the test when it took more than `limit` seconds of CPU time."""
    started = cpu_seconds()
    result = work()
    spent = cpu_seconds() - started
    assert spent < limit, f"took {spent:.1f} s of CPU time, more than {limit} s"
    return result

