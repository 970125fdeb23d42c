"""import backstage and export backstage: mapping, notes, never overwriting, the round trip, hostile input,
and every exported entity checked by Backstage's own validators (@backstage/catalog-model under node)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

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
        "Component/legacy-batch: owned by User asmith",
        "no service level: add a ServiceLevel",
    ):
        assert expected in text, expected
    assert "is not imported: svcascode has no field for it" not in text  # relations and definitions are kept


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


def test_a_folder_means_every_backstage_entity_file_in_it(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    repo = tmp_path / "other-repo"
    (repo / "deep" / "node_modules").mkdir(parents=True)
    (repo / "deep" / "entities.yml").write_text(BACKSTAGE)  # any name holding entities
    (repo / "deep" / "node_modules" / "catalog-info.yaml").write_text("not: read\n")
    (repo / "deep" / "values.yaml").write_text("not: [a backstage file\n")  # no entity: passed over, unparsed
    (repo / "deep" / "openapi.yaml").write_text("openapi: 3.0.0\ninfo: {title: x, version: '1'}\n")
    result = run_cli("import", "backstage", str(repo), cwd=root)
    assert result.returncode == 0, result.stdout
    assert sorted(_imported(root)) == EXPECTED
    assert "values.yaml" not in result.stdout and "openapi.yaml" not in result.stdout


def test_a_folder_without_entities_is_exit_2(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, "catalogue")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "values.yaml").write_text("replicas: 2\n")
    result = run_cli("import", "backstage", str(tmp_path / "empty"), cwd=root)
    assert result.returncode == 2 and "no Backstage entity file" in result.stderr


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


# ---------------------------------------------------------------------------------------------------
# a demo catalogue after Backstage's own examples (tests/fixtures/backstage-demo): every entity kept, and
# back through export entity for entity

DEMO = REPO / "tests" / "fixtures" / "backstage-demo"
# the kind an entity reference means when it names none, per field (Backstage's rules)
DEFAULT_KINDS = {"owner": "group", "system": "system", "domain": "domain", "providesApis": "api",
                 "consumesApis": "api", "subcomponentOf": "component", "dependsOn": "", "dependencyOf": "",
                 "parent": "group", "children": "group", "members": "user", "memberOf": "group"}
EDGES = {"parent": "childOf", "children": "childOf", "members": "memberOf", "memberOf": "memberOf"}


def _entities(paths: list[Path]) -> list[dict[str, Any]]:
    return [d for path in paths for d in yaml.safe_load_all(path.read_text())
            if isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("backstage.io/")]


def _ref(text: str, kind: str, namespace: str) -> str:
    given, colon, rest = text.partition(":")
    kind, rest = (given, rest) if colon else (kind, text)
    space, slash, name = rest.partition("/")
    space, name = (space, name) if slash else (namespace, rest)
    return f"{kind.lower()}:{space.lower()}/{name.lower()}"


def _view(entities: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str]]]:
    """Each entity by its full reference, with its type, lifecycle, definition, title, description, tags,
    annotations and relations (references made full); and the membership and parent edges, whichever
    side of them an entity states."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str, str]] = set()
    for entity in entities:
        metadata, spec = entity["metadata"], entity.get("spec", {})
        namespace = metadata.get("namespace", "default")
        key = f"{entity['kind'].lower()}:{namespace}/{metadata['name']}"
        fields: dict[str, Any] = {f: spec[f] for f in ("type", "lifecycle", "definition") if f in spec}
        fields.update({f"metadata.{f}": metadata[f] for f in ("title", "description", "tags") if f in metadata})
        fields["annotations"] = {k: v for k, v in metadata.get("annotations", {}).items()
                                 if not k.startswith("svcascode.io/")}
        for name, kind in DEFAULT_KINDS.items():
            value = spec.get(name)
            refs = {_ref(r, kind, namespace) for r in (value if isinstance(value, list) else [value] if value else [])}
            if name not in EDGES:
                if refs:
                    fields[name] = sorted(refs)
                continue
            for ref in refs:
                child, parent = (key, ref) if name in ("parent", "memberOf") else (ref, key)
                edges.add((child, EDGES[name], parent))
        nodes[key] = fields
    return nodes, edges


