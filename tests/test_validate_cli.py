"""`svcascode validate` end to end on whole example repositories."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import REPO, copy_example, run_cli
from svcascode.config import Limits
from svcascode.documents import validate_document
from svcascode.loading.discover import discover
from svcascode.loading.yamlfile import parse_text
from svcascode.config import Settings

LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<subject>\S+): (?P<message>.+)$")


def test_example_catalogue_is_valid(example: Path) -> None:
    result = run_cli("validate", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.match(r"valid: \d+ documents in \d+ files", result.stdout.strip())


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_broken_field_gives_one_located_line(example: Path) -> None:
    target = example / "services/catalogue/claims-api.yaml"
    _replace(target, "tier: tier-1", "tier: tier-9")
    line = next(i for i, l in enumerate(target.read_text().splitlines(), 1) if "tier: tier-9" in l)
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    problems = [l for l in result.stdout.splitlines() if LINE.match(l)]
    assert len(problems) == 1, result.stdout
    found = LINE.match(problems[0])
    assert found is not None
    assert (found["file"], int(found["line"]), found["subject"]) == (
        "services/catalogue/claims-api.yaml", line, "Service/claims-api")
    assert "is not one of: tier-0, tier-1, tier-2, tier-3" in found["message"]
    assert result.stdout.strip().splitlines()[-1].startswith("invalid: 1 problem in 1 file")


def test_json_output_is_stable_and_located(example: Path) -> None:
    target = example / "services/catalogue/claims-api.yaml"
    _replace(target, "lifecycle: production", "lifecycle: live")
    line, column = next((i, l.index("lifecycle") + 1) for i, l in enumerate(target.read_text().splitlines(), 1)
                        if "lifecycle: live" in l)
    result = run_cli("validate", "--format", "json", cwd=example)
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["version"] == 1 and body["valid"] is False and body["command"] == "validate"
    [finding] = body["findings"]
    assert finding["rule"] == "schema-invalid" and finding["path"] == "spec.lifecycle"
    assert (finding["file"], finding["line"], finding["column"]) == ("services/catalogue/claims-api.yaml", line, column)
    assert (finding["kind"], finding["name"]) == ("Service", "claims-api")
    assert set(finding) >= {"severity", "message", "column", "fingerprint"}


def test_duplicate_name_names_both_files(example: Path) -> None:
    original = (example / "services/catalogue/dns.yaml").read_text()
    (example / "services/catalogue/dns-copy.yaml").write_text(original)
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    assert "services/catalogue/dns.yaml:" in result.stdout
    assert "Service 'dns' is also defined in services/catalogue/dns" in result.stdout


def test_unresolved_reference_suggests_the_name(example: Path) -> None:
    path = example / "services/catalogue/claims-api.yaml"
    owner = re.search(r"owner: (\S+)", path.read_text())
    assert owner is not None
    _replace(path, f"owner: {owner[1]}", f"owner: {owner[1][:-1]}")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    assert f"refers to Team '{owner[1][:-1]}', which is not defined; did you mean '{owner[1]}'?" in result.stdout


def test_dependency_cycle_is_printed_whole(example: Path) -> None:
    for name, dep in (("quotes-pricing", "internal-wiki"), ("internal-wiki", "bi-reporting"),
                      ("bi-reporting", "quotes-pricing")):
        file = example / f"services/catalogue/{name}.yaml"
        content = file.read_text()
        if "  dependencies:\n" in content:
            content = content.replace("  dependencies:\n", f"  dependencies:\n    - {{service: {dep}, criticality: hard}}\n", 1)
        else:
            content = content.replace("\nspec:\n", f"\nspec:\n  dependencies:\n    - {{service: {dep}, criticality: hard}}\n", 1)
        file.write_text(content)
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    cycles = [l for l in result.stdout.splitlines() if "hard dependency cycle" in l]
    assert len(cycles) == 1, result.stdout
    assert re.search(r"bi-reporting -> quotes-pricing -> internal-wiki -> bi-reporting", cycles[0])


def test_paths_limit_what_is_reported_but_references_still_resolve(example: Path) -> None:
    _replace(example / "services/catalogue/dns.yaml", "tier: tier-0", "tier: 0")
    result = run_cli("validate", "services/catalogue/idp.yaml", cwd=example)
    assert result.returncode == 0, result.stdout
    result = run_cli("validate", "services/catalogue/dns.yaml", cwd=example)
    assert result.returncode == 1 and "services/catalogue/dns.yaml:" in result.stdout


@pytest.mark.parametrize("args, words", [
    (("validate", "no/such/file.yaml"), "no/such/file.yaml: no such file or directory"),
    (("validate", "--format", "xml"), "Invalid value for '--format'"),
])
def test_cannot_run_exits_2_without_traceback(example: Path, args: tuple[str, ...], words: str) -> None:
    result = run_cli(*args, cwd=example)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_no_catalogue_exits_2(tmp_path: Path) -> None:
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "no catalogue found" in result.stderr


def test_unreadable_config_exits_2(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("roots: [services\nlimits: {}\n")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 2 and ".svcascode.yaml:2:7: cannot be read" in result.stderr
    (example / ".svcascode.yaml").write_text("roots: [services]\nlimits: {max_depth: many}\n")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 2 and "limits.max_depth" in result.stderr


def test_config_roots_are_used(example: Path) -> None:
    (example / "services").rename(example / "catalogue")
    (example / ".svcascode.yaml").write_text("roots: [catalogue, policies]\n")
    assert run_cli("validate", cwd=example).returncode == 0


def test_hostile_files_do_not_crash_the_run(example: Path) -> None:
    (example / "services/bomb.yaml").write_bytes(b"a: &a [1,1,1,1,1,1,1,1,1,1]\n" + b"".join(
        b"a%d: &a%d [*a%s,*a%s,*a%s,*a%s,*a%s,*a%s,*a%s,*a%s,*a%s,*a%s]\n" % ((i, i) + (b"" if i == 1 else b"%d" % (i - 1),) * 10)
        for i in range(1, 9)))
    (example / "services/deep.yaml").write_bytes(b"[" * 50_000 + b"]" * 50_000)
    (example / "services/binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for name in ("bomb", "deep", "binary"):
        assert f"services/{name}.yaml:" in result.stdout


# Fields whose values are free-form by design: anything there is valid.
FREE_FORM = (("spec", "check", "params"), ("spec", "check", "schema"), ("spec", "appliesTo", "where"))


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def test_breaking_any_field_of_any_example_document_is_located() -> None:
    """Every scalar of every example document, replaced by a mapping, is reported at its own line."""
    import copy

    files, _ = discover(REPO, Settings())
    checked = 0
    for source in files:
        parsed = parse_text(source.path, source.absolute.read_bytes(), Limits())
        for raw in parsed.documents:
            if raw.data.get("apiVersion") != "svcascode.io/v1alpha1":
                continue  # OpenSLO documents are accepted as they are
            for path in _leaves(raw.data):
                if path[0] != "spec" or any(path[:len(f)] == f for f in FREE_FORM) or path[:2] == ("metadata", "annotations"):
                    continue
                original = raw.data
                broken = copy.deepcopy(original)
                _set(broken, path, {"broken": True})
                raw.data = broken
                try:
                    _, findings = validate_document(raw, parsed.text)
                finally:
                    raw.data = original
                expected_line = raw.locate(path)[0]
                assert findings, f"{source.path}: {path} accepted a mapping"
                assert any(f.line == expected_line and f.file == source.path for f in findings), (
                    source.path, path, [(f.line, f.message) for f in findings])
                checked += 1
    assert checked > 1000


def test_openslo_service_is_kept_apart_from_the_catalogue_service(example: Path) -> None:
    """An OpenSLO `kind: Service` neither clashes with a svcascode Service of the same name nor is checked as one."""
    (example / "services/slos/openslo-services.yaml").write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: dns\nspec:\n  description: DNS as OpenSLO sees it\n"
        "---\napiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: only-in-openslo\nspec: {}\n")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "internal error" not in result.stderr
    _replace(example / "services/catalogue/dns.yaml", "core-network-lon,", "only-in-openslo,")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    assert "refers to Service 'only-in-openslo', which is not defined" in result.stdout


def test_openslo_names_are_indexed_for_references(example: Path) -> None:
    level = example / "services/service-levels/dns-sla.yaml"
    _replace(level, "slo: dns-availability", "slo: dns-availabilty")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    assert "refers to SLO 'dns-availabilty', which is not defined; did you mean 'dns-availability'?" in result.stdout


@pytest.mark.parametrize("old, new", [
    ("lifecycle: production", "lifecycle: production\n   owner2: x"),  # indentation: a YAML syntax error
    ("  tier: tier-0", "  tier: tier-0\n  tier: tier-1"),  # duplicate key
    ("  owner: network-infrastructure", "\towner: network-infrastructure"),  # tab indentation
    ("kind: Service", "kind: service"),  # misspelt kind
    ("metadata:", "metdata:"),  # misspelt metadata
])
def test_a_broken_document_is_one_problem_not_one_per_reference_to_it(example: Path, old: str, new: str) -> None:
    """dns is referred to by a dozen documents; breaking it must not make each of them report it missing."""
    _replace(example / "services/catalogue/dns.yaml", old, new)
    result = run_cli("validate", cwd=example)
    assert result.returncode == 1
    problems = [l for l in result.stdout.splitlines() if l.startswith("services/")]
    assert problems and all(l.startswith("services/catalogue/dns.yaml:") for l in problems), result.stdout
    assert "refers to Service 'dns'" not in result.stdout


@pytest.mark.parametrize("config, words", [
    ('[tool.svcascode]\nroot = ["services"]\n', "pyproject.toml [tool.svcascode]: root: unknown setting; did you mean 'roots'?"),
    ("[tool.svcascode]\nlimits = {max_dept = 3}\n", "limits.max_dept: unknown setting; did you mean 'max_depth'?"),
])
def test_a_misspelt_setting_is_named_with_a_suggestion(example: Path, config: str, words: str) -> None:
    (example / "pyproject.toml").write_text(config)
    result = run_cli("validate", cwd=example)
    assert result.returncode == 2 and words in result.stderr, result.stderr


def test_a_config_yaml_error_is_one_located_line(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("roots: [services\n")
    result = run_cli("validate", cwd=example)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and ".svcascode.yaml:2:1: cannot be read: YAML syntax error" in result.stderr, result.stderr
