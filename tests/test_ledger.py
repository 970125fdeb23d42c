"""`svcascode ledger`: the posture on every day of a period, stored once, re-performed from git.

The same assertions run against the SQLite store and against a real PostgreSQL server that the session
starts (tests/postgres_server.py): idempotent writes from two concurrent writers, a day re-performed equal
to `check --as-of` at its commit, a tampered row found by `verify`, the OSCAL accepted by
compliance-trestle. The faults a store can have (locked, full, damaged, newer, unreachable, a writer
killed mid-write) each end in a clear error, never in a wrong answer.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from git_helpers import GIT_ENV, Repo, base_catalogue, run, service
from postgres_server import Server, running_server

PERIOD = "2025-02-28..2025-03-08"

WAIVER = """apiVersion: svcascode.io/v1alpha1
kind: Waiver
metadata: {name: wvr-beta-runbook, title: Beta's runbook is being written}
spec:
  control: svc-runbook
  subjects: [service:beta]
  justification: The runbook is being written with the new on-call team.
  requestedBy: ana@example.com
  approvedBy: [risk@example.com]
  approvedAt: 2025-02-20
  expiresAt: 2025-03-04
"""

EVIDENCE = """apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata: {name: ev-alpha-review}
spec:
  type: access-review
  subject: service:alpha
  performedAt: 2025-03-02
  performedBy: [ana@example.com]
  result: pass
"""


def build(path: Path, broken_alpha: bool = False) -> tuple[Repo, dict[str, str]]:
    """A catalogue whose posture changes by commits and by a waiver's expiry:

    - 03-01 10:00: alpha has a runbook, beta none but a waiver until 03-04 (expired on 03-04), evidence
      about alpha performed on 03-02;
    - 03-05 23:30: beta gets its runbook (in force by the end of 03-05);
    - 03-07 00:30: gamma, without a runbook, joins.
    """
    repo = Repo(path)
    files = {**base_catalogue(), "policies/waivers.yaml": WAIVER, "services/evidence/alpha.yaml": EVIDENCE}
    if broken_alpha:
        files["services/catalogue/alpha.yaml"] = service("alpha", runbook=False)
    shas = {"first": repo.commit("catalogue", files, date="2025-03-01T10:00:00+00:00"),
            "fix": repo.commit("beta's runbook", {"services/catalogue/beta.yaml": service("beta")},
                               date="2025-03-05T23:30:00+00:00"),
            "gamma": repo.commit("gamma", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)},
                                 date="2025-03-07T00:30:00+00:00")}
    return repo, shas


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict[str, str]]:
    return build(tmp_path_factory.mktemp("ledger") / "catalogue")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server | str]:
    yield from running_server()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.consumer)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind: a SQLite file, or a new database on the session's server."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    server = request.getfixturevalue("postgres")
    if isinstance(server, str):
        pytest.skip(server)
    return server.new_database()


def sql(store: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A statement run on the store's database directly, as someone with access to it would."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as connection:
            cursor = connection.execute(statement.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
    connection = sqlite3.connect(store)
    try:
        rows = list(connection.execute(statement, params).fetchall())
        connection.commit()
        return rows
    finally:
        connection.close()


def ledger(cwd: Path, store: str, *args: str, period: str = PERIOD) -> Any:
    return run(cwd, "ledger", "show", "--period", period, "--store", store, *args)


def days_of(text: str) -> dict[str, dict[str, Any]]:
    return {d["date"]: d for d in json.loads(text)["days"]}


# ---------------------------------------------------------------------------------------------------
# What a day says


def test_each_day_has_the_commit_in_force_by_its_end_and_its_posture_as_of_that_day(
        history: tuple[Repo, dict[str, str]], store: str) -> None:
    repo, shas = history
    done = ledger(repo.path, store, "--format", "json")
    assert done.returncode == 0, done.stderr
    days = days_of(done.stdout)
    assert list(days) == [f"2025-02-{d}" for d in (28,)] + [f"2025-03-0{d}" for d in range(1, 9)]
    assert days["2025-02-28"]["commit"] is None and days["2025-02-28"]["posture"] is None  # before the catalogue
    assert [days[f"2025-03-0{d}"]["commit"] for d in range(1, 9)] == \
        [shas["first"]] * 4 + [shas["fix"]] * 2 + [shas["gamma"]] * 2  # 03-05 23:30 counts for 03-05
    state = {d: days[d]["posture"]["controls"]["svc-runbook"]["state"] for d in list(days)[1:]}
    assert list(state.values()) == ["waived"] * 3 + ["failed"] + ["operating"] * 2 + ["failed"] * 2
    # the waiver's expiry alone (no commit) opened beta's finding on 03-04; open since 03-01, waived until then
    beta = days["2025-03-04"]["posture"]["controls"]["svc-runbook"]["findings"]
    assert [(f["subject"], f["waiver"], f["openSince"], f["openDays"], f["openBeforePeriod"]) for f in beta] == \
        [("Service/beta", None, "2025-03-01", 3, False)]
    assert [w["name"] for w in days["2025-03-03"]["waivers"]] == ["wvr-beta-runbook"]
    assert days["2025-03-04"]["waivers"] == []  # expired on its expiry date
    assert [e["name"] for e in days["2025-03-01"]["evidence"]] == []  # performed the next day
    assert [(e["name"], e["ageDays"]) for e in days["2025-03-03"]["evidence"]] == [("ev-alpha-review", 1)]
    gamma = days["2025-03-08"]["posture"]["controls"]["svc-runbook"]["findings"]
    assert [(f["subject"], f["openDays"]) for f in gamma] == [("Service/gamma", 1)]
    summary = json.loads(done.stdout)["summary"]["svc-runbook"]
    assert summary == {"daysOperating": 2, "daysFailed": 3, "daysWaived": 3, "daysNotApplicable": 0,
                       "daysNotAssessed": 0, "daysNotRecorded": 1, "longestFailureDays": 2, "failures": 2,
                       "remediated": 1, "meanTimeToRemediateDays": 1.0}


def test_a_second_run_reads_the_store_and_prints_the_same(history: tuple[Repo, dict[str, str]], store: str) -> None:
    repo, _ = history
    first = ledger(repo.path, store, "--format", "json")
    again = run(repo.path, "ledger", "record", "--period", PERIOD, "--store", store)
    assert again.returncode == 0 and "0 day(s) recorded" in again.stdout and "(0 assessed" in again.stdout
    second = ledger(repo.path, store, "--format", "json")
    assert first.returncode == second.returncode == 0 and first.stdout == second.stdout
    assert sql(store, "SELECT count(*) FROM ledger_days")[0][0] == 8  # one record a day with a commit in force
    # an auditor without the repository reads the same days from the store alone
    outside = run(repo.path.parent, "ledger", "show", "--period", PERIOD, "--store", store, "--format", "json")
    assert outside.returncode == 0, outside.stderr
    assert [(d["date"], d["commit"]) for d in json.loads(outside.stdout)["days"]] == \
        [(d["date"], d["commit"]) for d in json.loads(first.stdout)["days"]]


def test_two_concurrent_writers_record_each_day_once(history: tuple[Repo, dict[str, str]], store: str) -> None:
    repo, _ = history
    env = {**os.environ, **GIT_ENV, "SVCASCODE_DEBUG": ""}
    writers = [subprocess.Popen([sys.executable, "-m", "svcascode", "ledger", "record", "--period", PERIOD,
                                 "--store", store], cwd=repo.path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [w.communicate(timeout=600) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outcomes
    written = sorted(int(out.split(": ")[1].split(" ")[0]) for out, _ in outcomes)
    assert sum(written) == 8  # every day written by one writer or the other, never by both
    rows = sql(store, "SELECT day, count(*) FROM ledger_days GROUP BY day ORDER BY day")
    assert [count for _, count in rows] == [1] * 8
    assert sql(store, "SELECT count(*) FROM ledger_assessments")[0][0] == 8
    verified = run(repo.path, "ledger", "verify", "--store", store)
    assert verified.returncode == 0, verified.stdout


def test_a_day_reperformed_equals_check_as_of_at_its_commit(history: tuple[Repo, dict[str, str]], store: str) -> None:
    repo, _ = history
    days = days_of(ledger(repo.path, store, "--format", "json").stdout)
    for day in ("2025-03-02", "2025-03-04", "2025-03-08"):
        recorded = days[day]
        check = run(repo.path, "check", "--rev", recorded["commit"], "--as-of", day, "--format", "json",
                    "--fail-on", "none")
        assert check.returncode == 0, check.stderr
        checked = json.loads(check.stdout)["findings"]
        listed = [f for c in recorded["posture"]["controls"].values() for f in c["findings"]]
        listed += recorded["posture"]["otherFindings"]
        assert sorted((f["fingerprint"], f["waiver"]) for f in listed) == \
            sorted((f["fingerprint"], (f.get("waiver") or {}).get("name")) for f in checked)
    verified = run(repo.path, "ledger", "verify", "--period", "2025-03-04", "--store", store, "--format", "json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["reperformed"] == ["2025-03-04"]


def test_a_tampered_row_is_found_by_verify_and_never_shown(history: tuple[Repo, dict[str, str]], store: str) -> None:
    from svcascode.ledger.store import canonical, encode_part

    repo, _ = history
    assert ledger(repo.path, store).returncode == 0
    assert run(repo.path, "ledger", "verify", "--store", store).returncode == 0
    # someone edits a finding's message in the stored findings of 03-04 (the part keeps its name)
    (digest,) = sql(store, "SELECT a.findings FROM ledger_assessments a WHERE a.as_of = ?", ("2025-03-04",))[0]
    findings = [{**f, "message": "fixed"} for f in days_of(ledger(repo.path, store, "--format", "json").stdout)[
        "2025-03-04"]["posture"]["controls"]["svc-runbook"]["findings"]]
    sql(store, "UPDATE ledger_parts SET body = ? WHERE digest = ?", (encode_part(canonical(findings)), digest))
    # and moves the record of 03-07 to another commit
    sql(store, "UPDATE ledger_days SET commit_sha = ? WHERE day = ?", ("1" * 40, "2025-03-07"))
    verified = run(repo.path, "ledger", "verify", "--store", store, "--format", "json")
    assert verified.returncode == 1
    differences = json.loads(verified.stdout)["differences"]
    named = {(d["date"], d["reason"]) for d in differences}
    assert ("2025-03-04", "store tampered") in named and ("2025-03-07", "store tampered") in named
    assert {d["date"] for d in differences} == {"2025-03-04", "2025-03-07"}
    assert any("findings" in d["detail"] for d in differences if d["date"] == "2025-03-04")
    text = run(repo.path, "ledger", "verify", "--store", store)
    assert text.returncode == 1 and "2025-03-07: store tampered" in text.stdout and "2 day(s) differ" in text.stdout
    shown = ledger(repo.path, store, "--no-record", period="2025-03-04")
    assert shown.returncode == 2 and "ledger verify" in shown.stderr and "Traceback" not in shown.stderr


@pytest.mark.consumer
def test_a_periods_oscal_loads_in_compliance_trestle(history: tuple[Repo, dict[str, str]], store: str) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    repo, shas = history
    done = ledger(repo.path, store, "--format", "oscal")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)["assessment-results"]
    model = AssessmentResults.model_validate(document)
    # one result per change of posture: waived 03-01..03-03, failed 03-04, operating 03-05..03-06, gamma 03-07..08
    spans = [(r.start.date().isoformat(), r.end.date().isoformat()) for r in model.results]
    assert spans == [("2025-03-01", "2025-03-03"), ("2025-03-04", "2025-03-04"), ("2025-03-05", "2025-03-06"),
                     ("2025-03-07", "2025-03-08")]
    states = [[f.target.status.state.value for f in r.findings or []] for r in model.results]
    assert states == [["not-satisfied"], ["not-satisfied"], ["satisfied"], ["not-satisfied"]]
    assert model.results[0].risks and document["results"][0]["risks"][0]["status"] == "deviation-approved"
    commits = [{p.value for p in r.props or [] if p.name == "commit"} for r in model.results]
    assert commits[2] == {shas["fix"]} and commits[3] == {shas["gamma"]}


# ---------------------------------------------------------------------------------------------------
# The other formats, periods and repositories


def test_csv_and_markdown_show_the_same_days(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = history
    store = str(tmp_path / "s.sqlite")
    rows = list(csv.DictReader(io.StringIO(ledger(repo.path, store, "--format", "csv").stdout)))
    assert [(r["date"], r["state"]) for r in rows][:3] == [("2025-02-28", "not recorded"), ("2025-03-01", "waived"),
                                                          ("2025-03-02", "waived")]
    fourth = next(r for r in rows if r["date"] == "2025-03-04")
    assert (fourth["commit"], fourth["open_findings"], fourth["longest_open_days"]) == (shas["first"], "1", "3")
    markdown = ledger(repo.path, store).stdout
    assert "| `svc-runbook` | 2 | 3 | 3 | 0 | 0 | 1 | 2 d | 2 | 1 d |" in markdown
    assert "waived -> failed" in markdown and "Service/beta" in markdown


def test_periods_are_months_quarters_years_or_days_and_nonsense_exits_2(
        history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    from svcascode.ledger.book import parse_period

    assert str(parse_period("2026-01..2026-06")) == "2026-01-01..2026-06-30"
    assert str(parse_period("2026-Q1")) == "2026-01-01..2026-03-31"
    assert str(parse_period("2024-02")) == "2024-02-01..2024-02-29"
    assert str(parse_period("2026")) == "2026-01-01..2026-12-31"
    assert str(parse_period("2026-01-05..2026-02")) == "2026-01-05..2026-02-28"
    repo, _ = history
    for bad in ("2026-13", "yesterday", "2026-06..2026-01", "1990..2026"):
        done = ledger(repo.path, str(tmp_path / "s.sqlite"), period=bad)
        assert done.returncode == 2 and "--period" in done.stderr and "Traceback" not in done.stderr


def test_days_that_have_not_ended_are_left_out(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    from svcascode.ledger.book import today

    repo, _ = history
    now = today()
    done = ledger(repo.path, str(tmp_path / "s.sqlite"), "--format", "json",
                  period=f"{now.replace(day=1) if now.day > 1 else now}..{now}")
    body = json.loads(done.stdout)
    assert done.returncode == 0 and body["notEnded"] == [now.isoformat()]
    assert now.isoformat() not in {d["date"] for d in body["days"]} and "have not ended" in done.stderr


def test_one_posture_across_repositories(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = history
    other, _ = build(tmp_path / "other", broken_alpha=True)
    store = str(tmp_path / "shared.sqlite")
    assert ledger(repo.path, store, "--name", "acme/payments").returncode == 0
    assert ledger(other.path, store, "--name", "acme/claims").returncode == 0
    body = json.loads(run(tmp_path, "ledger", "show", "--period", PERIOD, "--store", store,
                          "--format", "json").stdout)
    assert body["repositories"] == ["acme/claims", "acme/payments"]
    day = {d["date"]: d for d in body["days"]}["2025-03-05"]
    control = day["posture"]["controls"]["svc-runbook"]
    # payments operates, claims fails (alpha has no runbook): one posture, the worse
    assert control["state"] == "failed" and control["repositories"] == {"acme/claims": "failed",
                                                                        "acme/payments": "operating"}
    assert day["commit"] is None and set(day["commits"]) == {"acme/claims", "acme/payments"}
    assert {f["repository"] for f in control["findings"]} == {"acme/claims"}
    one = json.loads(run(tmp_path, "ledger", "show", "--period", PERIOD, "--store", store, "--format", "json",
                         "--repository", "acme/payments").stdout)
    assert one["repositories"] == ["acme/payments"]
    assert {d["date"]: d for d in one["days"]}["2025-03-05"]["posture"]["controls"]["svc-runbook"]["state"] == \
        "operating"
    report = run(tmp_path, "report", "posture", "--as-of", "2025-03-05", "--store", store, "--format", "json")
    assert report.returncode == 0, report.stderr
    posture = json.loads(report.stdout)["day"]["posture"]["controls"]["svc-runbook"]
    assert posture["state"] == "failed" and posture["repositories"]["acme/payments"] == "operating"
    table = run(tmp_path, "report", "posture", "--as-of", "2025-03-05", "--store", store).stdout
    assert "| `svc-runbook` | failed | failed | operating | 1 | 0 |" in table


def test_a_repositorys_name_never_carries_credentials(tmp_path: Path) -> None:
    from svcascode.ledger.source import repository_name

    top = tmp_path / "checkout"  # the working tree's folder: its name is the fallback
    assert repository_name("https://ci:s3cret@github.com/acme/catalogue.git", top, "") == "github.com/acme/catalogue"
    assert repository_name("git@github.com:acme/catalogue.git", top, "catalogue/") == \
        "github.com/acme/catalogue/catalogue"
    assert repository_name(None, top, "") == "checkout"
    assert repository_name("/srv/git/catalogue.git", top, "") == "catalogue"


# ---------------------------------------------------------------------------------------------------
# Re-performance: why a day differs


def test_a_rewritten_history_is_named(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = history
    copy = Repo.__new__(Repo)
    copy.path = tmp_path / "copy"
    shutil.copytree(repo.path, copy.path)
    store = str(tmp_path / "s.sqlite")
    assert ledger(copy.path, store).returncode == 0
    # the last commit is replaced by another one (a force-push): 03-07 and 03-08 were recorded at it
    copy.git("reset", "-q", "--hard", shas["fix"])
    copy.commit("gamma, reworded", {"services/catalogue/gamma.yaml": service("gamma", runbook=False)},
                date="2025-03-07T00:30:00+00:00")
    copy.git("reflog", "expire", "--expire=now", "--all")
    copy.git("gc", "-q", "--prune=now")
    done = run(copy.path, "ledger", "verify", "--store", store, "--format", "json")
    assert done.returncode == 1
    differences = json.loads(done.stdout)["differences"]
    assert [(d["date"], d["reason"]) for d in differences] == [("2025-03-07", "history rewritten"),
                                                               ("2025-03-08", "history rewritten")]
    assert "no longer in the repository" in differences[0]["detail"]


def test_a_record_of_other_code_that_differs_is_named_code_changed(
        history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    from svcascode.config import load_settings
    from svcascode.ledger.book import Recorder, parse_period, record
    from svcascode.ledger.source import Assessor, Digests, digests, open_line
    from svcascode.ledger.store import open_store

    repo, _ = history
    store_path = str(tmp_path / "s.sqlite")
    settings = load_settings(repo.path)
    line = open_line(repo.path, settings)
    now = digests(repo.path, settings)
    older = Digests("0" * 32, now.library, now.settings)  # an earlier svcascode, whose checks said otherwise
    recorder = Recorder(line, older, lambda: Assessor(line))
    computed = recorder.compute
    recorder.compute = lambda day: _with_message(computed(day), "an older wording")  # type: ignore[method-assign]
    store = open_store(store_path)
    try:
        record(store, recorder, parse_period("2025-03-04..2025-03-05"))
    finally:
        store.close(); recorder.close(); line.close()
    done = run(repo.path, "ledger", "verify", "--store", store_path, "--format", "json")
    assert done.returncode == 1
    differences = json.loads(done.stdout)["differences"]
    # 03-04 had a finding, so its older wording differs; 03-05 had none: the same with either code
    assert [(d["date"], d["reason"]) for d in differences] == [("2025-03-04", "code changed")]
    assert "svcascode's code" in differences[0]["detail"] and "findings" in differences[0]["detail"]


def _with_message(computed: Any, message: str) -> Any:
    from svcascode.ledger.book import Computed
    from svcascode.ledger.store import PART_NAMES, AssessmentRow, assessment_key, canonical, content_digest, digest_of

    if computed is None or not computed.values["findings"]:
        return computed
    values = {**computed.values, "findings": [{**f, "message": message} for f in computed.values["findings"]]}
    parts, texts = {}, dict(computed.texts)  # the documents' files as they were
    for name in PART_NAMES:
        text = canonical(values[name])
        parts[name] = digest_of(text)
        texts[parts[name]] = text
    row = computed.row
    new = AssessmentRow(assessment_key(row.commit, row.as_of, row.code, row.library, row.settings), row.commit,
                        row.as_of, row.code, row.library, row.settings, parts, content_digest(parts))
    return Computed(new, texts, values)


# ---------------------------------------------------------------------------------------------------
# Faults: a clear error (exit 2), never a wrong answer


def test_a_store_locked_by_another_writer_exits_2(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = history
    store = tmp_path / "s.sqlite"
    assert ledger(repo.path, str(store), period="2025-03-01").returncode == 0
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        from conftest import run_cli

        done = run_cli("ledger", "record", "--period", "2025-03-02", "--store", str(store), cwd=repo.path,
                       env={**GIT_ENV, "SVCASCODE_STORE_TIMEOUT": "0.2"})  # how long a writer waits for another
        assert done.returncode == 2 and "locked by another writer" in done.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def small_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SQLite store opened may grow to a few pages only, as on a full disk."""
    from svcascode.ledger import store as module

    connect = module.SqliteStore.connect.__func__  # type: ignore[attr-defined]

    def limited(cls: Any, path: Path) -> Any:
        opened = connect(cls, path)
        opened.connection.execute("PRAGMA max_page_count = 12")
        return opened

    monkeypatch.setattr(module.SqliteStore, "connect", classmethod(limited))


def test_a_full_store_exits_2_and_keeps_no_partial_assessment(history: tuple[Repo, dict[str, str]], tmp_path: Path,
                                                              small_disk: None) -> None:
    repo, _ = history
    store = str(tmp_path / "s.sqlite")
    done = run(repo.path, "ledger", "record", "--period", PERIOD, "--store", store)
    assert done.returncode == 2 and "full" in done.stderr and "Traceback" not in done.stderr
    assert sql(store, "SELECT count(*) FROM ledger_days")[0][0] == 0
    assert sql(store, "SELECT count(*) FROM ledger_assessments")[0][0] == 0
    assert sql(store, "SELECT count(*) FROM ledger_parts")[0][0] == 0


def test_a_damaged_or_foreign_file_exits_2_and_is_left_as_it_is(history: tuple[Repo, dict[str, str]],
                                                                tmp_path: Path) -> None:
    repo, _ = history
    garbage = tmp_path / "notes.sqlite"
    garbage.write_bytes(b"these are my notes, not a database\n" * 200)
    done = ledger(repo.path, str(garbage))
    assert done.returncode == 2 and "not a ledger store or damaged" in done.stderr
    assert garbage.read_bytes() == b"these are my notes, not a database\n" * 200
    foreign = tmp_path / "foreign.sqlite"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE ledger_days (anything TEXT)")
    connection.close()
    done = ledger(repo.path, str(foreign))
    assert done.returncode == 2 and "damaged" in done.stderr


def test_a_store_of_a_newer_schema_is_refused_and_left_as_it_is(history: tuple[Repo, dict[str, str]],
                                                                tmp_path: Path) -> None:
    repo, _ = history
    store = str(tmp_path / "s.sqlite")
    assert ledger(repo.path, store, period="2025-03-01").returncode == 0
    sql(store, "UPDATE ledger_meta SET value = '99' WHERE name = 'schema_version'")
    done = ledger(repo.path, store)
    assert done.returncode == 2 and "newer svcascode" in done.stderr and "schema version 99" in done.stderr
    assert sql(store, "SELECT count(*) FROM ledger_days")[0][0] == 1


def test_an_older_schema_is_migrated_keeping_every_row(history: tuple[Repo, dict[str, str]], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from svcascode.ledger import store as module

    repo, _ = history
    store = str(tmp_path / "s.sqlite")
    assert ledger(repo.path, store, "--format", "json", period="2025-03-01..2025-03-02").returncode == 0
    before = sql(store, "SELECT * FROM ledger_days ORDER BY seq")
    # the next version of the schema adds a column: opening the store migrates it in place
    monkeypatch.setattr(module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(module.MIGRATIONS, "sqlite", {**module.MIGRATIONS["sqlite"], 2: [
        "ALTER TABLE ledger_days ADD COLUMN note TEXT"]})
    done = ledger(repo.path, store, "--format", "json", period="2025-03-01..2025-03-03")
    assert done.returncode == 0, done.stderr
    assert sql(store, "SELECT value FROM ledger_meta WHERE name = 'schema_version'") == [("2",)]
    after = sql(store, "SELECT * FROM ledger_days ORDER BY seq")
    assert [row[:-1] for row in after[:2]] == before and len(after) == 3
    assert run(repo.path, "ledger", "verify", "--store", store).returncode == 0


def test_an_unreachable_store_exits_2_without_credentials_in_the_message(history: tuple[Repo, dict[str, str]],
                                                                         tmp_path: Path) -> None:
    repo, _ = history
    done = ledger(repo.path, str(tmp_path / "missing" / "s.sqlite"))
    assert done.returncode == 2 and "does not exist" in done.stderr
    pytest.importorskip("psycopg")
    done = ledger(repo.path, f"postgresql://ledger@/ledger?host={tmp_path}/no-server")
    assert done.returncode == 2 and "cannot connect" in done.stderr and "Traceback" not in done.stderr
    done = ledger(repo.path, "postgresql://ledger:s3cret@db.invalid/ledger")
    assert done.returncode == 2 and "PGPASSWORD" in done.stderr and "s3cret" not in done.stderr + done.stdout


KILLER = """
import os, signal, sys
from svcascode.ledger import store
for backend in (store.SqliteStore, store.PostgresStore):
    def killing(self, sql, rows, _original=backend._execute_many):
        _original(self, sql, rows)
        if sql.startswith("INSERT INTO ledger_days"):
            os.kill(os.getpid(), signal.SIGKILL)  # the CI runner is stopped with the days written, not committed
    backend._execute_many = killing
from svcascode.cli import main
main(sys.argv[1:])
"""


def test_a_writer_killed_mid_write_leaves_no_partial_assessment(history: tuple[Repo, dict[str, str]],
                                                                store: str) -> None:
    repo, _ = history
    env = {**os.environ, **GIT_ENV, "SVCASCODE_DEBUG": ""}
    killed = subprocess.run([sys.executable, "-c", KILLER, "ledger", "record", "--period", PERIOD, "--store", store],
                            cwd=repo.path, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    for table in ("ledger_days", "ledger_assessments", "ledger_parts"):
        assert sql(store, f"SELECT count(*) FROM {table}")[0][0] == 0
    done = run(repo.path, "ledger", "record", "--period", PERIOD, "--store", store)
    assert done.returncode == 0 and "8 day(s) recorded" in done.stdout
    assert run(repo.path, "ledger", "verify", "--store", store).returncode == 0


# ---------------------------------------------------------------------------------------------------
# The main line, and the walks through history that read the store


def test_the_main_line_is_the_logs_with_or_without_changes(history: tuple[Repo, dict[str, str]],
                                                           tmp_path: Path) -> None:
    from svcascode.config import load_settings
    from svcascode.ledger.source import open_line

    repo, shas = history
    copy = Repo.__new__(Repo)
    copy.path = tmp_path / "merged"
    shutil.copytree(repo.path, copy.path)
    copy.git("checkout", "-q", "-b", "topic", shas["fix"])
    copy.commit("delta on a branch", {"services/catalogue/delta.yaml": service("delta")},
                date="2025-03-06T08:00:00+00:00")
    copy.commit("a note outside the catalogue", {"NOTES.md": "notes\n"}, date="2025-03-06T09:00:00+00:00")
    copy.git("checkout", "-q", "main")
    os.environ["GIT_COMMITTER_DATE"] = "2025-03-09T10:00:00+00:00"
    try:
        copy.git("-c", "commit.gpgsign=false", "merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    finally:
        os.environ.pop("GIT_COMMITTER_DATE")
    line = open_line(copy.path, load_settings(copy.path))
    try:
        assert [c.sha for c, _ in line.log] == [c.sha for c in line.commits]  # read both ways: the same line
        assert len(line.commits) == 4 and line.commits[-1].message == "merge topic"
    finally:
        line.close()


def test_history_posture_reads_the_store_first_and_gives_the_same_answer(
        history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = history
    store = str(tmp_path / "s.sqlite")
    plain = run(repo.path, "--no-cache", "history", "--posture", "--format", "json")
    first = run(repo.path, "history", "--posture", "--format", "json", "--store", store)
    second = run(repo.path, "history", "--posture", "--format", "json", "--store", store)
    assert plain.returncode == first.returncode == second.returncode == 0
    commits = [json.loads(r.stdout)["commits"] for r in (plain, first, second)]
    assert commits[0] == commits[1] == commits[2]
    assert json.loads(second.stdout)["stats"]["fromStore"] == 3 and json.loads(first.stdout)["stats"]["fromStore"] == 0
    # the ledger finds those assessments: the day each commit entered whose commit is still in force at its end
    assert sql(store, "SELECT count(*) FROM ledger_assessments")[0][0] == 3


def test_a_store_that_cannot_be_used_is_said_once_and_the_walk_computes_without_it(
        history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = history
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"\x00not a database" * 100)
    plain = run(repo.path, "--no-cache", "history", "--posture", "--format", "json")
    done = run(repo.path, "history", "--posture", "--format", "json", "--store", str(damaged))
    assert done.returncode == 0 and done.stderr.count("store of assessments is not used") == 1
    assert json.loads(done.stdout)["commits"] == json.loads(plain.stdout)["commits"]
    report = run(repo.path, "render", "report", "--out", str(tmp_path / "report"), "--format", "json",
                 "--as-of", "2025-03-08")
    assert report.returncode == 0
    env_store = {"SVCASCODE_STORE": str(tmp_path / "report.sqlite")}
    from conftest import run_cli

    with_store = run_cli("render", "report", "--out", str(tmp_path / "again"), "--format", "json", "--as-of",
                         "2025-03-08", cwd=repo.path, env={**GIT_ENV, **env_store})
    assert with_store.returncode == 0
    trend = [json.loads((tmp_path / d / "report.json").read_text())["trend"] for d in ("report", "again")]
    assert trend[0] == trend[1] and len(trend[0]) == 3
    assert sql(env_store["SVCASCODE_STORE"], "SELECT count(*) FROM ledger_assessments")[0][0] == 3


def test_the_readmes_ledger_is_this_repositorys_history(tmp_path: Path) -> None:
    """The README's auditor section shows the ledger of this repository's own example catalogue: the
    tables printed there are the ones a run prints."""
    import re

    from conftest import REPO, run_cli

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### The auditors' ledger"):readme.index("## Using it in your repository")]
    period = re.search(r"^svcascode ledger show --period (\S+)$", section, re.M)
    assert period is not None
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the README's ledger is of this repository's history")
    clone = tmp_path / "clone"
    done = subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], capture_output=True, text=True)
    shown = [line for line in section.splitlines() if line.startswith(("| `", "| 2026-", "- **", "  - `"))]
    assert len(shown) >= 20  # the controls, the days and the changes of posture
    commits = {m for m in re.findall(r"`([0-9a-f]{12})`", section)}
    if done.returncode != 0 or any(subprocess.run(["git", "-C", str(clone), "cat-file", "-e", sha + "^{commit}"],
                                                  capture_output=True).returncode for sha in commits):
        pytest.skip("this clone lacks the history the README's ledger is of (a shallow clone)")
    ran = run_cli("ledger", "show", "--period", period.group(1), "--store", str(tmp_path / "s.sqlite"), cwd=clone)
    assert ran.returncode == 0, ran.stderr
    printed = ran.stdout.splitlines()
    assert [line for line in shown if line not in printed] == []


def test_a_record_of_another_shape_in_a_shared_store_is_refused_not_shown(
        history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    from svcascode.ledger.store import (PART_NAMES, AssessmentRow, NewDay, assessment_key, canonical, content_digest,
                                        digest_of, open_store)

    parts = {name: [] if name != "controls" else ["not", "a", "mapping"] for name in PART_NAMES}
    parts["waivers"] = {}
    digests = {name: digest_of(canonical(value)) for name, value in parts.items()}
    row = AssessmentRow(assessment_key("f" * 40, "2025-03-02", "c", "l", "s"), "f" * 40, "2025-03-02", "c", "l", "s",
                        digests, content_digest(digests))
    store = open_store(str(tmp_path / "shared.sqlite"))
    try:  # a writer of the shared store that is not svcascode, with consistent hashes
        store.write("elsewhere/odd", [NewDay("2025-03-02", row.commit, row.key, row.content)], [row],
                    {digests[n]: canonical(v) for n, v in parts.items()}, "someone", "2025-03-03T00:00:00+00:00")
    finally:
        store.close()
    done = run(tmp_path, "ledger", "show", "--period", PERIOD, "--store", str(tmp_path / "shared.sqlite"))
    assert done.returncode == 2 and "not of the shape svcascode writes" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_any_text_of_the_last_row_of_any_table_changed_is_found(history: tuple[Repo, dict[str, str]],
                                                                tmp_path: Path) -> None:
    """Whichever table someone edits, and whichever of its text columns: `verify` finds it."""
    repo, _ = history
    pristine = tmp_path / "pristine.sqlite"
    assert ledger(repo.path, str(pristine)).returncode == 0
    tables = [t for (t,) in sql(str(pristine), "SELECT name FROM sqlite_master WHERE type = 'table'")
              if t != "ledger_meta"]
    for table in tables:
        columns = [(c[1], (c[2] or "").upper()) for c in sql(str(pristine), f'PRAGMA table_info("{table}")')]
        for column, kind in columns:
            if kind not in ("TEXT", "BLOB"):
                continue
            copy = tmp_path / f"{table}-{column}.sqlite"
            shutil.copy(pristine, copy)
            sql(str(copy), f'UPDATE "{table}" SET "{column}" = CAST("{column}" AS TEXT) || \'x\' '
                           f'WHERE rowid = (SELECT rowid FROM "{table}" ORDER BY rowid DESC LIMIT 1)')
            done = run(repo.path, "ledger", "verify", "--store", str(copy))
            assert done.returncode == 1, f"{table}.{column} changed, and verify said: {done.stdout}"
