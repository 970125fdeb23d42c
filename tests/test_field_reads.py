"""A result follows the fields an expression read of the documents it was handed, not all they hold.

An access-policy control that reads a few fields of the services the policy covers is not evaluated again
when one of those services changes a field it never read (its title, its description), and is evaluated
again, with the answer `--no-cache` gives, when a field it read changes: read by name, by presence (`has`,
`in`), by size, or whole (iterated, compared, shown in a message).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import copy_example, run_cli
from svcascode import incremental, twocores

AS_OF = "2026-11-27"
EXAMPLES = int(os.environ.get("SVCASCODE_FUZZ_EXAMPLES", "3"))
CHECK = ("check", "--format", "json", "--as-of", AS_OF)

# Reads the services an access policy covers in each way an expression can read a map.
FIELDS_CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: acc-covered-fields, title: Reads the services an access policy covers}
spec:
  severity: low
  enforcement: warn
  appliesTo: {kinds: [AccessPolicy]}
  check:
    variables:
      - {name: covered, expression: services(document)}
    validations:
      - expression: covered.all(t, t.spec.tier != "tier-0")
        message: "tier-0: {{covered.filter(t, t.spec.tier == 'tier-0').map(t, t.metadata.name)}}"
      - expression: covered.all(t, !has(t.metadata.labels) || size(t.metadata.labels) < 2)
        message: "labels: {{covered.map(t, has(t.metadata.labels) ? size(t.metadata.labels) : 0)}}"
      - expression: covered.all(t, !has(t.metadata.labels) || !("pci" in t.metadata.labels))
        message: "pci-labelled: {{covered.filter(t, has(t.metadata.labels) && 'pci' in t.metadata.labels)}}"
      - expression: covered.all(t, !has(t.spec.data) || t.spec.data.all(k, k != "retention"))
        message: "data keys"
      - expression: covered.all(t, !has(t.spec.continuity) || t.spec.continuity.rpo <= duration("1h"))
        message: "rpo: {{covered.map(t, has(t.spec.continuity) ? t.spec.continuity.rpo : duration('0s'))}}"
      - expression: "false"
        message: >-
          data: {{covered.map(t, has(t.spec.data) ? t.spec.data : {})}};
          rpo as written: {{covered.map(t, has(t.spec.continuity) ? t.spec.continuity.rpo : duration('0s'))}};
          fields in spec: {{covered.map(t, size(t.spec))}}
  rationale: Reads fields of other documents in every way an expression can.
  remediation: None needed.
  examples: {failing: "kind: AccessPolicy", passing: "kind: AccessPolicy"}
  mappings:
    - {framework: iso27001-2022, controls: [A.5.15]}
"""

SERVICE = "services/catalogue/claims-documents.yaml"  # covered by claims-access, which targets it
SERVICES = [SERVICE, "services/catalogue/claims-api.yaml"]

