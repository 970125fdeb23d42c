"""OpenSLO v1 in and out: `export openslo` writes valid OpenSLO for every catalogue, keeping the authors'
alert policies, and svcascode reads OpenSLO as the specification writes it.

Valid OpenSLO is checked here independently of svcascode's own models: SPEC below is a JSON Schema of
what the OpenSLO v1 specification (its README) requires of each kind, written for these tests, and every
reference an exported document makes must name a document of the export. The specification's own
examples are in tests/fixtures/openslo/examples (see NOTICE there).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from conftest import copy_example
from svcascode.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "openslo"
EXAMPLES = FIXTURES / "examples"

NAME = {"type": "string", "pattern": r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"}
SHORTHAND = {"type": "string", "pattern": r"^[1-9][0-9]*[mhdwMQY]$"}
DESCRIPTION = {"type": "string", "maxLength": 1050}
OP = {"enum": ["lte", "gte", "lt", "gt"]}
METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": NAME, "displayName": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}
METRIC = {"type": "object", "required": ["metricSource"], "properties": {"metricSource": {
    "type": "object", "required": ["spec"],
    "anyOf": [{"required": ["type"]}, {"required": ["metricSourceRef"]}]}}}
SLI_SPEC = {"type": "object", "properties": {"description": DESCRIPTION, "thresholdMetric": METRIC, "ratioMetric": {
    "type": "object", "properties": {k: METRIC for k in ("good", "bad", "total", "raw")},
    "oneOf": [{"required": ["good", "total"]}, {"required": ["bad", "total"]}, {"required": ["raw", "rawType"]}]}},
    "oneOf": [{"required": ["thresholdMetric"]}, {"required": ["ratioMetric"]}]}
CONDITION_SPEC = {"type": "object", "required": ["severity", "condition"], "properties": {
    "description": DESCRIPTION, "severity": {"type": "string"},
    "condition": {"type": "object", "required": ["op", "threshold", "lookbackWindow"], "properties": {
        "kind": {"const": "burnrate"}, "op": OP, "threshold": {"type": "number"}, "lookbackWindow": SHORTHAND,
        "alertAfter": SHORTHAND}}}}
TARGET_SPEC = {"type": "object", "required": ["target"], "properties": {"description": DESCRIPTION,
                                                                        "target": {"type": "string"}}}


def _inline_or_ref(ref: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "object", "required": [ref], "properties": {ref: NAME}},
                      {"type": "object", "required": ["metadata", "spec"], "properties": {
                          "metadata": METADATA, "spec": spec}}]}


POLICY_SPEC = {"type": "object", "required": ["conditions", "notificationTargets"], "properties": {
    "description": DESCRIPTION, **{k: {"type": "boolean"} for k in ("alertWhenNoData", "alertWhenResolved",
                                                                     "alertWhenBreaching")},
    "conditions": {"type": "array", "minItems": 1, "maxItems": 1,
                   "items": _inline_or_ref("conditionRef", CONDITION_SPEC)},
    "notificationTargets": {"type": "array", "minItems": 1, "items": _inline_or_ref("targetRef", TARGET_SPEC)}}}
WINDOW = {"type": "object", "required": ["duration"], "properties": {"duration": SHORTHAND}, "oneOf": [
    {"required": ["isRolling"], "properties": {"isRolling": {"const": True}}, "not": {"required": ["calendar"]}},
    {"required": ["calendar"], "properties": {
        "isRolling": {"const": False}, "duration": {"pattern": r"^[1-9][0-9]*[dwMQY]$"},
        "calendar": {"type": "object", "required": ["startTime", "timeZone"], "properties": {
            "startTime": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"},
            "timeZone": {"type": "string"}}}}}]}
OBJECTIVE = {"type": "object", "oneOf": [{"required": ["target"]}, {"required": ["targetPercent"]}], "properties": {
    "op": OP, "value": {"type": "number"}, "target": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
    "targetPercent": {"type": "number", "minimum": 0, "exclusiveMaximum": 100},
    "timeSliceTarget": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "indicator": {"type": "object", "required": ["metadata", "spec"], "properties": {
        "metadata": METADATA, "spec": SLI_SPEC}},
    "indicatorRef": NAME, "compositeWeight": {"type": "number", "exclusiveMinimum": 0}}}
SLO_SPEC = {"type": "object", "required": ["service", "budgetingMethod", "objectives"], "properties": {
    "description": DESCRIPTION, "service": NAME, "indicatorRef": NAME,
    "indicator": {"type": "object", "required": ["metadata", "spec"], "properties": {
        "metadata": METADATA, "spec": SLI_SPEC}},
    "timeWindow": {"type": "array", "minItems": 1, "maxItems": 1, "items": WINDOW},
    "budgetingMethod": {"enum": ["Occurrences", "Timeslices", "RatioTimeslices"]},
    "objectives": {"type": "array", "minItems": 1, "items": OBJECTIVE},
    "alertPolicies": {"type": ["array", "null"], "items": _inline_or_ref("alertPolicyRef", POLICY_SPEC)}},
    "anyOf": [{"required": ["indicator"]}, {"required": ["indicatorRef"]},
              {"properties": {"objectives": {"items": {"anyOf": [{"required": ["indicator"]},
                                                                 {"required": ["indicatorRef"]}]}}}}]}
SPEC: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["apiVersion", "kind", "metadata"],
    "properties": {"apiVersion": {"const": "openslo/v1"}, "metadata": METADATA, "kind": {"enum": [
        "SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource", "Service"]}},
    "allOf": [{"if": {"properties": {"kind": {"const": kind}}}, "then": {"required": ["spec"] if kind != "Service"
                                                                          else [], "properties": {"spec": spec}}}
              for kind, spec in (("SLO", SLO_SPEC), ("SLI", SLI_SPEC), ("AlertPolicy", POLICY_SPEC),
                                 ("AlertCondition", CONDITION_SPEC), ("AlertNotificationTarget", TARGET_SPEC),
                                 ("DataSource", {"type": "object", "required": ["type", "connectionDetails"]}),
                                 ("Service", {"type": "object", "properties": {"description": DESCRIPTION}}))],
}
VALIDATOR = Draft202012Validator(SPEC)
REFERENCES = {"indicatorRef": "SLI", "alertPolicyRef": "AlertPolicy", "conditionRef": "AlertCondition",
              "targetRef": "AlertNotificationTarget", "metricSourceRef": "DataSource"}


def spec_problems(documents: list[dict[str, Any]]) -> list[str]:
    """What the specification would refuse: each document against SPEC, and each reference that names no
    document of the set (an SLO's service, indicatorRef, alertPolicyRef, conditionRef, targetRef)."""
    problems = [f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}: {'.'.join(map(str, e.path))}: {e.message}"
                for d in documents for e in VALIDATOR.iter_errors(d)]
    names = {(d["kind"], d["metadata"]["name"]) for d in documents if not problems}
    for document in documents:
        if document.get("kind") == "SLO" and ("Service", document["spec"]["service"]) not in names:
            problems.append(f"SLO/{document['metadata']['name']}: service {document['spec']['service']} is no Service")
        for key, value in _pairs(document.get("spec")):
            if key in REFERENCES and (REFERENCES[key], value) not in names:
                problems.append(f"{document['kind']}/{document['metadata']['name']}: {key} {value} names nothing")
    return problems


