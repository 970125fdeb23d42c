"""Fuzzing: hostile repositories (tests/fuzz/strategies.py) never make the gate crash, hang, blow up its
memory, print something a CI runner would obey, or write an output its consumer cannot parse.

Most examples run in-process (load, assess, every output format) for speed; fewer run the command line in
a subprocess with a memory limit and a timeout. The short run is part of `make test` and deterministic;
`make fuzz` runs many more examples with random seeds, keeping failures in .hypothesis/.

SVCASCODE_FUZZ_EXAMPLES    examples of the in-process test (the CLI test runs an eighth of them)
SVCASCODE_FUZZ_RANDOM=1    random seeds and the example database instead of a derandomized run
SVCASCODE_FUZZ_CATEGORIES  which generators (see strategies.py; `all` includes the ones still failing)
SVCASCODE_FUZZ_LOG=FILE    record every example's outcome as a JSON line instead of failing on the first

Beyond the catalogue, the writers (a link at a random component of an output path), the importers (hostile
ticket exports and Backstage files) and expression controls (random CEL) are fuzzed in-process, each a
category (`writers`, `imports`, `cel`; tests/fuzz/surfaces.py).
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import date
from functools import cache
from pathlib import Path
from typing import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from conftest import copy_example, cpu_seconds
from fuzz.strategies import AS_OF, FORMATS, Case, cases, categories
from fuzz.surfaces import CelCase, ImportCase, WriterCase, cel_cases, folder_writes, import_cases, writer_cases

HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("SVCASCODE_FUZZ_EXAMPLES", "20"))
RANDOM = os.environ.get("SVCASCODE_FUZZ_RANDOM") == "1"
LOG = os.environ.get("SVCASCODE_FUZZ_LOG")
SECONDS = float(os.environ.get("SVCASCODE_FUZZ_SECONDS", "5"))
# Bounds are CPU time, which another job on the machine does not stretch: SECONDS or SLOWDOWN times the CPU
# time of the unmodified example's run, whichever is more; a runaway computation is far beyond both. A run
# blocked without using the CPU (a read that never returns) is caught by WAIT_SECONDS of wall time, a margin
# no load reaches.
SLOWDOWN = 4
WAIT_SECONDS = 600
MEMORY = 200 * 1024 * 1024

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=settings.default.database if RANDOM else None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
    print_blob=RANDOM,
)

# A line a CI runner reads as a command: GitHub Actions (::name ...::) and Azure Pipelines (##[...], ##vso[...]).
# Runners split lines at \n, \r\n and \r.
WORKFLOW_COMMAND = re.compile(r"^\s*(::|##\[|##vso\[)")
OWN_ANNOTATION = re.compile(r"^::(error file=|warning|notice)")
RAW = re.compile("[\x1b\x80-\x9f\u202a-\u202e\u2066-\u2069]")


class Hung(BaseException):
    """Raised by the timer; a BaseException so that no `except Exception` in the product hides it."""


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Raise Hung in this process once it has used `seconds` of CPU time (ITIMER_PROF counts CPU time)."""
    def expire(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds:.1f} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@cache
def sarif_validator() -> Draft4Validator:
    return Draft4Validator(json.loads((HERE / "schemas" / "sarif-schema-2.1.0.json").read_text()))


