"""`import backstage` reads only regular files, never through a link, and never more than the size limit: a
FIFO named catalog-info.yaml cannot hang it, a link to /dev/zero cannot exhaust memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import copy_example
from svcascode.cli import main

ENTITY = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout-web}
spec: {type: website, lifecycle: production, owner: group:default/web-team}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "catalogue")
    (root / ".git").mkdir()
    return root


def run(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, ["import", "backstage", *args])


def test_a_fifo_is_refused_without_being_opened_for_long(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "backstage").mkdir()
    os.mkfifo(root / "backstage/catalog-info.yaml")  # nothing ever writes to it: reading it would block
    result = run(root, monkeypatch, "backstage/catalog-info.yaml")
    assert result.exit_code == 1, result.output
    assert "backstage/catalog-info.yaml:1:1: " in result.output
    assert "a FIFO (named pipe), not a regular file" in result.output
    assert not (root / "services/imported").exists()


def test_a_link_to_a_device_or_elsewhere_is_refused(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    folder = root / "backstage"
    (folder / "zero").mkdir(parents=True)
    (folder / "zero/catalog-info.yaml").symlink_to("/dev/zero")  # endless: read whole, memory runs out
    outside = tmp_path / "outside.yaml"
    outside.write_text(ENTITY)
    (folder / "other").mkdir()
    (folder / "other/catalog-info.yaml").symlink_to(outside)
    (folder / "real").mkdir()
    (folder / "real/catalog-info.yaml").write_text(ENTITY)
    result = run(root, monkeypatch, "backstage")
    assert result.exit_code == 1, result.output
    for name in ("zero", "other"):
        assert f"backstage/{name}/catalog-info.yaml:1:1: " in result.output
    assert result.output.count("not imported: a link: links are not followed") == 2
    assert "checkout-web" in (root / "services/imported/checkout-web.yaml").read_text()  # the real file is read


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / ".svcascode.yaml").write_text("limits: {max_file_bytes: 4096}\n")
    (root / "catalog-info.yaml").write_text(ENTITY + "# padding\n" * 1000)
    result = run(root, monkeypatch, "catalog-info.yaml")
    assert result.exit_code == 1
    assert "over the limit of 4096 (limits.max_file_bytes)" in result.output


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/proc/self/pagemap"])
def test_import_incidents_reads_a_bounded_regular_file(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                       special: str) -> None:
    """A FIFO would block, a device never ends, and a /proc file says it is empty while it is endless
    (/proc/self/pagemap is 8 bytes for every page the process could map): each is refused or cut at the
    bound, not read to the end."""
    export = root / "export.csv"
    if special == "fifo":
        os.mkfifo(export)
    elif not Path(special).exists():
        pytest.skip(f"{special} is not on this system")
    else:
        export.symlink_to(special)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["import", "incidents", "export.csv", "--mapping", "servicenow"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("svcascode: error: export.csv: ")
    assert any(why in result.output for why in ("a FIFO (named pipe)", "a character device", "larger than",
                                                "cannot read the file"))
