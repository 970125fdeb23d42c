"""One proof that the store never changes an answer.

Every cached stage (the parse of a file, the validation of its documents, a (control, document) result, a
whole run's output) is checked the same way: a command's output and exit code with the store equal, byte for
byte, those of the same command with `--no-cache`, which reads and writes nothing. Cold, warm, after random
edits of the data, comments and files, after a change of the settings, across `git checkout`s, and after an
upgrade of svcascode that keeps its version number (a copy of the package with a message and a limit
changed, run as its own process, since it is other code).

`-v` says which stages reused what: the harness also checks that a warm run reuses and a changed one
computes, so that the equality is not the trivial one of two runs that both computed everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, copy_example, run_cli
from git_helpers import committed
from svcascode import twocores
from svcascode.library import library_files

AS_OF = "2026-11-27"
EXAMPLES = int(os.environ.get("SVCASCODE_FUZZ_EXAMPLES", "3"))
# JSON holds everything the other formats render; text is rendered from the same answer but cached apart
COMMANDS = [("check", "--format", "json"), ("validate", "--format", "json")]
EVERY_FORMAT = [*COMMANDS, ("check",), ("validate",), ("check", "--format", "sarif")]

# (pattern, replacement): each applied to its first match in the chosen file; they reach across documents
EDITS = [
    (r"tier-1", "tier-3"), (r"tier-2", "tier-0"), (r"criticality: hard", "criticality: soft"),
    (r"criticality: soft", "criticality: hard"), (r"enforcement: block", "enforcement: warn"),
    (r"severity: high", "severity: low"), (r"2026-(\d\d)-", r"2025-\1-"), (r"2025-(\d\d)-", r"2026-\1-"),
    (r"owner: [a-z-]+", "owner: platform"), (r"99\.9\b", "99.0"), (r"interval: \w+", "interval: 48h"),
    (r"privilegedCadence: \w+", "privilegedCadence: 400d"), (r"expiresAt: [0-9-]+", "expiresAt: 2026-12-31"),
    (r"minPeople: \d+", "minPeople: 5"), (r"(?m)^(\s+)runbook: .*$", r"\1runbook: https://example.com/rb"),
    (r"title: (.*)", r"title: Renamed \1"), (r"tier: tier-0", "tier: tier-9"), (r"kind: Team", "kind: Teem"),
]
SETTINGS = ["", "exclude: ['services/maintenance/*']\n", "library: {disable: [bck-restore-tested]}\n",
            "limits: {max_nodes: 200}\n"]
DAYS = [AS_OF, "2026-03-01", "2027-06-30"]


def _answers(root: Path, day: str, env: dict[str, str] | None = None,
             commands: list[tuple[str, ...]] = COMMANDS, two_cores: bool = False) -> list[tuple[int, str, str]]:
    """Each command with the store, then the same with --no-cache: the pairs that must be equal. With
    `two_cores`, the run with the store evaluates its pairs on two cores (svcascode.twocores: the pairs it
    computes in a fork of the process, their findings and what they read sent back), the other on one."""
    pairs = []
    for command in commands:
        args = (*command, "--as-of", day) if command[0] == "check" else command
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(twocores, "MIN_ITEMS", 2 if two_cores else 10**9)
            patch.setattr(twocores, "_threads", lambda: 1)  # the test runner's own thread (see conftest `forks`)
            cached = run_cli(*args, cwd=root, env=env)
        fresh = run_cli("--no-cache", *args, cwd=root, env=env)
        pairs.append((cached.returncode, cached.stdout, " ".join(args)))
        pairs.append((fresh.returncode, fresh.stdout, " ".join(args)))
    return pairs


def assert_equivalent(root: Path, day: str = AS_OF, env: dict[str, str] | None = None,
                      commands: list[tuple[str, ...]] = COMMANDS, two_cores: bool = False) -> None:
    answers = _answers(root, day, env, commands, two_cores)
    for cached, fresh in zip(answers[::2], answers[1::2]):
        assert cached == fresh, f"{cached[2]}: the store changed the answer"


def _stages(root: Path, *args: str) -> str:
    """What `-v` says of a run's stages."""
    return run_cli("-v", *args, cwd=root).stderr


def _files(root: Path) -> list[Path]:
    return sorted(p for folder in ("services", "policies") for p in (root / folder).rglob("*.yaml"))


