"""The run cache answers a `check`, `validate`, `forecast` or `diff` only when its inputs mean what an earlier run's meant (what
`-v` says of each run tells whether it answered). That its answers are those of a full run after any
sequence of edits is proven, for every stage, by tests/test_equivalence.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, copy_example
from git_helpers import committed
from test_expressions import PLUGIN_CONTROL
from svcascode.cli import main
from svcascode.store import cache_folder
from svcascode.runcache import INDEX, KEEP

AS_OF = "2026-11-27"


ANSWERED: list[bool] = []  # for each run of `_run`, whether `-v` said the run cache answered it


class Spy:
    """Whether each run made since was answered by the run cache, as `-v` says it on stderr."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = len(ANSWERED)

    @property
    def answered(self) -> list[bool]:
        return ANSWERED[self.start:]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    made = copy_example(tmp_path / "catalogue")
    monkeypatch.chdir(made)
    return made


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-v", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if "--no-cache" not in args:
        ANSWERED.append("run        1 reused" in result.stderr)
    return result.exit_code, result.stdout


def _full(*args: str) -> tuple[int, str]:
    """The same command with no cache at all: parsed, validated and evaluated afresh."""
    return _run("--no-cache", *args)


CHECK = ("check", "--format", "json", "--as-of", AS_OF)


def test_a_comment_is_answered_from_the_run_cache_and_a_change_of_data_is_not(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    first = _run(*CHECK)
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text() + "# reviewed\n")
    assert _run(*CHECK) == first and spy.answered == [False, True]
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    edited = _run(*CHECK)
    assert spy.answered[-1] is False and edited != first and edited == _full(*CHECK)
    assert _run(*CHECK) == edited and spy.answered[-1] is True


