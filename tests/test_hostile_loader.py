"""The loader against content written by whoever opens a pull request: a forged parse cache, links planted
where the cache writes, configured paths leaving the repository, a hostile configuration file, FIFOs and
devices among the documents, YAML hazards, and what a revision holds that is not read.

Every hostile input must answer within seconds of CPU time, with a located message and the documented exit
code. Runs are in this process (`run_cli`); those that must show a read never blocks (a FIFO, a link to a
device) run in a process of their own, so that a read that did block would end in the guard's timeout
instead of stopping the test run.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import cpu_seconds, run_cli
from git_helpers import CALENDAR, GIT_ENV, TEAM, Repo, service
from svcascode.catalogue import load_catalogue
from svcascode.config import Limits, Settings
from svcascode.loading.cache import ParseCache
from svcascode.store import Store
from svcascode.loading.yamlfile import parse_text
from svcascode.runcache import INDEX

BUDGET = 5.0  # seconds of CPU time a hostile input may take
WAIT_GUARD = 120  # seconds of wall time before a process that blocks without using the CPU counts as hung

BROKEN = "apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {name: alpha}\nspec: [oops\n"


def _catalogue(root: Path) -> Path:
    for name, text in {"services/calendars.yaml": CALENDAR, "services/teams/ops.yaml": TEAM % {"name": "ops"},
                       "services/catalogue/alpha.yaml": service("alpha"),
                       ".svcascode.yaml": "roots: [services]\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _run(cwd: Path, *args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    """In a process of its own: a read that blocks ends at the guard's timeout, not the test run."""
    env = {**os.environ, **GIT_ENV, "SVCASCODE_DEBUG": ""}
    if cache is not None:
        env["SVCASCODE_CACHE_DIR"] = str(cache)
    return subprocess.run([sys.executable, "-m", "svcascode", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=WAIT_GUARD)


def _timed(cwd: Path, *args: str, cache: Path | None = None, process: bool = False) -> Any:
    """A run bounded by BUDGET seconds of CPU time, with no internal error."""
    env = {**GIT_ENV, **({"SVCASCODE_CACHE_DIR": str(cache)} if cache is not None else {})}
    started = cpu_seconds()
    result = _run(cwd, *args, cache=cache) if process else run_cli(*args, cwd=cwd, env=env)
    spent = cpu_seconds() - started
    assert spent < BUDGET, f"{args} took {spent:.1f} s of CPU time"
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    return result


def _findings(result: Any) -> list[dict[str, Any]]:
    return list(json.loads(result.stdout)["findings"])


# ---------------------------------------------------------------------------------------------------
# 1. A cache that cannot lie


def _forge(folder: Path, valid: bytes, broken: bytes) -> None:
    """A committed cache, in the format the tool used to keep in the working tree: the broken file's bytes
    keyed to what the valid file parses to."""
    entry = ParseCache.entry(parse_text("services/catalogue/alpha.yaml", valid, Limits()))
    folder.mkdir(exist_ok=True)
    for version in (3, 4):
        salt = repr((version, yaml.__version__, Limits().model_dump())).encode()
        pack = {hashlib.sha256(salt + broken).hexdigest(): entry, hashlib.sha256(salt + valid).hexdigest(): entry}
        (folder / f"parsed-v{version}.marshal").write_bytes(marshal.dumps(pack))


def test_a_forged_cache_committed_in_the_repository_is_not_believed(tmp_path: Path) -> None:
    root = _catalogue(tmp_path / "repo")
    cache = tmp_path / "cache-home"
    alpha = root / "services/catalogue/alpha.yaml"
    assert _run(root, "validate", str(alpha), cache=cache).returncode == 0  # a real cache, out of the tree
    valid = alpha.read_bytes()
    _forge(root / ".svcascode-cache", valid, BROKEN.encode())
    for made in cache.glob("*/*"):  # the real cache's files, key included, committed as well
        (root / ".svcascode-cache" / made.name).write_bytes(made.read_bytes())
    alpha.write_text(BROKEN)

    for args in (("validate", "services/catalogue/alpha.yaml", "--format", "json"), ("check", "--format", "json")):
        result = _timed(root, *args, cache=cache)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert ("yaml-invalid", "services/catalogue/alpha.yaml", 5) in {
            (f["rule"], f["file"], f["line"]) for f in _findings(result)}, result.stdout


def test_the_cache_lives_outside_the_working_tree_and_no_cache_turns_it_off(tmp_path: Path) -> None:
    root = _catalogue(tmp_path / "repo")
    cache = tmp_path / "cache-home"
    assert _run(root, "validate", cache=cache).returncode == 0
    assert not (root / ".svcascode-cache").exists()
    [folder] = list(cache.iterdir())
    names = {p.name for p in folder.iterdir()}
    runs = {name for name in names if name.startswith("run-")}
    assert names - runs == {"key", "version", ParseCache.PACK, "validate.pack", "references.pack", INDEX} \
        and len(runs) == 1  # the run cache's output
    assert all((folder / name).stat().st_mode & 0o777 == 0o600 for name in names)
    assert folder.stat().st_mode & 0o777 == 0o700
    other = tmp_path / "no-cache-home"
    for args in (("--no-cache", "validate"), ("validate", "--no-cache"), ("check", "--no-cache")):
        assert _run(root, *args, cache=other).returncode in (0, 1)
    assert not other.exists()


def test_a_pack_signed_with_another_key_or_of_another_format_is_ignored(tmp_path: Path) -> None:
    cache = ParseCache(Store(tmp_path), Limits())
    cache.parse("x.yaml", b"a: 1\n")
    cache.save()
    pack = (tmp_path / ParseCache.PACK).read_bytes()
    forged = pack.replace(marshal.dumps(1), marshal.dumps(2))  # the value changed, the signature not
    assert forged != pack
    (tmp_path / ParseCache.PACK).write_bytes(forged)
    again = ParseCache(Store(tmp_path), Limits())
    assert again.memory == {}
    assert again.parse("x.yaml", b"a: 1\n").documents[0].data == {"a": 1}
    (tmp_path / "key").write_bytes(os.urandom(32))  # a different key: the genuine pack is foreign now
    (tmp_path / ParseCache.PACK).write_bytes(pack)
    assert ParseCache(Store(tmp_path), Limits()).memory == {}


def test_links_planted_where_the_cache_writes_are_never_written_through(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = _catalogue(tmp_path / "repo")
    precious = tmp_path / "precious.txt"
    precious.write_text("precious\n")
    planted = root / ".svcascode-cache"
    planted.mkdir()
    for name in ("parsed-v3.marshal", f"parsed-v3.marshal.{os.getpid()}.tmp", "parse.pack", "key"):
        (planted / name).symlink_to(precious)
    cache = tmp_path / "cache-home"
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(cache))
    assert load_catalogue(root, Settings(roots=["services"])).findings == []
    [folder] = list(cache.iterdir())
    for name in (ParseCache.PACK, "key"):  # links planted in the real cache folder too
        (folder / name).unlink()
        (folder / name).symlink_to(precious)
    (root / "services/catalogue/beta.yaml").write_text(service("beta"))
    assert load_catalogue(root, Settings(roots=["services"])).findings == []
    assert precious.read_text() == "precious\n"
    outside = tmp_path / "outside"  # the repository's cache folder itself a link: not used at all
    outside.mkdir()
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    assert load_catalogue(root, Settings(roots=["services"])).findings == []
    assert list(outside.iterdir()) == [] and precious.read_text() == "precious\n"


# ---------------------------------------------------------------------------------------------------
# 2. The repository is the boundary


@pytest.mark.parametrize("config, setting", [
    ("roots: [../elsewhere]\n", "roots"), ("roots: [/]\n", "roots"), ("roots: [linked]\n", "roots"),
    ("roots: [services]\nexclude: [../**]\n", "exclude"), ("roots: [services]\nexclude: [/etc/*]\n", "exclude"),
])
def test_configured_paths_stay_inside_the_repository(tmp_path: Path, config: str, setting: str) -> None:
    root = _catalogue(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.yaml").write_text("a: 1\n")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / ".svcascode.yaml").write_text(config)
    result = _timed(root, "validate")
    assert result.returncode == 2, result.stdout
    assert f".svcascode.yaml: {setting}:" in result.stderr and "repository" in result.stderr, result.stderr
    assert "secret" not in result.stdout


@pytest.mark.parametrize("config, expected", [
    ("roots: " + "[" * 500 + "]" * 500 + "\n", ".svcascode.yaml:1:"),
    ("roots: [services]\nlimits:\n  max_nodes: " + "9" * 6000 + "\n", ".svcascode.yaml:3:14: cannot be read: number too large"),
    ("roots: [services]\nroots: [policies]\n", ".svcascode.yaml:2:1: cannot be read: duplicate key 'roots'"),
    ("roots: !!python/object/apply:os.system [true]\n", ".svcascode.yaml:1:8: cannot be read: unsafe YAML tag"),
    ("limits: {max_file_bytes: 100000000000}\n", "limits.max_file_bytes"),
])
def test_a_hostile_configuration_is_a_located_exit_2(tmp_path: Path, config: str, expected: str) -> None:
    root = _catalogue(tmp_path / "repo")
    (root / ".svcascode.yaml").write_text(config)
    result = _timed(root, "validate")
    assert result.returncode == 2 and expected in result.stderr, result.stderr


def test_a_configuration_that_is_no_regular_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    root = _catalogue(tmp_path / "repo")
    config = root / ".svcascode.yaml"
    config.unlink()
    os.mkfifo(config)
    result = _timed(root, "validate", process=True)
    assert result.returncode == 2 and ".svcascode.yaml: a FIFO" in result.stderr, result.stderr
    config.unlink()
    config.symlink_to("/dev/zero")
    result = _timed(root, "validate", process=True)
    assert result.returncode == 2 and ".svcascode.yaml: a link to /dev/zero" in result.stderr, result.stderr
    config.unlink()
    (root / "pyproject.toml").write_text("[tool.svcascode]\nroots = " + "[" * 5000 + "]" * 5000 + "\n")
    result = _timed(root, "validate")
    assert result.returncode == 2 and "pyproject.toml: cannot be read" in result.stderr, result.stderr
    (root / "pyproject.toml").write_text("[tool.svcascode]\nroots = ['services']\n" + "#" * 300_000 + "\n")
    result = _timed(root, "validate")
    assert result.returncode == 2 and "pyproject.toml: file is" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------------
# 3. Only regular files are read


def test_fifos_sockets_and_links_to_them_are_refused_without_being_opened(tmp_path: Path) -> None:
    root = _catalogue(tmp_path / "repo")
    os.mkfifo(root / "services/fifo.yaml")
    (root / "services/to-fifo.yaml").symlink_to("fifo.yaml")
    server = socket.socket(socket.AF_UNIX)
    try:
        os.chdir(root / "services")  # a short path for the socket's name
        server.bind("socket.yaml")
    finally:
        os.chdir(tmp_path)
    try:
        result = _timed(root, "validate", "--format", "json", process=True)
    finally:
        server.close()
    assert result.returncode == 1
    refused = {f["file"]: f["message"] for f in _findings(result) if f["rule"] == "file-refused"}
    assert set(refused) == {"services/fifo.yaml", "services/to-fifo.yaml", "services/socket.yaml"}, refused
    assert "FIFO" in refused["services/fifo.yaml"] and "socket" in refused["services/socket.yaml"]
    result = _timed(root, "validate", "services/fifo.yaml", process=True)  # named on the command line: refused the same
    assert result.returncode == 1 and "FIFO" in result.stdout


# ---------------------------------------------------------------------------------------------------
# 4. Every YAML hazard, every time


def test_two_merge_keys_in_one_mapping_are_a_duplicate_key() -> None:
    text = b"base: &b {x: 1}\nother: &o {x: 2}\nm:\n  <<: *b\n  <<: *o\n"
    problems = parse_text("x.yaml", text, Limits()).problems
    assert [(p.line, p.column) for p in problems] == [(5, 3)] and "duplicate key '<<'" in problems[0].message


def test_every_hazard_of_a_file_is_reported_with_its_line() -> None:
    text = (b"a: 1\na: 2\nb:\n  c: !!python/object:os.system x\n  d: !!python/name:os.system y\n"
            b"  e: 1\n  e: 2\n---\nf: !custom z\n")
    problems = parse_text("x.yaml", text, Limits()).problems
    assert [p.line for p in problems] == [2, 4, 5, 7, 9], problems
    tabs = parse_text("x.yaml", b"a:\n\tb: 1\nc:\n\td: 2\n", Limits()).problems
    assert [p.line for p in tabs] == [2, 4] and all("tab" in p.message for p in tabs)


def test_a_number_with_thousands_of_digits_is_a_located_finding(tmp_path: Path) -> None:
    root = _catalogue(tmp_path / "repo")
    alpha = root / "services/catalogue/alpha.yaml"
    alpha.write_text(alpha.read_text() + "  x-size: " + "9" * 5000 + "\n")
    line = alpha.read_text().count("\n")
    result = _timed(root, "validate", "--format", "json")
    assert result.returncode == 1, result.stderr
    [problem] = [f for f in _findings(result) if f["file"] == "services/catalogue/alpha.yaml"]
    assert (problem["rule"], problem["line"]) == ("yaml-invalid", line) and "number too large" in problem["message"]
    hex_number = parse_text("x.yaml", b"n: 0x" + b"f" * 5000 + b"\n", Limits()).problems
    assert [p.line for p in hex_number] == [1] and "number too large" in hex_number[0].message


@pytest.mark.parametrize("text", [b"? " + b" " * 100_000 + b"\n", b"a:\n  ? " + b" " * 100_000 + b"x\n  : 1\n"])
def test_a_huge_line_answers_quickly_with_a_located_finding(tmp_path: Path, text: bytes) -> None:
    root = _catalogue(tmp_path / "repo")
    (root / "services/long.yaml").write_bytes(text)
    result = _timed(root, "validate", "--format", "json")
    assert result.returncode == 1
    [problem] = [f for f in _findings(result) if f["file"] == "services/long.yaml"]
    assert problem["rule"] == "yaml-invalid" and problem["line"] >= 1 and "characters long" in problem["message"]


# ---------------------------------------------------------------------------------------------------
# 5. What a revision holds that is not read


def test_a_submodule_and_other_files_at_a_revision_are_noted_once(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    _catalogue(repo.path)
    repo.write({"services/README.md": "# services\n"})
    sha = repo.commit("catalogue")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sha},services/vendor")
    repo.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "vendor submodule")
    result = _timed(repo.path, "check", "--rev", "HEAD", "--base", "HEAD~1", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("svcascode: note:") == 1, result.stderr
    assert "services/vendor: a git submodule" in result.stderr and "services/README.md" in result.stderr
