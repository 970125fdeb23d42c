"""`svcascode render catalogue` and `svcascode render report`, end to end on the example catalogue."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from render_helpers import AS_OF, REPO, example_copy, make_hostile, service_names
from svcascode.cli import main


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    code, stdout, stderr = run(REPO, "render", "catalogue", "--out", str(out), "--as-of", AS_OF)
    assert code == 0, stderr
    assert f"wrote {out / 'index.html'}" in stdout
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    code, _, stderr = run(REPO, "render", "report", "--out", str(out), "--as-of", AS_OF, "--format", "json",
                          "--format", "oscal", "--format", "html", "--format", "md")
    assert code == 0, stderr
    return out


def test_index_lists_every_example_service_with_a_page(site: Path) -> None:
    index = (site / "index.html").read_text()
    names = service_names(REPO)
    assert len(names) >= 15
    for name in names:
        assert f'href="services/{name}.html"' in index
        assert (site / "services" / f"{name}.html").exists()
        assert (site / "services" / f"{name}.md").exists()


def test_index_variants_group_by_tier_owner_lifecycle_and_status(site: Path) -> None:
    index = (site / "index.html").read_text()
    for variant in ("by-tier", "by-owner", "by-lifecycle", "by-status"):
        assert f'href="{variant}.html"' in index
    by_tier = (site / "by-tier.html").read_text()
    assert by_tier.index('id="tier-tier-0"') < by_tier.index('id="tier-tier-3"')
    by_status = (site / "by-status.html").read_text()
    # hr-system has an overdue access review: it sits under non-compliant, before the compliant group
    assert by_status.index("services/hr-system.html") < by_status.index('id="compliance-status-compliant"')


def test_service_page_shows_allowed_downtime_of_a_monthly_999_sla(site: Path) -> None:
    page = (site / "services" / "claims-api.html").read_text()
    # claims-api-sla: 99.9 % per calendar month; November 2026 has 30 days: 0.1 % of 43,200 minutes
    row = re.search(r"<tr><td><a[^>]*>claims-api-sla</a>.*?</tr>", page, re.S)
    assert row is not None
    assert "99.9 %" in row.group(0) and "43.2 min" in row.group(0)
    assert re.search(r"<td>P1</td><td>15m</td><td>4h</td>", page)
    assert '<a href="../teams/claims-engineering.html">claims-engineering</a>' in page


def test_a_business_hours_sla_allows_downtime_in_its_covered_hours_only(site: Path) -> None:
    page = (site / "services" / "general-ledger.html").read_text()
    # general-ledger-sla: 99.9 % over uk-business-hours, Mon-Fri 08:00-18:00; November 2026 has 21
    # weekdays and no bank holiday: 210 hours, so 0.1 % of 12,600 minutes
    row = re.search(r"<tr><td><a[^>]*>general-ledger-sla</a>.*?</tr>", page, re.S)
    assert row is not None
    assert "12.6 min" in row.group(0) and "210 h covered by uk-business-hours" in row.group(0)


def test_service_page_shows_the_composite_ceiling_of_hard_dependencies(site: Path) -> None:
    page = (site / "services" / "claims-api.html").read_text()
    # hard dependencies app-platform, postgres-cluster, idp (99.995 % each) and dns (99.998 %)
    expected = 0.99995 ** 3 * 0.99998 * 100
    match = re.search(r'class="ceiling">([0-9.]+) %<', page)
    assert match is not None and abs(float(match.group(1)) - expected) < 1e-4
    assert "<svg" in page and 'href="app-platform.html"' in page  # the graph links to its nodes


def test_failing_control_links_to_the_finding_file_and_line(site: Path) -> None:
    page = (site / "services" / "hr-system.html").read_text()
    links = re.findall(r'href="\.\./src/([^"#]+)\.html#L(\d+)"[^>]*>([^<]+)</a>(?: <span class="mono">[^<]*</span>)? '
                       r'(high|medium|critical|low)', page)
    assert links, "no finding links on a non-compliant service"
    path, line, text, _ = links[0]
    assert text == f"{path}:{line}"
    source = (site / "src" / f"{path}.html").read_text()
    assert f'id="L{line}"' in source


def test_team_page_lists_its_services(site: Path) -> None:
    page = (site / "teams" / "claims-engineering.html").read_text()
    for name in ("claims-api", "claims-documents", "messaging-gateway"):
        assert f'href="../services/{name}.html"' in page
    assert "customer-portal" not in page


def test_markdown_versions(site: Path) -> None:
    index = (site / "index.md").read_text()
    for name in service_names(REPO):
        assert f"[{name}](services/{name}.md)" in index
    service = (site / "services" / "claims-api.md").read_text()
    assert "| claims-api-sla | SLA | 99.9 % | 43.2 min |" in service


def test_calendar_summaries_name_the_public_holidays_they_close_on(site: Path) -> None:
    # uk-business-hours closes on England's bank holidays (publicHolidays: {country: GB, subdivision: ENG})
    hours = "uk-business-hours: Mon, Tue, Wed, Thu, Fri 08:00-18:00 (Europe/London, public holidays of GB-ENG)"
    assert f"<dt>Support hours</dt><dd>{hours}</dd>" in (site / "services" / "general-ledger.html").read_text()
    md = (site / "services" / "general-ledger.md").read_text()
    escaped = hours.replace("(", "\\(").replace(")", "\\)")  # Markdown escapes the brackets
    assert f"- Support hours: {escaped}\n" in md


def test_a_window_with_no_occurrence_left_says_so_in_every_page(tmp_path: Path) -> None:
    # hr-system-upgrade-2026-12 happens once, on 2026-12-05: seen from 2026-12-10, nothing is next
    code, _, stderr = run(REPO, "render", "catalogue", "--out", str(tmp_path), "--as-of", "2026-12-10")
    assert code == 0, stderr
    [line] = [l for l in (tmp_path / "services" / "hr-system.md").read_text().splitlines()
              if l.startswith("- hr-system-upgrade-2026-12:")]
    assert line.endswith("impact full-outage; next: none in the next 12 months")
    assert "none in the next 12 months</span></td>" in (tmp_path / "services" / "hr-system.html").read_text()


def test_hostile_description_is_escaped(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "repo")
    make_hostile(root)
    code, _, stderr = run(root, "render", "catalogue", "--out", str(tmp_path / "out"), "--as-of", AS_OF)
    assert code == 0, stderr
    page = (tmp_path / "out" / "services" / "claims-api.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in re.sub(r">[^<]*<", "><", page)  # never inside a tag, only as text
    md = (tmp_path / "out" / "services" / "claims-api.md").read_text()
    assert "<script>" not in md and "](javascript:" not in md
    # the description is shown, as text: escaped in the page, its link inert in Markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Read [the docs](javascript:alert(1)) first." in page
    assert "\\[the docs\\]\\(javascript:alert\\(1\\)\\) first." in md


def test_report_json_shape(report: Path) -> None:
    data = json.loads((report / "report.json").read_text())
    scope = data["scope"]
    assert scope["asOf"] == AS_OF and scope["toolVersion"] and scope["inputsDigest"].startswith("sha256:")
    assert re.fullmatch(r"[0-9a-f]{40}", scope["commit"])  # the example catalogue lives in this git repository
    assert {f["name"] for f in data["frameworks"]} >= {"iso27001-2022", "soc2-2017", "nist-800-53r5"}
    statuses = {c["id"]: c["status"] for c in data["controls"]}
    assert statuses["bck-rpo-consistent"] == "waived"
    assert "not-satisfied" in statuses.values()
    finding = next(f for f in data["findings"] if f["rule"] == "acc-review-overdue")
    source = (REPO / "services/access/hr-access.yaml").read_text().splitlines()
    review_line = next(i for i, line in enumerate(source, 1) if "privilegedCadence" in line)
    assert finding["teams"] == ["enterprise-apps"]
    assert (finding["file"], finding["line"]) == ("services/access/hr-access.yaml", review_line)
    assert finding["firstSeen"]["commit"] and finding["firstSeen"]["author"]
    waiver = next(w for w in data["waivers"] if w["name"] == "wvr-2026-047-dw-backup-interval")
    assert waiver["approvedBy"] and waiver["expiresAt"] == "2027-03-31" and "Solvency II" in waiver["justification"]
    assert waiver["state"] == "in force" and waiver["findingsWaived"] == 1
    past = [e for e in data["evidence"] if e["performedAt"] <= AS_OF]
    assert past and all(e["ageDays"] == (date.fromisoformat(AS_OF) - date.fromisoformat(e["performedAt"])).days
                        for e in past)
    assert data["trend"] and data["trend"][-1]["commit"]
    html = (report / "report.html").read_text()
    assert "<svg" in html and "posture-trend" in html and "<script" not in html


@pytest.mark.consumer
def test_oscal_loads_in_compliance_trestle(report: Path) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    document = json.loads((report / "assessment-results.json").read_text())
    model = AssessmentResults.model_validate(document["assessment-results"])
    result = model.results[0]
    data = json.loads((report / "report.json").read_text())
    assert len(result.observations) == len(data["evaluations"])
    # one finding per framework control the library maps to, named by framework and id as written
    mapped = {(m["framework"], i) for c in data["controls"] for m in c["mappings"] for i in m["controls"]}
    named = [{p.name: p.value for p in f.props} for f in result.findings]
    assert {(p["framework"], p["control-id"]) for p in named} == mapped
    states = {f.target.target_id: f.target.status.state.value for f in result.findings}
    # A.5.2 is checked by svc-owner-exists and svc-business-owner, which pass; AC-2 by acc-review-overdue, which fails
    assert states["A.5.2"] == "satisfied" and states["ac-2"] == "not-satisfied"
    risks = result.risks or []
    assert len(risks) == 1 and document["assessment-results"]["results"][0]["risks"][0]["status"] == \
        "deviation-approved"
    assert risks[0].deadline is not None and risks[0].deadline.date().isoformat() == "2027-03-31"
    evidence = result.observations[0].relevant_evidence[0]
    props = {p.name: p.value for p in evidence.props}
    assert props["commit"] == data["scope"]["commit"] and evidence.href.startswith(props["file"])


@pytest.mark.consumer
def test_oscal_findings_and_observations_name_the_framework_control_ids(report: Path) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    document = json.loads((report / "assessment-results.json").read_text())["assessment-results"]
    result = AssessmentResults.model_validate(document).results[0]
    findings = {f.target.target_id: f for f in result.findings}
    # NIST ids in the form of NIST's OSCAL catalog (AC-2(3) is ac-2.3); ISO and SOC 2 ids as written
    assert {"ac-2", "ac-2.3", "A.5.15", "CC6.1"} <= set(findings)
    ac2 = findings["ac-2"]
    assert ac2.target.type.value == "objective-id"
    assert {(p.name, p.value) for p in ac2.target.props} >= {("framework", "nist-800-53r5"), ("control-id", "AC-2")}
    assert "AC-2" in ac2.title and ac2.related_observations
    observations = {o.uuid: o for o in result.observations}
    checked = {observations[str(r.observation_uuid)].title for r in ac2.related_observations}
    assert any(t.startswith("acc-review-overdue on ") for t in checked)
    overdue = next(o for o in result.observations if o.title.startswith("acc-review-overdue on "))
    assert ("nist-800-53r5", "AC-2") in {(p.class_, p.value) for p in overdue.props if p.name == "framework-control"}
    # the waived backup finding is a risk of the framework controls its check maps to (ISO A.8.13 backup)
    assert findings["A.8.13"].related_risks and findings["A.8.13"].target.status.state.value == "not-satisfied"
    selected = {c.control_id for s in result.reviewed_controls.control_selections for c in s.include_controls or []}
    assert selected == set(findings)


def test_oscal_import_ap_names_the_plan_it_carries(report: Path) -> None:
    document = json.loads((report / "assessment-results.json").read_text())["assessment-results"]
    href = document["import-ap"]["href"]
    assert href.startswith("#") and href != "#"
    plan = next(r for r in document["back-matter"]["resources"] if r["uuid"] == href[1:])
    linked = {link["href"].split("#")[0] for link in plan["rlinks"]}
    # the built-in library's controls by a URN naming the tool version and file; repository files by path
    assert "urn:svcascode:library:0.1.0:controls/acc-review-overdue.yaml" in linked
    library = REPO / "svcascode" / "library"
    assert all((library / path.split(":")[-1]).is_file() if path.startswith("urn:svcascode:library:")
               else (REPO / path).is_file() for path in linked)


def test_oscal_is_reproducible(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1795000000"}
    outputs = []
    for name in ("a", "b"):
        code, _, stderr = run(REPO, "render", "report", "--out", str(tmp_path / name), "--as-of", AS_OF,
                              "--format", "oscal", "--history-commits", "0", env=env)
        assert code == 0, stderr
        outputs.append((tmp_path / name / "assessment-results.json").read_bytes())
    assert outputs[0] == outputs[1]


def test_outside_git_the_report_says_there_is_no_history(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "plain")
    code, stdout, stderr = run(root, "render", "report", "--out", str(tmp_path / "out"), "--as-of", AS_OF,
                               "--format", "md", "--format", "json", "--format", "oscal")
    assert code == 0
    assert "no history: not a git repository" in stderr
    assert "no history: not a git repository" in (tmp_path / "out" / "report.md").read_text()
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["scope"]["commit"] is None and data["trend"] == []
    assert all(f["firstSeen"] is None for f in data["findings"])


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dana Auditor", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana Auditor", "GIT_COMMITTER_EMAIL": "dana@example.com",
           "GIT_AUTHOR_DATE": "2026-11-20T10:00:00+00:00", "GIT_COMMITTER_DATE": "2026-11-20T10:00:00+00:00"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _repo_with_a_new_finding(tmp_path: Path) -> Path:
    """A git repository of the example catalogue whose second commit drops claims-api's business owner."""
    root = example_copy(tmp_path / "repo")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "catalogue")
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("  businessOwner: marcus.lowe@example.com\n", ""))
    _git(root, "commit", "-q", "-am", "drop the business owner")
    return root


