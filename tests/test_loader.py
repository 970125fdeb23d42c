"""Each loader hazard is a located finding with the exact line, never a traceback or a hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import copy_example, cpu_seconds
from git_helpers import TEAM, Repo, base_catalogue, service
from svcascode.catalogue import load_catalogue
from svcascode.config import Limits, Settings
from svcascode.finding import Finding
from svcascode.gitload import RevisionLoader, load_revision
from svcascode.loading.cache import ParseCache
from svcascode.store import Store
from svcascode.loading.discover import discover
from svcascode.loading.yamlfile import parse_text

LIMITS = Limits()

HAZARDS = [
    # name, file bytes, line, column, words in the message
    ("duplicate key at top level", b"a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first defined on line 1)"),
    ("duplicate key deep", b"spec:\n  x:\n    y: 1\n    z: 2\n    y: 3\n", 5, 5, "duplicate key 'y'"),
    ("duplicate key in a flow mapping", b"a: {b: 1, b: 2}\n", 1, 11, "duplicate key 'b'"),
    ("tab indentation", b"spec:\n  a: 1\n\tb: 2\n", 3, 1, "tab character used for indentation"),
    ("unsafe python tag", b"a: 1\nb: !!python/object/apply:os.system [ls]\n", 2, 4, "unsafe YAML tag"),
    ("unknown local tag", b"a: !vault secret\n", 1, 4, "unknown YAML tag '!vault'"),
    ("binary tag", b"a: !!binary aGVsbG8=\n", 1, 4, "unknown YAML tag"),
    ("set tag", b"a: !!set {x, y}\n", 1, 4, "unknown YAML tag"),
    ("NUL byte", b"a: 1\nb: x\x00y\n", 2, 5, "NUL byte"),
    ("invalid UTF-8", b"a: 1\nb: caf\xe9\n", 2, 7, "invalid UTF-8"),
    ("empty file", b"", 1, 1, "empty file"),
    ("only comments", b"# nothing here\n\n", 1, 1, "empty file"),
    ("only document markers", b"---\n# nothing\n---\n", 1, 1, "empty file"),
    ("only an explicit null", b"--- ~\n", 1, 1, "empty file"),
    ("unclosed flow sequence", b"a: [1, 2\nb: 3\n", 2, 2, "YAML syntax error"),
    ("unclosed quote", b'a: "open\nb: 2\n', 3, 1, "YAML syntax error"),
    ("bad indentation", b"a:\n  b: 1\n c: 2\n", 3, 2, "YAML syntax error"),
    ("mapping as key", b"? {a: 1}\n: x\n", 1, 3, "mapping key must be a plain value"),
]


@pytest.mark.parametrize("name, text, line, column, words", HAZARDS, ids=[h[0] for h in HAZARDS])
def test_hazard_is_located(name: str, text: bytes, line: int, column: int, words: str) -> None:
    parsed = parse_text("services/x.yaml", text, LIMITS)
    assert [(p.line, p.column) for p in parsed.problems] == [(line, column)], parsed.problems
    assert words in parsed.problems[0].message
    assert parsed.problems[0].file == "services/x.yaml"


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    started = cpu_seconds()
    parsed = parse_text("bomb.yaml", "\n".join(lines).encode(), LIMITS)
    assert cpu_seconds() - started < 2
    assert len(parsed.problems) == 1
    assert "alias expansion past the limit" in parsed.problems[0].message
    assert (parsed.problems[0].line, parsed.problems[0].column) == (4, 5)  # a3: 10 x (1 + 110) aliases > 1000


def test_aliases_within_the_limit_are_expanded() -> None:
    parsed = parse_text("ok.yaml", b"base: &b {x: 1}\ncopy: *b\n", LIMITS)
    assert parsed.problems == []
    assert parsed.documents[0].data == {"base": {"x": 1}, "copy": {"x": 1}}


@pytest.mark.parametrize("text", [b"[" * 100_000 + b"]" * 100_000, b"a:\n" + b"".join(
    b" " * (i + 1) + b"b%d:\n" % i for i in range(200)) + b" " * 201 + b"c\n", b"- " * 5000 + b"x\n"])
def test_deep_nesting_is_refused_before_libyaml_recursion(text: bytes) -> None:
    parsed = parse_text("deep.yaml", text, LIMITS)
    assert len(parsed.problems) == 1
    assert "nesting deeper than 64 levels" in parsed.problems[0].message


def test_nesting_limit_is_configurable() -> None:
    text = b"a: " + b"[" * 10 + b"]" * 10 + b"\n"
    assert parse_text("x.yaml", text, LIMITS).problems == []
    problems = parse_text("x.yaml", text, Limits(max_depth=8)).problems
    assert [p.line for p in problems] == [1] and "limits.max_depth" in problems[0].message


def test_every_node_has_line_and_column() -> None:
    text = b"apiVersion: v\nspec:\n  deps:\n    - {service: a, criticality: hard}\n    - service: b\n"
    doc = parse_text("x.yaml", text, LIMITS).documents[0]
    assert doc.locate(("spec", "deps", 0, "criticality")) == (4, 20)
    assert doc.locate(("spec", "deps", 1, "service")) == (5, 7)
    assert doc.locate(("spec", "deps", 7, "nothing")) == (3, 3)  # nearest existing ancestor


def test_multi_document_files_keep_their_own_lines() -> None:
    parsed = parse_text("x.yaml", b"a: 1\n---\nb: 2\n---\nc: 3\n", LIMITS)
    assert [d.locate((next(iter(d.data)),)) for d in parsed.documents] == [(1, 1), (3, 1), (5, 1)]


def test_yaml_11_scalars_arrive_as_yaml_types_and_dates_as_text() -> None:
    data = parse_text("x.yaml", b"a: no\nb: 12:30\nc: 1.10\nd: 2026-01-01\ne: ~\n", LIMITS).documents[0].data
    assert data == {"a": False, "b": 750, "c": 1.1, "d": "2026-01-01", "e": None}


def _catalogue(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tmp_path


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, {"services/big.yaml": b"a: " + b"x" * 5000 + b"\n"})
    result = load_catalogue(root, Settings(cache=False, limits=Limits(max_file_bytes=1000)))
    assert [(f.file, f.line, f.rule) for f in result.findings] == [("services/big.yaml", 1, "file-refused")]
    assert "limits.max_file_bytes" in result.findings[0].message


def test_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("a: 1\n")
    root = _catalogue(tmp_path / "repo", {"services/ok.yaml": b"a: 1\n"})
    os.symlink(outside, root / "services" / "escape.yaml")
    os.symlink(tmp_path, root / "services" / "escape-dir")
    files, refused = discover(root, Settings())
    assert [f.path for f in files] == ["services/ok.yaml"]
    assert sorted((f.file, f.rule) for f in refused) == [("services/escape-dir", "file-refused"),
                                                         ("services/escape.yaml", "file-refused")]


def test_symlink_inside_the_repository_is_followed(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, {"shared/team.yaml": b"a: 1\n", "services/ok.yaml": b"b: 2\n"})
    os.symlink(root / "shared" / "team.yaml", root / "services" / "team.yaml")
    files, refused = discover(root, Settings())
    assert refused == [] and [f.path for f in files] == ["services/ok.yaml", "services/team.yaml"]


def test_both_suffixes_and_nothing_else_are_read(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, {"services/a.yaml": b"a: 1\n", "services/b.yml": b"b: 1\n",
                                 "services/c.json": b"{}", "services/README.md": b"# x\n"})
    files, _ = discover(root, Settings())
    assert [f.path for f in files] == ["services/a.yaml", "services/b.yml"]


def test_cache_returns_the_same_documents_without_parsing_again(tmp_path: Path) -> None:
    cache = ParseCache(Store(tmp_path), LIMITS)
    first = cache.parse("x.yaml", b"a: [1, 2]\n")
    cache.save()
    again = ParseCache(Store(tmp_path), LIMITS)
    second = again.parse("x.yaml", b"a: [1, 2]\n")
    assert (again.parsed, again.hits) == (0, 1)
    assert second.documents[0].data == first.documents[0].data
    assert second.documents[0].locate(("a", 1)) == (1, 8)


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ParseCache.PACK).write_bytes(b"\x00garbage")
    cache = ParseCache(Store(tmp_path), LIMITS)
    assert cache.parse("x.yaml", b"a: 1\n").documents[0].data == {"a": 1}


def test_symlink_loops_are_refused_without_walking_them(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, {"services/a.yaml": b"a: 1\n", "services/sub/b.yaml": b"b: 1\n"})
    os.symlink("..", root / "services" / "sub" / "up")  # a folder that contains itself
    os.symlink("two.yaml", root / "services" / "one.yaml")
    os.symlink("one.yaml", root / "services" / "two.yaml")
    started = cpu_seconds()
    files, refused = discover(root, Settings())
    assert cpu_seconds() - started < 2
    assert [f.path for f in files] == ["services/a.yaml", "services/sub/b.yaml"]
    assert sorted((f.file, f.message.split(":")[0]) for f in refused) == [
        ("services/one.yaml", "symlink loop"), ("services/sub/up", "symlink loop"), ("services/two.yaml", "symlink loop")]


def test_a_folder_reached_through_a_link_is_read_once_by_its_own_path(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, {"services/real/a.yaml": b"a: 1\n", "services/z.yaml": b"z: 1\n"})
    os.symlink("real", root / "services" / "alias")
    os.symlink("/nowhere/at/all", root / "services" / "dangling.yaml")
    os.symlink("/etc/hostname", root / "services" / "NOTES")  # not YAML: not read, not reported
    files, refused = discover(root, Settings())
    assert [f.path for f in files] == ["services/real/a.yaml", "services/z.yaml"]
    assert [(f.file, "cannot be followed" in f.message) for f in refused] == [("services/dangling.yaml", True)]


def test_parsing_in_worker_processes_gives_what_parsing_here_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    import svcascode.loading.parallel as parallel_parsing

    items = [(f"f{i}.yaml", b"a: %d\nb: [x, {c: %d}]\n" % (i, i)) for i in range(40)]
    items.insert(7, ("bad.yaml", b"a: 1\na: 2\n"))
    serial = [(p.path, [d.data for d in p.documents], [(f.line, f.message) for f in p.problems])
              for p in parallel_parsing.parse_many(items, ParseCache(None, LIMITS))]
    monkeypatch.setattr(parallel_parsing, "PARALLEL_THRESHOLD", 2)
    cache = ParseCache(None, LIMITS)
    parallel = list(parallel_parsing.parse_many(items, cache))
    assert [(p.path, [d.data for d in p.documents], [(f.line, f.message) for f in p.problems])
            for p in parallel] == serial
    assert parallel[0].documents[0].locate(("b", 1, "c")) == (2, 9)
    assert cache.parsed == 41 and cache.hits == 0  # parsed by the workers once: none was read from a store


# Disk and git go through one catalogue builder: the same files give the same findings either way.

def _located(findings: list[Finding]) -> list[tuple[str, str, int, int, str]]:
    return [(f.rule, f.file, f.line, f.column, f.message) for f in findings]


BROKEN = {  # one of each finding the builder makes, on top of a small catalogue
    "services/teams/half.yaml": TEAM % {"name": "half"} + "  bogus: 1\n",  # invalid, but claims Team/half
    "services/catalogue/uses-half.yaml": service("uses-half", owner="half"),  # so no ref-unresolved here
    "services/catalogue/unreadable.yaml": "kind: Team\nmetadata: {name: gone\n",  # YAML error, claims Team/gone
    "services/catalogue/uses-gone.yaml": service("uses-gone", owner="gone"),
    "services/catalogue/typo.yaml": service("typo", owner="opps"),  # unresolved, with a suggestion
    "services/catalogue/again.yaml": service("typo"),  # the same name: reported on the later file, typo.yaml
    "services/catalogue/big.yaml": "# padding\n" * 2000,  # over the size limit
    "services/catalogue/cycle-a.yaml": service("cycle-a", extra="  dependencies:\n"
                                               "    - {service: cycle-b, criticality: hard}\n"),
    "services/catalogue/cycle-b.yaml": service("cycle-b", extra="  dependencies:\n"
                                               "    - {service: cycle-a, criticality: hard}\n"),
}


def test_disk_and_revision_give_identical_findings(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit("a catalogue with one of each problem", {**base_catalogue(), **BROKEN})
    settings = Settings(cache=False, limits=Limits(max_file_bytes=10_000))
    on_disk = load_catalogue(repo.path, settings)
    from_git = load_revision(repo.path, settings, "HEAD")

    assert _located(from_git.findings) == _located(on_disk.findings)
    assert [f.path for f in from_git.catalogue.files] == [f.path for f in on_disk.catalogue.files]
    # one finding for each problem, and a reference to a document that is there but broken (uses-half.yaml,
    # uses-gone.yaml) is not reported a second time
    assert [(f.file, f.rule, f.line, f.column) for f in on_disk.findings] == [
        ("services/catalogue/big.yaml", "file-refused", 1, 1),
        ("services/catalogue/cycle-b.yaml", "dependency-cycle", 13, 8),
        ("services/catalogue/typo.yaml", "name-duplicate", 3, 12),
        ("services/catalogue/typo.yaml", "ref-unresolved", 8, 3),
        ("services/catalogue/unreadable.yaml", "yaml-invalid", 3, 1),
        ("services/teams/half.yaml", "schema-invalid", 8, 3)]
    assert any("did you mean 'ops'?" in f.message for f in on_disk.findings)


def test_the_example_catalogue_gives_the_same_findings_from_disk_and_from_git(tmp_path: Path) -> None:
    repo = Repo(copy_example(tmp_path / "repo"))
    repo.commit("example catalogue")
    on_disk = load_catalogue(repo.path, Settings(cache=False))
    assert on_disk.catalogue.documents
    assert _located(load_revision(repo.path, Settings(cache=False), "HEAD").findings) == _located(on_disk.findings)


def test_a_walk_through_commits_reports_what_a_fresh_load_reports(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit("base", {**base_catalogue(), "services/catalogue/gamma.yaml": service("gamma", owner="newteam")})
    # the valid names stay the same; only a broken document claiming the missing team arrives
    repo.commit("broken team", {"services/teams/newteam.yaml": TEAM % {"name": "newteam"} + "  bogus: 1\n"})
    repo.commit("team fixed", {"services/teams/newteam.yaml": TEAM % {"name": "newteam"}})
    repo.commit("team removed", {"services/teams/newteam.yaml": None})
    settings = Settings(cache=False)
    loader = RevisionLoader(repo.path, settings)
    try:
        walked = [_located(loader.load(f"HEAD~{n}").findings) for n in (3, 2, 1, 0)]
    finally:
        loader.close()
    fresh = [_located(load_revision(repo.path, settings, f"HEAD~{n}").findings) for n in (3, 2, 1, 0)]
    assert walked == fresh
    unresolved = [[f for f in state if f[0] == "ref-unresolved"] for state in walked]
    assert [len(state) for state in unresolved] == [1, 0, 0, 1]
    assert _located(load_catalogue(repo.path, settings).findings) == walked[-1]
