"""import backstage and export backstage: mapping, notes, never overwriting, the round trip, hostile input,
and every exported entity checked by Backstage's own validators (@backstage/catalog-model under node)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_example, run_cli
from svcascode.assessment import assess
from svcascode.backstage.exporter import export_backstage
from svcascode.backstage.names import as_backstage_name, backstage_key, backstage_label_value, rfc1123
from svcascode.catalogue import load_catalogue
from svcascode.config import find_root, load_settings

AS_OF = "2026-11-27"
NODE_DIR = REPO / "tests" / "node"
NOTE = re.compile(r"^catalog-info\.yaml:\d+:\d+: [A-Za-z]+/\S+: \S")

BACKSTAGE = """\
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: payments
spec:
  owner: payments-team
  domain: finance
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Checkout_Service
  title: Checkout
  description: "Takes the basket to payment: yes, really."
  tags: [java, payments]
  annotations:
    pagerduty.com/service-id: PABC123
    pagerduty.com/integration-key: 0123456789abcdef
    backstage.io/techdocs-ref: dir:.
  links:
    - {url: "https://runbooks.acme.test/checkout", title: Runbook}
    - {url: "https://grafana.acme.test/d/checkout", title: Dashboard}
    - {url: "mailto:payments@acme.test"}
spec:
  type: website
  lifecycle: production
  owner: group:payments-team
  system: payments
  providesApis: [checkout-api]
  consumesApis: [checkout-api]
  dependsOn: [resource:payments-db, component:ledger-gateway]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: checkout-api
spec:
  type: openapi
  lifecycle: beta
  owner: payments-team
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: payments-db
  labels: {tier: "0"}
spec:
  type: database
  owner: payments-team
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: legacy-batch
spec:
  type: service
  lifecycle: deprecated
  owner: user:asmith
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments-team
  description: Payments engineering
spec:
  type: team
  profile: {displayName: Payments, email: payments@acme.test}
  children: []
  members: [jdoe]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: business-unit
  children: [payments-team]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jdoe
spec:
  profile: {email: jane.doe@acme.test}
  memberOf: [payments-team]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: asmith
spec:
  memberOf: [payments-team, engineering]
