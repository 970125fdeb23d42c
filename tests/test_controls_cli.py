"""`svcascode controls` and `svcascode explain`, and the documentation every shipped control must carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from svcascode.catalogue import Catalogue, load_catalogue
from svcascode.checks import load_builtin
from svcascode.cli import main
from svcascode.explain import EXPLAIN_SECTIONS
from svcascode.config import Settings
from svcascode.documents import validate_document
from svcascode.loading.cache import make_cache, parse_blob
from conftest import copy_example

REPO = Path(__file__).parent.parent
FRAMEWORKS = ("iso27001-2022", "soc2-2017", "nist-800-53r5")
LIBRARY = REPO / "svcascode" / "library"  # the built-in library: controls/ and frameworks/
CONTROL_IDS = sorted(p.stem for p in (LIBRARY / "controls").glob("*.yaml"))


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    result = load_catalogue(REPO, Settings(cache=False))
    return result.catalogue


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ---------------------------------------------------------------------------------------------------
# controls


def test_controls_lists_every_control_with_severity_and_frameworks(example: Path) -> None:
    result = invoke("controls")
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if line and not line[0].isdigit()]
    assert [line.split()[0] for line in rows] == CONTROL_IDS  # each control once, in id order
    lines = {line.split()[0]: line for line in rows}
    assert lines["bck-rpo-consistent"].split()[1:3] == ["critical", "block"]
    assert "Backup method and interval can meet RPO" in lines["bck-rpo-consistent"]
    assert "nist-800-53r5 CP-9, CP-6" in lines["bck-rpo-consistent"]
    assert result.stdout.rstrip().endswith(f"{len(CONTROL_IDS)} controls; `svcascode explain ID` shows one in full")


def test_controls_json(example: Path) -> None:
    result = invoke("controls", "--format", "json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert [c["id"] for c in body] == CONTROL_IDS  # each control once, in id order
    listed = {c["id"]: c for c in body}
    assert listed["wvr-valid"] == {
        "id": "wvr-valid", "title": "Waivers are in date, approved independently and scoped",
        "severity": "high", "enforcement": "block", "check": "wvr_valid",
        "frameworks": {"iso27001-2022": ["A.5.36"], "soc2-2017": ["CC3.2", "CC4.2"],
                       "nist-800-53r5": ["CA-5", "RA-7"]}, "source": "built-in library 0.1.0"}
    assert listed["svc-business-owner"]["check"] == "schema"


def test_controls_come_from_the_catalogue(example: Path) -> None:
    (example / ".svcascode.yaml").write_text("library: {disable: [svc-business-owner]}\n")
    ids = [c["id"] for c in json.loads(invoke("controls", "--format", "json").stdout)]
    assert "svc-business-owner" not in ids and len(ids) == len(CONTROL_IDS) - 1


# ---------------------------------------------------------------------------------------------------
# explain


def test_explain_accepts_the_upper_case_id(example: Path) -> None:
    result = invoke("explain", "BCK-RPO-CONSISTENT")
    assert result.exit_code == 0
    assert result.stdout.startswith("bck-rpo-consistent: Backup method and interval can meet RPO\n")
    assert "  critical, enforcement block (fails the check)" in result.stdout
    assert "    CP-9  System Backup" in result.stdout
    assert "    A.8.13  Information backup" in result.stdout
    assert "  requireOffsiteForTiers: [tier-0, tier-1]" in result.stdout


def test_explain_prints_baseline_parameters_per_tier(example: Path) -> None:
    result = invoke("explain", "acc-review-overdue")
    assert "  Baseline parameters (per tier; Baseline documents override the defaults):" in result.stdout
    assert "    access_review_standard_max: tier-0 180d, tier-1 180d, tier-2 180d, tier-3 365d" in result.stdout


def test_explain_declarative_control_prints_its_schema(example: Path) -> None:
    result = invoke("explain", "svc-business-owner")
    assert "  each selected document must satisfy this JSON Schema:" in result.stdout
    assert "        - businessOwner" in result.stdout
    assert "  none: a declarative check has no parameters" in result.stdout


def test_explain_keeps_a_docstring_list_a_list_and_ids_whole(example: Path) -> None:
    lines = invoke("explain", "wvr-valid").stdout.splitlines()
    bullets = [line for line in lines if line.startswith("  - ")]
    assert len(bullets) == 7 and bullets[0].startswith("  - expired (as-of on or after expiresAt)")
    assert "    again;" in lines  # a wrapped item continues under its text, not under the dash
    text = invoke("explain", "acc-lifecycle").stdout
    assert "(acc-review-overdue)" in text and "acc-\n" not in text


def test_explain_unknown_id_exits_2_with_a_suggestion(example: Path) -> None:
    result = invoke("explain", "bck-rpo-consistant")
    assert result.exit_code == 2
    assert "no control with id 'bck-rpo-consistant'; did you mean 'bck-rpo-consistent'?" in result.stderr


def test_explain_a_rule_of_the_tool_itself(example: Path) -> None:
    result = invoke("explain", "schema-invalid")
    assert result.exit_code == 0
    assert result.stdout.startswith("schema-invalid: Document matches the schema of its kind")
    assert "Remediation" in result.stdout


# ---------------------------------------------------------------------------------------------------
# Every shipped control is documented: the docs check


def _sections(text: str) -> dict[str, str]:
    """Section heading -> its body, from explain's output (headings start at column 0)."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines()[1:]:
        if line and not line[0].isspace():
            current = line
            out[current] = ""
        elif current is not None:
            out[current] += line.strip() + "\n"
    return out


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_control_is_fully_documented(shipped: Catalogue, control_id: str) -> None:
    control = shipped.get("Control", control_id)
    assert control is not None, f"svcascode/library/controls/{control_id}.yaml is not a valid Control named {control_id}"
    spec = control.spec
    assert control.model.metadata.title, "metadata.title is missing"
    assert len(spec.rationale.split()) >= 20, "rationale is missing or too short to explain why"
    assert len(spec.remediation.split()) >= 10, "remediation is missing or too short to say what to change"
    assert spec.examples.failing.strip() and spec.examples.passing.strip()
    mapped = {m.framework: m.controls for m in spec.mappings}
    assert sorted(mapped) == sorted(FRAMEWORKS), f"maps to {sorted(mapped)}; every control maps to all three"
    for framework_name, ids in mapped.items():
        framework = shipped.get("Framework", framework_name)
        assert framework is not None
        known = {c.id for c in framework.spec.controls}
        assert set(ids) <= known, f"{framework_name} does not list {sorted(set(ids) - known)}"
    if spec.check.builtin is not None:
        builtin = load_builtin(spec.check.builtin)
        assert builtin is not None and builtin.summary, f"built-in {spec.check.builtin} has no docstring"


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_control_examples_are_valid_documents(shipped: Catalogue, control_id: str) -> None:
    control = shipped.get("Control", control_id)
    assert control is not None
    cache = make_cache(REPO, Settings(cache=False))
    for which in ("failing", "passing"):
        parsed = parse_blob(f"{control_id}:{which}", getattr(control.spec.examples, which).encode(), cache)
        assert not parsed.problems, [p.message for p in parsed.problems]
        assert parsed.documents, f"{which} example holds no document"
        for raw in parsed.documents:
            document, problems = validate_document(raw, parsed.text)
            assert document is not None, f"{which} example: {[p.message for p in problems]}"


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_explain_prints_every_section(example: Path, control_id: str) -> None:
    result = invoke("explain", control_id)
    assert result.exit_code == 0
    sections = _sections(result.stdout)
    assert [s for s in sections if s in EXPLAIN_SECTIONS] == list(EXPLAIN_SECTIONS)
    for name in EXPLAIN_SECTIONS:
        assert sections[name].strip(), f"section {name!r} is empty"
    assert "not available" not in sections["What it checks"]
    mappings = sections["Framework mappings"]
    # each framework under its own title (from its Framework document) and id
    assert "ISO/IEC 27001:2022 Annex A (iso27001-2022," in mappings
    assert "AICPA Trust Services Criteria" in mappings and "(soc2-2017," in mappings
    assert "NIST SP 800-53 Rev. 5 (nist-800-53r5," in mappings
