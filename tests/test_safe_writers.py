"""Every command that writes a file refuses a link on the way to it: a repository that commits a link at an
output path (`out` -> /etc, `svcascode.sarif` -> ~/.bashrc) cannot make a run write outside the folder
chosen. Each command is run as a user runs it, with the link committed at its default output path (or at
the path given), and nothing outside may change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from conftest import copy_example
from svcascode.cli import main
from svcascode.errors import SvcascodeError
from svcascode.safewrite import OutputFolder, write_file

AS_OF = "2026-11-27"
TESTS = Path(__file__).parent

BACKSTAGE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout-web, description: The web shop}
spec: {type: website, lifecycle: production, owner: group:default/web-team}
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("writers") / "catalogue")
    (root / ".git").mkdir()  # the repository's root
    shutil.copy(TESTS / "incident_exports/servicenow.csv", root / "tickets.csv")
    (root / "catalog-info.yaml").write_text(BACKSTAGE)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A folder outside the repository with one file in it: neither may change."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim").write_text("precious\n")
    yield folder


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() if p.is_file() else "<dir>"
            for p in sorted(folder.rglob("*"))}


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, list(args))


def plant(root: Path, link: str, target: Path) -> Path:
    """A link at `link` (relative to the repository), with the folders before it real."""
    path = root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


@pytest.fixture
def cleanup(root: Path) -> Iterator[list[str]]:
    planted: list[str] = []
    yield planted
    for name in ("out", "review.html", "deadlines.md", "calendars", "svcascode.sarif", "schemas-out",
                 "results.xml", "services/imported", "services/new-incidents", "fresh", "services/linked"):
        path = root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


# (the command, where the link is, whether it stands for a folder or the file written)
CASES = [
    (["render", "catalogue", "--deadline-days", "0"], "out", "folder"),
    (["render", "catalogue", "--deadline-days", "0"], "out/catalogue/index.html", "file"),
    (["render", "report", "--history-commits", "0", "--format", "md", "--format", "json"], "out/report", "folder"),
    (["export", "backstage"], "out/backstage/catalog-info.yaml", "file"),
    (["export", "openslo"], "out/monitoring", "folder"),
    (["generate", "prometheus"], "out/monitoring/prometheus", "folder"),
    (["generate", "prometheus"], "out/monitoring/prometheus/claims-api.rules.yaml", "file"),
    (["generate", "alertmanager"], "out/monitoring/alertmanager/teams", "folder"),
    (["sla", "review", "--period", "2026-01..2026-10", "--output", "review.html"], "review.html", "file"),
    (["forecast", "--days", "2", "--output", "deadlines.md"], "deadlines.md", "file"),
    (["forecast", "--days", "2", "--ical", "calendars"], "calendars", "folder"),
    (["import", "incidents", "tickets.csv", "--mapping", "servicenow", "--out", "services/new-incidents"],
     "services/new-incidents", "folder"),
    (["import", "backstage", "catalog-info.yaml"], "services/imported", "folder"),
    (["check", "--format", "sarif", "--output", "svcascode.sarif"], "svcascode.sarif", "file"),
    (["check", "--format", "sarif", "--output", "out/svcascode.sarif"], "out", "folder"),
    (["schema", "--write", "--dir", "schemas-out"], "schemas-out", "folder"),
    (["test", "--no-examples", "--format", "junit", "--output", "results.xml"], "results.xml", "file"),
]


@pytest.mark.parametrize(("args", "link", "kind"), CASES, ids=[f"{' '.join(c[0][:2])}:{c[1]}" for c in CASES])
def test_a_link_on_the_output_path_is_refused_and_nothing_outside_changes(
        root: Path, outside: Path, cleanup: list[str], monkeypatch: pytest.MonkeyPatch,
        args: list[str], link: str, kind: str) -> None:
    target = outside if kind == "folder" else outside / "victim"
    plant(root, link, target)
    before = snapshot(outside)
    result = run(root, monkeypatch, *args, *(["--as-of", AS_OF] if args[0] in (
        "render", "export", "generate", "sla", "forecast", "check") and args[:2] != ["export", "openslo"] else []))
    assert snapshot(outside) == before, result.output  # nothing written, created or replaced outside
    assert result.exit_code == 2, result.output
    assert f"{link}: is a link (to {target})" in result.output
    assert "Traceback" not in result.output


def test_init_refuses_a_link_in_the_folder_it_scaffolds(root: Path, outside: Path, cleanup: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "fresh").mkdir()
    plant(root, "fresh/.github", outside)
    before = snapshot(outside)
    result = run(root, monkeypatch, "init", "fresh")
    assert snapshot(outside) == before
    assert result.exit_code == 2 and "fresh/.github" in result.output and "link" in result.output


def test_a_link_that_stays_inside_is_refused_too(root: Path, cleanup: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """No link is followed, wherever it leads: a link to the catalogue's own folder could overwrite it."""
    plant(root, "out", root / "services")
    result = run(root, monkeypatch, "generate", "prometheus", "--as-of", AS_OF)
    assert result.exit_code == 2 and "out: is a link (to " in result.output
    assert not (root / "services" / "monitoring").exists()


