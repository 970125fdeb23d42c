"""Benchmark: every row of the speed table, measured in one run, each as a ratio to a bare libyaml parse.

    python bench/bench.py                  # 10,000 services; history at 1,001 x 2,000 and 201 x 10,000
    SVCASCODE_BENCH_QUICK=1 python bench/bench.py     # a quick run at smaller sizes (the output says so)

Every command runs as a user runs it: a fresh process, timed from start to exit (wall clock), its peak
resident memory read from the kernel (`wait4`; the largest process of the run, workers included). Each
timed run is interleaved with a run of the baseline, a fresh `python` process that does nothing but
`yaml.load_all(..., Loader=yaml.CSafeLoader)` over the same files, and each row reports the median of
its runs and the median of the baseline runs next to it: on a machine shared with other work the ratio
of the two moves much less than either figure.

Sizes and repeats come from the environment, so that `make bench` stays one command:
SVCASCODE_BENCH_SERVICES (10000), SVCASCODE_BENCH_REPEAT (3), SVCASCODE_BENCH_COMMAND_SIZES (`1000,10000`: the
sizes of the rows of render, forecast, diff, sla and history), SVCASCODE_BENCH_HISTORY (`1001x2000,201x10000`:
commits x services of each history row), SVCASCODE_BENCH_QUICK=1 (1,000 services, histories 101x500 and
51x1000, 2 repeats), SVCASCODE_BENCH_AS_OF (2026-11-27), SVCASCODE_BENCH_TOOL_FILES (every one-document
file; a number measures the two linters on that many of them, spread evenly, against the parse of the same). check-jsonschema and yamllint are measured when
installed (on a corpus of one document per file, since both refuse or misjudge files of several).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_history import build_repo  # noqa: E402
from generate import generate, single_documents  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RAW_PARSE = ("import sys, yaml\n"
             "for name in open(sys.argv[1]).read().split('\\n'):\n"
             "    if name:\n"
             "        list(yaml.load_all(open(name, 'rb').read(), Loader=yaml.CSafeLoader))\n")
EDITED = 10  # files edited before "check after editing"
ONE_FILE = "services/catalogue/claims-api.yaml"  # the pre-commit case: one file of the example catalogue


@dataclass
class Row:
    label: str
    goal: str
    seconds: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    note: str = ""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of `command`; exits the benchmark when it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    error = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(command)} exited {code}: {error.decode(errors='replace')[-600:]}")
    return elapsed, usage.ru_maxrss / 1024


def settings_from_env() -> dict[str, object]:
    quick = os.environ.get("SVCASCODE_BENCH_QUICK") == "1"
    histories = os.environ.get("SVCASCODE_BENCH_HISTORY", "101x500,51x1000" if quick else "1001x2000,201x10000")
    return {
        "quick": quick,
        "services": int(os.environ.get("SVCASCODE_BENCH_SERVICES", "1000" if quick else "10000")),
        "repeat": int(os.environ.get("SVCASCODE_BENCH_REPEAT", "2" if quick else "3")),
        "histories": [tuple(int(n) for n in h.split("x")) for h in histories.split(",") if h],
        "as_of": os.environ.get("SVCASCODE_BENCH_AS_OF", "2026-11-27"),
        "command_sizes": [int(n) for n in os.environ.get(
            "SVCASCODE_BENCH_COMMAND_SIZES", "200,1000" if quick else "1000,10000").split(",") if n],
    }


def tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def main() -> int:
    config = settings_from_env()
    services, repeat, as_of = int(config["services"]), int(config["repeat"]), str(config["as_of"])  # type: ignore[call-overload]
    svcascode = tool("svcascode")
    if svcascode is None:
        sys.exit("svcascode is not installed beside this python: run `make bench`")
    with tempfile.TemporaryDirectory(prefix="svcascode-bench.") as folder:
        base = Path(folder)
        root = base / "catalogue"
        files = generate(root, services)
        singles = single_documents(base / "single", files)
        sample_of = len(singles)
        sample = int(os.environ.get("SVCASCODE_BENCH_TOOL_FILES", "0")) or len(singles)
        if sample < len(singles):  # check-jsonschema and yamllint on every n-th file, against the same files' parse
            step = len(singles) / sample
            chosen = [singles[int(i * step)] for i in range(sample)]
            for path in set(singles) - set(chosen):
                path.unlink()
            singles = chosen
        lists = {}
        for name, group in (("files", files), ("singles", singles)):
            lists[name] = base / f"{name}.txt"
            lists[name].write_text("\n".join(str(p) for p in group) + "\n")
        cache = base / "cache"
        env = {**os.environ, "SVCASCODE_CACHE_DIR": str(cache)}
        size = sum(p.stat().st_size for p in files)
        cpus = os.cpu_count() or 1
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        smaller = [what for what, reduced in (
            (f"{services:,} services, not 10,000", services != 10_000),
            ("histories " + ", ".join(f"{c}x{n}" for c, n in config["histories"])  # type: ignore[attr-defined]
             + ", not 1001x2000 and 201x10000", config["histories"] != [(1001, 2000), (201, 10_000)]),
            (f"the linters on {len(singles):,} of the one-document files", len(singles) < sample_of),
        ) if reduced]
        print("svcascode benchmark" + (f" -- SMALLER THAN THE GOAL SIZES: {'; '.join(smaller)}" if smaller else ""))
        print(f"catalogue: {services:,} generated services, {len(files):,} files of {size / len(files) / 1024:.1f} KB; "
              f"{repeat} runs a row; {cpus} CPUs, load average {load:.1f} at the start")
        raw = [sys.executable, "-c", RAW_PARSE, str(lists["files"])]
        raw_singles = [sys.executable, "-c", RAW_PARSE, str(lists["singles"])]
        check = [svcascode, "check", "--format", "json", "--as-of", as_of]
        validate = [svcascode, "validate", "--format", "json"]
        timed(raw, root, env)  # the page cache, for every run alike

        rows: list[Row] = []

        def measure(row: Row, command: list[str], cwd: Path, before: object = None, baseline: list[str] = raw
                    ) -> Row:
            for _ in range(repeat):
                if callable(before):
                    before()
                seconds, peak = timed(command, cwd, env)
                row.seconds.append(seconds)
                row.peak_mb.append(peak)
                row.baseline.append(timed(baseline, root, env)[0])
            rows.append(row)
            _progress(row)
            return row

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        edits = iter(range(1, 1_000_000))

        def edit() -> None:
            """Change the description of EDITED services (a new text each time), as a pull request does."""
            number = next(edits)
            for path in files[1:1 + EDITED]:
                text = path.read_text()
                start = text.index("  description:")
                end = text.index("\n", start)
                path.write_text(f"{text[:start]}  description: Edited {number} times.{text[end:]}")

        def comment() -> None:
            """Append a comment to EDITED services (a new one each time): what they mean does not change."""
            number = next(edits)
            for path in files[1 + EDITED:1 + 2 * EDITED]:
                path.write_text(path.read_text() + f"# reviewed {number}\n")

        # cold two ways: with --no-cache (nothing read or written), and with an empty store, which the run fills
        # for the next (a fresh CI runner that keeps the store between its commands, as the GitHub action does)
        measure(Row("check, cold (--no-cache)", "<= 1.0x"), [*check, "--no-cache"], root)
        measure(Row("check, cold (an empty store, filled by the run)", "<= 1.0x"), check, root, cold)
        measure(Row("check, warm (nothing changed)", "<= 0.10x"), check, root)
        measure(Row(f"check after a comment in {EDITED} of the {len(files):,} files", "<= 0.15x"), check, root,
                comment)
        measure(Row(f"check after editing {EDITED} of the {len(files):,} files", "<= 0.15x"), check, root, edit)
        timed(validate, root, env)  # the validate before: a warm validate repeats it
        measure(Row("validate, warm", "<= 0.10x"), validate, root)
        check_peak = max(p for r in rows for p in r.peak_mb if r.label.startswith("check"))
        plain_peak = max(p for r in rows for p in r.peak_mb if r.label.startswith("check, cold (--no-cache)"))
        plain_memory = Row("peak memory of check --no-cache", "<= 300 MB", note=f"{plain_peak:.0f} MB")
        rows.append(plain_memory)
        memory = Row("peak memory of check (any of the runs above)", "<= 300 MB", note=f"{check_peak:.0f} MB")
        rows.append(memory)

        example_env = {**env, "SVCASCODE_CACHE_DIR": str(base / "example-cache")}
        one_file = [svcascode, "validate", ONE_FILE]
        timed(one_file, REPO, example_env)  # its cache, as a pre-commit hook has it after the first run
        bare = [sys.executable, "-c", "pass"]

        def one_file_row(label: str, cwd: Path, before: Callable[[int], None] = lambda number: None) -> Row:
            """One-file validate, each run timed beside a bare `python -c pass`: a goal in seconds."""
            row = Row(label, "<= 0.2 s")
            for number in range(repeat * 2):
                before(number)
                row.seconds.append(timed(one_file, cwd, example_env)[0])
                row.baseline.append(timed(bare, REPO, env)[0])
            row.note = (f"{statistics.median(row.seconds):.3f} s; a bare `python -c pass` "
                        f"{statistics.median(row.baseline):.3f} s")
            rows.append(row)
            return row

        start_row = one_file_row(f"one-file validate in the example catalogue ({ONE_FILE})", REPO)
        example = base / "example"  # a copy, so that its file can be edited
        for folder_name in ("services", "policies"):
            shutil.copytree(REPO / folder_name, example / folder_name)
        edited_file = example / ONE_FILE
        original = edited_file.read_text()
        timed(one_file, example, example_env)
        edited_row = one_file_row("one-file validate, that file edited before each run", example, lambda number:
                                  edited_file.write_text(original.replace('  description: "',
                                                                          f'  description: "Edited {number}. ', 1)))

        for size in config["command_sizes"]:  # type: ignore[attr-defined]
            command_rows(size, svcascode, base, env, repeat, as_of, rows, measure_in=timed)

        history_rows: list[tuple[Row, int, int]] = []
        for commits, size_services in config["histories"]:  # type: ignore[attr-defined]
            repo = base / f"history-{commits}x{size_services}"
            build_repo(repo, size_services, commits - 1, 3, 7)
            goal = {2000: "<= 10 ms per commit", 10000: "<= 15 ms per commit"}.get(size_services, "")
            row = Row(f"history --posture, {commits:,} commits x {size_services:,} services", goal)
            history = [svcascode, "history", "--posture", "--format", "json"]
            seconds, peak = timed(history, repo, {**env, "SVCASCODE_CACHE_DIR": str(base / "history-cache")})
            row.seconds.append(seconds)
            row.peak_mb.append(peak)
            row.note = f"{1000 * seconds / commits:.1f} ms per commit, peak {peak:.0f} MB"
            print(f"  measured: {row.label}: {row.note}", file=sys.stderr, flush=True)
            rows.append(row)
            history_rows.append((row, commits, size_services))
            shutil.rmtree(repo, ignore_errors=True)

        for name, command in (("check-jsonschema", [tool("check-jsonschema") or "", "--schemafile",
                                                    str(REPO / "schemas" / "svcascode.schema.json"),
                                                    *[str(p) for p in singles]]),
                              ("yamllint", [tool("yamllint") or "", "-d", "relaxed", "-f", "parsable",
                                            str(base / "single")])):
            if not command[0]:
                rows.append(Row(f"{name} (not installed)", "", note="skipped"))
                continue
            measure(Row(f"{name}, {len(singles):,} one-document files (x their own raw parse)", ""), command, root,
                    baseline=raw_singles)

        print()
        table = [("", "seconds", "raw parse", "ratio", "goal", "measured")]
        for row in rows:
            seconds = statistics.median(row.seconds) if row.seconds else None
            baseline = statistics.median(row.baseline) if row.baseline else None
            if row is memory:
                value, shown = check_peak, row.note
            elif row is plain_memory:
                value, shown = plain_peak, row.note
            elif row is start_row or row is edited_row:
                value, shown = seconds, row.note
            elif any(r is row for r, _, _ in history_rows):
                commits = next(c for r, c, _ in history_rows if r is row)
                value, shown = 1000 * (seconds or 0) / commits, row.note
            elif seconds is not None and baseline:
                value, shown = seconds / baseline, f"peak {max(row.peak_mb):.0f} MB"
            else:
                value, shown = None, row.note
            seconds_row = row is start_row or row is edited_row  # a goal in seconds, not a ratio
            ratio = f"{seconds / baseline:.2f}x" if seconds is not None and baseline and not seconds_row else ""
            table.append((row.label, f"{seconds:.2f}" if seconds is not None else "",
                          f"{baseline:.2f}" if baseline and not seconds_row else "", ratio,
                          row.goal + (_met(row.goal, value) if value is not None else ""), shown))
        widths = [max(len(line[i]) for line in table) for i in range(6)]
        for line in table:
            print("  ".join([line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:5], widths[1:5])),
                             line[5]]).rstrip())
        print()
        print(f"seconds and raw parse are medians of {repeat} interleaved runs (history: one run). Load average at "
              f"the end {os.getloadavg()[0]:.1f} on {cpus} CPUs: on a shared machine read the ratios, not the "
              "seconds.")
    return 0


# Every command on the same core: each over a generated catalogue in a git repository whose last commit
# changed 10 files, cold (no store) and warm (the same command again), against the raw parse of its files.
COMMANDS = {
    "render catalogue": (["render", "catalogue", "--out", "{out}/site"], "<= 2.0x", "<= 0.3x"),
    "render report": (["render", "report", "--out", "{out}/report", "--format", "json", "--history-commits", "0"],
                      "", ""),
    "forecast --days 90": (["forecast", "--days", "90", "--format", "json"], "<= 1.5x", "<= 0.3x"),
    "diff HEAD~1 HEAD": (["diff", "HEAD~1", "HEAD", "--format", "json"], "<= 1.5x", "<= 0.3x"),
    "sla attainment": (["sla", "attainment", "--period", "2026-11"], "", ""),
    "history --posture (2 commits)": (["history", "--posture", "--format", "json"], "", ""),
}


def command_rows(size: int, svcascode: str, base: Path, env: dict[str, str], repeat: int, as_of: str,
                 rows: list[Row], measure_in: Callable[[list[str], Path, dict[str, str]], tuple[float, float]]) -> None:
    """A cold and a warm row for each command of COMMANDS at `size` services."""
    repo = base / f"commands-{size}"
    files = generate(repo, size)
    git_env = {**env, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "catalogue")
    for path in files[1:1 + EDITED]:
        text = path.read_text()
        if "  description:" not in text:  # a catalogue smaller than EDITED services: its shared documents
            continue
        start = text.index("  description:")
        end = text.index("\n", start)
        path.write_text(f"{text[:start]}  description: Changed in the last commit.{text[end:]}")
    git("commit", "-qam", "ten files changed")
    listing = base / f"commands-{size}.txt"
    listing.write_text("\n".join(str(p) for p in files) + "\n")
    raw = [sys.executable, "-c", RAW_PARSE, str(listing)]
    store = base / f"commands-{size}-store"
    command_env = {**env, "SVCASCODE_CACHE_DIR": str(store)}
    out = base / f"commands-{size}-out"
    for name, (arguments, cold_goal, warm_goal) in COMMANDS.items():
        # history evaluates each commit as of its own date: it takes no --as-of
        dated = [] if arguments[0] == "history" else ["--as-of", as_of]
        command = [svcascode, *[a.format(out=out) for a in arguments], *dated]
        for label, goal in (("cold", cold_goal), ("warm", warm_goal)):
            row = Row(f"{name}, {size:,} services, {label}", goal)
            for _ in range(repeat if size <= 1000 else 1):
                if label == "cold":
                    shutil.rmtree(store, ignore_errors=True)
                else:
                    measure_in(command, repo, command_env)  # the run before: what a warm run reuses
                shutil.rmtree(out, ignore_errors=True)
                seconds, peak = measure_in(command, repo, command_env)
                row.seconds.append(seconds)
                row.peak_mb.append(peak)
                row.baseline.append(measure_in(raw, repo, env)[0])
            rows.append(row)
            _progress(row)
    shutil.rmtree(repo, ignore_errors=True)


def _progress(row: Row) -> None:
    """Each row as soon as it is measured (the table follows at the end), on stderr."""
    seconds, baseline = statistics.median(row.seconds), statistics.median(row.baseline)
    print(f"  measured: {row.label}: {seconds:.2f} s, raw parse {baseline:.2f} s, {seconds / baseline:.2f}x, "
          f"peak {max(row.peak_mb):.0f} MB", file=sys.stderr, flush=True)


def _met(goal: str, value: float) -> str:
    """` (met)` or ` (not met)` for a goal such as `<= 0.10x`, `<= 300 MB` or `<= 10 ms per commit`."""
    if not goal.startswith("<="):
        return ""
    limit = float(goal.split()[1].rstrip("x"))
    return " (met)" if value <= limit else " (not met)"


if __name__ == "__main__":
    sys.exit(main())