def stream_problems(name: str, text: str, fmt: str) -> list[str]:
    """Workflow commands and raw escape, C1 or bidi characters in one stream."""
    problems = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        if WORKFLOW_COMMAND.match(line) and not (fmt == "github" and name == "stdout" and OWN_ANNOTATION.match(line)):
            problems.append(f"{name} line {number} is a workflow command: {line[:120]!r}")
        if RAW.search(line):
            problems.append(f"{name} line {number} has a raw control or bidi character: {line[:120]!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        problems.append(f"{name} cannot be written as UTF-8: {error}")
    return problems[:5]


def output_problems(fmt: str, text: str) -> list[str]:
    """The output does not parse as its format says."""
    try:
        if fmt == "json":
            json.loads(text)
        elif fmt == "sarif":
            errors = [e.message for e in sarif_validator().iter_errors(json.loads(text))]
            if errors:
                return [f"sarif does not match its schema: {errors[:3]}"]
        elif fmt == "junit":
            ET.fromstring(text.encode("utf-8", "surrogateescape"))
    except (ValueError, ET.ParseError) as error:
        return [f"{fmt} output does not parse: {type(error).__name__}: {str(error)[:200]}"]
    return []


def run_in_process(root: Path) -> tuple[int, dict[str, str], str]:
    """Load, assess and render every format as `check` does; (exit code, outputs, what was printed)."""
    from svcascode.assessment import ControlSelection, assess
    from svcascode.catalogue import load_catalogue
    from svcascode.config import load_settings
    from svcascode.errors import SvcascodeError
    from svcascode.formats import FORMATS as RENDERERS

    try:  # the command line prints an error's message inert, as this does
        from svcascode.cli import _quoted as shown
    except ImportError:
        shown = str
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(printed), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            settings_ = load_settings(root)
            loaded = load_catalogue(root, settings_)
            known = [c.name for c in loaded.catalogue.of_kind("Control")]
            report = assess(loaded, date.fromisoformat(AS_OF), ControlSelection.resolve((), (), known)).report("high")
            outputs = {fmt: RENDERERS[fmt](report) for fmt in FORMATS}
            code = 1 if report.exit_code else 0
        except SvcascodeError as error:
            return 2, {}, f"svcascode: error: {shown(error)}\n" + printed.getvalue()
    text = printed.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    return code, outputs, text


def in_process_problems(case: Case) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = copy_example(Path(folder) / "catalogue")
        case.write(root)
        try:
            with cpu_limit(in_process_limit()):
                code, outputs, printed = run_in_process(root)
        except Hung as error:
            return [f"hang: {error}"]
        except Exception as error:  # what the command line reports as an internal error
            return [f"internal error: {type(error).__name__}: {str(error)[:300]}"]
    problems = stream_problems("stderr", printed, "text")
    for fmt, text in outputs.items():
        problems += output_problems(fmt, text) + [f"--format {fmt}: {p}" for p in stream_problems("stdout", text, fmt)]
    return problems


@cache
def in_process_limit() -> float:
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = copy_example(Path(folder) / "catalogue")
        run_in_process(root)  # imports and warms the parse cache
        started = cpu_seconds()
        run_in_process(root)
        return max(SECONDS, SLOWDOWN * (cpu_seconds() - started))


@cache
def cli_limit() -> float:
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = copy_example(Path(folder) / "catalogue")
        started = cpu_seconds()
        subprocess.run([sys.executable, "-m", "svcascode", "check", "--as-of", AS_OF], cwd=root, capture_output=True,
                       timeout=WAIT_SECONDS)
        return max(SECONDS, SLOWDOWN * (cpu_seconds() - started))


def _limits(cpu: float) -> None:
    """Memory and CPU time of the command line's process: the kernel stops it past either."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    seconds = int(cpu) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def cli_problems(case: Case, fmt: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SVCASCODE_")}
    limit = cli_limit()
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = copy_example(Path(folder) / "catalogue")
        case.write(root)
        command = [sys.executable, "-m", "svcascode", *case.command(fmt)[1:]]
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, timeout=WAIT_SECONDS,
                                  preexec_fn=lambda: _limits(limit), env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return [f"hang: still waiting after {WAIT_SECONDS} s"]
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return [f"hang: stopped after {limit:.1f} s of CPU time"]
    problems = []
    streams = {}
    for name, data in (("stdout", done.stdout), ("stderr", done.stderr)):
        try:
            streams[name] = data.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append(f"{name} is not UTF-8: {error}")
            streams[name] = data.decode("utf-8", "replace")
    if done.returncode not in (0, 1, 2):
        problems.append(f"exit code {done.returncode}")
    if "internal error" in streams["stderr"] or "Traceback" in streams["stderr"]:
        problems.append(f"internal error: {streams['stderr'].strip()[-400:]}")
    problems += stream_problems("stdout", streams["stdout"], fmt) + stream_problems("stderr", streams["stderr"], fmt)
    if done.returncode in (0, 1):
        problems += output_problems(fmt, streams["stdout"])
    return problems


def verdict(kind: str, case: Case, fmt: str, problems: list[str], started: float) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"test": kind, "category": case.category, "format": fmt, "problems": problems,
                                  "seconds": round(time.monotonic() - started, 3),
                                  "reproducer": case.reproducer(fmt if fmt in FORMATS else "text") if problems else None}) + "\n")
        return
    assert not problems, "\n".join([*problems, "", "reproducer:", case.reproducer(fmt if fmt in FORMATS else "text")])


@FUZZ
@given(case=cases())
def test_hostile_repositories_in_process(case: Case) -> None:
    started = time.monotonic()
    verdict("in-process", case, "every format", in_process_problems(case), started)


@settings(FUZZ, max_examples=max(EXAMPLES // 8, 3))
@given(case=cases(cli=True), fmt=st.sampled_from(FORMATS))
def test_hostile_repositories_on_the_command_line(case: Case, fmt: str) -> None:
    started = time.monotonic()
    verdict("cli", case, fmt, cli_problems(case, fmt), started)


# ---------------------------------------------------------------------------------------------------
# The surfaces beyond loading and checking: writers, importers, expression controls (tests/fuzz/surfaces.py)

SURFACE_EXAMPLES = max(EXAMPLES // 4, 3)
TESTS = Path(__file__).resolve().parent


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() and not p.is_symlink() else b"<other>"
            for p in sorted(folder.rglob("*"))}


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def invoke(root: Path, args: list[str]) -> tuple[int, str]:
    """`svcascode --no-cache ARGS` in-process in `root`: (exit code, what it printed)."""
    from click.testing import CliRunner

    from svcascode.cli import main

    with inside(root), cpu_limit(in_process_limit()):
        result = CliRunner().invoke(main, ["--no-cache", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 3, f"internal error: {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


def surface_problems(code: int, printed: str) -> list[str]:
    problems = [f"exit code {code}"] if code not in (0, 1, 2) else []
    if "internal error" in printed or "Traceback" in printed:
        problems.append(f"internal error: {printed.strip()[-400:]}")
    return problems + stream_problems("output", printed, "text")


def log_or_assert(kind: str, reproducer: str, problems: list[str], started: float) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"test": kind, "problems": problems, "seconds": round(time.monotonic() - started, 3),
                                  "reproducer": reproducer if problems else None}) + "\n")
        return
    assert not problems, "\n".join([*problems, "", "reproducer:", reproducer])


def skip_unless(category: str) -> None:
    import pytest

    if category not in categories():
        pytest.skip(f"category {category} not enabled")


@settings(FUZZ, max_examples=SURFACE_EXAMPLES)
@given(case=writer_cases())
def test_writers_never_follow_a_link_out_of_the_repository(case: WriterCase) -> None:
    skip_unless("writers")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = copy_example(Path(folder) / "catalogue")
        (root / ".git").mkdir()
        (root / "tickets.csv").write_bytes((TESTS / "incident_exports/servicenow.csv").read_bytes())
        (root / "catalog-info.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\n"
                                               "metadata: {name: web}\nspec: {type: website, owner: web-team}\n")
        outside = Path(folder) / "outside"
        outside.mkdir()
        (outside / "victim").write_text("precious\n")
        link = root.joinpath(*case.parts[:case.link_at + 1])
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(outside / "victim" if case.to_file else outside)
        before = snapshot(outside)
        code, printed = invoke(root, case.args())
        problems = surface_problems(code, printed)
        if snapshot(outside) != before:
            problems.append(f"wrote outside the repository: {sorted(set(snapshot(outside)) - set(before))[:5]}")
        if code != 2 or not ("is a link" in printed or "Invalid value for" in printed):  # ours, or click's
            problems.append(f"exit {code} without refusing the link: {printed.strip()[-300:]!r}")
    log_or_assert("writers", case.reproducer(), problems, started)


@settings(FUZZ, max_examples=SURFACE_EXAMPLES * 4)
@given(case=folder_writes())
def test_the_safe_writer_refuses_a_link_at_any_component(case: tuple[tuple[str, ...], tuple[str, ...], int, str]) -> None:
    skip_unless("writers")
    from svcascode.errors import SvcascodeError
    from svcascode.safewrite import OutputFolder

    folder, below, at, target = case
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as base:
        root = Path(base) / "root"
        root.mkdir()
        outside = Path(base) / "outside"
        outside.mkdir()
        (outside / "victim").write_text("precious\n")
        parts = (*folder, *below)
        link = root.joinpath(*parts[:at + 1])
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to({"outside-folder": str(outside), "outside-file": str(outside / "victim"),
                         "inside": str(root), "loop": str(link), "dev-null": "/dev/null"}[target])
        before = snapshot(outside)
        try:
            with inside(root):
                OutputFolder("/".join(folder)).write("/".join(below), "written\n")
            problems.append(f"wrote through the link {'/'.join(parts[:at + 1])!r} -> {target}")
        except SvcascodeError as error:
            if "is a link" not in str(error):
                problems.append(f"refused without naming the link: {error}")
        except Exception as error:  # noqa: BLE001
            problems.append(f"internal error: {type(error).__name__}: {error}")
        if snapshot(outside) != before:
            problems.append("changed a file outside")
    log_or_assert("safe-writer", repr(case), problems, time.monotonic())


@settings(FUZZ, max_examples=SURFACE_EXAMPLES)
@given(case=import_cases())
def test_importers_take_hostile_exports(case: ImportCase) -> None:
    skip_unless("imports")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = Path(folder) / "org"
        import shutil

        shutil.copytree(TESTS / "fixtures" / "org-rules", root)
        (root / ".git").mkdir()
        outside = Path(folder) / "outside"
        outside.mkdir()
        (outside / "export").write_bytes(case.data)
        name = "export.csv" if case.kind == "incidents" else "catalog-info.yaml"
        path = root / name
        if case.special == "fifo":
            os.mkfifo(path)
        elif case.special == "dev-zero":
            path.symlink_to("/dev/zero")
        elif case.special == "link-outside":
            path.symlink_to(outside / "export")
        elif case.special == "folder":
            path.mkdir()
        else:
            path.write_bytes(case.data)
        before = snapshot(outside)
        args = (["import", "incidents", name, "--mapping", case.mapping, "--out", "services/imported", "--partial"]
                if case.kind == "incidents" else ["import", "backstage", name])
        code, printed = invoke(root, args)
        problems = surface_problems(code, printed)
        if snapshot(outside) != before:
            problems.append("changed a file outside the repository")
        if code in (0, 1):  # what was written reads back as valid YAML documents
            code, checked = invoke(root, ["validate", "--format", "json"])
            if code in (0, 1):
                bad = [f for f in json.loads(checked)["findings"] if f["file"].startswith("services/imported")
                       and f["rule"] in ("yaml-invalid", "file-refused")]
                problems += [f"written file does not read back: {f['file']}: {f['message']}" for f in bad[:3]]
    log_or_assert("imports", case.reproducer(), problems, started)


@settings(FUZZ, max_examples=SURFACE_EXAMPLES)
@given(case=cel_cases())
def test_random_expression_controls_stay_within_their_bounds(case: CelCase) -> None:
    skip_unless("cel")
    from svcascode.expressions import MAX_MESSAGE_CHARS

    started = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    with tempfile.TemporaryDirectory(prefix="svcascode-fuzz-") as folder:
        root = Path(folder) / "org"
        import shutil

        shutil.copytree(TESTS / "fixtures" / "org-rules", root)
        (root / "policies" / "fuzz.yaml").write_text(case.control(), encoding="utf-8")
        code, printed = invoke(root, ["check", "--as-of", AS_OF, "--format", "json"])
    problems = surface_problems(code, printed) if code == 2 else []
    if code in (0, 1):
        found = json.loads(printed)["findings"]
        long = [f["message"][:80] for f in found if len(f["message"]) > MAX_MESSAGE_CHARS + 100]
        problems += [f"a message longer than {MAX_MESSAGE_CHARS} characters: {m!r}" for m in long[:2]]
        problems += output_problems("json", printed) + stream_problems("stdout", printed, "json")
    elif code == 2:
        problems.append(f"exit 2 on an expression control: {printed.strip()[-300:]}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = usage.ru_utime + usage.ru_stime - cpu
    if spent > 60:  # three documents, each within its 200,000 steps: far below a minute of CPU
        problems.append(f"took {spent:.0f} s of CPU")
    log_or_assert("cel", case.reproducer(), problems, started)