def _apply(root: Path, kept: dict[Path, str], step: tuple[str, int, int]) -> str | None:
    """One change of the repository; the new as-of date when the step moves it."""
    what, pick, choice = step
    files = sorted(kept)
    target = files[pick % len(files)]
    if what == "as-of":
        return DAYS[choice % len(DAYS)]
    if what == "settings":
        (root / ".svcascode.yaml").write_text(SETTINGS[choice % len(SETTINGS)])
    elif what == "remove":
        target.unlink(missing_ok=True)
    elif what == "restore":
        target.write_text(kept[target])
    elif not target.exists():
        return None
    elif what == "comment":
        target.write_text(target.read_text() + f"# edited {choice}\n")
    elif what == "prepend":  # every line of the file moves down: what is located there moves with it
        target.write_text(f"# edited {choice}\n" + target.read_text())
    else:  # the first file from the one picked on where the edit's pattern matches
        pattern, replacement = EDITS[choice % len(EDITS)]
        for offset in range(len(files)):
            candidate = files[(pick + offset) % len(files)]
            text = candidate.read_text() if candidate.exists() else ""
            edited = re.sub(pattern, replacement, text, count=1)
            if edited != text:
                candidate.write_text(edited)
                break
    return None


STEPS = st.lists(st.tuples(st.sampled_from(["edit", "edit", "edit", "comment", "prepend", "remove", "restore",
                                            "as-of", "settings"]),
                           st.integers(0, 10_000), st.integers(0, 10_000)), min_size=2, max_size=4)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, two_cores=st.booleans())
def test_every_answer_with_the_store_is_the_answer_without_it_after_any_edits(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        steps: list[tuple[str, int, int]], two_cores: bool) -> None:
    base = tmp_path_factory.mktemp("equivalence")
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(base / "store"))
    root = copy_example(base / "catalogue")
    kept = {path: path.read_text() for path in _files(root)}
    day = AS_OF
    assert_equivalent(root, day, two_cores=two_cores)  # cold: the store is filled
    assert_equivalent(root, day, two_cores=two_cores)  # warm: every stage reuses
    for step in steps:
        day = _apply(root, kept, step) or day
        assert_equivalent(root, day, two_cores=two_cores)