# (what, pattern, replacement, whether the control read what changes, whether its answer changes)
EDITS = [
    ("title", r"(?m)^  title: .*$", "  title: Claim document archive", False, False),
    ("description", r"(?m)^  description: .*$", '  description: "Where claim files are kept."', False, False),
    ("a link", r"title: Runbook}", "title: Run book}", False, False),
    ("the tier", r"tier: tier-2", "tier: tier-0", True, True),
    # celpy's `in` walks a map's keys: all of the map is read, although no answer shows a label's value
    ("a label's value", r"svcascode.io/domain: claims", "svcascode.io/domain: payments", True, False),
    ("a new label", r"svcascode.io/domain: claims", "svcascode.io/domain: claims\n    team: docs", True, True),
    ("a label named pci", r"svcascode.io/domain: claims", "pci: in-scope", True, True),
    ("a value the message shows whole", r"personalData: true", "personalData: false", True, True),
    ("a list the message shows whole", r"regions: \[uk\]", "regions: [uk, ie]", True, True),
    ("a duration", r"rpo: 15m", "rpo: 2h", True, True),
    ("a duration as written", r"rpo: 15m", "rpo: 900s", True, True),
    ("a field only counted", r"(?m)^  supportHours: always-on\n", "", True, True),
]


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example catalogue with the built-in library off and the control above its only one."""
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path / "store"))
    root = copy_example(tmp_path / "catalogue")
    (root / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (root / "policies" / "acc-covered-fields.yaml").write_text(FIELDS_CONTROL)
    return root


def _pairs(root: Path) -> tuple[int, int, str]:
    """What `-v` says of the pairs: reused, computed, the first reason; a run the run cache answered
    evaluates no pair."""
    stderr = run_cli("-v", *CHECK, cwd=root).stderr
    if re.search(r"run +1 reused, 0 computed", stderr):
        return 0, 0, ""
    found = re.search(r"pairs +([\d,]+) reused, ([\d,]+) computed(?: \((.*)\))?", stderr)
    assert found, stderr
    return int(found[1].replace(",", "")), int(found[2].replace(",", "")), found[3] or ""


def _answer(root: Path, *extra: str) -> tuple[int, str]:
    done = run_cli(*extra, *CHECK, cwd=root)
    return done.returncode, done.stdout


@pytest.mark.parametrize("what,pattern,replacement,read,changes", EDITS, ids=[edit[0] for edit in EDITS])
def test_a_result_is_evaluated_again_only_when_a_field_it_read_changes(
        catalogue: Path, what: str, pattern: str, replacement: str, read: bool, changes: bool) -> None:
    reused, policies, _ = _pairs(catalogue)
    assert reused == 0 and policies > 0 and _pairs(catalogue)[1] == 0  # cold, then warm: one pair per policy
    before = _answer(catalogue)
    assert "claims-documents" in before[1]
    service = catalogue / SERVICE
    text = service.read_text()
    edited = re.sub(pattern, replacement, text, count=1)
    assert edited != text, what
    service.write_text(edited)

    reused, computed, why = _pairs(catalogue)
    if read:  # the claims-access pair, and only it, is evaluated again
        assert (reused, computed) == (policies - 1, 1), (what, why)
        assert why.startswith("lookup changed: ")
    else:  # every pair holds: nothing it read changed
        assert (reused, computed) == (policies, 0), (what, why)
    after = _answer(catalogue)
    assert after == _answer(catalogue, "--no-cache")
    assert (after != before) == changes


def test_a_field_read_through_a_lookup_of_one_document_is_followed_too(catalogue: Path) -> None:
    """`lookup(kind, name)` hands the expression one document: a field it did not read changes nothing."""
    control = catalogue / "policies" / "acc-covered-fields.yaml"
    control.write_text(control.read_text().replace(
        "expression: services(document)}",
        """expression: 'document.spec.targets.map(n, lookup("Service", n)).filter(t, t != null)'}"""))
    reused, computed, _ = _pairs(catalogue)
    assert reused == 0 and computed > 0
    service = catalogue / SERVICE
    service.write_text(service.read_text().replace("title: Claims document store", "title: Archive", 1))
    assert _pairs(catalogue)[1] == 0
    service.write_text(service.read_text().replace("tier: tier-2", "tier: tier-0", 1))
    assert _pairs(catalogue)[1] == 1
    assert _answer(catalogue) == _answer(catalogue, "--no-cache")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, len(EDITS) - 1), st.sampled_from(SERVICES)), min_size=1, max_size=4),
       two_cores=st.booleans())
def test_any_sequence_of_edits_gives_the_answers_of_no_cache(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        steps: list[tuple[int, str]], two_cores: bool) -> None:
    """Edits one after another, to either service the policy covers, each evaluated where the pairs were kept
    (on one core or two): every answer is the one `--no-cache` gives."""
    base = tmp_path_factory.mktemp("fields")
    monkeypatch.setenv("SVCASCODE_CACHE_DIR", str(base / "store"))
    monkeypatch.setattr(twocores, "MIN_ITEMS", 2 if two_cores else 10**9)
    monkeypatch.setattr(twocores, "_threads", lambda: 1)  # the test runner's own thread (see conftest `forks`)
    root = copy_example(base / "catalogue")
    (root / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (root / "policies" / "acc-covered-fields.yaml").write_text(FIELDS_CONTROL)
    assert _answer(root) == _answer(root, "--no-cache")
    for index, name in steps:
        _, pattern, replacement, _, _ = EDITS[index]
        service = root / name
        service.write_text(re.sub(pattern, replacement, service.read_text(), count=1))
        assert _answer(root) == _answer(root, "--no-cache"), (index, name)



def test_a_map_in_a_message_shows_its_values_as_written(catalogue: Path) -> None:
    """A message that shows a map ({{t.spec.data}}) shows text, numbers and booleans plainly, not as CEL types."""
    message = next(f["message"] for f in json.loads(_answer(catalogue, "--no-cache")[1])["findings"]
                   if f["rule"] == "acc-covered-fields" and f["name"] == "claims-access" and "data:" in f["message"])
    assert "{'classification': 'restricted', 'personalData': True, 'regions': ['uk']}" in message, message
    assert "StringType" not in message


def test_fields_read_beyond_the_allowance_are_followed_by_the_whole_documents(
        catalogue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Digesting the fields a lookup's documents were read at costs (documents x paths): past an allowance in
    proportion to the reads made (an expression reading a different field of each of thousands of documents),
    the lookup is followed by its documents' whole digests. A title edit then evaluates the pair again, and the
    answer is still the one `--no-cache` gives."""
    monkeypatch.setattr(incremental, "FIELDS_PER_READ", 0)
    monkeypatch.setattr(incremental, "FIELDS_FREE", 0)
    reused, policies, _ = _pairs(catalogue)
    assert reused == 0 and policies > 0
    service = catalogue / SERVICE
    service.write_text(service.read_text().replace("title: Claims document store", "title: Archive", 1))
    assert _pairs(catalogue)[:2] == (policies - 1, 1)
    assert _answer(catalogue) == _answer(catalogue, "--no-cache")