def test_the_writer_never_follows_a_link_put_in_place_after_the_check(tmp_path: Path) -> None:
    """A folder replaced by a link between the check and the write: the write refuses it too (each
    component is opened without following a link, not looked up by name twice)."""
    out = tmp_path / "out"
    folder = OutputFolder(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.rmdir()
    out.symlink_to(elsewhere)
    with pytest.raises(SvcascodeError, match="is a link"):
        folder.write("page.html", "<p>")
    with pytest.raises(SvcascodeError, match="is a link"):
        write_file(out / "page.html", "<p>")
    assert list(elsewhere.iterdir()) == []


def test_exclusive_creation_never_replaces_a_file_or_a_link(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path / "imported")
    folder.write("a.yaml", "first\n", exclusive=True)
    with pytest.raises(FileExistsError):
        folder.write("a.yaml", "second\n", exclusive=True)
    (tmp_path / "victim").write_text("precious\n")
    (tmp_path / "imported" / "b.yaml").symlink_to(tmp_path / "victim")
    with pytest.raises(FileExistsError):
        folder.write("b.yaml", "second\n", exclusive=True)
    assert (tmp_path / "imported" / "a.yaml").read_text() == "first\n"
    assert (tmp_path / "victim").read_text() == "precious\n"


def test_nothing_is_written_outside_the_folder_by_name(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path / "out")
    for name in ("../escape.txt", "/etc/escape.txt", "a/../../escape.txt"):
        with pytest.raises(SvcascodeError, match="outside the output folder"):
            folder.write(name, "x")
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_a_fifo_at_the_output_path_is_refused_without_blocking(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(tmp_path / "pipe")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SvcascodeError, match="pipe: is not a regular file"):
        write_file("pipe", "x")


def test_a_writer_of_many_files_walks_its_output_path_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A site of thousands of pages: the output folder is reached once, each folder below it once, and then
    one file is created for each page (counted: `os.open` calls)."""
    out = tmp_path / "a" / "b" / "site"
    out.mkdir(parents=True)
    opened: list[str] = []
    real_open = os.open

    def counted(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counted)
    with OutputFolder(out) as folder:
        walk = len(opened)
        assert walk == len(out.parts)  # "/" and each component, once
        for i in range(50):
            folder.write(f"services/s{i}.html", "<p>")
            folder.write(f"teams/t{i}.md", "text")
    # each of the two folders below it: not there, made, opened; then one temporary file a page
    assert len(opened) - walk == 2 * 2 + 100
    assert len(list((out / "services").iterdir())) == 50 and (out / "teams/t49.md").read_text() == "text"