def _demo_files() -> list[Path]:
    return sorted(DEMO.rglob("*.yaml"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], Path]:
    """The demo folder imported into a catalogue of one calendar, then exported back."""
    root = tmp_path_factory.mktemp("demo")
    (root / ".git").mkdir()
    (root / "services").mkdir()
    (root / "services" / "calendars.yaml").write_text(
        "apiVersion: svcascode.io/v1alpha1\nkind: BusinessCalendar\nmetadata: {name: always-on}\n"
        "spec: {timezone: UTC, alwaysOn: true}\n")
    imported = run_cli("import", "backstage", str(DEMO), cwd=root)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    exported = run_cli("export", "backstage", "--out", "exported", "--as-of", AS_OF, cwd=root)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    return root, imported, root / "exported" / "catalog-info.yaml"


def test_the_demo_keeps_every_component_resource_and_api(demo: tuple[Path, subprocess.CompletedProcess[str], Path]
                                                         ) -> None:
    root, result, _ = demo
    assert run_cli("validate", cwd=root).returncode == 0
    documents = {name: yaml.safe_load(text) for name, text in _imported(root).items()}
    source = _entities(_demo_files())
    services = {n.removesuffix(".yaml"): d for n, d in documents.items() if "/" not in n}
    for entity in (e for e in source if e["kind"] in ("Component", "Resource")):
        service = services[entity["metadata"]["name"]]
        annotations = service["metadata"]["annotations"]
        assert annotations["svcascode.io/backstage-kind"] == entity["kind"]
        assert annotations["svcascode.io/backstage-type"] == entity["spec"]["type"]
    apis = [e for e in source if e["kind"] == "API"]
    assert len(apis) == 5
    for api in apis:
        name = api["metadata"]["name"]
        annotations = services[name]["metadata"]["annotations"]
        if annotations["svcascode.io/backstage-kind"] == "Component":  # the API of a component of its name
            kept = json.loads(annotations["svcascode.io/backstage-api"])
            assert (kept["kind"], kept["metadata"], kept["spec"]) == ("API", api["metadata"], api["spec"])
            assert f"API/{name}: kept as the interface of Service {name}" in result.stdout
        else:  # an API of its own name is a service of its own
            assert annotations["svcascode.io/backstage-kind"] == "API"
            assert json.loads(annotations["svcascode.io/backstage-definition"]) == api["spec"]["definition"]
    assert {n for n in services if services[n]["metadata"]["annotations"].get("svcascode.io/backstage-api")} == \
        {"wayback-search", "wayback-archive", "petstore"}
    # a consumed API is a dependency on the service that provides it
    assert services["wayback-search"]["spec"]["dependencies"] == [{"service": "wayback-archive",
                                                                   "criticality": "soft"}]
    teams = {n.removeprefix("teams/").removesuffix(".yaml"): d for n, d in documents.items() if n.startswith("teams/")}
    owned = json.loads(teams["team-a"]["metadata"]["annotations"]["svcascode.io/backstage-entities"])
    assert [(e["kind"], e["metadata"]["name"]) for e in owned] == [("System", "artist-engagement-portal"),
                                                                   ("Domain", "artists")]
    assert "Location/example-all: a Location points at other catalog files" in result.stdout
    assert "petstore.oas.yaml" not in result.stdout  # an OpenAPI definition, not an entity file


def test_the_demo_imports_the_same_whatever_the_order_of_its_files(
        tmp_path: Path, demo: tuple[Path, subprocess.CompletedProcess[str], Path]) -> None:
    first, result, _ = demo
    root = _catalogue(tmp_path, "reversed")
    files = [str(p) for p in reversed(_demo_files()) if p.name != "petstore.oas.yaml"]
    again = run_cli("import", "backstage", *files, cwd=root)
    assert again.returncode == 0, again.stdout
    assert _imported(root) == _imported(first)
    assert sorted(again.stdout.splitlines()[:-1]) == sorted(result.stdout.splitlines()[:-1])


