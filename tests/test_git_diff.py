"""`svcascode diff`: the semantic change set between revisions, its classification and the weakening gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_helpers import Repo, base_catalogue, run, service
from svcascode.diff import WEAKENED, FieldChange, classify_fields

AS_OF = "2026-11-27"

SLA = """apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata: {name: alpha-sla}
spec:
  type: SLA
  service: alpha
  customer: Operations
  validFrom: 2026-01-01
  coverage: always-on
  availability: {targetPercent: %(target)s, window: {calendar: month, timezone: UTC}, measurement: time}
  support:
    priorities:
      P1: {response: %(response)s, resolution: 4h, coverage: always-on}
      P2: {response: 30m, resolution: 8h, coverage: always-on}
  reporting: {cadence: monthly, recipients: [ana@example.com]}
  review: {cadence: 90d}
"""

WAIVER = """apiVersion: svcascode.io/v1alpha1
kind: Waiver
metadata: {name: accept-alpha}
spec:
  control: svc-runbook
  subjects: [service:alpha]
  justification: Agreed with the customer.
  requestedBy: ana@example.com
  approvedBy: [rita@example.com]
  approvedAt: 2026-11-01
  expiresAt: %s
"""


def sla(target: str = "99.9", response: str = "15m") -> str:
    return SLA % {"target": target, "response": response}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("base", {**base_catalogue(), "services/sla/alpha.yaml": sla()})
    return r


def diff_json(repo: Repo, *args: str) -> dict:
    result = run(repo.path, "diff", *args, "--format", "json", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sla_weakened_owner_and_tier_changed_field_by_field(repo: Repo) -> None:
    repo.commit("weaken", {"services/sla/alpha.yaml": sla("99.5", "1h"),
                           "services/catalogue/alpha.yaml": service("alpha", owner="platform", tier="tier-3")})
    body = diff_json(repo, "HEAD~1", "HEAD")
    by_name = {c["name"]: c for c in body["changes"]}
    summaries = [c["summary"] for c in by_name["alpha-sla"]["classifications"]]
    assert "SLA weakened: availability target lowered: 99.9 -> 99.5" in summaries
    assert "SLA weakened: response time P1 raised: 15m -> 1h" in summaries
    fields = {f["path"]: (f["old"], f["new"]) for f in by_name["alpha"]["fields"]}
    assert fields == {"spec.owner": ("ops", "platform"), "spec.tier": ("tier-2", "tier-3")}
    directions = {c["summary"]: c["direction"] for c in by_name["alpha"]["classifications"]}
    assert directions == {"owner changed: ops -> platform": "changed", "tier lowered: tier-2 -> tier-3": WEAKENED}


def test_rename_deletion_addition_and_findings_introduced_and_fixed(repo: Repo) -> None:
    repo.commit("reorganise", {
        "services/catalogue/alpha.yaml": None, "services/renamed/alpha service.yaml": service("alpha"),  # moved
        "services/catalogue/beta.yaml": None,  # removed, and with it beta's finding
        "services/catalogue/-gamma ü.yaml": service("gamma", runbook=False),  # added, with a new finding
    })
    body = diff_json(repo, "HEAD~1")  # HEAD omitted: the working tree, identical to HEAD here
    actions = {(c["kind"], c["name"]): (c["action"], c["oldFile"], c["newFile"]) for c in body["changes"]}
    assert actions[("Service", "alpha")] == ("renamed", "services/catalogue/alpha.yaml",
                                             "services/renamed/alpha service.yaml")
    assert actions[("Service", "beta")][0] == "removed"
    assert actions[("Service", "gamma")] == ("added", None, "services/catalogue/-gamma ü.yaml")
    assert [f["name"] for f in body["introduced"]] == ["gamma"]
    assert [f["name"] for f in body["fixed"]] == ["beta"]
    assert body["head"] == "working tree"


def test_base_that_does_not_parse(repo: Repo) -> None:
    repo.commit("break", {"services/sla/alpha.yaml": "kind: ServiceLevel\nspec: {oops\n"})
    repo.commit("fix", {"services/sla/alpha.yaml": sla("99.95")})
    body = diff_json(repo, "HEAD~1", "HEAD")
    # the document was there all along: a file that did not parse hides it, it was not added
    change = {(c["kind"], c["name"]): c for c in body["changes"]}[("ServiceLevel", "alpha-sla")]
    assert change["action"] == "unreadable"
    assert [c["summary"] for c in change["classifications"]] == [
        "services/sla/alpha.yaml did not parse at the base: not compared"]
    assert "yaml-invalid" in {f["rule"] for f in body["fixed"]}
    fixing = run(repo.path, "diff", "HEAD~1", "HEAD", "--fail-on-weakened", "--as-of", AS_OF)
    assert fixing.returncode == 0, fixing.stdout


def test_head_that_does_not_parse_is_not_a_removal(repo: Repo) -> None:
    repo.commit("break", {"services/sla/alpha.yaml": "kind: ServiceLevel\nspec: {oops\n"})
    body = diff_json(repo, "HEAD~1", "HEAD")
    change = {(c["kind"], c["name"]): c for c in body["changes"]}[("ServiceLevel", "alpha-sla")]
    assert change["action"] == "unreadable"
    assert [c["summary"] for c in change["classifications"]] == [
        "services/sla/alpha.yaml does not parse: not compared"]
    assert body["summary"]["removed"] == 0 and body["summary"]["weakened"] == 0
    assert "yaml-invalid" in {f["rule"] for f in body["introduced"]}


def test_markdown_says_what_got_weaker_and_what_now_fails_and_escapes_yaml_text(repo: Repo) -> None:
    repo.commit("weaken", {"services/sla/alpha.yaml": sla("99.0"),
                           "services/catalogue/delta.yaml": service("delta", runbook=False,
                                                                    owner="ops").replace(
                               "metadata: {name: delta}", "metadata: {name: delta, title: '<b>x</b> | y'}")})
    result = run(repo.path, "diff", "HEAD~1", "HEAD", "--format", "markdown", "--as-of", AS_OF)
    assert result.returncode == 0
    text = result.stdout
    weaker, fails = text.index("Weaker"), text.index("Now fails")
    assert "availability target lowered: 99.9 -> 99.0" in text[weaker:fails]
    assert "svc-runbook" in text[fails:] and "Service/delta" in text[fails:]
    assert "<b>" not in text


def test_weakening_gate_fails_unless_a_waiver_or_the_label_approves(repo: Repo) -> None:
    repo.commit("weaken", {"services/sla/alpha.yaml": sla("99.5")})
    gate = ["diff", "HEAD~1", "HEAD", "--fail-on-weakened", "--as-of", AS_OF]
    failed = run(repo.path, *gate)
    assert failed.returncode == 1 and "weakening gate: FAIL" in failed.stdout
    assert run(repo.path, *gate, "--labels", "docs,svcascode/approved-weakening").returncode == 0

    approve = WAIVER.replace("service:alpha", "servicelevel:alpha-sla") % "2027-06-30"
    repo.commit("approve", {"policies/waivers.yaml": approve})
    approved = run(repo.path, "diff", "HEAD~2", "HEAD", "--fail-on-weakened", "--as-of", AS_OF)
    # the SLA change is approved by the waiver; the waiver itself is a weakening only the label approves
    assert approved.returncode == 1
    assert "ServiceLevel/alpha-sla" not in approved.stdout.split("weakening gate")[1]
    assert "Waiver/accept-alpha" in approved.stdout.split("weakening gate")[1]


def test_waiver_extended_and_removed(repo: Repo) -> None:
    repo.commit("waive", {"policies/waivers.yaml": WAIVER % "2027-01-31"})
    repo.commit("extend", {"policies/waivers.yaml": WAIVER % "2027-12-31"})
    repo.commit("remove", {"policies/waivers.yaml": None})
    extended = diff_json(repo, "HEAD~2", "HEAD~1")["changes"][0]["classifications"]
    assert [(c["direction"], c["summary"]) for c in extended] == [
        (WEAKENED, "waiver weakened: expiry extended: 2027-01-31 -> 2027-12-31")]
    removed = diff_json(repo, "HEAD~1", "HEAD")["changes"][0]
    assert (removed["action"], removed["classifications"][0]["direction"]) == ("removed", "strengthened")


def test_pr_reviewer_sees_what_a_new_waiver_accepts_and_which_weakening_it_approves(repo: Repo) -> None:
    approve = WAIVER.replace("service:alpha", "servicelevel:alpha-sla") % "2027-06-30"
    repo.commit("weaken and waive", {"services/sla/alpha.yaml": sla("99.5"), "policies/waivers.yaml": approve})
    body = diff_json(repo, "HEAD~1", "HEAD")
    added = {c["name"]: c for c in body["changes"]}["accept-alpha"]["classifications"]
    assert [c["summary"] for c in added] == [
        "waiver added: svc-runbook accepted for servicelevel:alpha-sla until 2027-06-30, approved by rita@example.com"]
    result = run(repo.path, "diff", "HEAD~1", "HEAD", "--format", "markdown", "--fail-on-weakened",
                 "--as-of", AS_OF)
    weaker = result.stdout.split("Weaker")[1].split("####")[0]
    sla_line = next(line for line in weaker.splitlines() if "alpha-sla" in line and "availability" in line)
    assert "approved by waiver accept-alpha" in sla_line
    waiver_line = next(line for line in weaker.splitlines() if "Waiver/accept-alpha" in line)
    assert "needs approval" in waiver_line


def test_text_marks_introduced_findings_a_waiver_covers(repo: Repo) -> None:
    waiver = WAIVER.replace("service:alpha", "service:gamma") % "2027-06-30"
    repo.commit("gamma, waived", {"services/catalogue/gamma.yaml": service("gamma", runbook=False),
                                  "policies/waivers.yaml": waiver})
    result = run(repo.path, "diff", "HEAD~1", "HEAD", "--as-of", AS_OF)
    introduced = result.stdout.split("findings introduced")[1].split("findings fixed")[0]
    assert introduced.startswith(": 0 (+1 waived)")
    assert "[waived by accept-alpha]" in introduced


@pytest.mark.parametrize("kind, path, old, new, summary", [
    ("AccessPolicy", ("spec", "authentication", "mfa"), "required", "privileged-only",
     "authentication weakened: MFA relaxed: required -> privileged-only"),
    ("Control", ("spec", "severity"), "high", "low", "control weakened: severity lowered: high -> low"),
    ("Control", ("spec", "enforcement"), "block", "warn", "control weakened: enforcement relaxed: block -> warn"),
    ("ServiceLevel", ("spec", "support", "priorities", "P2", "resolution"), "8h", "2d",
     "SLA weakened: resolution time P2 raised: 8h -> 2d"),
])
def test_classification_table(kind: str, path: tuple, old: str, new: str, summary: str) -> None:
    [item] = classify_fields(kind, (FieldChange(path, old, new),))
    assert (item.direction, item.summary) == (WEAKENED, summary)
    [back] = classify_fields(kind, (FieldChange(path, new, old),))
    assert back.direction == "strengthened"


def test_dependency_added_on_a_less_available_service(repo: Repo) -> None:
    beta_sla = sla("99.0").replace("alpha-sla", "beta-sla").replace("service: alpha", "service: beta")
    repo.commit("beta sla", {"services/sla/beta.yaml": beta_sla})
    depends = service("alpha", extra="  dependencies:\n    - {service: beta, criticality: hard}\n")
    repo.commit("depend", {"services/catalogue/alpha.yaml": depends})
    [change] = diff_json(repo, "HEAD~1", "HEAD")["changes"]
    assert [c["summary"] for c in change["classifications"]] == [
        "dependency weakened: hard dependency added on beta (99.0% promised, below this service's 99.9%)"]


def test_bad_revisions_exit_2(repo: Repo) -> None:
    assert run(repo.path, "diff", "--", "-x").returncode == 2
    missing = run(repo.path, "diff", "nope")
    assert missing.returncode == 2 and "unknown revision" in missing.stderr