def test_pairs_evaluated_on_two_cores_are_kept_with_what_they_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   forks: list[int]) -> None:
    """A cold run with the store evaluates on two cores; the next run after a data edit reuses those results
    where nothing they read changed, and recomputes the rest: the same answers as without the store."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    monkeypatch.setattr(twocores, "MIN_ITEMS", 2)
    check = ("check", "--format", "json", "--as-of", AS_OF)
    assert re.search(r"pairs      0 reused, \d+ computed \(no earlier run\)", _stages(root, *check))
    assert len(forks) == 1
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    edited = _stages(root, *check)
    reused, computed = map(int, re.search(r"pairs      (\d+) reused, (\d+) computed", edited).groups())  # type: ignore[union-attr]
    assert 0 < computed < reused / 5  # what the two cores read was kept: only what the edit reaches is computed
    assert_equivalent(root, commands=EVERY_FORMAT, two_cores=True)


def test_a_warm_run_reuses_and_a_data_edit_recomputes_only_what_it_reaches(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    check = ("check", "--format", "json", "--as-of", AS_OF)
    cold = _stages(root, *check)
    assert "run        0 reused, 1 computed (no earlier run)" in cold
    assert re.search(r"pairs      0 reused, \d+ computed \(no earlier run\)", cold), cold
    assert "run        1 reused, 0 computed" in _stages(root, *check)  # the whole answer, unchanged
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    edited = _stages(root, *check)
    assert "run        0 reused, 1 computed (file changed: services/catalogue/claims-api.yaml)" in edited
    assert re.search(r"parse      \d+ reused, 1 computed \(file changed: services/catalogue/claims-api.yaml\)",
                     edited), edited
    reused, computed = map(int, re.search(r"pairs      (\d+) reused, (\d+) computed", edited).groups())  # type: ignore[union-attr]
    assert 0 < computed < reused / 5
    assert "no store" in run_cli("--no-cache", "-v", *check, cwd=root).stderr
    assert_equivalent(root, commands=EVERY_FORMAT)


def test_answers_are_equal_across_git_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    git = committed(root)
    git("checkout", "-q", "-b", "change")
    for path, (old, new) in {"services/catalogue/claims-api.yaml": ("tier: tier-1", "tier: tier-3"),
                             "services/teams/finance-systems.yaml": ("secondary: []", "secondary: [ana@example.com]"),
                             "policies/waivers.yaml": ("expiresAt: 2026-09-30", "expiresAt: 2027-03-31")}.items():
        text = (root / path).read_text()
        (root / path).write_text(text.replace(old, new, 1))
    git("commit", "-qam", "change")
    for branch in ("main", "change", "main", "change"):
        git("checkout", "-q", branch)
        assert_equivalent(root)


def test_a_diff_and_a_forecast_reuse_within_their_run_what_their_first_evaluation_computed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A diff evaluates two revisions and a forecast many dates, in one process: with an empty store, the
    second evaluation reuses the first's results wherever what they read is unchanged (the head's pairs
    its edit does not reach, the pairs that do not read the date), and each answer is the one without the
    store."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    git = committed(root)
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("tier: tier-1", "tier: tier-2", 1))
    git("commit", "-qam", "claims-api to tier-2")

    for command in (("diff", "HEAD~1", "HEAD", "--format", "json", "--as-of", AS_OF),
                    ("forecast", "--days", "90", "--format", "json", "--as-of", AS_OF)):
        shutil.rmtree(tmp_path / "store", ignore_errors=True)
        cached = run_cli("-v", *command, cwd=root)
        stages = re.search(r"pairs      ([\d,]+) reused, ([\d,]+) computed", cached.stderr)
        assert stages is not None, cached.stderr
        reused, computed = (int(number.replace(",", "")) for number in stages.groups())
        # the first evaluation computes every pair; the later ones compute only what changed for them
        assert reused > 0.7 * computed, (command[0], reused, computed)
        fresh = run_cli("--no-cache", *command, cwd=root)
        assert (cached.returncode, cached.stdout) == (fresh.returncode, fresh.stdout), command[0]


def test_a_check_in_a_git_repository_parses_only_the_file_edited_since_the_last(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """In a git repository, check also reads the history (the delivery ledger's definitions of each
    commit), through a second loader. Both keep their records in the one store: the history's loader,
    saving last, used to replace the parse stage's records with its own, and every next check parsed every
    file again. Now the run after an edit parses the edited file only, and answers as without the store."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    committed(root)
    check = ("check", "--format", "json", "--as-of", AS_OF)
    files = len(_files(root)) + len(library_files())  # the built-in library's files are parsed too
    cold = _stages(root, *check)
    assert f"parse      0 reused, {files} computed (no earlier run)" in cold, cold
    service = root / "services" / "catalogue" / "claims-api.yaml"
    for tier in ("tier-2", "tier-3"):
        text = service.read_text()
        service.write_text(re.sub(r"tier: tier-\d", f"tier: {tier}", text, count=1))
        edited = _stages(root, *check)
        assert (f"parse      {files - 1} reused, 1 computed (file changed: services/catalogue/claims-api.yaml)"
                in edited), edited
    assert_equivalent(root)


def test_files_parsed_by_worker_processes_are_counted_as_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  forks: list[int]) -> None:
    """`-v` says what a run computed: files parsed in worker processes are parsed by this run, not reused."""
    import svcascode.loading.parallel as parallel_parsing

    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setattr(parallel_parsing, "PARALLEL_THRESHOLD", 2)  # the example's files go to the workers
    root = copy_example(tmp_path / "catalogue")
    files = len(_files(root)) + len(library_files())
    cold = _stages(root, "validate", "--format", "json")
    assert forks, "the files were parsed in this process, not by workers"
    assert f"parse      0 reused, {files} computed (no earlier run)" in cold, cold


