"""`svcascode sla`: the clocks, attainment and service review of Incident documents, on the command line.

The catalogue is a git repository: the claims SLA is 99.5 % from a commit of 2026-04-20 and tightened to
99.9 % by a commit of 2026-06-15. May 2026 has 44,640 minutes; its 100-minute outage is 99.776 % attained,
met at 99.5 % (223.2 minutes allowed) and breached at 99.9 % (44.64 allowed).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from git_helpers import GIT_ENV
from svcascode.cli import main

SERVICE = """apiVersion: svcascode.io/v1alpha1
kind: Service
metadata: {name: claims}
spec: {type: business, tier: tier-1, lifecycle: production, owner: ops, supportHours: always-on, data: {classification: internal}}
"""


def sla(target: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: svcascode.io/v1alpha1
        kind: ServiceLevel
        metadata: {{name: claims-sla}}
        spec:
          type: SLA
          service: claims
          customer: Claims Operations
          validFrom: 2026-01-01
          coverage: always-on
          availability: {{targetPercent: {target}, window: {{calendar: month}}, measurement: time}}
          support:
            priorities:
              P1: {{response: 15m, resolution: 4h}}
              P2: {{response: 1h, resolution: 8h}}
          credits:
            - {{below: 99.9, creditPercent: 10}}
          review: {{cadence: 90d}}
        """)


INCIDENTS = """apiVersion: svcascode.io/v1alpha1
kind: Incident
metadata: {name: inc-may}
spec:
  title: Claims down
  priority: P1
  opened: 2026-05-10T08:00:00Z
  responded: 2026-05-10T08:30:00Z
  resolved: 2026-05-10T09:40:00Z
  states:
    - {state: in-progress, at: 2026-05-10T08:30:00Z}
  impacts: [{service: claims, impact: outage}]
  links:
    postIncidentReview: {url: "https://wiki.example.com/pir/inc-may", published: 2026-05-12T10:00:00Z}
"""


