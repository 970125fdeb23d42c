"""Maturity levels: each service's level on a Scorecard, team roll-ups, what the next level needs, the
catalogue's badges and the level changes `diff` reports, with exact levels on the example catalogue."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from conftest import copy_example, run_cli
from git_helpers import Repo
from svcascode.assessment import assess
from svcascode.catalogue import load_catalogue
from svcascode.config import load_settings
from svcascode.levels import scorecards

AS_OF = "2026-11-27"
SCORECARD = Path("policies/scorecards.yaml")


def _assess(root: Path):  # type: ignore[no-untyped-def]
    return assess(load_catalogue(root, load_settings(root)), date.fromisoformat(AS_OF))


def test_every_example_service_has_its_level_and_what_the_next_needs_in_check_json(example: Path) -> None:
    result = run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=example)
    card = json.loads(result.stdout)["scorecards"][0]
    assert (card["name"], card["levels"], card["file"], card["line"]) == (
        "operational-maturity", ["bronze", "silver", "gold"], "policies/scorecards.yaml", 5)
    levels = {s["service"]: (s["level"], s["next"], [(n["control"], n["status"]) for n in s["needs"]])
              for s in card["services"]}
    assert levels["general-ledger"] == (None, "bronze", [("oncall-min-rota", "not-satisfied")])
    assert levels["hr-system"] == ("bronze", "silver", [("acc-review-overdue", "not-satisfied"),
                                                        ("wvr-valid", "not-satisfied")])
    assert levels["customer-portal"] == ("silver", "gold", [("mw-business-hours", "not-satisfied")])
    assert levels["data-warehouse"] == ("gold", None, [])  # its one failing control is waived: waived passes
    # gold asks for no breached window, the current or the last: quotes-pricing's November is breached (an open
    # partial outage), as `svcascode sla` and its page say
    assert levels["quotes-pricing"] == ("silver", "gold", [("delivery: quotes-pricing-sla 2026-11 breached",
                                                            "not-satisfied")])
    assert sum(1 for level, _, _ in levels.values() if level == "gold") == 15
    teams = {t["team"]: t for t in card["teams"]}
    assert teams["enterprise-apps"] == {"team": "enterprise-apps", "services": 3, "lowest": "bronze",
                                        "distribution": {"none": 0, "bronze": 1, "silver": 0, "gold": 2}}
    assert teams["finance-systems"]["lowest"] is None and teams["finance-systems"]["distribution"]["none"] == 1


def test_the_report_json_carries_the_same_levels(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run_cli("render", "report", "--format", "json", "--out", str(out), "--as-of", AS_OF,
            "--history-commits", "0", cwd=example)
    report = json.loads((out / "report.json").read_text())
    check = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=example).stdout)
    assert report["scorecards"] == check["scorecards"]


def test_per_tier_controls_apply_only_to_services_of_that_tier(example: Path) -> None:
    path = example / SCORECARD
    path.write_text(path.read_text().replace(
        "      controls: [svc-owner-exists, svc-business-owner, svc-sla-required, oncall-min-rota]\n",
        "      controls: [svc-owner-exists, svc-business-owner, svc-sla-required, oncall-min-rota]\n"
        "      tiers: {tier-1: [mw-business-hours]}\n"))
    card = scorecards(_assess(example))[0]
    portal = card.services["customer-portal"]  # tier-1: the window in peak hours now keeps it below bronze
    assert (portal.level, portal.next, [c for c, _ in portal.needs]) == (None, "bronze", ["mw-business-hours"])
    assert card.services["hr-system"].level == "bronze"  # tier-2: unaffected
    assert card.services["claims-api"].level == "gold"


def test_an_unknown_control_id_in_a_scorecard_is_a_located_finding(example: Path) -> None:
    path = example / SCORECARD
    path.write_text(path.read_text().replace("controls: [svc-owner-exists, svc-business",
                                             "controls: [svc-owner-exist, svc-business"))
    result = run_cli("check", "--as-of", AS_OF, cwd=example)
    assert result.returncode == 1
    line = next(l for l in result.stdout.splitlines() if "ref-unresolved" in l)
    assert line.startswith("  policies/scorecards.yaml:15:18: Scorecard/operational-maturity: [critical/block] "
                           "ref-unresolved: refers to Control 'svc-owner-exist', which is not defined"), line
    assert "did you mean 'svc-owner-exists'" in line


def test_a_scorecard_of_thousands_of_levels_is_refused_at_its_line(example: Path) -> None:
    levels = "".join(f"    - {{name: l{i}, controls: [svc-owner-exists]}}\n" for i in range(5000))
    (example / SCORECARD).write_text("apiVersion: svcascode.io/v1alpha1\nkind: Scorecard\nmetadata: {name: big}\n"
                                     f"spec:\n  levels:\n{levels}")
    result = run_cli("validate", "--format", "json", cwd=example)
    assert result.returncode == 1
    problems = [f for f in json.loads(result.stdout)["findings"] if f["file"] == str(SCORECARD)]
    assert [(p["line"], p["path"]) for p in problems] == [(5, "spec.levels")]
    assert "at most 20" in problems[0]["message"]


def test_the_catalogue_shows_level_badges_next_level_needs_and_team_rollups(example: Path, tmp_path: Path) -> None:
    path = example / SCORECARD
    path.write_text(path.read_text().replace("title: Operational maturity", 'title: "Maturity \\e[31m<b>x</b>"'))
    out = tmp_path / "site"
    assert run_cli("render", "catalogue", "--out", str(out), "--as-of", AS_OF, "--deadline-days", "0",
                   cwd=example).returncode == 0
    index = (out / "index.html").read_text()
    assert '<span class="badge lv lv-silver">silver</span>' in index
    assert index.count('class="badge lv lv-gold"') == 15
    page = (out / "services/hr-system.html").read_text()
    assert '<span class="badge lv lv-silver">silver</span> needs 2 more controls:' in page
    assert "acc-<wbr>review-<wbr>overdue</span> <span class=\"badge s-not-satisfied\">" in page
    team = (out / "teams/enterprise-apps.md").read_text()
    assert "Lowest level: **bronze** over 3 services: none 0, bronze 1, silver 0, gold 2\n" in team
    for written in out.rglob("*"):
        if written.is_file():
            text = written.read_text()
            assert "\x1b" not in text and "<b>x</b>" not in text, written
    assert "| customer-portal](services/customer-portal.md)" not in (out / "index.md").read_text()
    assert " | non-compliant | service levels met | 1 | silver |" in (out / "index.md").read_text()


def test_diff_reports_a_level_change_in_every_format(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    repo = Repo(root)
    repo.commit("catalogue", {})
    path = root / SCORECARD
    path.write_text(path.read_text().replace("oncall-min-rota]", "oncall-min-rota, mw-business-hours]"))
    as_json = json.loads(run_cli("diff", "HEAD", "--as-of", AS_OF, "--format", "json", cwd=root).stdout)
    assert as_json["levels"] == [{"scorecard": "operational-maturity", "service": "customer-portal",
                                  "old": "silver", "new": None, "direction": "lowered"}]
    text = run_cli("diff", "HEAD", "--as-of", AS_OF, cwd=root).stdout
    assert "level changes: 1\n  operational-maturity: customer-portal silver -> none (lowered)\n" in text
    markdown = run_cli("diff", "HEAD", "--as-of", AS_OF, "--format", "markdown", cwd=root).stdout
    assert "- **customer-portal** on operational-maturity: silver → none (lowered)" in markdown


def test_a_level_asks_for_no_breached_window_in_the_last_n(example: Path) -> None:
    # payment-processor's underpinning contract was breached in May 2026 (the card outage of 3 May). As of
    # 27 November, gold's `noBreachedWindows: 1` looks at November and October: met, gold. Six windows back
    # (November and May to October) the May breach is among them, and is what gold needs.
    path = example / SCORECARD
    card = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=example).stdout)["scorecards"][0]
    standing = {s["service"]: s for s in card["services"]}["payment-processor"]
    assert (standing["level"], standing["needs"]) == ("gold", [])
    path.write_text(path.read_text().replace("noBreachedWindows: 1", "noBreachedWindows: 6"))
    card = json.loads(run_cli("check", "--as-of", AS_OF, "--format", "json", cwd=example).stdout)["scorecards"][0]
    standing = {s["service"]: s for s in card["services"]}["payment-processor"]
    assert (standing["level"], standing["next"], standing["needs"]) == ("silver", "gold", [
        {"control": "delivery: payment-processor-uc 2026-05 breached", "status": "not-satisfied"}])
