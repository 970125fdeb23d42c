"""The committed JSON Schemas match the models, and every example document validates against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from conftest import REPO, run_cli
from svcascode.models import KINDS
from svcascode.schemas import COMBINED, all_schemas, file_name, render

SCHEMAS = REPO / "schemas"


def test_committed_schemas_match_the_models() -> None:
    expected = all_schemas()
    committed = {p.name for p in SCHEMAS.glob("*.json")}
    assert committed == set(expected), "run `svcascode schema --write`"
    stale = [name for name, schema in expected.items() if (SCHEMAS / name).read_text() != render(schema)]
    assert stale == [], f"schemas differ from the models: {stale}; run `svcascode schema --write`"


def test_schema_check_command_reports_drift(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    assert run_cli("schema", "--write", "--dir", str(folder), cwd=tmp_path).returncode == 0
    assert run_cli("schema", "--check", "--dir", str(folder), cwd=tmp_path).returncode == 0
    (folder / "service.schema.json").write_text("{}\n")
    result = run_cli("schema", "--check", "--dir", str(folder), cwd=tmp_path)
    assert result.returncode == 1 and "service.schema.json: differs from the models" in result.stdout


def _example_documents() -> list[object]:
    docs = []
    for path in sorted(list((REPO / "services").rglob("*.y*ml")) + list((REPO / "policies").rglob("*.y*ml"))):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                docs.append(pytest.param(json.loads(json.dumps(doc, default=str)),
                                         id=f"{path.relative_to(REPO)}:{doc['metadata']['name']}"))
    return docs


@pytest.mark.parametrize("document", _example_documents())
def test_example_validates_against_its_schema_and_the_combined_one(document: dict) -> None:
    combined = json.loads((SCHEMAS / COMBINED).read_text())
    Draft202012Validator.check_schema(combined)
    errors = [e.message for e in Draft202012Validator(combined).iter_errors(document)]
    assert errors == []
    if document["apiVersion"] == "svcascode.io/v1alpha1":
        schema = json.loads((SCHEMAS / file_name(document["kind"])).read_text())
        assert [e.message for e in Draft202012Validator(schema).iter_errors(document)] == []


def test_schemas_reject_what_the_models_reject() -> None:
    schema = json.loads((SCHEMAS / file_name("Service")).read_text())
    document = {"apiVersion": "svcascode.io/v1alpha1", "kind": "Service", "metadata": {"name": "x"},
                "spec": {"type": "business", "tier": "tier-9", "lifecycle": "production", "owner": "t",
                         "supportHours": "c", "data": {"classification": "internal"}, "ownr": "t"}}
    messages = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert any("tier-9" in m for m in messages) and any("ownr" in m for m in messages)


def test_schema_command_prints_one_kind_and_rejects_unknown(tmp_path: Path) -> None:
    result = run_cli("schema", "servicelevel", cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["title"] == "ServiceLevel"
    result = run_cli("schema", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "unknown kind" in result.stderr


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_schemas_use_only_local_references() -> None:
    refs = [ref for path in SCHEMAS.glob("*.json") for ref in _refs(json.loads(path.read_text()))]
    assert refs and all(ref.startswith("#/") for ref in refs), [r for r in refs if not r.startswith("#/")]
