"""A cold run evaluates its pairs on two cores (svcascode.twocores): this process and a fork of it. The answer
is the same as on one core, whatever happens to the child."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from svcascode import twocores
from svcascode.cli import main

DEMO_DATE = "2026-11-27"


@pytest.fixture(autouse=True)
def forking(forks: list[int]) -> None:
    """Every test here forks where the command line would (conftest `forks`)."""


def _whose(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_items_are_shared_between_this_process_and_a_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twocores, "MIN_ITEMS", 2)
    results = twocores.computed(list(range(101)), _whose, list, tuple)
    assert [square for square, _ in results] == [i * i for i in range(101)]
    here = os.getpid()
    assert {pid for _, pid in results[0::2]} == {here}
    children = {pid for _, pid in results[1::2]}
    assert len(children) == 1 and here not in children  # every odd item, in one other process


def _fails_in_a_child(parent: int) -> Any:
    def compute(item: int) -> tuple[int, int]:
        if os.getpid() != parent:
            raise MemoryError("the child runs out")
        return item * item, os.getpid()
    return compute


def _dies_in_a_child(parent: int) -> Any:
    def compute(item: int) -> tuple[int, int]:
        if os.getpid() != parent:
            os._exit(9)
        return item * item, os.getpid()
    return compute


def _garbles(parent: int) -> Any:
    def encode(result: tuple[int, int]) -> Any:
        return "not a result" if os.getpid() != parent else list(result)
    return encode


def _checked(row: Any) -> tuple[int, int]:
    if not isinstance(row, list) or len(row) != 2:
        raise TypeError("not a result")
    return row[0], row[1]


@pytest.mark.parametrize("trouble", ["fails", "dies", "garbles"])
def test_what_the_child_does_not_deliver_is_computed_here(monkeypatch: pytest.MonkeyPatch, trouble: str) -> None:
    monkeypatch.setattr(twocores, "MIN_ITEMS", 2)
    here = os.getpid()
    compute = _fails_in_a_child(here) if trouble == "fails" else _dies_in_a_child(here) if trouble == "dies" else _whose
    encode = _garbles(here) if trouble == "garbles" else list
    results = twocores.computed(list(range(51)), compute, encode, _checked)
    assert results == [(i * i, here) for i in range(51)]


def _check(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--as-of", DEMO_DATE, *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_check_on_two_cores_says_what_it_says_on_one(example: Path, monkeypatch: pytest.MonkeyPatch,
                                                      forks: list[int], fmt: str) -> None:
    monkeypatch.setattr(twocores, "MIN_ITEMS", 10**9)
    one = _check(example, monkeypatch, "--format", fmt)
    assert not forks
    monkeypatch.setattr(twocores, "MIN_ITEMS", 2)
    two = _check(example, monkeypatch, "--format", fmt)
    assert len(forks) == 1  # the pairs of every control, in one fork
    assert one == two
    assert one[0] == 1 and ('"rule": ' in one[1] or '"ruleId": ' in one[1])  # the example has findings


def test_a_site_rendered_on_two_cores_is_the_site_rendered_on_one(example: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sites = {}
    for cores, least in (("one", 10**9), ("two", 2)):
        monkeypatch.setattr(twocores, "MIN_ITEMS", least)
        monkeypatch.chdir(example)
        out = tmp_path / cores
        result = CliRunner().invoke(main, ["--no-cache", "render", "catalogue", "--out", str(out),
                                           "--as-of", DEMO_DATE])
        assert result.exit_code == 0, result.output
        sites[cores] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert len(sites["one"]) > 100 and any(str(p).startswith("src/") for p in sites["one"])
    assert sites["one"] == sites["two"]


def test_no_fork_while_another_thread_runs() -> None:
    """A fork copies only the calling thread: a lock another thread holds would stay held in the child. With
    a thread running, whether Python's `threading` knows it or not, everything is computed in the process.
    Run in a process of its own: the test runner's worker has a thread of its own."""
    probe = textwrap.dedent("""\
        import _thread, os, threading
        from svcascode import twocores
        assert twocores.may_fork()
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        assert not twocores.may_fork()
        forks = []
        os.fork = lambda: forks.append(1) or 0  # a fork would be counted, and this process would go on as both
        twocores.MIN_ITEMS = 2
        assert twocores.computed(list(range(10)), lambda i: i + 1, int, int) == list(range(1, 11))
        assert not forks
        stop.set()
        thread.join()
        if os.path.isdir("/proc/self/task"):  # a thread `threading` does not know of, counted by the system
            held = _thread.allocate_lock()
            held.acquire()
            _thread.start_new_thread(lambda: (held.acquire(), held.release()), ())
            assert threading.active_count() == 1 and not twocores.may_fork()
            held.release()
        print("checked")
        """)
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout == "checked\n", ran.stderr