def test_first_seen_names_the_commit_and_author_that_introduced_a_finding(tmp_path: Path) -> None:
    root = _repo_with_a_new_finding(tmp_path)
    head = _git(root, "rev-parse", "HEAD").strip()
    code, _, stderr = run(root, "render", "report", "--out", str(tmp_path / "out"), "--as-of", AS_OF,
                          "--format", "json", "--format", "html")
    assert code == 0, stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["scope"]["commit"] == head and len(data["trend"]) == 2
    new = next(f for f in data["findings"] if f["rule"] == "svc-business-owner" and f["name"] == "claims-api")
    assert new["firstSeen"]["commit"] == head and new["firstSeen"]["author"] == "Dana Auditor"
    assert data["trend"][0]["openFindings"] < data["trend"][1]["openFindings"]


def test_first_seen_covers_document_findings_and_the_root_commit_is_not_or_earlier(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "repo")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "catalogue")
    first = _git(root, "rev-parse", "HEAD").strip()
    service = root / "services" / "catalogue" / "claims-api.yaml"
    service.write_text(service.read_text().replace("{service: idp, criticality: hard}",
                                                   "{service: no-such-idp, criticality: hard}"))
    _git(root, "commit", "-q", "-am", "depend on a service that does not exist")
    head = _git(root, "rev-parse", "HEAD").strip()
    code, _, stderr = run(root, "render", "report", "--out", str(tmp_path / "out"), "--as-of", AS_OF,
                          "--format", "json", "--format", "html")
    assert code == 0, stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    dangling = next(f for f in data["findings"] if f["rule"] == "ref-unresolved" and f["name"] == "claims-api")
    assert dangling["firstSeen"] is not None, "a reference finding found no first commit"
    assert dangling["firstSeen"]["commit"] == head
    old = [f["firstSeen"] for f in data["findings"] if f["firstSeen"] and f["firstSeen"]["commit"] == first]
    assert old and not any(seen["atOrBefore"] for seen in old)  # the root commit: nothing is older
    page = (tmp_path / "out" / "report.html").read_text()
    assert "or earlier" not in page and "not committed yet" not in page