def _pairs(data: Any) -> Iterator[tuple[str, Any]]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield from item.items()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class _Loader(yaml.SafeLoader):
    """YAML as OpenSLO means it: `startTime: 2022-01-01 12:00:00` is text, not a timestamp."""


_Loader.yaml_implicit_resolvers = {first: [(tag, pattern) for tag, pattern in resolvers
                                           if tag != "tag:yaml.org,2002:timestamp"]
                                   for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_Loader) if d]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["--no-cache", *args], catch_exceptions=False)


def exported(folder: Path) -> list[dict[str, Any]]:
    return [d for path in sorted(folder.glob("*.yaml")) if path.name != ".svcascode.yaml" for d in load(path)]


def test_the_spec_check_refuses_what_the_spec_refuses() -> None:
    """The check the exports are held to can fail: the defects of the issue's export among them."""
    policy = {"apiVersion": "openslo/v1", "kind": "AlertPolicy", "metadata": {"name": "p"}, "spec": {
        "alertWhenBreaching": True, "conditions": [{"conditionRef": "c"}]}}
    assert any("notificationTargets" in p for p in spec_problems([policy]))
    window = {"duration": "1m", "isRolling": False, "calendar": {"startTime": "2022-01-01 12:00:00",
                                                                 "timeZone": "UTC"}}
    slo = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "s"}, "spec": {
        "service": "nowhere", "indicatorRef": "i", "timeWindow": [window], "budgetingMethod": "Occurrences",
        "objectives": [{"target": 0.99}]}}
    assert spec_problems([slo])
    window["duration"] = "1M"
    assert spec_problems([slo]) == ["SLO/s: service nowhere is no Service", "SLO/s: indicatorRef i names nothing"]