"""

EXPECTED = ["calendars/imported-support-hours.yaml", "checkout-api.yaml", "checkout-service.yaml",
            "legacy-batch.yaml", "payments-db.yaml", "teams/engineering.yaml", "teams/payments-team.yaml"]


def _imported(root: Path) -> dict[str, str]:
    folder = root / "services" / "imported"
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*.yaml"))}


def _catalogue(tmp_path: Path, name: str) -> Path:
    root = copy_example(tmp_path / name)
    (root / ".git").mkdir()  # the repository root for find_root
    return root


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text(BACKSTAGE)
    return root, run_cli("import", "backstage", "catalog-info.yaml", cwd=root)


def _validators() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: `make test` installs it with @backstage/catalog-model")
    if not (NODE_DIR / "node_modules" / "@backstage" / "catalog-model").is_dir():
        pytest.skip("tests/node/node_modules is missing: run `npm ci --prefix tests/node` (make test does)")
    return NODE_DIR / "validate-backstage.mjs"


def backstage_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(_validators()), str(path)], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------------------------------
# import


def test_import_writes_valid_documents_with_modelines_and_located_notes(imported: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, result = imported
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(_imported(root)) == EXPECTED
    checkout = (root / "services/imported/checkout-service.yaml").read_text()
    assert checkout.splitlines()[0] == "# yaml-language-server: $schema=../../schemas/svcascode.schema.json"
    team = (root / "services/imported/teams/payments-team.yaml").read_text()
    assert team.splitlines()[0] == "# yaml-language-server: $schema=../../../schemas/svcascode.schema.json"
    assert "tier: tier-1  # TODO" in checkout and "classification: confidential  # TODO" in checkout
    validated = run_cli("validate", cwd=root)
    assert validated.returncode == 0, validated.stdout
    notes = [line for line in result.stdout.splitlines() if line.startswith("catalog-info.yaml")]
    assert notes and all(NOTE.match(line) for line in notes), notes
    text = result.stdout
    for expected in (
        "Component/Checkout_Service: the name 'Checkout_Service' is not an RFC 1123 name",
        "Component/Checkout_Service: spec.tier: Backstage has no tier",
        "Component/Checkout_Service: spec.supportHours: Backstage has no support hours",
        "Component/Checkout_Service: pagerduty.com/integration-key not imported",
        "Component/Checkout_Service: link 'mailto:payments@acme.test' is not an http(s)",
        "Component/Checkout_Service: dependsOn 'component:ledger-gateway': not a Component",
        "Component/Checkout_Service: spec.providesApis is not imported",
        "API/checkout-api: spec.definition is not imported",
        "Component/legacy-batch: owned by User asmith",
        "no service level: add a ServiceLevel",
    ):
        assert expected in text, expected


def test_import_maps_backstage_fields(imported: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = imported
    documents = {name: yaml.safe_load(text) for name, text in _imported(root).items()}
    checkout = documents["checkout-service.yaml"]
    assert checkout["spec"]["type"] == "business"  # spec.type website
    assert checkout["spec"]["owner"] == "payments-team"
    assert checkout["spec"]["dependencies"] == [{"service": "payments-db", "criticality": "soft"},
                                                {"service": "checkout-api", "criticality": "soft"}]
    assert checkout["spec"]["operations"] == {"runbook": "https://runbooks.acme.test/checkout"}
    assert checkout["metadata"]["labels"] == {"svcascode.io/system": "payments", "svcascode.io/domain": "finance"}
    annotations = checkout["metadata"]["annotations"]
    assert "pagerduty.com/integration-key" not in annotations  # a credential stays out of the catalogue
    assert annotations["pagerduty.com/service-id"] == "PABC123"
    assert annotations["svcascode.io/placeholders"] == "spec.data.classification spec.supportHours spec.tier"
    assert checkout["metadata"]["links"] == [{"url": "https://grafana.acme.test/d/checkout", "title": "Dashboard"}]
    api = documents["checkout-api.yaml"]
    assert (api["spec"]["type"], api["spec"]["lifecycle"]) == ("technical", "experimental")  # beta
    database = documents["payments-db.yaml"]
    assert database["spec"]["tier"] == "tier-0"  # from the label tier: "0"
    assert documents["legacy-batch.yaml"]["spec"]["lifecycle"] == "deprecated"
    team = documents["teams/payments-team.yaml"]
    assert team["metadata"]["title"] == "Payments"
    assert team["spec"]["parent"] == "engineering"  # from the parent's children
    assert team["spec"]["email"] == "payments@acme.test"
    assert team["spec"]["members"] == [{"id": "jane.doe@acme.test", "role": "member"},
                                       {"id": "asmith", "role": "member"}]
    assert documents["teams/engineering.yaml"]["spec"]["type"] == "department"  # business-unit


def test_reimport_is_a_no_op(imported: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = imported
    before = _imported(root)
    again = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "wrote " not in again.stdout
    assert again.stdout.count("skipped ") == len(EXPECTED)
    assert "0 written" in again.stdout
    assert _imported(root) == before


def test_never_overwrites_a_file_or_a_document(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text(BACKSTAGE + """\
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: claims-api}
spec: {type: service, lifecycle: production, owner: payments-team}
""")
    target = root / "services/imported/payments-db.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("# mine\n")
    claims = (root / "services/catalogue/claims-api.yaml").read_text()
    result = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert result.returncode == 0, result.stdout
    assert target.read_text() == "# mine\n"
    assert "skipped services/imported/payments-db.yaml: the file exists" in result.stdout
    assert ("skipped services/imported/claims-api.yaml: Service/claims-api is already defined in "
            "services/catalogue/claims-api.yaml") in result.stdout
    assert not (root / "services/imported/claims-api.yaml").exists()
    assert (root / "services/catalogue/claims-api.yaml").read_text() == claims


def test_round_trip_import_export_import_gives_the_same_documents(tmp_path: Path) -> None:
    first = _catalogue(tmp_path, "first")
    (first / "catalog-info.yaml").write_text(BACKSTAGE)
    assert run_cli("import", "backstage", "catalog-info.yaml", cwd=first).returncode == 0
    exported = run_cli("export", "backstage", "--out", str(tmp_path / "export"), "--as-of", AS_OF, cwd=first)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    second = _catalogue(tmp_path, "second")
    shutil.copy(tmp_path / "export" / "catalog-info.yaml", second / "catalog-info.yaml")
    again = run_cli("import", "backstage", "catalog-info.yaml", cwd=second)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _imported(second) == _imported(first)


# ---------------------------------------------------------------------------------------------------
# hostile input

HOSTILE = {
    "unknown kind": ("apiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: {name: w}\n",
                     "catalog-info.yaml:2:1: Widget/w: not imported: kind 'Widget' is not one"),
    "not backstage": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                      "catalog-info.yaml:1:1: ConfigMap/c: not imported: apiVersion 'v1' is not a Backstage one"),
    "not a mapping": ("- a\n- b\n", "catalog-info.yaml:1:1: document 1: not imported: not a mapping"),
    "no name": ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {}\n",
                "catalog-info.yaml:3:1: document 1: not imported: metadata.name is missing"),
    "name of dots": ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: '../..'}\n"
                     "spec: {type: service, lifecycle: production, owner: a}\n",
                     "catalog-info.yaml:3:12: Component/../..: not imported: the name '../..' has no letters"),
    "deep": ("a: " + "[" * 300 + "]" * 300 + "\n", "catalog-info.yaml:1:"),
    "alias bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                   + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
                   "alias expansion past the limit"),
    "tab": ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n\tname: x\n", "catalog-info.yaml:4:"),
    "binary": ("\x00\x01", "NUL byte"),
    "no owner": ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service}\n",
                 "Component/x: not imported: spec.owner is missing"),
    "same name": ("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a-b}\nspec: {type: team, children: []}\n"
                  "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: A_B}\n"
                  "spec: {type: team, children: []}\n", "Group/A_B: not imported: its svcascode name 'a-b' is that of Group/a-b"),
    "twice": ("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\nspec: {type: team, children: []}\n"
              "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: G}\n"
              "spec: {type: team, children: []}\n", "Group/G: not imported: Group/G is defined twice"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_gives_located_notes_and_exit_1(tmp_path: Path, case: str) -> None:
    text, expected = HOSTILE[case]
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text(text)
    result = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert expected in result.stdout, result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAIL: ")


def test_traversal_names_stay_inside_the_output_folder(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text("""\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: "../../../escaped"}
spec: {type: team, children: [], members: [u]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: "/etc/passwd"}
spec: {type: service, lifecycle: production, owner: "group:../../../escaped"}
""")
    result = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(_imported(root)) == ["calendars/imported-support-hours.yaml", "etc-passwd.yaml", "teams/escaped.yaml"]
    assert "the name '/etc/passwd' is not an RFC 1123 name" in result.stdout
    assert yaml.safe_load((root / "services/imported/etc-passwd.yaml").read_text())["spec"]["owner"] == "escaped"
    assert not (tmp_path / "escaped.yaml").exists() and not any(tmp_path.glob("*.yaml"))
    assert run_cli("validate", cwd=root).returncode == 0


def test_oversized_file_is_refused_with_a_note(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text("# padding\n" * 300_000)
    result = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert result.returncode == 1
    assert "catalog-info.yaml:1:1: catalog-info.yaml: not imported: the file is 3000000 bytes" in result.stdout


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    result = run_cli("import", "backstage", "nowhere.yaml", cwd=root)
    assert result.returncode == 2
    assert "nowhere.yaml: no such file or folder" in result.stderr


def test_a_folder_means_its_catalog_info_files(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    repo = tmp_path / "other-repo"
    (repo / "deep" / "node_modules").mkdir(parents=True)
    (repo / "deep" / "catalog-info.yaml").write_text(BACKSTAGE)
    (repo / "deep" / "node_modules" / "catalog-info.yaml").write_text("not: read\n")
    (repo / "deep" / "values.yaml").write_text("not: read\n")
    result = run_cli("import", "backstage", str(repo), cwd=root)
    assert result.returncode == 0, result.stdout
    assert sorted(_imported(root)) == EXPECTED


# ---------------------------------------------------------------------------------------------------
# export


@pytest.fixture(scope="module")
def example_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backstage")
    result = run_cli("export", "backstage", "--out", str(out), "--as-of", AS_OF, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "catalog-info.yaml"


@pytest.mark.consumer
def test_every_exported_entity_passes_backstages_validators(example_export: Path) -> None:
    checked = backstage_validate(example_export)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^\d+ entities checked, 0 invalid$", checked.stdout, re.M)


@pytest.mark.consumer
def test_the_validator_rejects_what_backstage_rejects(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad name\n"
                   "  labels: {svcascode.io/tier: 'tier 1'}\nspec: {type: service, lifecycle: production}\n")
    checked = backstage_validate(bad)
    assert checked.returncode == 1
    assert "Component:bad name" in checked.stdout and "1 invalid" in checked.stdout


@pytest.mark.consumer
def test_exported_round_trip_entities_pass_backstages_validators(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    (root / "catalog-info.yaml").write_text(BACKSTAGE)
    run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert run_cli("export", "backstage", "--out", "exported", "--as-of", AS_OF, cwd=root).returncode == 0
    checked = backstage_validate(root / "exported" / "catalog-info.yaml")
    assert checked.returncode == 0, checked.stdout


def test_export_carries_tier_sla_and_compliance(example_export: Path) -> None:
    entities = [e for e in yaml.safe_load_all(example_export.read_text()) if e]
    by_name = {(e["kind"], e["metadata"]["name"]): e for e in entities}
    root = find_root(REPO)
    loaded = load_catalogue(root, load_settings(root))
    statuses = {name: r.status for name, r in assess(loaded, date.fromisoformat(AS_OF)).services().items()}
    services = loaded.catalogue.of_kind("Service")
    assert len([e for e in entities if e["kind"] in ("Component", "Resource")]) == len(services)
    for service in services:
        kind = "Resource" if service.spec.type == "platform" else "Component"
        entity = by_name[(kind, service.name)]
        annotations, labels = entity["metadata"]["annotations"], entity["metadata"]["labels"]
        assert annotations["svcascode.io/tier"] == labels["svcascode.io/tier"] == service.spec.tier
        assert annotations["svcascode.io/compliance"] == labels["svcascode.io/compliance"] == statuses[service.name]
        assert entity["spec"]["owner"] == f"group:{service.spec.owner}"
        assert [d.split(":")[1] for d in entity["spec"].get("dependsOn", [])] == \
            [d.service for d in service.spec.dependencies]
        for key, value in labels.items():
            assert backstage_key(key) and backstage_label_value(value), (key, value)
    claims = by_name[("Component", "claims-api")]
    assert claims["metadata"]["annotations"]["svcascode.io/sla-target"] == "99.9"
    assert claims["spec"]["type"] == "service" and claims["spec"]["lifecycle"] == "production"
    assert by_name[("Resource", "dns")]["spec"]["type"] == "platform"
    group = by_name[("Group", "claims-engineering")]
    assert "user:xavier.dupont" in group["spec"]["members"]
    user = by_name[("User", "xavier.dupont")]
    assert user["spec"] == {"profile": {"email": "xavier.dupont@example.com"}, "memberOf": ["group:claims-engineering"]}
    assert statuses and set(statuses.values()) <= {"non-compliant", "warnings", "waived", "compliant"}


def test_export_leaves_out_what_backstage_cannot_hold(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    path = root / "services/catalogue/dns.yaml"
    text = path.read_text().replace("metadata:\n", "metadata:\n  tags: [Has Spaces]\n  annotations: {'bad key!': x}\n", 1)
    path.write_text(text)
    loaded = load_catalogue(root, load_settings(root))
    assert not loaded.findings
    result = export_backstage(loaded.catalogue, {})
    assert any("Service/dns: tag 'Has Spaces' not exported" in note for note in result.notes)
    assert any("Service/dns: annotation 'bad key!' not exported" in note for note in result.notes)
    dns = next(e for e in result.entities if e["metadata"]["name"] == "dns")
    assert "tags" not in dns["metadata"] and "bad key!" not in dns["metadata"]["annotations"]


def test_names() -> None:
    assert rfc1123("../../Etc/Passwd_X") == "etc-passwd-x"
    assert rfc1123("..") == ""
    assert len(rfc1123("a" * 100)) == 63
    assert as_backstage_name("xavier.dupont@example.com") == "xavier.dupont-example.com"
    assert backstage_key("svcascode.io/tier") and not backstage_key("a/b/c") and not backstage_key("bad key")
    assert backstage_label_value("99.95") and not backstage_label_value("x" * 64) and not backstage_label_value("a b")
