"""Copies of the example catalogue for the rendering tests, plain or with a hostile service."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import copy_example

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-27"
HOSTILE_DESCRIPTION = "<script>alert(1)</script> Read [the docs](javascript:alert(1)) first."


def example_copy(target: Path) -> Path:
    """services/ and policies/ copied into `target` (outside any git repository)."""
    return copy_example(target)


def service_names(root: Path) -> list[str]:
    names = []
    for path in sorted((root / "services").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "Service":
                names.append(document["metadata"]["name"])
    return names


def make_hostile(root: Path) -> None:
    """claims-api gets a description with a script tag and a javascript: link, and a javascript: annotation."""
    path = root / "services" / "catalogue" / "claims-api.yaml"
    document = yaml.safe_load(path.read_text())
    document["metadata"]["description"] = HOSTILE_DESCRIPTION
    document["metadata"]["annotations"] = {"svcascode.io/dashboard": "javascript:alert(2)"}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
