"""Incremental evaluation: what a warm run reuses and what an edit re-evaluates, the store's packs, history
walks. That it gives the answer a full evaluation gives after any edits is proven for every stage by
tests/test_equivalence.py."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import astuple
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_example
from git_helpers import GIT_ENV
from svcascode.assessment import Assessment, assess
from svcascode.catalogue import LoadResult, load_catalogue
from svcascode.config import Settings
from svcascode.finding import Finding
from svcascode.gitload import RevisionLoader
from svcascode.history import posture
from svcascode.incremental import memo_of
from svcascode.store import cache_folder

RESULTS_PACK = "pairs.pack"  # the store's file of the (control, document) results

AS_OF = date(2026, 11, 27)

# (pattern, replacement): each applied to its first match in the chosen file
EDITS = [
    (r"tier-1", "tier-3"), (r"tier-2", "tier-0"), (r"criticality: hard", "criticality: soft"),
    (r"criticality: soft", "criticality: hard"), (r"enforcement: block", "enforcement: warn"),
    (r"severity: high", "severity: low"), (r"2026-(\d\d)-", r"2025-\1-"), (r"2025-(\d\d)-", r"2026-\1-"),
    (r"owner: [a-z-]+", "owner: platform"), (r"99\.9\b", "99.0"), (r"interval: \w+", "interval: 48h"),
    (r"privilegedCadence: \w+", "privilegedCadence: 400d"), (r"expiresAt: [0-9-]+", "expiresAt: 2026-12-31"),
    (r"minPeople: \d+", "minPeople: 5"), (r"(?m)^(\s+)runbook: .*$", r"\1runbook: https://example.com/rb"),
]
AS_OF_CHOICES = [date(2026, 11, 27), date(2026, 3, 1), date(2027, 6, 30)]


def _files(root: Path) -> list[Path]:
    return sorted(p for folder in ("services", "policies") for p in (root / folder).rglob("*.yaml"))


def _apply(root: Path, step: tuple[str, int, int]) -> date | None:
    """One edit; returns the new as-of date when the step moves it."""
    what, pick, choice = step
    if what == "as-of":
        return AS_OF_CHOICES[choice % len(AS_OF_CHOICES)]
    files = _files(root)
    target = files[pick % len(files)]
    if what == "remove":
        target.unlink()
    elif what == "comment":
        target.write_text(target.read_text() + f"# edited {choice}\n")
    elif what == "prepend":  # every line of the file moves down: what is located there moves with it
        target.write_text(f"# edited {choice}\n" + target.read_text())
    else:  # the first file from the one picked on where the edit's pattern matches
        pattern, replacement = EDITS[choice % len(EDITS)]
        for offset in range(len(files)):
            target = files[(pick + offset) % len(files)]
            text = target.read_text()
            edited = re.sub(pattern, replacement, text, count=1)
            if edited != text:
                target.write_text(edited)
                break
    return None


def _rows(assessment: Assessment) -> list[tuple[Any, ...]]:
    """Everything a user sees of an assessment: every finding in order, each pair's and control's status."""
    return [*(astuple(f) for f in assessment.findings),
            *((key, p.status) for key, p in assessment.pairs.items()),
            *((name, c.status) for name, c in assessment.controls.items()),
            *((name, w.state, w.matched) for name, w in assessment.waivers.items())]


def _findings_of(rows: list[tuple[Any, ...]], name: str) -> list[Finding]:
    """The findings (as rows of `_rows`) about the document of that name, as Findings."""
    return [Finding(*row) for row in rows if len(row) == len(astuple(_A_FINDING)) and row[8] == name]


_A_FINDING = Finding("r", "low", "m", "f", 1, 1)


def _full(root: Path, as_of: date) -> list[tuple[Any, ...]]:
    return _rows(assess(load_catalogue(root, Settings(cache=False)), as_of, incremental=False))


def _incremental(root: Path, as_of: date) -> tuple[list[tuple[Any, ...]], int, int]:
    """A run as `check` makes it: the parse cache and result memo on disk; what it reused and evaluated."""
    loaded = load_catalogue(root, Settings())
    rows = _rows(assess(loaded, as_of))
    memo = memo_of(loaded.cache)
    return rows, memo.reused, memo.evaluated


def test_a_warm_run_reuses_every_pair_and_an_edit_re_evaluates_only_what_it_reaches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    cold, reused, evaluated = _incremental(root, AS_OF)
    assert reused == 0 and evaluated > 300
    warm, reused, again = _incremental(root, AS_OF)
    assert warm == cold
    assert (reused, again) == (evaluated, 0)  # (wvr-valid, which reads this run's waiver matches, is not memoised)
    # a comment changes nothing a check reads: every pair is reused
    service = root / "services" / "catalogue" / "data-warehouse.yaml"
    service.write_text(service.read_text() + "# reviewed\n")
    commented, reused, again = _incremental(root, AS_OF)
    assert commented == cold and (reused, again) == (evaluated, 0)
    # a comment line on top moves every line of the file: its documents' pairs are evaluated again
    service.write_text("# reviewed\n" + service.read_text())
    moved, reused, again = _incremental(root, AS_OF)
    assert moved == _full(root, AS_OF) and moved != cold
    before = _findings_of(cold, "data-warehouse")
    assert before and [f.line for f in _findings_of(moved, "data-warehouse")] == [f.line + 1 for f in before]
    assert 0 < again < evaluated / 5
    # a new tier for one service re-evaluates its own pairs and those that looked it up, not the catalogue's
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    edited, reused, again = _incremental(root, AS_OF)
    assert edited == _full(root, AS_OF) and edited != cold
    assert 0 < again < evaluated / 5
    # a later as-of date re-evaluates the pairs that read the date, and only those
    later, reused, again = _incremental(root, date(2027, 1, 15))
    assert later == _full(root, date(2027, 1, 15))
    assert 0 < reused and 0 < again < evaluated


def test_a_pair_reused_at_another_date_has_its_row_decoded_once(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """At another as-of date a kept pair's trace is checked lookup by lookup; its row is read once for that
    check and for what the new run records it depends on, not decoded a second time for the latter."""
    from svcascode import incremental

    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    _incremental(root, AS_OF)
    decoded = {"checking": 0, "recording": 0}
    phase = ["checking"]
    real_decode, real_dependencies = incremental._decode, incremental.ResultMemo.dependencies

    def counted(row: Any) -> Any:
        decoded[phase[0]] += 1
        return real_decode(row)

    def dependencies(memo: Any, control: bytes, subject: bytes) -> Any:
        phase[0] = "recording"
        try:
            return real_dependencies(memo, control, subject)
        finally:
            phase[0] = "checking"

    monkeypatch.setattr(incremental, "_decode", counted)
    monkeypatch.setattr(incremental.ResultMemo, "dependencies", dependencies)
    later, reused, again = _incremental(root, date(2027, 1, 15))
    assert later == _full(root, date(2027, 1, 15))
    assert reused > 100 and 0 < again
    assert decoded["checking"] > 100  # the pairs whose traces were checked lookup by lookup
    assert decoded["recording"] == 0


def test_a_tampered_results_pack_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    expected, _, evaluated = _incremental(root, AS_OF)
    pack = cache_folder(root) / RESULTS_PACK
    blob = bytearray(pack.read_bytes())
    blob[-20] ^= 0xFF  # inside the last entry
    pack.write_bytes(bytes(blob))
    found, reused, again = _incremental(root, AS_OF)
    assert found == expected
    assert (reused, again) == (0, evaluated)  # the signature no longer matches: nothing is reused


def _git(root: Path, *args: str, when: str = "2026-01-05T10:00:00+00:00") -> str:
    env = {**GIT_ENV, "PATH": "/usr/bin:/bin", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def test_history_posture_follows_the_change_and_equals_full_evaluation(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "repo")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "start")
    edits = [("edit", 3, 0), ("comment", 17, 6), ("remove", 40, 0), ("edit", 8, 9), ("edit", 60, 2),
             ("edit", 25, 12), ("comment", 2, 1), ("edit", 90, 13), ("edit", 11, 4), ("comment", 5, 7),
             ("edit", 30, 6), ("edit", 31, 7), ("edit", 50, 3)]
    commits = 1
    for number, step in enumerate(edits, start=1):
        _apply(root, step)
        _git(root, "add", "-A")
        if _git(root, "status", "--porcelain"):
            _git(root, "commit", "-q", "-m", f"edit {number}", when=f"2026-{2 + number // 6:02d}-10T{8 + number % 6:02d}:00:00+00:00")
            commits += 1

    def walk(incremental: bool) -> tuple[list[Any], list[list[Finding]], RevisionLoader]:
        loader = RevisionLoader(root, Settings(cache=incremental))
        seen: list[list[Finding]] = []

        def evaluate(loaded: LoadResult, as_of: date) -> list[Finding]:
            seen.append(list(assess(loaded, as_of, incremental=incremental).findings))
            return seen[-1]

        rows = list(posture(loader, evaluate, "HEAD"))
        loader.close()
        return rows, seen, loader

    rows, findings, loader = walk(incremental=True)
    memo = memo_of(loader.cache)
    full_rows, full_findings, _ = walk(incremental=False)
    assert len(rows) == commits >= 12
    assert rows == full_rows
    assert findings == full_findings
    # each commit after the first re-ran only what its change reached (and, on a new day, what reads the date)
    assert memo.reused > 2 * memo.evaluated


def test_a_run_that_changed_a_few_files_writes_a_small_delta_not_the_whole_pack(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from svcascode.loading.cache import ParseCache

    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    _incremental(root, AS_OF)
    folder = cache_folder(root)
    bases = {name: (folder / name).read_bytes() for name in (ParseCache.PACK, RESULTS_PACK)}
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    edited, _, _ = _incremental(root, AS_OF)
    for name, blob in bases.items():
        assert (folder / name).read_bytes() == blob  # the base is not written again
        delta = (folder / f"{name}.delta").stat().st_size
        assert 0 < delta < len(blob) / 5
    again, reused, evaluated = _incremental(root, AS_OF)  # base and delta read back: nothing to evaluate
    assert again == edited == _full(root, AS_OF) and evaluated == 0 < reused
    for name in bases:  # a delta tampered with is ignored: its entries are evaluated again, same answer
        path = folder / f"{name}.delta"
        blob = bytearray(path.read_bytes())
        blob[-5] ^= 0xFF
        path.write_bytes(bytes(blob))
    tampered, _, evaluated = _incremental(root, AS_OF)
    assert tampered == edited and evaluated > 0


def test_two_checks_leave_a_pack_that_the_next_run_reuses_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from svcascode.cli import main

    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    monkeypatch.chdir(root)
    args = ["check", "--format", "json", "--as-of", AS_OF.isoformat()]
    first = CliRunner().invoke(main, args)
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    second = CliRunner().invoke(main, args)
    assert first.exit_code == second.exit_code == 1 and first.output != second.output
    rows, reused, evaluated = _incremental(root, AS_OF)  # what the two checks left on disk is whole
    assert rows == _full(root, AS_OF) and evaluated == 0 < reused


def test_a_run_that_reuses_every_result_never_builds_an_expression_control(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    script = ("import sys\nfrom svcascode.cli import main\n"
              "try:\n    main(['check', '--format', 'json', '--as-of', sys.argv[1], '--fail-on', sys.argv[2]])\n"
              "except SystemExit:\n    pass\n"
              "print('celpy imported' if 'celpy' in sys.modules else 'celpy not imported', file=sys.stderr)\n")

    def run(fail_on: str) -> tuple[str, str, str]:
        # each run asks for another threshold: the run cache (which would answer a repeated run whole)
        # cannot answer it, so the result memo does the work
        done = subprocess.run([sys.executable, "-c", script, AS_OF.isoformat(), fail_on], cwd=root,
                              capture_output=True, text=True, timeout=300)
        # the findings as a threshold leaves them: whether each fails depends on it
        findings = json.dumps([{k: v for k, v in f.items() if k != "failing"} for f in json.loads(done.stdout)["findings"]])
        return findings, done.stdout, done.stderr.strip().splitlines()[-1]

    cold, _, cold_note = run("high")
    warm, warm_output, warm_note = run("critical")
    assert (cold_note, warm_note) == ("celpy imported", "celpy not imported")
    assert warm == cold and '"acc-mfa-sso"' in warm_output  # the library's expression controls still report
    # an AccessPolicy edited: its expression pairs are evaluated again, with the CEL library
    policy = next((root / "services").rglob("hr-access.yaml"))
    policy.write_text(policy.read_text().replace("sso: true", "sso: false", 1))
    edited, _, edited_note = run("low")
    assert edited_note == "celpy imported" and "sign-in is not through SSO" in edited and "not through SSO" not in warm
