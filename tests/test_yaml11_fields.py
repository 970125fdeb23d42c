"""YAML 1.1 reads `no`, `on` and `12` as a boolean or a number: every such misreading is reported at the field,
naming it, even in the fields that say what a document is (apiVersion, kind)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from svcascode.cli import main


@pytest.mark.parametrize(("text", "where", "message"), [
    ("apiVersion: svcascode.io/v1alpha1\nkind: no\nmetadata: {name: k}\n", (2, 1),
     'kind: no was read as the boolean false (YAML 1.1 reads yes/no/on/off/true/false as booleans); quote it: "no"'),
    ("apiVersion: on\nkind: Team\nmetadata: {name: t}\n", (1, 1),
     'apiVersion: on was read as the boolean true (YAML 1.1 reads yes/no/on/off/true/false as booleans); '
     'quote it: "on"'),
    ("apiVersion: svcascode.io/v1alpha1\nkind: [Team]\nmetadata: {name: t}\n", (2, 1),
     "kind: expected text, got a list"),
    ("apiVersion: svcascode.io/v1alpha1\nkind: Team\nmetadata: {name: no}\nspec:\n  type: team\n", (3, 12),
     'metadata.name: no was read as the boolean false'),
])
def test_a_misread_field_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                  where: tuple[int, int], message: str) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services/doc.yaml").write_text(text)
    (tmp_path / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--no-cache", "validate", "--format", "json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.output)["findings"]
    assert [(f["line"], f["column"]) for f in found][:1] == [where]
    assert found[0]["message"].startswith(message), found[0]["message"]
