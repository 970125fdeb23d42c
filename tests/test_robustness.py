"""Randomly broken catalogues: every outcome is findings or a clear error, never a crash of a check or a format."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest

from conftest import REPO, copy_example
from svcascode.assessment import assess
from svcascode.catalogue import load_catalogue
from svcascode.config import Settings
from svcascode.errors import SvcascodeError
from svcascode.formats import FORMATS

FILES = sorted(p.relative_to(REPO) for folder in ("services", "policies") for p in (REPO / folder).rglob("*.yaml"))
JUNK = ["~", "null", "[]", "{}", "yes", "12:30", "0", "-1", "1e9", "'x'", "&a x", "*a", "!!str 5", "[[[", "}}",
        "- - x", "? x", "|", ">", '"\\u0000"', "2026-13-45", "99.99999", "P1", "tier-9", "é", "\t",
        "key: value: other"]


def mutate(root: Path, rng: random.Random) -> None:
    """One to three edits of the kinds people make by accident: lines lost, doubled, moved, mangled."""
    for _ in range(rng.randint(1, 3)):
        target = root / rng.choice(FILES)
        lines = target.read_text().split("\n")
        kind, i = rng.randrange(8), rng.randrange(len(lines))
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[i])
        elif kind == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3 and ":" in lines[i]:
            lines[i] = lines[i][:lines[i].index(":") + 1] + " " + rng.choice(JUNK)
        elif kind == 4:
            lines[i] = " " * rng.randint(0, 7) + lines[i].lstrip()
        elif kind == 5:
            lines.insert(i, rng.choice(JUNK))
        elif kind == 6:
            lines = lines[:i]
        else:
            data = bytearray("\n".join(lines).encode())
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            target.write_bytes(bytes(data))
            continue
        target.write_text("\n".join(lines))


@pytest.mark.parametrize("seed", range(40))
def test_a_randomly_broken_catalogue_gives_findings_not_crashes(seed: int, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    mutate(root, random.Random(seed))
    try:
        result = load_catalogue(root, Settings(cache=False))
    except SvcascodeError as error:  # a broken document is a finding: the run itself must not give up
        pytest.fail(f"seed {seed}: the whole run failed: {error}")
    assessment = assess(result, date(2026, 11, 27))
    findings = assessment.findings
    assert [f for f in findings if f.rule == "check-error"] == []
    assert all(f.line >= 1 and f.column >= 1 and f.file for f in findings)
    report = assessment.report("high")
    for name, render in FORMATS.items():
        text = render(report)
        assert "Traceback" not in text
        if name in ("json", "sarif"):
            json.loads(text)
