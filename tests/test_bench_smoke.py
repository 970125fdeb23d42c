"""The benchmark's profile (bench/profile_phases.py) runs at a small size: every phase is reported, and each
(control, document) pair is counted once, computed cold and reused warm. `make bench`'s rows of the other
commands run at a small size too: each command as the benchmark calls it exits as it should."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO


def test_the_phase_profile_runs_and_counts_each_pair_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import profile_phases

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert profile_phases.main(["--services", "30"]) == 0
    text = printed.getvalue()
    for phase in ("loading", "evaluation", "control svc-owner-exists", "report", "formatting (JSON)", "total"):
        assert re.search(rf"^{re.escape(phase)}.*\d+\.\d{{3}}", text, re.M), phase
    cold, warm, edited = re.search(r"^pairs\s+(\S+)\s+(\S+)\s+(\S+)$", text, re.M).groups()  # type: ignore[union-attr]
    pairs = int(cold.split("/")[1])
    assert cold == f"0/{pairs}" and warm == f"{pairs}/0" and pairs > 30 * 5
    reused, computed = map(int, edited.split("/"))
    assert reused + computed == pairs and 0 < computed < pairs / 2
    sys.modules.pop("profile_phases", None)


def test_the_benchmark_runs_every_command_it_has_a_row_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import bench

    svcascode = bench.tool("svcascode")
    if svcascode is None:
        pytest.skip("svcascode is not installed beside this python")
    ran: list[list[str]] = []

    def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
        ran.append(command)
        return bench.timed(command, cwd, env)  # ends the test (SystemExit) when a command exits 2

    rows: list[bench.Row] = []
    with contextlib.redirect_stderr(io.StringIO()):
        bench.command_rows(12, svcascode, tmp_path, dict(os.environ), 1, "2026-11-27", rows,
                           measure_in=measured)
    assert [row.label for row in rows] == [f"{name}, 12 services, {label}" for name in bench.COMMANDS
                                          for label in ("cold", "warm")]
    assert {command[1] for command in ran if command[0] == svcascode} == {"render", "forecast", "diff", "sla",
                                                                          "history"}
    sys.modules.pop("bench", None)