def test_the_demo_round_trips_entity_for_entity(demo: tuple[Path, subprocess.CompletedProcess[str], Path]) -> None:
    _, _, exported = demo
    source = [e for e in _entities(_demo_files()) if e["kind"] != "Location"]
    written = _entities([exported])
    (before, before_edges), (after, after_edges) = _view(source), _view(written)
    assert sorted(after) == sorted(before)  # the same entities, kinds and namespaces included
    for key, fields in before.items():
        assert after[key] == fields, key
    assert after_edges == before_edges  # memberships and parents
    assert not [e for e in written if e["kind"] == "User" and e["metadata"]["name"].startswith("TODO")]
    acme = next(e for e in written if e["metadata"]["name"] == "acme-corp")
    assert acme["spec"]["members"] == []  # the placeholder member is import's, not Backstage's


def test_the_demo_export_imports_back_to_the_same_documents(
        tmp_path: Path, demo: tuple[Path, subprocess.CompletedProcess[str], Path]) -> None:
    first, _, exported = demo
    root = _catalogue(tmp_path, "second")
    shutil.copy(exported, root / "catalog-info.yaml")
    again = run_cli("import", "backstage", "catalog-info.yaml", cwd=root)
    assert again.returncode == 0, again.stdout
    assert _imported(root) == _imported(first)


@pytest.mark.consumer
def test_the_demo_and_its_export_pass_backstages_validators(
        demo: tuple[Path, subprocess.CompletedProcess[str], Path]) -> None:
    _, _, exported = demo
    for paths in ([p for p in _demo_files() if p.name != "petstore.oas.yaml"], [exported]):
        checked = subprocess.run(["node", str(_validators()), *map(str, paths)], capture_output=True, text=True,
                                 timeout=120)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert re.search(r"^(\d+) entities checked, 0 invalid$", checked.stdout, re.M)


def test_users_keep_their_names(imported: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    root, _ = imported
    assert run_cli("export", "backstage", "--out", str(tmp_path / "out"), "--as-of", AS_OF, cwd=root).returncode == 0
    users = {e["metadata"]["name"]: e for e in _entities([tmp_path / "out" / "catalog-info.yaml"]) if e["kind"] == "User"}
    assert users["jdoe"]["spec"]["profile"] == {"email": "jane.doe@acme.test"}  # not renamed after the e-mail
    assert "jane.doe" not in users and "asmith" in users


def test_missing_roles_are_one_low_note_per_team(tmp_path: Path) -> None:
    """A Group has no roles in Backstage: not a critical svc-owner-exists finding for every service of the
    team, but one low, non-blocking note on the team, until its lead is named."""
    root = tmp_path / "catalogue"
    root.mkdir()
    assert run_cli("init", cwd=root).returncode == 0
    assert run_cli("import", "backstage", str(DEMO), cwd=root).returncode == 0
    result = run_cli("check", "--format", "json", "--as-of", AS_OF, cwd=root)
    owners = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "svc-owner-exists"]
    assert sorted((f["kind"], f["name"], f["severity"], f["enforcement"]) for f in owners) == [
        ("Team", "team-a", "low", "warn"), ("Team", "team-b", "low", "warn")]
    assert all("the roles of team" in f["message"] and "spec.members.role" in f["message"] for f in owners)
    team = root / "services" / "imported" / "teams" / "team-a.yaml"
    team.write_text(team.read_text().replace("role: member", "role: lead", 1))
    result = run_cli("check", "--format", "json", "--as-of", AS_OF, cwd=root)
    owners = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "svc-owner-exists"]
    assert [f["name"] for f in owners] == ["team-b"]  # team-a has its lead now


def test_names() -> None:
    assert rfc1123("../../Etc/Passwd_X") == "etc-passwd-x"
    assert rfc1123("..") == ""
    assert len(rfc1123("a" * 100)) == 63
    assert as_backstage_name("xavier.dupont@example.com") == "xavier.dupont-example.com"
    assert backstage_key("svcascode.io/tier") and not backstage_key("a/b/c") and not backstage_key("bad key")
    assert backstage_label_value("99.95") and not backstage_label_value("x" * 64) and not backstage_label_value("a b")