def test_what_the_output_depends_on_besides_the_files_makes_a_full_run(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    _run(*CHECK)
    for args in (("check", "--format", "json", "--as-of", "2027-06-30"), ("check", "--format", "sarif", "--as-of", AS_OF),
                 ("check", "--format", "json", "--as-of", AS_OF, "--fail-on", "low"),
                 ("check", "--format", "json", "--as-of", AS_OF, "--select", "svc-owner-exists"),
                 ("validate", "--format", "json"), ("validate", "services/catalogue/claims-api.yaml")):
        answered = len(spy.answered)
        result = _run(*args)
        assert spy.answered[answered:] == [False], args
        assert result == _full(*args), args
        assert _run(*args) == result and spy.answered[-1] is True, args
    (root / ".svcascode.yaml").write_text("exclude: ['services/catalogue/claims-api.yaml']\n")
    excluded = _run(*CHECK)
    assert spy.answered[-1] is False and excluded == _full(*CHECK) and "services/catalogue/claims-api.yaml" not in excluded[1]


def test_a_comment_in_a_control_or_in_a_file_with_a_finding_makes_a_full_run(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Their findings quote the text (an expression's position, a schema error's explanation)."""
    control = root / "policies" / "controls" / "svc-owner-exists.yaml"  # the library's, as the repository's own
    control.parent.mkdir(parents=True, exist_ok=True)
    control.write_bytes((REPO / "svcascode" / "library" / "controls" / "svc-owner-exists.yaml").read_bytes())
    broken = root / "services" / "catalogue" / "broken.yaml"
    broken.write_text("apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {name: broken}\nspec: {tier: 7}\n")
    spy = Spy(monkeypatch)
    _run(*CHECK)
    for edited in (control, broken):
        edited.write_text(edited.read_text() + "# a comment\n")
        assert _run(*CHECK) == _full(*CHECK)
        assert spy.answered[-1] is False, edited


def test_a_forged_or_foreign_run_output_is_never_written(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run(*CHECK)
    folder = cache_folder(root)
    [run] = [p for p in folder.iterdir() if p.name.startswith("run-")]
    blob = run.read_bytes()
    forged = blob.replace(b'"exitCode": 1', b'"exitCode": 0')
    assert forged != blob
    run.write_bytes(forged)  # the text changed, the signature not
    spy = Spy(monkeypatch)
    assert _run(*CHECK) == first and spy.answered == [False]
    (folder / "key").write_bytes(os.urandom(32))  # another key: nothing signed with the old one is used
    assert _run(*CHECK) == first and spy.answered == [False, False]


def test_the_run_cache_keeps_the_last_outputs_only(root: Path) -> None:
    for day in range(1, KEEP + 4):
        _run("check", "--format", "json", "--as-of", f"2026-11-{day:02d}")
    folder = cache_folder(root)
    assert len([p for p in folder.iterdir() if p.name.startswith("run-")]) == KEEP
    assert (folder / INDEX).exists()



@pytest.mark.parametrize("command", [CHECK, ("forecast", "--days", "30", "--format", "json", "--as-of", AS_OF)])
def test_a_run_answered_from_the_run_cache_imports_neither_pydantic_nor_the_engine(
        root: Path, command: tuple[str, ...]) -> None:
    def run() -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "svcascode", *command], cwd=root,
                              capture_output=True, text=True, timeout=300, env={**os.environ})
        return done.stdout, done.stderr

    cold, cold_imports = run()
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text() + "# reviewed\n")
    warm, warm_imports = run()
    assert warm == cold and f'"asOf": "{AS_OF}"' in warm
    assert " pydantic" in cold_imports and " svcascode.engine" in cold_imports
    assert " pydantic" not in warm_imports and " svcascode.engine" not in warm_imports


def test_with_a_plugin_check_installed_every_run_is_a_full_run(tmp_path: Path) -> None:
    """A plugin's code (and whatever it reads) is outside the key: its changed code is a changed answer."""
    import shutil

    fixtures = REPO / "tests" / "fixtures"
    org = shutil.copytree(fixtures / "org-rules", tmp_path / "org")
    plugin = shutil.copytree(fixtures / "plugin", tmp_path / "plugin")
    (org / "policies" / "acme.yaml").write_text(PLUGIN_CONTROL % "acme_team_size\n    params: {maxMembers: 1}")
    env = {**os.environ, "PYTHONPATH": str(plugin), "SVCASCODE_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> str:
        done = subprocess.run([sys.executable, "-m", "svcascode", *CHECK], cwd=org, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    first = run()
    assert "team has 2 members, more than 1" in first and run() == first
    module = plugin / "acme_checks" / "__init__.py"
    module.write_text(module.read_text().replace("team has", "the team has"))
    assert "the team has 2 members, more than 1" in run()



def _cli(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "svcascode", *args], cwd=root, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


def test_an_answer_is_written_as_a_full_run_writes_it_whatever_the_encoding_of_stdout(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / "services" / "catalogue" / "sérvice.yaml").write_text(
        "apiVersion: svcascode.io/v1alpha1\nkind: Sérvice\nmetadata: {name: café}\n")
    env = {"PYTHONIOENCODING": "ascii", "SVCASCODE_CACHE_DIR": str(tmp_path / "cache")}
    full = _cli(root, env, "--no-cache", "validate")
    first, second = _cli(root, env, "validate"), _cli(root, env, "validate")
    assert full.returncode == first.returncode == second.returncode == 1, second.stderr
    assert full.stdout == first.stdout == second.stdout and "Sérvice" in second.stdout


def test_a_broken_plugin_entry_point_fails_no_run(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    dist = tmp_path / "site" / "broken_checks-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[svcascode.checks]\nbad = not a valid value!\n")
    env = {"PYTHONPATH": str(tmp_path / "site"), "SVCASCODE_CACHE_DIR": str(tmp_path / "cache")}
    full = _cli(root, env, "--no-cache", *CHECK)
    for _ in range(2):
        run = _cli(root, env, *CHECK)
        assert (run.returncode, run.stdout) == (full.returncode, full.stdout) and full.returncode == 1, run.stderr


def test_a_repository_with_the_cache_turned_off_gets_no_cache_folder(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / ".svcascode.yaml").write_text("cache: false\n")
    env = {"SVCASCODE_CACHE_DIR": str(tmp_path / "cache")}
    for args in (CHECK, ("validate",), CHECK):
        assert _cli(root, env, *args).returncode in (0, 1)
    assert not (tmp_path / "cache").exists()


def test_an_answer_goes_to_the_output_file_asked_for(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    first = _run(*CHECK, "--output", "first.json")
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text() + "# reviewed\n")
    second = _run(*CHECK, "--output", "second.json")
    assert spy.answered == [False, True] and first == second and first[1] == ""
    assert (root / "first.json").read_bytes() == (root / "second.json").read_bytes()
    assert '"findings"' in (root / "second.json").read_text()


def test_a_new_commit_makes_a_full_run(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery is judged by the definitions of the commit in force then: a new commit is new history."""
    git = committed(root)
    spy = Spy(monkeypatch)
    first = _run(*CHECK)
    assert _run(*CHECK) == first and spy.answered == [False, True]
    git("commit", "-q", "--allow-empty", "-m", "nothing but history")
    assert _run(*CHECK) == first and spy.answered[-1] is False
    assert _run(*CHECK) == first and spy.answered[-1] is True


FORECAST = ("forecast", "--days", "45", "--format", "json", "--as-of", AS_OF)


def test_a_forecast_is_answered_while_its_inputs_are_the_same(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    first = _run(*FORECAST)
    assert '"deadlines"' in first[1] and _run(*FORECAST) == first and spy.answered == [False, True]
    for args in (("forecast", "--days", "20", "--format", "json", "--as-of", AS_OF),
                 ("forecast", "--days", "20", "--format", "json", "--as-of", "2027-01-15"),
                 ("forecast", "--days", "5", "--every-day", "--format", "json", "--as-of", AS_OF),
                 ("forecast", "--days", "20", "--format", "markdown", "--as-of", AS_OF),
                 ("forecast", "--days", "20", "--format", "json", "--as-of", AS_OF, "services/catalogue")):
        result = _run(*args)
        assert spy.answered[-1] is False and result != first, args
        assert _run(*args) == result and spy.answered[-1] is True, args
    assert _run(*FORECAST) == first and spy.answered[-1] is True
    waivers = root / "policies" / "waivers.yaml"  # a waiver that now ends inside the period
    waivers.write_text(waivers.read_text().replace("expiresAt: 2027-03-31", "expiresAt: 2027-01-10", 1))
    edited = _run(*FORECAST)
    assert spy.answered[-1] is False and edited != first and edited == _full(*FORECAST)


def test_a_forecast_that_writes_calendars_is_never_answered(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    for _ in range(2):
        shutil.rmtree(root / "calendars", ignore_errors=True)
        assert _run("forecast", "--days", "10", "--as-of", AS_OF, "--ical", "calendars")[0] == 0
        assert list((root / "calendars").glob("*.ics"))
    assert spy.answered == [False, False]


def _diff(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-v", "diff", *args, "--format", "json", "--as-of", AS_OF])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    ANSWERED.append("run        1 reused" in result.stderr)
    return result.exit_code, result.stdout, result.stderr.split("svcascode: stages")[0]


def test_a_diff_of_two_commits_is_answered_by_their_ids(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git = committed(root)
    (root / "services" / "NOTES.md").write_text("what the folder holds\n")  # not read, said on stderr
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    git("add", "-A")
    git("commit", "-qm", "claims-api is tier 2")
    spy = Spy(monkeypatch)
    first = _diff("HEAD~1", "HEAD")
    assert "services/NOTES.md: not a .yaml or .yml file" in first[2] and '"tier"' in first[1]
    service.write_text(service.read_text().replace("tier: tier-2", "tier: tier-3", 1))  # the working tree: not read
    assert _diff("HEAD~1", "HEAD") == first and spy.answered == [False, True]
    full = CliRunner().invoke(main, ["--no-cache", "diff", "HEAD~1", "HEAD", "--format", "json", "--as-of", AS_OF])
    assert (full.exit_code, full.stdout) == first[:2]
    assert _diff("HEAD~1", "HEAD", "--fail-on-weakened")[0] != first[0] and spy.answered[-1] is False
    git("commit", "-qam", "claims-api is tier 3")  # HEAD~1 and HEAD name other commits now
    moved = _diff("HEAD~1", "HEAD")
    assert spy.answered[-1] is False and moved != first and '"tier-3"' in moved[1]


def test_a_diff_answered_by_the_run_cache_imports_neither_pydantic_nor_gitpython(root: Path) -> None:
    git = committed(root)
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    git("commit", "-qam", "claims-api is tier 2")

    def run() -> tuple[int, str, set[str]]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "svcascode", "diff", "HEAD~1", "HEAD",
                               "--format", "json", "--as-of", AS_OF], cwd=root, capture_output=True, text=True,
                              timeout=300, env={**os.environ})
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        return done.returncode, done.stdout, imported

    cold, warm = run(), run()
    assert warm[:2] == cold[:2] and '"tier-2"' in warm[1]
    assert {"pydantic", "git", "svcascode.engine"} <= cold[2]
    assert not {"pydantic", "git", "svcascode.engine", "svcascode.catalogue"} & warm[2]


def test_a_diff_against_the_working_tree_follows_its_files(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed(root)
    spy = Spy(monkeypatch)
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    first = _diff("HEAD")
    assert _diff("HEAD") == first and spy.answered == [False, True] and '"tier-2"' in first[1]
    service.write_text(service.read_text().replace("tier: tier-2", "tier: tier-3", 1))
    edited = _diff("HEAD")
    assert spy.answered[-1] is False and '"tier-3"' in edited[1]
    full = CliRunner().invoke(main, ["--no-cache", "diff", "HEAD", "--format", "json", "--as-of", AS_OF])
    assert (full.exit_code, full.stdout) == edited[:2]


def _full_diff(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--no-cache", "diff", *args, "--format", "json", "--as-of", AS_OF])
    return result.exit_code, result.stdout


def test_a_diff_is_answered_for_its_revisions_as_written_too(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message may quote BASE as written: the working tree enables a repository check that BASE does not,
    and the check's control, at HEAD, is refused in a run against BASE, naming it."""
    from test_trusted_code import CONTROL, MODULE

    git = committed(root)
    git("branch", "base")
    (root / "policies" / "team-file.yaml").write_text(CONTROL)
    git("add", "-A")
    git("commit", "-qm", "a control of a repository check")
    (root / "checks").mkdir()
    (root / "checks" / "team_file.py").write_text(MODULE % "x")
    (root / ".svcascode.yaml").write_text("local_checks: [checks/team_file.py]\n")
    spy = Spy(monkeypatch)
    for written in ("base", "HEAD~1", "base", "HEAD~1"):
        answer = _diff(written, "HEAD")
        assert answer[:2] == _full_diff(written, "HEAD") and f"in a run against BASE {written}," in answer[1]
    assert spy.answered == [False, False, True, True]


def test_a_diff_with_a_broken_configuration_and_an_unknown_revision_says_what_it_always_said(root: Path) -> None:
    committed(root)
    (root / ".svcascode.yaml").write_text("bogus: 1\n")
    for no_cache in ([], ["--no-cache"]):
        result = CliRunner().invoke(main, [*no_cache, "diff", "nosuchrev", "HEAD"])
        assert result.exit_code == 2 and "bogus: unknown setting" in result.stderr, result.stderr


def test_history_behind_the_commit_checked_out_is_part_of_the_key(root: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Service levels as delivered are judged by the history behind HEAD: a shallow clone deepened, or a
    repository whose refs cannot be read, is not answered by a run over the history it had."""
    git = committed(root)
    git("commit", "-q", "--allow-empty", "-m", "a second commit")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True,
                   capture_output=True)
    monkeypatch.chdir(clone)
    spy = Spy(monkeypatch)
    first = _run(*CHECK)
    assert _run(*CHECK) == first and spy.answered == [False, True]
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True, capture_output=True)
    assert _run(*CHECK) == _full(*CHECK) and spy.answered[-1] is False
    (clone / ".git" / "reftable").mkdir()  # refs kept where this cannot read them: never answered nor kept
    assert _run(*CHECK) == _full(*CHECK) and _run(*CHECK) == _full(*CHECK)
    assert spy.answered[-2:] == [False, False]


@pytest.mark.parametrize("written", ["a symbolic ref", "a link"])
def test_the_commit_checked_out_is_followed_through_a_branch_that_names_another(
        root: Path, monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    git = committed(root)
    as_link = ("-c", "core.preferSymlinkRefs=true") if written == "a link" else ()
    git(*as_link, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    git("symbolic-ref", "HEAD", "refs/heads/alias")
    spy = Spy(monkeypatch)
    first = _run(*CHECK)
    assert _run(*CHECK) == first and spy.answered == [False, True]
    git("commit", "-q", "--allow-empty", "-m", "main moves, through the alias")
    assert _run(*CHECK) == first and spy.answered[-1] is False


def test_a_history_git_may_show_otherwise_than_its_commits_is_never_answered(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace refs, grafts and git's environment moving the repository make the history other than the
    commits say: never answered."""
    git = committed(root)
    git("commit", "-q", "--allow-empty", "-m", "a second commit")
    spy = Spy(monkeypatch)
    first = _run(*CHECK)
    for altered in ("replace", "grafts", "environment"):
        start = len(spy.answered)
        if altered == "replace":
            git("replace", "HEAD", "HEAD~1")
        elif altered == "grafts":
            git("replace", "-d", "HEAD")
            (root / ".git" / "info").mkdir(exist_ok=True)
            (root / ".git" / "info" / "grafts").write_text("")
        else:
            (root / ".git" / "info" / "grafts").unlink()
            monkeypatch.setenv("GIT_NO_REPLACE_OBJECTS", "")  # set, even empty, it changes what git shows
        assert _run(*CHECK) == _full(*CHECK) and _run(*CHECK) == _full(*CHECK), altered
        assert spy.answered[start:] == [False, False], altered
    monkeypatch.delenv("GIT_NO_REPLACE_OBJECTS")
    monkeypatch.setenv("GIT_INDEX_FILE", str(root / ".git" / "index"))  # as git sets it for a pre-commit hook
    _run(*CHECK)
    assert _run(*CHECK) == first and spy.answered[-1] is True
