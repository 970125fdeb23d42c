"""Deadlines: the findings that will open, each on the first day `check --as-of` reports it, as text, JSON,
Markdown and one iCalendar file per team, with exact dates on the example catalogue."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from conftest import run_cli
from svcascode.assessment import assess
from svcascode.catalogue import LoadResult, load_catalogue
from svcascode.config import load_settings
from svcascode.forecast import forecast, open_findings

AS_OF = date(2027, 3, 1)
UNTIL = date(2027, 4, 15)

# As of 2027-03-01, with claims-api's SLA ending on 2027-03-20: (opens, document, control, owner)
EXPECTED = [
    ("2027-03-09", "services/catalogue/dns.yaml:30", "Service/dns", "bck-restore-tested", "network-infrastructure"),
    ("2027-03-16", "services/catalogue/app-platform.yaml:31", "Service/app-platform", "bck-restore-tested",
     "platform-engineering"),
    ("2027-03-17", "policies/incident-policies.yaml:49", "IncidentPolicy/default-incident-policy",
     "inc-policy-complete", None),
    ("2027-03-17", "policies/waivers.yaml:25", "Waiver/wvr-2026-047-dw-backup-interval", "wvr-valid",
     "data-analytics"),  # 14 days before its expiry: the control's warnWithin
    ("2027-03-21", "services/catalogue/claims-api.yaml:4", "Service/claims-api", "svc-sla-required",
     "claims-engineering"),  # the day after the SLA's validTo
    ("2027-03-21", "services/service-levels/claims-api-sla.yaml:12", "ServiceLevel/claims-api-sla",
     "sla-review-current", "claims-engineering"),
    ("2027-03-22", "services/catalogue/customer-portal.yaml:35", "Service/customer-portal", "bck-restore-tested",
     "digital-channels"),
    ("2027-03-23", "services/catalogue/claims-api.yaml:35", "Service/claims-api", "bck-restore-tested",
     "claims-engineering"),
    ("2027-03-31", "services/catalogue/data-warehouse.yaml:35", "Service/data-warehouse", "bck-rpo-consistent",
     "data-analytics"),  # the waiver expires on its expiresAt: the finding it waived opens that day
    ("2027-03-31", "services/catalogue/idp.yaml:31", "Service/idp", "bck-restore-tested", "identity-platform"),
    ("2027-04-13", "services/catalogue/postgres-cluster.yaml:30", "Service/postgres-cluster", "bck-restore-tested",
     "platform-engineering"),
]


def _ending_sla(example: Path) -> Path:
    path = example / "services/service-levels/claims-api-sla.yaml"
    path.write_text(path.read_text().replace("validTo: 2027-12-31", "validTo: 2027-03-20"))
    return example


def _load(root: Path) -> LoadResult:
    return load_catalogue(root, load_settings(root))


def test_forecast_lists_each_finding_with_the_day_it_opens_its_document_owner_and_control(example: Path) -> None:
    result = run_cli("forecast", "--as-of", str(AS_OF), "--until", str(UNTIL), "--format", "json",
                     cwd=_ending_sla(example))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["asOf"], body["until"]) == ("2027-03-01", "2027-04-15")
    got = [(d["opens"], f"{d['file']}:{d['line']}", f"{d['kind']}/{d['name']}", d["control"], d["owner"])
           for d in body["deadlines"]]
    assert got == EXPECTED


def test_the_forecast_is_what_check_as_of_says_on_every_day(example: Path) -> None:
    loaded = _load(_ending_sla(example))
    result = forecast(loaded, AS_OF, UNTIL)
    assert result.evaluated and len(result.evaluated) < (UNTIL - AS_OF).days  # not every day, and still exact
    opens = {d.finding.fingerprint: d.opens for d in result.deadlines}
    before = set(open_findings(assess(loaded, AS_OF)))
    day = AS_OF
    while day < UNTIL:
        day += timedelta(days=1)
        now = set(open_findings(assess(loaded, day)))
        new = now - before
        assert {f for f in new if opens.get(f, date.max) > day} == set(), day  # open, and not yet forecast
        assert {f for f, d in opens.items() if d == day} <= now, day  # forecast to open that day: it is
        before |= now
    assert forecast(loaded, AS_OF, UNTIL, every_day=True).deadlines == result.deadlines


def test_the_first_deadline_is_what_the_command_line_check_reports_that_day_and_not_the_day_before(
        example: Path) -> None:
    root = _ending_sla(example)
    body = json.loads(run_cli("forecast", "--as-of", str(AS_OF), "--days", "30", "--format", "json", cwd=root).stdout)
    first = body["deadlines"][0]
    assert (first["opens"], first["name"], first["control"]) == ("2027-03-09", "dns", "bck-restore-tested")

    def open_on(day: str) -> set[str]:
        out = json.loads(run_cli("check", "--as-of", day, "--format", "json", cwd=root).stdout)
        return {f["fingerprint"] for f in out["findings"] if not f["suppressed"]}

    assert first["fingerprint"] in open_on("2027-03-09")
    assert first["fingerprint"] not in open_on("2027-03-08")


def test_text_and_markdown_and_check_until(example: Path) -> None:
    root = _ending_sla(example)
    text = run_cli("forecast", "--as-of", str(AS_OF), "--until", "2027-03-10", cwd=root).stdout
    assert text.splitlines()[0].endswith("1 finding will open")
    assert text.splitlines()[1].startswith("  2027-03-09: services/catalogue/dns.yaml:30:3: Service/dns: "
                                           "[high/block] bck-restore-tested: ")
    assert text.splitlines()[1].endswith("(owner: network-infrastructure)")
    markdown = run_cli("forecast", "--as-of", str(AS_OF), "--until", "2027-03-10", "--format", "markdown",
                       cwd=root).stdout
    assert "| 2027-03-09 | bck-restore-tested (high) | Service/dns `services/catalogue/dns.yaml:30` | " \
           "network-infrastructure |" in markdown
    check = run_cli("check", "--as-of", str(AS_OF), "--until", "2027-03-10", "--format", "json", cwd=root)
    deadlines = json.loads(check.stdout)["forecast"]["deadlines"]
    assert [(d["opens"], d["name"], d["control"]) for d in deadlines] == [("2027-03-09", "dns", "bck-restore-tested")]
    check_text = run_cli("check", "--as-of", str(AS_OF), "--until", "2027-03-10", cwd=root).stdout
    assert "forecast 2027-03-01 -> 2027-03-10 (9 days" in check_text


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "5000"], "--days 5000: at most 1096 days ahead"),
    (["--days", "0"], "--days 0: give a number of days of at least 1"),
    (["--until", "2027-02-01"], "--until 2027-02-01: must be after the as-of date 2027-03-01"),
    (["--days", "3", "--until", "2027-03-10"], "give --days or --until, not both"),
])
def test_a_bad_period_is_exit_2_with_a_message(example: Path, args: list[str], message: str) -> None:
    result = run_cli("forecast", "--as-of", str(AS_OF), *args, cwd=example)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_one_icalendar_file_per_team_parses_back_with_stable_uids(example: Path, tmp_path: Path) -> None:
    root = _ending_sla(example)
    out = tmp_path / "calendars"
    args = ("forecast", "--as-of", str(AS_OF), "--until", str(UNTIL), "--ical", str(out))
    first = run_cli(*args, cwd=root)
    assert first.returncode == 0 and "calendars: 10 written, 0 unchanged" in first.stderr, first.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["_unowned.ics", "claims-engineering.ics", "data-analytics.ics", "digital-channels.ics",
                     "enterprise-apps.ics", "finance-systems.ics", "identity-platform.ics",
                     "network-infrastructure.ics", "platform-engineering.ics", "security-grc.ics"]
    claims = Calendar.from_ical((out / "claims-engineering.ics").read_bytes())
    events = sorted((str(e["dtstart"].dt), str(e["summary"]), str(e["uid"])) for e in claims.walk("VEVENT"))
    assert [(d, s) for d, s, _ in events] == [
        ("2027-03-21", "sla-review-current: ServiceLevel/claims-api-sla (medium)"),
        ("2027-03-21", "svc-sla-required: Service/claims-api (high)"),
        ("2027-03-23", "bck-restore-tested: Service/claims-api (high)")]
    assert all(uid.endswith("@svcascode") and len(uid) == 32 + len("@svcascode") for _, _, uid in events)
    assert sum(len(Calendar.from_ical(p.read_bytes()).walk("VEVENT")) for p in out.iterdir()) == len(EXPECTED)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run_cli(*args, cwd=root)  # the same forecast: nothing rewritten
    assert "calendars: 0 written, 10 unchanged" in again.stderr
    later = run_cli("forecast", "--as-of", "2027-03-10", "--until", str(UNTIL), "--ical", str(out), cwd=root)
    assert later.returncode == 0
    claims_later = Calendar.from_ical((out / "claims-engineering.ics").read_bytes())
    assert sorted(str(e["uid"]) for e in claims_later.walk("VEVENT")) == sorted(u for _, _, u in events)
    assert before["security-grc.ics"] == (out / "security-grc.ics").read_bytes()  # empty, and still the same


def test_a_file_svcascode_did_not_write_is_never_overwritten(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "calendars"
    out.mkdir()
    mine = out / "claims-engineering.ics"
    theirs = b"BEGIN:VCALENDAR\r\nPRODID:-//someone//else//EN\r\nEND:VCALENDAR\r\n"
    mine.write_bytes(theirs)
    result = run_cli("forecast", "--as-of", str(AS_OF), "--days", "10", "--ical", str(out), cwd=example)
    assert result.returncode == 2
    assert "claims-engineering.ics: exists and was not written by svcascode forecast" in result.stderr
    assert mine.read_bytes() == theirs
    assert sorted(p.name for p in out.iterdir()) == ["claims-engineering.ics"]  # nothing else written either
    inside = run_cli("forecast", "--as-of", str(AS_OF), "--days", "10", "--ical", "services/x", cwd=example)
    assert inside.returncode == 2 and "mix generated files with the catalogue" in inside.stderr


def test_the_catalogue_lists_each_services_upcoming_deadlines(example: Path, tmp_path: Path) -> None:
    root = _ending_sla(example)
    out = tmp_path / "site"
    assert run_cli("render", "catalogue", "--out", str(out), "--as-of", "2027-03-15", "--deadline-days", "10",
                   cwd=root).returncode == 0
    page = (out / "services/claims-api.md").read_text()
    section = page.split("## Upcoming deadlines\n", 1)[1].split("\n## ", 1)[0]
    assert [l.split(" `")[0] for l in section.strip().splitlines()] == [
        "- 2027-03-21: **svc-sla-required** (high) Service/claims-api",
        "- 2027-03-21: **sla-review-current** (medium) ServiceLevel/claims-api-sla",
        "- 2027-03-23: **bck-restore-tested** (high) Service/claims-api"]
    assert "Nothing opens up to 2027-03-25." in (out / "services/dns.md").read_text()


def test_a_file_name_with_terminal_escapes_reaches_no_output_raw(example: Path, tmp_path: Path) -> None:
    root = _ending_sla(example)
    sla = root / "services/service-levels/claims-api-sla.yaml"
    sla.rename(sla.with_name("claims\x1b[2J\u202e-sla.yaml"))
    out = tmp_path / "calendars"
    streams = []
    for fmt in ("text", "json", "markdown"):
        result = run_cli("forecast", "--as-of", str(AS_OF), "--until", "2027-03-25", "--format", fmt,
                         "--ical", str(out), cwd=root)
        assert result.returncode == 0, result.stderr
        streams += [result.stdout, result.stderr]
    assert "claims\\x1b[2J\\u202e-sla.yaml:12" in streams[0]
    calendars = [p.read_text() for p in out.iterdir()]
    assert any("claims\\\\x1b[2J\\\\u202e-sla.yaml" in c or "claims\\x1b[2J\\u202e-sla.yaml" in c for c in calendars)
    for text in (*streams, *calendars):
        assert "\x1b" not in text and "\u202e" not in text