# ---------------------------------------------------------------------------------------------------
# export


@pytest.fixture(scope="module")
def example_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = copy_example(tmp_path_factory.mktemp("openslo") / "catalogue")
    result = CliRunner().invoke(main, ["--no-cache", "-C", str(root), "export", "openslo", "--out",
                                       str(root / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root, root / "out"


def test_the_example_exports_valid_openslo(example_export: tuple[Path, Path]) -> None:
    _, out = example_export
    documents = exported(out)
    assert spec_problems(documents) == []
    kinds = {d["kind"] for d in documents}
    assert {"Service", "SLO", "AlertNotificationTarget"} <= kinds
    assert invoke("-C", str(out), "validate").exit_code == 0


def test_the_example_export_keeps_the_authors_alert_policies(example_export: tuple[Path, Path]) -> None:
    root, out = example_export
    written = {d["metadata"]["name"]: d for d in exported(out) if d["kind"] == "SLO"}
    sources = {d["metadata"]["name"]: d for path in sorted((root / "services" / "slos").glob("*.yaml"))
               for d in load(path) if d["kind"] == "SLO"}
    assert written
    authored = [name for name in written if sources[name]["spec"].get("alertPolicies")]
    assert authored, "the example's SLOs carry alert policies of their own"
    for name in authored:
        assert written[name]["spec"]["alertPolicies"] == sources[name]["spec"]["alertPolicies"], name


def test_an_init_scaffold_exports_valid_openslo_notifying_the_team(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    result = invoke("export", "openslo", "--out", "out")
    assert result.exit_code == 0, result.output
    documents = exported(tmp_path / "out")
    assert spec_problems(documents) == []
    policies = [d for d in documents if d["kind"] == "AlertPolicy"]
    assert policies and all(p["spec"]["notificationTargets"] == [{"targetRef": "example-team-email"}]
                            for p in policies)
    [target] = [d for d in documents if d["kind"] == "AlertNotificationTarget"]
    assert target["spec"] == {"target": "email", "description": "E-mail to team example-team at "
                                                                "example-team@example.com"}
    assert invoke("-C", "out", "validate").exit_code == 0


def test_a_team_with_nothing_to_notify_gets_no_invalid_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    team = tmp_path / "services" / "teams" / "example-team.yaml"
    team.write_text(team.read_text().replace("  email: example-team@example.com\n", ""))
    result = invoke("export", "openslo", "--out", "out")
    assert result.exit_code == 0, result.output
    assert re.search(r"note: services/slos/example-service\.yaml:\d+:\d+: SLO/example-service-availability: "
                     r"exported without alert policies: it has none, and team example-team has no "
                     r"AlertNotificationTarget", result.stderr)
    documents = exported(tmp_path / "out")
    assert spec_problems(documents) == []
    assert not [d for d in documents if d["kind"] == "AlertPolicy"]


# ---------------------------------------------------------------------------------------------------
# reading OpenSLO as the specification writes it


def _catalogue(tmp_path: Path, *files: Path) -> Path:
    (tmp_path / "services").mkdir(parents=True)
    for file in files:
        shutil.copy(file, tmp_path / "services" / file.name)
    (tmp_path / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    return tmp_path


@pytest.mark.parametrize("example", ["occurences-slo.yaml", "ratio-timeslices.yaml",
                                     "low-traffic-timeslices-slo.yaml"])
def test_the_specifications_examples_are_read(tmp_path: Path, example: str) -> None:
    assert spec_problems(load(EXAMPLES / example) + load(FIXTURES / "services.yaml")) == []
    root = _catalogue(tmp_path, EXAMPLES / example, FIXTURES / "services.yaml")
    result = invoke("-C", str(root), "validate")
    assert result.exit_code == 0, result.output


def test_a_calendar_window_of_one_minute_is_refused_at_its_duration(tmp_path: Path) -> None:
    """The specification's own Timeslices example writes `1m` (a minute) for a calendar month."""
    example = EXAMPLES / "timeslices-slo.yaml"
    assert spec_problems(load(example) + load(FIXTURES / "services.yaml"))
    root = _catalogue(tmp_path, example, FIXTURES / "services.yaml")
    result = invoke("-C", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    line = next(n for n, text in enumerate(example.read_text().splitlines(), 1) if "duration: 1m" in text)
    assert (finding["file"], finding["line"], finding["path"]) == ("services/timeslices-slo.yaml", line,
                                                                   "spec.timeWindow[0].duration")
    assert finding["message"] == ("spec.timeWindow[0].duration: 1m is in minutes or hours: a calendar-aligned "
                                  "window is whole days, weeks, months, quarters or years (d, w, M, Q, Y), e.g. 1M "
                                  "for a month")


def test_the_specifications_names_are_accepted(tmp_path: Path) -> None:
    documents = load(FIXTURES / "spec-examples.yaml")
    assert spec_problems(documents) == []
    names = [d["metadata"]["name"] for d in documents]
    assert {"AlertPolicy", "OnCallDevopsMailNotification", "OnCallDevopsSlackNotification"} <= set(names)
    root = _catalogue(tmp_path, FIXTURES / "spec-examples.yaml")
    result = invoke("-C", str(root), "validate")
    assert result.exit_code == 0, result.output


BROKEN = {
    "unknown service": ("service: foo", "service: fo",
                        "SLO/foo-slo: refers to Service or OpenSLO Service 'fo', which is not defined; did you "
                        "mean 'foo'?"),
    "unknown target": ("- targetRef: OnCallDevopsMailNotification", "- targetRef: OnCallDevopsMail",
                       "refers to AlertNotificationTarget 'OnCallDevopsMail', which is not defined"),
    "policy without targets": ("  notificationTargets:\n    - targetRef: OnCallDevopsMailNotification\n", "",
                               "AlertPolicy/AlertPolicy: spec.notificationTargets: required field missing"),
    "two conditions": ("    - conditionRef: cpu-usage-breach\n",
                       "    - conditionRef: cpu-usage-breach\n    - conditionRef: cpu-usage-breach\n",
                       "spec.conditions: List should have at most 1 item after validation, not 2"),
    "a minute-long calendar window": ("    - duration: 1M\n", "    - duration: 1m\n", "is in minutes or hours"),
    "no time zone": ("        timeZone: America/New_York\n", "",
                     "spec.timeWindow[0].calendar.timeZone: required field missing"),
    "a rolling window without isRolling": (
        "    - duration: 1M\n      calendar:\n        startTime: 2020-01-21 12:30:00\n"
        "        timeZone: America/New_York\n", "    - duration: 28d\n",
        "a time window without `calendar` is rolling: write `isRolling: true`"),
    "an unknown field": ("  budgetingMethod: Occurrences\n", "  budgetingMethd: Occurrences\n",
                         "did you mean 'budgetingMethod'?"),
    "target and targetPercent": ("      target: 0.98\n", "      target: 0.98\n      targetPercent: 98\n",
                                 "an objective has exactly one of `target`"),
    "a name with a space": ("  name: foo-slo\n", "  name: foo slo\n", "metadata.name"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_what_the_specification_refuses_is_a_located_finding(tmp_path: Path, case: str) -> None:
    old, new, message = BROKEN[case]
    text = (FIXTURES / "spec-examples.yaml").read_text()
    assert old in text
    root = _catalogue(tmp_path, FIXTURES / "spec-examples.yaml")
    (root / "services" / "spec-examples.yaml").write_text(text.replace(old, new, 1))
    result = invoke("-C", str(root), "validate")
    assert result.exit_code == 1, result.output
    assert message in result.stdout, result.stdout
    assert re.search(r"^services/spec-examples\.yaml:\d+:\d+: ", result.stdout, re.M)


def test_a_metric_source_names_a_data_source_of_the_catalogue(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, FIXTURES / "spec-examples.yaml")
    path = root / "services" / "spec-examples.yaml"
    path.write_text(path.read_text().replace("metricSourceRef: datadog-datasource\n            type: Datadog\n"
                                             "            spec:\n              query: sum:trace.http.request.hits"
                                             ".by_http_status{*}", "metricSourceRef: datadog-datasorce\n            type: Datadog"
                                             "\n            spec:\n              query: sum:trace.http.request.hits"
                                             ".by_http_status{*}"))
    result = invoke("-C", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["path"] == "spec.indicator.spec.ratioMetric.total.metricSource.metricSourceRef"
    assert "refers to DataSource 'datadog-datasorce', which is not defined; did you mean 'datadog-datasource'?" in \
        finding["message"]