def git(root: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV, **({"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else {})}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    (tmp_path / ".svcascode.yaml").write_text("roots: [services]\nlibrary: {enabled: false}\n")
    services = tmp_path / "services"
    services.mkdir()
    (services / "claims.yaml").write_text(SERVICE)
    (services / "claims-sla.yaml").write_text(sla("99.5"))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "claims SLA at 99.5", when="2026-04-20T12:00:00+00:00")
    old = git(tmp_path, "rev-parse", "HEAD")
    (services / "claims-sla.yaml").write_text(sla("99.9"))
    git(tmp_path, "commit", "-q", "-am", "claims SLA tightened to 99.9", when="2026-06-15T12:00:00+00:00")
    new = git(tmp_path, "rev-parse", "HEAD")
    (services / "incidents.yaml").write_text(INCIDENTS)  # recorded now, in the working tree
    monkeypatch.chdir(tmp_path)
    return {"old": old, "new": new}


def sla_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sla", *args, "--as-of", "2026-11-30"], catch_exceptions=False)
    return result.exit_code, result.output


def test_may_is_judged_by_the_commit_in_force_then_and_names_it(repo: dict[str, str]) -> None:
    code, out = sla_cli("attainment", "--period", "2026-05", "--format", "json")
    data = json.loads(out)
    [window] = data["windows"]
    assert (code, window["targetPercent"], window["attainedPercent"], window["status"]) == (0, 99.5, 99.776, "met")
    assert (window["allowedMinutes"], window["downtimeMinutes"], window["budgetRemainingMinutes"]) == (223.2, 100, 123.2)
    assert window["definition"]["commit"] == repo["old"]
    assert [c["commit"] for c in data["commitsUsed"]] == [repo["old"]]


def test_todays_definitions_would_turn_may_red(repo: dict[str, str]) -> None:
    code, out = sla_cli("attainment", "--period", "2026-05", "--definitions", "today")
    assert code == 1
    assert ("claims-sla (Claims Operations, claims) 2026-05: attained 99.776% against 99.9%: breached; downtime "
            "100 min of 44.64 min allowed, budget left -55.36 min, credit 10% [definition: today's definitions "
            "(--definitions today)]") in out


def test_clocks_name_the_breach_and_its_commit(repo: dict[str, str]) -> None:
    code, out = sla_cli("clocks")
    assert code == 1
    lines = [line.strip() for line in out.splitlines()]
    # response 08:00 -> 08:30 = 30 minutes against 15m; resolution 08:00 -> 09:40 = 100 against 4h
    assert (f"inc-may P1 claims-sla response: 30 min of 15m (15 min) in always-on, paused 0 min: BREACHED by 15 min "
            f"at 2026-05-10T08:15:00Z [definition: commit {repo['old'][:12]} of 2026-04-20]") in lines
    assert (f"inc-may P1 claims-sla resolution: 100 min of 4h (240 min) in always-on, paused 0 min: met, 140 min to "
            f"spare (would have breached at 2026-05-10T12:00:00Z) [definition: commit {repo['old'][:12]} of "
            "2026-04-20]") in lines


def test_the_review_pack_in_every_format(repo: dict[str, str]) -> None:
    code, md = sla_cli("review", "--period", "2026-05..2026-07")
    assert code == 1  # July is judged by the tightened level... with no downtime: met; the P1 response breached
    assert "- inc-may (P1) claims-sla response: breached by 15 min at `2026-05-10T08:15:00Z`" in md
    assert "  - `2026-05-10T08:30:00Z` responded" in md
    assert "- inc-may: post-incident review https://wiki.example.com/pir/inc-may published `2026-05-12T10:00:00Z`" in md
    assert f"commit {repo['new'][:12]} of 2026-06-15: claims SLA tightened to 99.9" in md
    code, page = sla_cli("review", "--period", "2026-05", "--format", "html")
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "<h3>inc-may (P1): claims-sla response</h3>" in page
    code, text = sla_cli("review", "--period", "2026-05", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["window"], r["attainedPercent"], r["status"], r["commit"]) for r in rows] == [
        ("2026-05", "99.776", "met", repo["old"])]
    code, out = sla_cli("review", "--period", "2026-05", "--format", "json")
    data = json.loads(out)
    assert [t["window"] for t in data["windows"][0]["trend"]] == ["2026-01", "2026-02", "2026-03", "2026-04",
                                                                   "2026-05"]


def test_a_bad_period_is_a_usage_error(repo: dict[str, str]) -> None:
    code, out = sla_cli("review", "--period", "2026-13")
    assert code == 2 and "not a period; write a month 2026-11, a quarter 2026-Q4" in out


def test_a_broken_incident_is_located_and_exits_2(repo: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "services" / "bad.yaml").write_text(INCIDENTS.replace("inc-may", "inc-bad").replace(
        "resolved: 2026-05-10T09:40:00Z", "resolved: 2026-05-09T09:40:00Z"))
    result = CliRunner().invoke(main, ["sla", "clocks", "--as-of", "2026-11-30"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "services/bad.yaml:9:" in result.output and "is before opened" in result.output


def test_service_pages_show_the_last_and_current_window(repo: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", "catalogue", "--out", str(tmp_path / "site"), "--as-of",
                                       "2026-06-10"], catch_exceptions=False)
    assert result.exit_code == 0
    page = (tmp_path / "site" / "services" / "claims.md").read_text()
    # as `sla attainment` judges them, by the commit in force when each window began (99.5 % until the
    # commit of 15 June): May 223.2 allowed, 100 spent, met; June 216 allowed, none spent yet
    assert "| claims-sla | 2026-05 | 99.776 % | 100 min | 223.2 min | 123.2 min | met |" in page
    assert "| claims-sla | 2026-06 | 100 % | 0 min | 216 min | 216 min | on track |" in page
    html = (tmp_path / "site" / "services" / "claims.html").read_text()
    assert "<td>2026-05</td><td class=\"num\">99.776 %</td>" in html


def test_the_compliance_report_links_delivery_as_evidence(repo: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", "report", "--out", str(tmp_path / "report"), "--format", "json",
                                       "--format", "md", "--as-of", "2026-06-10"], catch_exceptions=False)
    assert result.exit_code == 0
    data = json.loads((tmp_path / "report" / "report.json").read_text())["serviceLevelsDelivered"]
    # the last complete window on 2026-06-10 is May: 100 minutes down, met at the 99.5 % in force then (as
    # `sla attainment` says); its credit schedule pays 10 % below 99.9 %
    assert data["incidents"] == 1
    assert data["levels"] == [{"level": "claims-sla", "service": "claims", "window": "2026-05", "target": 99.5,
                               "attained": 99.776, "status": "met", "downtimeMinutes": 100.0, "credit": 10.0}]
    assert "| claims-sla | claims | 2026-05 | 99.5 % | 99.776 % | 100 | met | 10 % |" in (
        tmp_path / "report" / "report.md").read_text()


def test_hostile_titles_and_commit_subjects_stay_inert(repo: dict[str, str], tmp_path: Path) -> None:
    hostile = INCIDENTS.replace("title: Claims down", 'title: "<script>alert(1)</script> \\e[31m::error::x"')
    (tmp_path / "services" / "incidents.yaml").write_text(hostile)
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "<img src=x onerror=alert(1)> \x1b]0;t\x07 @here")
    for fmt in ("html", "markdown", "json", "text", "csv"):
        code, out = sla_cli("review", "--period", "2026-05..2026-12", "--format", fmt)
        assert code == 1
        assert "\x1b" not in out and "\x07" not in out
        if fmt in ("html", "markdown"):
            assert "<script>" not in out and "<img" not in out
        assert not any(line.startswith("::") for line in out.splitlines())