LABELS_CONTROL = FIELDS_CONTROL.replace("acc-covered-fields", "acc-covered-labels").replace(
    "    validations:", """    validations:
      - expression: covered.all(t, !has(t.metadata.labels) || t.metadata.labels.all(k, t.metadata.labels[k] != "x"))
        message: a label is x""", 1)


def test_a_control_reading_a_different_field_of_each_of_many_documents_stays_bounded(tmp_path: Path) -> None:
    """1,500 services that name one access policy, each with 20 labels of its own, and a control that reads every
    label of each by its key: 30,000 distinct paths over 1,500 documents. Digesting each document at every path
    read of any would take minutes; past the allowance the lookup is followed whole, and the check with a
    store costs CPU in proportion to the one without (its answer the same)."""
    root = copy_example(tmp_path / "catalogue")
    (root / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    (root / "policies" / "acc-covered-labels.yaml").write_text(LABELS_CONTROL)
    text = (root / "services/catalogue/app-platform.yaml").read_text()
    assert "accessPolicy: platform-admin-access" in text and "  labels:\n" in text
    (root / "services/generated").mkdir()
    for i in range(1500):
        labels = "".join(f"    own-{i}-{j}: v{j}\n" for j in range(20))
        (root / f"services/generated/s{i:04d}.yaml").write_text(
            text.replace("  name: app-platform\n", f"  name: app-platform-{i:04d}\n", 1)
                .replace("  labels:\n", "  labels:\n" + labels, 1))
    start = time.process_time()
    fresh = _answer(root, "--no-cache")
    plain = time.process_time() - start
    env = {"SVCASCODE_CACHE_DIR": str(tmp_path / "store")}
    start = time.process_time()
    cached = run_cli(*CHECK, cwd=root, env=env)
    stored = time.process_time() - start
    assert (cached.returncode, cached.stdout) == fresh
    assert "a label is x" not in fresh[1] and "platform-admin-access" in fresh[1]
    assert stored < 3 * plain + 2, (stored, plain)