UPGRADE = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from svcascode.cli import main
main()
"""


def _installed_copy(folder: Path) -> Path:
    """The package as an upgrade from git installs it: another copy of the code, the same version number."""
    shutil.copytree(REPO / "svcascode", folder / "svcascode", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _run_copy(code: Path, root: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", UPGRADE, str(code), *args], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "SVCASCODE_DEBUG": ""}, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def test_an_upgrade_that_keeps_the_version_number_changes_no_answer(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The two stale answers of a store keyed by hand-kept lists: a limit changed in calendars.py, which
    validation calls, and a parser message changed. Separate processes: the code itself is what changes."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    (root / "services/tabbed.yaml").write_text("apiVersion: svcascode.io/v1alpha1\nkind: Team\n\tmetadata: {}\n")
    code = _installed_copy(tmp_path / "code")
    for args in (("validate",), ("check", "--format", "json", "--as-of", AS_OF)):
        assert _run_copy(code, root, *args) == _run_copy(code, root, "--no-cache", *args)  # the store filled
    calendars = code / "svcascode" / "calendars.py"
    calendars.write_text(re.sub(r"(?m)^OCCURRENCES_PER_YEAR = .*$", "OCCURRENCES_PER_YEAR = 10",
                                calendars.read_text(), count=1))
    yamlfile = code / "svcascode" / "loading" / "yamlfile.py"
    yamlfile.write_text(yamlfile.read_text().replace("tab character used for indentation",
                                                     "a tab where YAML wants spaces", 1))
    for args in (("validate",), ("check", "--format", "json", "--as-of", AS_OF)):
        upgraded = _run_copy(code, root, *args)
        assert upgraded == _run_copy(code, root, "--no-cache", *args)
        assert "a tab where YAML wants spaces" in upgraded[1] and "occurs more than 10 times a year" in upgraded[1]


def test_a_result_computed_again_is_kept_by_the_runs_that_only_reuse_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair recomputed after an edit is kept in the small delta beside the results' pack; a later run that
    reuses it unchanged must keep it there, or the run after reads the pack's older row (found by the harness
    above: an SLA's infeasible dependencies vanished from the answer two runs after a dependency changed)."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    assert_equivalent(root)  # the base pack
    edits = [("services/catalogue/postgres-cluster.yaml", "criticality: hard, redundancyGroup: dc-fabric",
              "criticality: soft, redundancyGroup: dc-fabric"),  # the pairs of the cluster's SLA and OLA change
             ("policies/incident-policies.yaml", "", "# a comment on top moves every line\n"),
             ("policies/patch-policies.yaml", "tier-1 and", "tier-3 and")]
    findings = []
    for path, old, new in edits:
        target = root / path
        text = target.read_text()
        assert old in text
        target.write_text(new + text if not old else text.replace(old, new, 1))
        assert_equivalent(root)
        findings.append(run_cli("--no-cache", "check", "--format", "json", "--as-of", AS_OF, cwd=root).stdout)
    assert all('"name": "postgres-cluster-ola"' in answer for answer in findings)


TIER_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: acc-covered-tiers, title: No tier-0 service behind an access policy}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [AccessPolicy]}
  check:
    validations:
      - expression: services(document).all(t, t.spec.tier != "tier-0")
        path: spec.targets
        message: "tier-0: {{services(document).filter(t, t.spec.tier == 'tier-0').map(t, t.metadata.name)}}"
  rationale: Reads the tiers of the services an access policy covers.
  remediation: None needed.
  examples: {failing: "kind: AccessPolicy", passing: "kind: AccessPolicy"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.15]}
"""


def test_the_later_dates_of_a_forecast_read_the_rows_its_first_date_kept(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A forecast evaluates its first date, then trusts on each later date the pairs nothing dated reaches:
    their rows are the ones the first date kept, not an older row of the store, which was kept for other
    inputs (here a tier since reverted) and would open a finding on the second day."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    (root / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (root / "policies" / "acc-covered-tiers.yaml").write_text(TIER_CONTROL)
    service = root / "services/catalogue/claims-documents.yaml"
    kept = service.read_text()
    service.write_text(kept.replace("tier: tier-2", "tier: tier-0", 1))
    assert "tier-0: claims-documents" in run_cli("check", "--format", "json", "--as-of", AS_OF, cwd=root).stdout  # the store's row for claims-access
    service.write_text(kept)
    forecast = ("forecast", "--days", "3", "--format", "json", "--as-of", AS_OF)
    cached, fresh = run_cli(*forecast, cwd=root), run_cli("--no-cache", *forecast, cwd=root)
    assert (cached.returncode, cached.stdout) == (fresh.returncode, fresh.stdout)
    assert json.loads(cached.stdout)["deadlines"] == []


def test_a_check_on_another_date_follows_the_levels_that_came_into_or_out_of_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A result that read whether a level is in force holds on another date while that level's answer is the
    same; the claims-api SLA ends on 2026-12-31, and on a date after it the service has no SLA in force."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    sla = root / "services" / "service-levels" / "claims-api-sla.yaml"
    sla.write_text(sla.read_text().replace("validTo: 2027-12-31", "validTo: 2026-12-31", 1))
    outputs = []
    for day in ("2026-12-15", "2027-01-15", "2026-12-20", "2027-02-01"):
        check = ("check", "--format", "json", "--as-of", day)
        cached, fresh = run_cli(*check, cwd=root), run_cli("--no-cache", *check, cwd=root)
        assert (cached.returncode, cached.stdout) == (fresh.returncode, fresh.stdout), day
        outputs.append({(f["rule"], f["name"]) for f in json.loads(cached.stdout)["findings"]})
    assert ("svc-sla-required", "claims-api") not in outputs[0] | outputs[2]
    assert ("svc-sla-required", "claims-api") in outputs[1] & outputs[3]
