"""Benchmark: `svcascode ledger` over a year of a generated history.

Builds the history `bench_history.py` builds (--services services, --commits commits, three a day from
2025-01-01, three files changed by each) and measures, each command in a fresh process as a user runs it
(wall clock, and CPU time from `wait4`, which a machine shared with other work changes much less):

- a ledger of the year 2025, cold: `ledger show --period 2025 --format json` with an empty store and an
  empty parse cache (goal: 60 s on 2 cores);
- the same again, the store holding it (goal: 1 s), as JSON and as Markdown;
- what each commit adds: a cold ledger of one day (start-up and the first commit's whole catalogue)
  against the cold year, per commit of the history and per day (goal: 10 ms a commit);
- writing the year's records into PostgreSQL against writing them into SQLite, both timed in this
  process over the same records (goal: at most 2x); needs Debian's PostgreSQL server binaries and psycopg,
  skipped (saying so) without them.

    .venv/bin/python bench/bench_ledger.py                 # 2,000 services, 1,000 commits
    .venv/bin/python bench/bench_ledger.py --services 500  # smaller (the output says so)
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the throwaway PostgreSQL server of the tests
from bench_history import build_repo  # noqa: E402

PERIOD = "2025"


def run_timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, from wait4) and output size of one run."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([sys.executable, "-m", "svcascode", *args], cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.PIPE)
        assert process.stderr is not None
        err = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        size = out.tell()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        print(f"svcascode {' '.join(args)} failed ({code}): {err.decode()[-400:]}")
        sys.exit(2)
    return wall, usage.ru_utime + usage.ru_stime, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the generated repository and print its path")
    args = parser.parse_args()
    small = args.services < 2000 or args.commits < 1000
    folder = Path(tempfile.mkdtemp(prefix="svcascode-bench-ledger."))
    repo, work = folder / "repo", folder / "work"
    repo.mkdir()
    work.mkdir()
    began = time.perf_counter()
    build_repo(repo, args.services, args.commits, 3, args.seed)
    print(f"{'SMALLER THAN THE GOAL SIZES: ' if small else ''}generated {args.services} services, "
          f"{args.commits + 1} commits (three a day from 2025-01-01) in {time.perf_counter() - began:.1f} s "
          f"({folder if args.keep else 'temporary'})")
    env = {**os.environ, "SVCASCODE_DEBUG": "1", "SVCASCODE_CACHE_DIR": str(work / "cache")}
    env.pop("SVCASCODE_STORE", None)
    store = str(work / "ledger.sqlite")
    rows: list[tuple[str, str, str]] = []

    wall, cpu, size = run_timed(["ledger", "show", "--period", PERIOD, "--format", "json", "--store", store],
                                repo, env)
    rows.append(("ledger of a year (365 days), cold", f"{wall:.1f} s (CPU {cpu:.1f} s)", "<= 60 s"))
    cold_cpu, cold_wall = cpu, wall
    for fmt in ("json", "markdown"):
        runs = [run_timed(["ledger", "show", "--period", PERIOD, "--format", fmt, "--store", store], repo, env)
                for _ in range(3)]
        best = min(runs, key=lambda r: r[0])
        rows.append((f"the same from the store, {fmt} ({best[2] / 1e6:.1f} MB)",
                     f"{best[0]:.2f} s (CPU {best[1]:.2f} s)", "<= 1 s"))

    shutil.rmtree(work / "cache", ignore_errors=True)
    one_wall, one_cpu, _ = run_timed(["ledger", "show", "--period", "2025-12-31", "--format", "json", "--store",
                                      str(work / "one.sqlite")], repo, env)
    per_commit = (cold_cpu - one_cpu) / args.commits
    per_day = (cold_cpu - one_cpu) / 364
    rows.append(("each new commit (cold year less a cold single day, CPU)",
                 f"{1000 * per_commit:.1f} ms a commit; {1000 * per_day:.1f} ms a day", "<= 10 ms"))
    rows.append(("  a cold single day (start-up, the whole catalogue once)", f"{one_wall:.1f} s (CPU {one_cpu:.1f} s)",
                 ""))

    rows.extend(_writes(repo, work))
    width = max(len(r[0]) for r in rows)
    print(f"{'row':<{width}}  {'measured':<34}  goal")
    for label, measured, goal in rows:
        print(f"{label:<{width}}  {measured:<34}  {goal}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _writes(repo: Path, work: Path) -> list[tuple[str, str, str]]:
    """Writing the year's records into SQLite and into PostgreSQL, timed in this process."""
    gc.disable()  # as the command line runs
    os.environ["SVCASCODE_CACHE_DIR"] = str(work / "cache-writes")
    from svcascode.config import load_settings
    from svcascode.ledger.book import BATCH, RECORDED_BY, Recorder, parse_period, record
    from svcascode.ledger.source import Assessor, digests, open_line
    from svcascode.ledger.store import NewDay, Store, open_store

    settings = load_settings(repo)
    line = open_line(repo, settings)
    recorder = Recorder(line, digests(repo, settings, line.repo.prefix), lambda: Assessor(line))
    made = record(None, recorder, parse_period(PERIOD))
    recorder.close()
    line.close()
    days = sorted(made.items())

    def write(store: Store) -> float:
        began = time.perf_counter()
        for start in range(0, len(days), BATCH):
            chunk = days[start:start + BATCH]
            texts: dict[str, bytes] = {}
            for _, computed in chunk:
                texts.update(computed.texts)
            store.write("bench", [NewDay(d.isoformat(), c.row.commit, c.row.key, c.row.content) for d, c in chunk],
                        [c.row for _, c in chunk], texts, RECORDED_BY, "2026-01-01T00:00:00+00:00")
        return time.perf_counter() - began

    sqlite_store = open_store(str(work / "writes.sqlite"))
    sqlite_seconds = write(sqlite_store)
    sqlite_store.close()
    out = [(f"writing {len(days)} days' records: SQLite", f"{sqlite_seconds:.2f} s", "")]
    from postgres_server import running_server

    servers = running_server()
    server = next(servers)
    try:
        if isinstance(server, str):
            out.append(("  PostgreSQL", f"not measured: {server}", "<= 2x SQLite"))
            return out
        pg_store = open_store(server.new_database())
        pg_seconds = write(pg_store)
        pg_store.close()
        out.append(("  PostgreSQL (local server, Unix socket, fsync off)",
                    f"{pg_seconds:.2f} s ({pg_seconds / max(sqlite_seconds, 1e-9):.2f}x SQLite)", "<= 2x SQLite"))
        return out
    finally:
        for _ in servers:  # stops the server
            pass


if __name__ == "__main__":
    print(f"svcascode ledger benchmark, {date.today().isoformat()}")
    sys.exit(main())
