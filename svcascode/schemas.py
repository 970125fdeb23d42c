"""JSON Schemas generated from the models: one per kind, and one combined schema for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from svcascode.models import KINDS
from svcascode.models.openslo import OpenSloDocument

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://svcascode.io/schemas/v1alpha1/"  # identifiers only; nothing is fetched from here
COMBINED = "svcascode.schema.json"


def kind_schema(kind: str) -> dict[str, Any]:
    schema = KINDS[kind].model_json_schema(by_alias=True)
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_BASE + file_name(kind), **schema}


def file_name(kind: str) -> str:
    return f"{kind.lower()}.schema.json"


def combined_schema() -> dict[str, Any]:
    """One schema for every document: the `kind` (and apiVersion) picks the kind's definition.

    yaml-language-server uses it through `# yaml-language-server: $schema=...` or the editor's
    `yaml.schemas` setting, giving completion and hover for every field.
    """
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in KINDS.values()), (OpenSloDocument, "validation")]
    refs, defs = models_json_schema(models, by_alias=True, ref_template="#/$defs/{model}")
    branches = []
    for kind, model in KINDS.items():
        branches.append({"if": {"properties": {"kind": {"const": kind}, "apiVersion": {"const": "svcascode.io/v1alpha1"}},
                                "required": ["kind"]},
                         "then": refs[(model, "validation")]})
    branches.append({"if": {"properties": {"apiVersion": {"const": "openslo/v1"}}, "required": ["apiVersion"]},
                     "then": refs[(OpenSloDocument, "validation")]})
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_BASE + COMBINED,
        "title": "svcascode document",
        "description": "Any svcascode.io/v1alpha1 document, or an OpenSLO v1 document",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {
            "apiVersion": {"enum": ["svcascode.io/v1alpha1", "openslo/v1"]},
            "kind": {"type": "string", "enum": sorted(set(KINDS) | {"SLO", "SLI", "AlertPolicy", "AlertCondition",
                                                               "AlertNotificationTarget", "DataSource"})},
        },
        "allOf": branches,
        "$defs": defs["$defs"],
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, in a stable order."""
    out = {file_name(kind): kind_schema(kind) for kind in KINDS}
    out[COMBINED] = combined_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    from svcascode.safewrite import OutputFolder

    out = OutputFolder(folder)
    return [out.write(name, render(schema)) for name, schema in all_schemas().items()]
