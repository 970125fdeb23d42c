"""Model cases as data: passing and failing documents with the exact messages and lines they produce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from svcascode.config import Limits
from svcascode.documents import validate_document
from svcascode.loading.yamlfile import parse_text

CASES = sorted((Path(__file__).parent / "model_cases").glob("*.yaml"))


def _params() -> list[Any]:
    out = []
    for path in CASES:
        for case in yaml.safe_load(path.read_text())["cases"]:
            out.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return out


@pytest.mark.parametrize("case", _params())
def test_model_case(case: dict[str, Any]) -> None:
    parsed = parse_text("case.yaml", case["document"].encode(), Limits())
    assert parsed.problems == []
    got = []
    for raw in parsed.documents:
        _, findings = validate_document(raw, parsed.text)
        got += [(f.line, f.message) for f in findings]
    expected = case["expect"] or []
    assert len(got) == len(expected), got
    for (line, message), want in zip(sorted(got), sorted(expected, key=lambda w: (w["line"], w["message"]))):
        assert line == want["line"] and want["message"] in message, (line, message, want)
