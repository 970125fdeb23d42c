"""Documents held compactly, and a file seen before not validated again: the same answers, located the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import copy_example, run_cli
from svcascode.catalogue import load_catalogue, validate_file
from svcascode.config import Limits, Settings
from svcascode.documents import validate_document
from svcascode.errors import SvcascodeError
from svcascode.loading.cache import ParseCache
from svcascode.store import Store
from svcascode.loading.yamlfile import parse_text

LIMITS = Limits()
SERVICE = """\
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata:
  name: {name}
spec:
  type: technical
  tier: tier-2
  lifecycle: production
  owner: platform
  supportHours: always-on
  data: {{classification: internal, personalData: false}}
  dependencies:
    - {{service: other, criticality: soft}}
"""


def test_documents_of_the_same_shape_share_their_paths_and_keys() -> None:
    first = parse_text("a.yaml", SERVICE.format(name="one").encode(), LIMITS).documents[0]
    second = parse_text("b.yaml", SERVICE.format(name="two").encode(), LIMITS).documents[0]
    first_paths, second_paths = first.packed_marks()[0], second.packed_marks()[0]
    assert first_paths == second_paths
    assert all(a is b for a, b in zip(first_paths, second_paths))  # one tuple per path, not one per document
    assert [k for k in first.data["spec"]][0] is [k for k in second.data["spec"]][0]
    assert first.data["spec"]["tier"] is second.data["spec"]["tier"]
    assert second.locate(("spec", "dependencies", 0, "criticality")) == (13, 24)
    assert second.locate(("spec", "dependencies", 3, "service")) == (12, 3)  # nearest ancestor that exists
    assert second.mark(("spec", "nothing")) is None
    assert second.marks[("metadata", "name")] == (4, 3)


def test_models_that_gave_the_same_fields_share_one_set_of_them_which_cannot_change() -> None:
    texts = [SERVICE.format(name=name) for name in ("one", "two")]
    one, _ = validate_document(parse_text("a.yaml", texts[0].encode(), LIMITS).documents[0], texts[0])
    two, _ = validate_document(parse_text("b.yaml", texts[1].encode(), LIMITS).documents[0], texts[1])
    assert one is not None and two is not None
    assert one.spec.model_fields_set == {"type", "tier", "lifecycle", "owner", "support_hours", "data",
                                         "dependencies"}
    assert one.spec.__pydantic_fields_set__ is two.spec.__pydantic_fields_set__
    assert one.model.metadata.__pydantic_fields_set__ is two.model.metadata.__pydantic_fields_set__
    assert one.spec.data.model_dump(exclude_unset=True) == {"classification": "internal", "personal_data": False}
    with pytest.raises(TypeError, match="do not change"):
        one.spec.owner = "someone-else"  # would change `two`'s set of given fields too
    assert two.spec.model_fields_set == one.spec.model_fields_set and two.spec.owner == "platform"


def test_a_large_document_is_located_exactly() -> None:
    text = "items:\n" + "".join(f"  - {{name: n{i}, value: {i}}}\n" for i in range(2000))
    document = parse_text("big.yaml", text.encode(), LIMITS).documents[0]
    assert document.locate(("items", 1500, "value")) == (1502, 19)
    assert document.locate(("items", 1999)) == (2001, 5)
    assert document.locate(("items", 2000, "name")) == (1, 1)  # no such item: the nearest ancestor, `items`


def test_marks_survive_the_cache_and_locate_the_same(tmp_path: Path) -> None:
    data = SERVICE.format(name="one").encode()
    cache = ParseCache(Store(tmp_path), LIMITS)
    cache.parse("a.yaml", data)
    cache.save()
    warm = ParseCache(Store(tmp_path), LIMITS)
    again = warm.parse("a.yaml", data)
    assert (warm.parsed, warm.hits) == (0, 1)
    assert again.documents[0].locate(("spec", "dependencies", 0, "service")) == (13, 8)
    assert again.documents[0].marks == parse_text("a.yaml", data, LIMITS).documents[0].marks


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


INVALID = SERVICE.format(name="bad").replace("tier: tier-2", "tier: tier-9").replace("owner:", "ownr:")
CATALOGUE = {
    ".svcascode.yaml": "library: {enabled: false}\n",
    "services/one.yaml": SERVICE.format(name="one").replace("other", "two"),
    "services/two.yaml": SERVICE.format(name="two").replace("other", "one"),
    "services/bad.yaml": INVALID,
    "services/team.yaml": "apiVersion: svcascode.io/v1alpha1\nkind: Team\nmetadata: {name: platform}\n"
                          "spec:\n  type: team\n  members:\n    - {id: lead@example.com, role: lead}\n",
}


def _located(findings: list) -> list[tuple[str, int, int, str, str]]:
    return [(f.file, f.line, f.column, f.rule, f.message) for f in findings]


def test_a_file_seen_before_gives_the_same_findings_and_builds_its_models_when_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "catalogue"
    _write(root, CATALOGUE)
    settings = Settings(library={"enabled": False})
    first = load_catalogue(root, settings)
    again = load_catalogue(root, settings)
    assert _located(again.findings) == _located(first.findings)
    assert [(f.line, f.column, f.message) for f in again.findings if f.file == "services/bad.yaml"] == [
        (7, 3, "spec.tier: 'tier-9' is not one of: tier-0, tier-1, tier-2, tier-3"),
        (9, 3, "spec.ownr: unknown field 'ownr'; did you mean 'owner'?")]
    one = again.catalogue.get("Service", "one")
    assert one is not None and one._model_class is not None  # built without its model: validated before
    raw = one.raw
    direct, _ = validate_document(raw, (root / "services/one.yaml").read_text())
    assert direct is not None and one.spec == direct.spec and one.model == direct.model
    assert one.labels == {} and one.spec.dependencies[0].service == "two"


def test_a_changed_file_is_validated_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "catalogue"
    _write(root, CATALOGUE)
    settings = Settings(library={"enabled": False})
    load_catalogue(root, settings)
    (root / "services/one.yaml").write_text(SERVICE.format(name="one").replace("tier-2", "tier-7"))
    result = load_catalogue(root, settings)
    assert [(f.line, f.message) for f in result.findings if f.file == "services/one.yaml"] == [
        (7, "spec.tier: 'tier-7' is not one of: tier-0, tier-1, tier-2, tier-3")]


def test_a_cached_outcome_the_models_now_refuse_is_an_error_not_a_wrong_answer(tmp_path: Path) -> None:
    """Were the validation cache ever to disagree with the models, reading the model says so (exit 2)."""
    cache = ParseCache(Store(tmp_path), LIMITS)
    parsed = cache.parse("services/bad.yaml", INVALID.encode())
    honest = validate_file(parsed, cache)
    assert [f.message.split(":")[0] for f in honest.problems] == ["spec.tier", "spec.ownr"]
    records = cache.store.pack("validate")
    [key] = list(records.keys_kept())
    records.keep(key, [("Service", "bad", {})])  # a lie: says the document passed
    lied = validate_file(cache.parse("services/bad.yaml", INVALID.encode()), cache)
    with pytest.raises(SvcascodeError, match="passed validation when it was cached but fails it now"):
        lied.documents[0].spec


def test_one_file_validate_reports_the_same_from_a_warm_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_example(tmp_path / "catalogue")
    path = root / "services/catalogue/claims-api.yaml"
    path.write_text(path.read_text().replace("tier: tier-1", "tier: tier-9", 1))
    runs = [run_cli("validate", "services/catalogue/claims-api.yaml", cwd=root) for _ in range(2)]
    assert [r.returncode for r in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout
    assert runs[1].stdout.splitlines()[0].startswith(
        "services/catalogue/claims-api.yaml:")
    assert "spec.tier: 'tier-9' is not one of: tier-0, tier-1, tier-2, tier-3" in runs[1].stdout