def test_report_service_levels_is_the_review_pack(repo: dict[str, str]) -> None:
    """`report service-levels` is the issue's name for the review: the same pack, options and exit code."""
    as_of = ["--as-of", "2026-11-30"]
    report = CliRunner().invoke(main, ["report", "service-levels", "--period", "2026-05..2026-07", "--format",
                                       "markdown", *as_of], catch_exceptions=False)
    code, review = sla_cli("review", "--period", "2026-05..2026-07", "--format", "markdown")
    assert (report.exit_code, report.output) == (code, review) and code == 1
    assert "- inc-may (P1) claims-sla response: breached by 15 min at `2026-05-10T08:15:00Z`" in report.output
    default = CliRunner().invoke(main, ["report", "service-levels", "--period", "2026-05", *as_of])
    assert default.output.lstrip().startswith("<!DOCTYPE html>") or "<html" in default.output[:500]


# the built-in control, as a document of the catalogue (the library is off in these repositories)
DLV_CONTROL = (Path(__file__).resolve().parent.parent / "svcascode" / "library" / "controls" /
               "dlv-pir-linked.yaml").read_text()
TEAM = """apiVersion: svcascode.io/v1alpha1
kind: Team
metadata: {name: ops}
spec: {type: team, members: [{id: ana@example.com, role: lead}]}
"""


P2_MAY = """apiVersion: svcascode.io/v1alpha1
kind: Incident
metadata: {name: inc-may-p2}
spec:
  title: Claims slow to load
  priority: P2
  opened: 2026-05-20T10:00:00Z
  responded: 2026-05-20T10:10:00Z
  resolved: 2026-05-20T10:10:00Z
  impacts: [{service: claims, impact: outage}]
"""


def _dlv_findings(args: tuple[str, ...] = ()) -> list[str]:
    result = CliRunner().invoke(main, ["check", "--as-of", "2026-11-30", "--format", "json", *args],
                                catch_exceptions=False)
    findings = json.loads(result.stdout)["findings"]
    return [f"{f['name']}: {f['message']}" for f in findings if f["rule"] == "dlv-pir-linked"]


def test_dlv_pir_linked_reads_the_same_attainment_as_sla(repo: dict[str, str]) -> None:
    # May: inc-may 100 minutes (P1, its review published in time) and inc-may-p2 10 minutes (P2, no review):
    # 110 of 44,640 minutes, attained 100 x 44,530 / 44,640 = 99.7536 %. The commit in force when May began
    # says 99.5 %: met, and `sla` says so; today's 99.9 % would call it breached and ask inc-may-p2 for a
    # review of a breach that, by the agreement of the time, never happened.
    for name, text in (("dlv.yaml", DLV_CONTROL), ("p2.yaml", P2_MAY), ("team.yaml", TEAM)):
        (Path("services") / name).write_text(text)
    code, out = sla_cli("attainment", "--period", "2026-05", "--format", "json")
    [may] = json.loads(out)["windows"]
    assert (code, may["attainedPercent"], may["status"]) == (0, 99.7536, "met")
    assert _dlv_findings() == []


def test_a_window_breached_as_it_was_then_asks_for_a_review_naming_the_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same May under an agreement of 99.9 % since 20 April: breached in `sla` and in the check alike.
    (tmp_path / ".svcascode.yaml").write_text("roots: [services]\nlibrary: {enabled: false}\n")
    services = tmp_path / "services"
    services.mkdir()
    for name, text in (("claims.yaml", SERVICE), ("claims-sla.yaml", sla("99.9")), ("dlv.yaml", DLV_CONTROL),
                       ("team.yaml", TEAM)):
        (services / name).write_text(text)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "claims SLA at 99.9", when="2026-04-20T12:00:00+00:00")
    commit = git(tmp_path, "rev-parse", "HEAD")
    (services / "incidents.yaml").write_text(INCIDENTS + "---\n" + P2_MAY)
    monkeypatch.chdir(tmp_path)
    code, out = sla_cli("attainment", "--period", "2026-05", "--format", "json")
    assert (code, json.loads(out)["windows"][0]["status"]) == (1, "breached")
    assert _dlv_findings() == [
        "inc-may-p2: it spent downtime in window 2026-05 of servicelevel:claims-sla, breached at 99.754% against "
        f"99.9% (judged by commit {commit[:12]} of 2026-04-20), and no post-incident review is linked, 5d after it "
        "was resolved (2026-05-25 10:10 UTC due): publish the review and link it in spec.links.postIncidentReview "
        "{url, published}"]