def test_first_seen_before_the_walked_commits_says_or_earlier_in_every_format(tmp_path: Path) -> None:
    root = _repo_with_a_new_finding(tmp_path)
    code, _, stderr = run(root, "render", "report", "--out", str(tmp_path / "out"), "--as-of", AS_OF,
                          "--history-commits", "1", "--format", "json", "--format", "md")
    assert code == 0, stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    older = [f for f in data["findings"] if f["firstSeen"] and f["firstSeen"]["atOrBefore"]]
    assert older, "findings older than the one commit walked"
    rows = [line for line in (tmp_path / "out" / "report.md").read_text().splitlines()
            if line.startswith(f"| {older[0]['severity']} | {older[0]['rule']} |")]
    assert rows and "or earlier" in rows[0]


def test_in_a_shallow_clone_the_oldest_commit_present_is_not_taken_for_the_first(tmp_path: Path) -> None:
    root = _repo_with_a_new_finding(tmp_path)
    clone = tmp_path / "shallow"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{root}", str(clone))
    code, _, stderr = run(clone, "render", "report", "--out", str(tmp_path / "out"), "--as-of", AS_OF,
                          "--format", "json")
    assert code == 0, stderr
    seen = [f["firstSeen"] for f in json.loads((tmp_path / "out" / "report.json").read_text())["findings"]]
    assert seen and all(s is not None and s["atOrBefore"] for s in seen)


def test_an_unwritable_output_is_exit_2_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, stderr = run(REPO, "render", "catalogue", "--out", str(blocker / "site"), "--as-of", AS_OF)
    assert code == 2 and "cannot write" in stderr and "Traceback" not in stderr


def test_pdf_without_weasyprint_writes_html_and_says_how(tmp_path: Path) -> None:
    from svcascode.render.report import pdf_available

    code, _, stderr = run(REPO, "render", "report", "--out", str(tmp_path), "--as-of", AS_OF, "--format", "pdf",
                          "--history-commits", "0")
    assert code == 0, stderr
    if pdf_available():
        assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    else:
        assert "pip install weasyprint" in stderr and (tmp_path / "report.html").exists()


def test_an_expired_waiver_is_flagged_as_failing_not_as_a_warning(report: Path) -> None:
    page = (report / "report.html").read_text()
    heading = re.search(r'<h3 id="waiver-wvr-2026-019-hr-access-review">(.*?)</h3>', page, re.S)
    assert heading, "the expired example waiver has a heading"
    assert '<span class="badge s-fail">expired</span>' in heading.group(1)
    assert "s-warning" not in heading.group(1)
