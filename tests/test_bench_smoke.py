"""The benchmark's profile (bench/profile_phases.py) runs at a small size: every phase is reported, and each
(control, document) pair is counted once, computed cold and reused warm."""

from __future__ import annotations

import contextlib
import io
import re
import sys

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
