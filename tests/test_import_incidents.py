"""import incidents: the three built-in mappings on real-looking exports, a mapping file, re-importing as a
no-op, nothing written on error unless --partial, and hostile CSV with located messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import cpu_seconds, run_cli
from svcascode.errors import SvcascodeError
from svcascode.incidentimport.importer import Directory, Existing, plan_import
from svcascode.incidentimport.mapping import MappingError, builtin_mapping, load_mapping

EXPORTS = Path(__file__).parent / "incident_exports"
SERVICES = ("customer-portal", "claims-api", "general-ledger", "corporate-email")
SN_HEADER = '"number","short_description","priority","opened_at","resolved_at","business_service"'


def _service(name: str) -> str:
    return (f"apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata: {{name: {name}}}\n"
            "spec: {type: business, tier: tier-1, lifecycle: production, owner: ops, supportHours: always-on, "
            "data: {classification: internal}}\n")


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    (root / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    base = ("apiVersion: svcascode.io/v1alpha1\nkind: BusinessCalendar\nmetadata: {name: always-on}\n"
            "spec: {timezone: UTC, alwaysOn: true}\n---\n"
            "apiVersion: svcascode.io/v1alpha1\nkind: Team\nmetadata: {name: ops}\n"
            "spec: {type: team, members: [{id: ana@example.com, role: lead}]}\n")
    (root / "services" / "base.yaml").write_text(base + "".join("---\n" + _service(s) for s in SERVICES))
    return root


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _spec(root: Path, name: str) -> dict:
    return _load(root / "services" / "incidents" / f"{name}.yaml")["spec"]


def test_servicenow_export_becomes_incidents_and_reimporting_is_a_no_op(catalogue: Path) -> None:
    result = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    # this export has no impact column: nothing says a service was impaired, so each impact is unknown (no
    # downtime) and listed for review; the list export has no response time either
    assert result.stdout.splitlines() == [
        "wrote services/incidents/inc0012345.yaml",
        "wrote services/incidents/inc0012388.yaml",
        "wrote services/incidents/inc0012401.yaml",
        *[f"review: row {row}: {ticket} impact on {service} unknown (no impact in the export): it counts no downtime; "
          f"review it and set the impact in {ticket.lower()}.yaml if the service was impaired"
          for row, ticket, service in ((2, "INC0012345", "customer-portal"), (3, "INC0012388", "claims-api"),
                                       (4, "INC0012401", "customer-portal"))],
        "imported: 3 written, 0 skipped (already there)",
    ]
    assert _spec(catalogue, "inc0012345") == {
        "title": "Card payments failing at checkout", "priority": "P1",
        "opened": "2026-05-03T08:12:00+00:00", "resolved": "2026-05-03T13:02:00+00:00",
        "closed": "2026-05-04T09:00:00+00:00",
        "impacts": [{"service": "customer-portal", "impact": "unknown", "basis": (
            "no impact in the export; service business_service 'Customer Portal', the Service customer-portal, by "
            "its lower-case name")}],
        "links": {"change": "CHG0012345", "problem": "PRB0000356"},
        "source": {"system": "servicenow", "id": "INC0012345", "unrecorded": ["responded"]},
    }
    # business_service empty: cmdb_ci is read; an open ticket has no resolved; "" in a cell is a quote
    assert [i["service"] for i in _spec(catalogue, "inc0012388")["impacts"]] == ["claims-api"]
    assert "resolved" not in _spec(catalogue, "inc0012401")
    assert _spec(catalogue, "inc0012401")["title"] == 'Quote PDF shows "standard" excess'
    assert run_cli("validate", cwd=catalogue).stdout.strip() == "valid: 9 documents in 4 files"

    again = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow", cwd=catalogue)
    assert again.returncode == 0
    assert [line for line in again.stdout.splitlines() if not line.startswith("review:")] == [
        "skipped row 2: servicenow INC0012345 is already imported in services/incidents/inc0012345.yaml",
        "skipped row 3: servicenow INC0012388 is already imported in services/incidents/inc0012388.yaml",
        "skipped row 4: servicenow INC0012401 is already imported in services/incidents/inc0012401.yaml",
        "imported: 0 written, 3 skipped (already there)",
    ]


def test_a_renamed_or_moved_document_is_still_recognised_by_its_source(catalogue: Path) -> None:
    run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow", cwd=catalogue)
    moved = catalogue / "services" / "2026" / "payments-outage.yaml"
    moved.parent.mkdir()
    text = (catalogue / "services" / "incidents" / "inc0012345.yaml").read_text()
    moved.write_text(text.replace("name: inc0012345", "name: payments-outage"))
    (catalogue / "services" / "incidents" / "inc0012345.yaml").unlink()
    again = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow", cwd=catalogue)
    assert again.stdout.splitlines()[0] == ("skipped row 2: servicenow INC0012345 is already imported in "
                                            "services/2026/payments-outage.yaml")
    assert not (catalogue / "services" / "incidents" / "inc0012345.yaml").exists()


def test_jsm_export_with_repeated_component_columns(catalogue: Path) -> None:
    result = run_cli("import", "incidents", str(EXPORTS / "jsm.csv"), "--mapping", "jsm", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    fin = _spec(catalogue, "fin-2291")
    assert (fin["title"], fin["priority"], fin["opened"], fin["resolved"]) == (
        "Journal import rejected by the ledger", "P3", "2026-08-14T15:00:00+00:00", "2026-08-18T10:00:00+00:00")
    assert [(i["service"], i["impact"]) for i in fin["impacts"]] == [("general-ledger", "unknown")]
    # the SLA field gives the time left (45m): not breached; there is no time-to-resolution value
    assert fin["recordedSlas"] == [{"definition": "Time to first response", "metric": "response", "breached": False}]
    assert [(i["service"], i["impact"]) for i in _spec(catalogue, "fin-2302")["impacts"]] == [
        ("claims-api", "unknown"), ("customer-portal", "unknown")]
    assert _spec(catalogue, "fin-2302")["priority"] == "P1"


def test_pagerduty_export_priority_or_urgency_and_seconds_to_first_ack(catalogue: Path) -> None:
    result = run_cli("import", "incidents", str(EXPORTS / "pagerduty.csv"), "--mapping", "pagerduty", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    first = _spec(catalogue, "pd-4821")
    assert (first["priority"], first["opened"], first["responded"], first["resolved"]) == (
        "P2", "2026-10-06T10:10:00+01:00", "2026-10-06T10:30:00+01:00", "2026-10-06T12:10:00+01:00")
    assert first["source"] == {"system": "pagerduty", "id": "4821"}
    assert first["impacts"] == [{"service": "corporate-email", "impact": "outage", "basis": (
        "urgency 'high', read as outage; service service_name 'corporate-email', a Service of that name")}]
    second = _spec(catalogue, "pd-4830")  # no priority_name: urgency low; no acknowledged_on: 300 s after opened
    assert (second["priority"], second["responded"]) == ("P4", "2026-10-09T02:05:00+00:00")
    assert [(i["service"], i["impact"]) for i in second["impacts"]] == [("claims-api", "degraded")]


def test_a_mapping_file_on_a_builtin_base_maps_names_and_time_zone(catalogue: Path) -> None:
    (catalogue / "servicenow-northwind.yaml").write_text(
        "base: servicenow\nservices:\n  Customer Portal: claims-api\ndates:\n  timezone: Europe/London\n")
    result = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping",
                     "servicenow-northwind.yaml", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    spec = _spec(catalogue, "inc0012345")
    assert spec["opened"] == "2026-05-03T08:12:00+01:00"  # BST
    assert [(i["service"], i["impact"]) for i in spec["impacts"]] == [("claims-api", "unknown")]


def test_a_bad_mapping_file_is_located_and_nothing_is_read(catalogue: Path) -> None:
    (catalogue / "bad.yaml").write_text(
        "system: servicenow\ncolumns:\n  id: number\n  title: [short_description]\n  opened: []\n"
        "  colour: [x]\npriorities:\n  \"1 - Critical\": P0\ndates:\n  format: \"%d/%m\"\n  timezone: Europe/Londn\n")
    result = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "bad.yaml", cwd=catalogue)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "bad.yaml:2:1: columns.priority: required field missing: add `priority:`",
        "bad.yaml:5:3: columns.opened: needs at least 1 item(s)",
        "bad.yaml:2:1: columns.service: required field missing: add `service:`",
        "bad.yaml:6:3: columns.colour: unknown field 'colour'; allowed fields: change, closed, id, impact, opened, "
        "planned, priority, problem, resolved, responded, respondedAfterSeconds, review, service, slas, title",
        "bad.yaml:8:3: priorities.1 - Critical: 'P0' is not one of: P1, P2, P3, P4",
        "bad.yaml:10:3: dates.format: the format has no year (%Y or %y)",
        "bad.yaml:11:3: dates.timezone: unknown IANA time zone 'Europe/Londn'; did you mean 'Europe/London'?",
        "svcascode: error: the mapping 'bad.yaml' cannot be used: fix it and run again",
    ]
    assert not (catalogue / "services" / "incidents").exists()


def test_unknown_base_and_missing_mapping(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("base: remedy\n")
    with pytest.raises(MappingError) as error:
        load_mapping("m.yaml", tmp_path)
    assert error.value.messages == ["m.yaml:1:1: base: 'remedy' is not a built-in mapping; use one of: "
                                    "servicenow, jsm, pagerduty"]
    with pytest.raises(MappingError) as error:
        load_mapping("none.yaml", tmp_path)
    assert error.value.messages == ["none.yaml: no such mapping file, and not one of the built-in mappings "
                                    "(servicenow, jsm, pagerduty)"]


BAD_ROWS = [
    SN_HEADER,
    '"INC1","=cmd|\' /C calc\'!A0","1 - Critical","2026-05-03 08:12:00","2026-05-03 09:00:00","claims-api"',
    '"INC2","ok","9 - Whatever","2026-13-03 08:12:00","","Nowhere"',
    '"INC3","resolved first","2 - High","2026-05-03 10:00:00","2026-05-03 09:00:00","claims-api"',
    '"INC4","bidi \u202e and \x1b[31m escape","2 - High","2026-05-03 10:00:00","","claims-api"',
    '"INC1","again","2 - High","2026-05-03 10:00:00","","claims-api"',
    '"","no id","2 - High","2026-05-03 10:00:00","","claims-api"',
    '"INC7","@SUM(1+1)","4 - Low","2026-05-03 10:00:00","","claims-api"',
]
BAD_MESSAGES = [
    "bad.csv:3:priority: priority '9 - Whatever' is not in the mapping's priorities ('1 - Critical', '2 - High', "
    "'3 - Moderate', '4 - Low', '5 - Planning'): add it under `priorities:` in a mapping file (`base:` the "
    "built-in one)",
    "bad.csv:3:opened_at: '2026-13-03 08:12:00' is not a date-time in the format %Y-%m-%d %H:%M:%S: correct the "
    "cell, or set `dates.format` in a mapping file",
    "bad.csv:3:business_service: service 'Nowhere' is not a Service of the catalogue, and no Service declares it: "
    "add it to the Service's spec.externalNames.servicenow (e.g. servicenow: ['Nowhere']), or add the Service",
    "bad.csv:4:resolved_at: the Incident it gives is not valid: spec.resolved: resolved (2026-05-03T09:00:00+00:00) "
    "is before opened (2026-05-03T10:00:00+00:00)",
    "bad.csv:6:number: 'INC1' is on row 2 too: export each ticket once",
    "bad.csv:7:number: no ticket id: every row needs one (columns read: number)",
]


def _bad_csv(root: Path) -> Path:
    path = root / "bad.csv"
    path.write_text("\ufeff" + "\r\n".join(BAD_ROWS) + "\r\n", encoding="utf-8")  # with a byte-order mark
    return path


def test_bad_rows_are_located_and_nothing_is_written(catalogue: Path) -> None:
    _bad_csv(catalogue)
    result = run_cli("import", "incidents", "bad.csv", "--mapping", "servicenow", cwd=catalogue)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [*BAD_MESSAGES, (
        "FAIL: 0 written, 0 skipped (already there), 6 problems in 4 rows; nothing written: fix the rows, or "
        "--partial to write the good ones")]
    assert not (catalogue / "services" / "incidents").exists()


def test_dry_run_writes_nothing_and_partial_writes_the_good_rows_safely(catalogue: Path) -> None:
    _bad_csv(catalogue)
    dry = run_cli("import", "incidents", "bad.csv", "--mapping", "servicenow", "--partial", "--dry-run", cwd=catalogue)
    assert dry.returncode == 1
    assert [line for line in dry.stdout.splitlines() if not line.startswith("review:")][-4:] == [
        "would write services/incidents/inc1.yaml (row 2)", "would write services/incidents/inc4.yaml (row 5)",
        "would write services/incidents/inc7.yaml (row 8)",
        "FAIL: 3 to write, 0 skipped (already there), 6 problems in 4 rows"]
    assert not (catalogue / "services" / "incidents").exists()

    partial = run_cli("import", "incidents", "bad.csv", "--mapping", "servicenow", "--partial", cwd=catalogue)
    assert partial.returncode == 1
    assert partial.stdout.splitlines()[-1] == "FAIL: 3 written, 0 skipped (already there), 6 problems in 4 rows"
    folder = catalogue / "services" / "incidents"
    assert sorted(p.name for p in folder.iterdir()) == ["inc1.yaml", "inc4.yaml", "inc7.yaml"]
    # a formula stays the text it is, double-quoted; control and bidi characters are visible escapes
    assert '  title: "=cmd|\' /C calc\'!A0"\n' in (folder / "inc1.yaml").read_text()
    assert '  title: "@SUM(1+1)"\n' in (folder / "inc7.yaml").read_text()
    written = (folder / "inc4.yaml").read_text()
    assert "\u202e" not in written and "\x1b" not in written
    assert _load(folder / "inc4.yaml")["spec"]["title"] == "bidi \\u202e and \\x1b[31m escape"
    assert run_cli("validate", cwd=catalogue).returncode == 0


def test_never_overwrites_a_file_it_did_not_write(catalogue: Path) -> None:
    folder = catalogue / "out"
    folder.mkdir()
    (folder / "inc0012345.yaml").write_text("# mine\n")
    result = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow",
                     "--out", "out", cwd=catalogue)
    assert "skipped row 2: out/inc0012345.yaml exists" in result.stdout.splitlines()
    assert (folder / "inc0012345.yaml").read_text() == "# mine\n"


def _plan(tmp_path: Path, text: str | bytes, mapping: str = "servicenow") -> list[str]:
    path = tmp_path / "x.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = plan_import(path, "x.csv", builtin_mapping(mapping), Directory.named(SERVICES), Existing({}, {}))
    return [str(p) for p in result.problems]


def test_files_that_are_not_utf8_csv_are_refused_with_their_place(tmp_path: Path) -> None:
    cases = {
        SN_HEADER.encode() + b'\n"INC1","caf\xe9 down","2 - High","2026-05-03 08:00:00","","claims-api"\n':
            "x.csv: line 2: byte 0xE9 is not UTF-8; export the tickets as UTF-8 (in Excel: Save As > CSV UTF-8)",
        "\ufeff".encode("utf-16-le") + SN_HEADER.encode("utf-16-le"):
            "x.csv: line 1: byte 0xFF is not UTF-8; export the tickets as UTF-8 (in Excel: Save As > CSV UTF-8)",
        SN_HEADER.encode() + b'\n"INC1","unclosed,2 - High\n':
            "x.csv:2: not readable as CSV (unexpected end of data); a quoted field longer than 128 KiB or an "
            "unclosed quote stops the reading: fix that row or export again",
        (SN_HEADER + '\n"INC1","' + "x" * 200_000 + '","2 - High","2026-05-03 08:00:00","","claims-api"\n').encode():
            "x.csv:2: not readable as CSV (field larger than field limit (131072)); a quoted field longer than "
            "128 KiB or an unclosed quote stops the reading: fix that row or export again",
        b"Issue key,Summary\nA-1,x\n":
            "x.csv:1: the header has no column for id (number); title (short_description); priority (priority); "
            "opened (opened_at); service (business_service or cmdb_ci): is this a servicenow export? Choose the "
            "--mapping of the tool it came from, or write a mapping file naming its columns",
        b"": "x.csv: empty; export the tickets with a header row",
        b"number\x00,x\n": "x.csv: line 1: a NUL character; this is not a text export: export the tickets as CSV",
    }
    for data, message in cases.items():
        with pytest.raises(SvcascodeError) as error:
            _plan(tmp_path, data)
        assert str(error.value) == message


def test_cells_that_are_too_long_or_impossible_are_located(tmp_path: Path) -> None:
    rows = [SN_HEADER,
            '"INC1","' + "t" * 5000 + '","2 - High","2026-05-03 08:00:00","","claims-api"',
            '"' + "I" * 500 + '","x","2 - High","2026-05-03 08:00:00","","claims-api"',
            '"INC3","x","2 - High","99999-05-03 08:00:00","","claims-api"',
            '"INC4","x","2 - High","2026-05-03 08:00:00","","' + "\u202e" + 'evil"']
    problems = _plan(tmp_path, "\n".join(rows) + "\n")
    assert problems == [
        "x.csv:3:number: ticket id is 500 characters long, more than the 200 a ticket id may have: "
        "'" + "I" * 60 + "… (440 more characters)'",
        "x.csv:4:opened_at: '99999-05-03 08:00:00' is not a date-time in the format %Y-%m-%d %H:%M:%S: correct "
        "the cell, or set `dates.format` in a mapping file",
        "x.csv:5:business_service: service '\\u202eevil' is not a Service of the catalogue, and no Service declares "
        "it: add it to the Service's spec.externalNames.servicenow (e.g. servicenow: ['\\u202eevil']), or add the "
        "Service",
    ]


def test_a_long_title_is_cut_and_a_time_in_the_spring_gap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "london.yaml").write_text("base: servicenow\ndates: {timezone: Europe/London}\n")
    mapping = load_mapping("london.yaml", tmp_path)
    path = tmp_path / "x.csv"
    path.write_text(SN_HEADER + '\n"INC1","' + "t" * 5000 + '","2 - High","2026-03-29 01:30:00","","claims-api"\n'
                    '"INC2","' + "t" * 5000 + '","2 - High","2026-03-29 02:30:00","","claims-api"\n')
    result = plan_import(path, "x.csv", mapping, Directory.named(SERVICES), Existing({}, {}))
    assert [str(p) for p in result.problems] == [
        "x.csv:2:opened_at: '2026-03-29 01:30:00' does not exist in Europe/London (the clocks went forward over "
        "it): correct the cell, set `dates.timezone` to the zone the export was made in, or set "
        "`dates.nonexistent: offset-before` or `offset-after` in a mapping file"]
    (planned,) = result.planned
    assert planned.data["spec"]["opened"] == "2026-03-29T02:30:00+01:00"
    assert planned.data["spec"]["title"] == "t" * 300 + "… (4700 more characters)"


def test_many_rows_in_bounded_time(tmp_path: Path) -> None:
    rows = [SN_HEADER] + [f'"INC{i:06d}","Ticket {i}","2 - High","2026-05-03 08:00:00","2026-05-03 09:00:00",'
                          '"claims-api"' for i in range(5000)]
    path = tmp_path / "x.csv"
    path.write_text("\n".join(rows) + "\n")
    started = cpu_seconds()
    result = plan_import(path, "x.csv", builtin_mapping("servicenow"), Directory.named(SERVICES), Existing({}, {}))
    assert len(result.planned) == 5000 and result.problems == []
    assert cpu_seconds() - started < 60


def test_the_mapping_files_in_the_documentation_load(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).parent.parent / "docs" / "incidents.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind:" not in b]
    assert len(blocks) == 2
    systems = []
    for index, block in enumerate(blocks):
        (tmp_path / f"m{index}.yaml").write_text(block)
        systems.append(load_mapping(f"m{index}.yaml", tmp_path).system)
    assert systems == ["servicenow", "remedy"]


def test_blank_rows_are_skipped_and_keep_the_row_numbers_of_the_sheet(tmp_path: Path) -> None:
    problems = _plan(tmp_path, SN_HEADER + '\n\n,,,,,\n"INC1","x","7 - Odd","2026-05-03 08:00:00","","claims-api"\n')
    assert problems == ["x.csv:4:priority: priority '7 - Odd' is not in the mapping's priorities ('1 - Critical', "
                        "'2 - High', '3 - Moderate', '4 - Low', '5 - Planning'): add it under `priorities:` in a "
                        "mapping file (`base:` the built-in one)"]


def test_a_local_time_the_autumn_change_shows_twice_is_an_error_unless_the_mapping_says_which(tmp_path: Path
                                                                                            ) -> None:
    # Europe/London went back from 02:00 BST to 01:00 GMT on Sunday 25 October 2026: 01:30 happened twice, at
    # 00:30 UTC and at 01:30 UTC. An outage from 00:30 BST (23:30 UTC on the 24th) to the second 01:30 lasted
    # 120 minutes; read as the first 01:30 it would be 60, half of it.
    path = tmp_path / "x.csv"
    path.write_text(SN_HEADER + '\n"INC1","Claims down over the clock change","1 - Critical","2026-10-25 00:30:00",'
                    '"2026-10-25 01:30:00","claims-api"\n')
    (tmp_path / "london.yaml").write_text("base: servicenow\ndates: {timezone: Europe/London}\n")
    result = plan_import(path, "x.csv", load_mapping("london.yaml", tmp_path), Directory.named(SERVICES),
                         Existing({}, {}))
    assert [str(p) for p in result.problems] == [
        "x.csv:2:resolved_at: '2026-10-25 01:30:00' happened twice in Europe/London (the clocks went back over it: "
        "2026-10-25T01:30+01:00 or 2026-10-25T01:30+00:00): correct the cell with its offset, or set "
        "`dates.ambiguous: first` or `second` in a mapping file"]
    for choice, resolved, minutes in (("second", "2026-10-25T01:30:00+00:00", 120),
                                      ("first", "2026-10-25T01:30:00+01:00", 60)):
        (tmp_path / "london.yaml").write_text(f"base: servicenow\ndates: {{timezone: Europe/London, ambiguous: {choice}}}\n")
        result = plan_import(path, "x.csv", load_mapping("london.yaml", tmp_path), Directory.named(SERVICES),
                             Existing({}, {}))
        (planned,) = result.planned
        spec = planned.data["spec"]
        assert (spec["opened"], spec["resolved"]) == ("2026-10-25T00:30:00+01:00", resolved)
        from datetime import datetime

        span = datetime.fromisoformat(spec["resolved"]) - datetime.fromisoformat(spec["opened"])
        assert span.total_seconds() / 60 == minutes


def test_a_service_cell_is_read_by_declared_names_whole_then_as_a_list_and_the_next_column_when_unknown(
        tmp_path: Path) -> None:
    from types import SimpleNamespace

    def service(name: str, **names: list[str]) -> Any:
        return SimpleNamespace(name=name, spec=SimpleNamespace(external_names=names))

    directory = Directory.of([service("claims-api", servicenow=["Claims, Policy and Billing", "clm-lb-01"]),
                              service("customer-portal", servicenow=["Customer Portal"]),
                              service("general-ledger", servicenow=["Ledger"])])
    header = '"number","short_description","priority","opened_at","business_service","cmdb_ci"'
    path = tmp_path / "x.csv"
    path.write_text(header + "\n"
                    '"INC1","a name with a comma","2 - High","2026-05-03 08:00:00","claims, policy and billing",""\n'
                    '"INC2","two in one cell","2 - High","2026-05-03 08:00:00","Customer Portal; Ledger",""\n'
                    '"INC3","unknown business service","2 - High","2026-05-03 08:00:00","Payments Hub","clm-lb-01"\n'
                    '"INC4","nothing known","2 - High","2026-05-03 08:00:00","Payments Hub","pay-01"\n')
    result = plan_import(path, "x.csv", builtin_mapping("servicenow"), directory, Existing({}, {}))
    services = {p.source_id: [i["service"] for i in p.data["spec"]["impacts"]] for p in result.planned}
    assert services == {"INC1": ["claims-api"], "INC2": ["customer-portal", "general-ledger"], "INC3": ["claims-api"]}
    assert [str(p) for p in result.problems] == [
        "x.csv:5:business_service: service 'Payments Hub' is not a Service of the catalogue, and no Service declares "
        "it: add it to the Service's spec.externalNames.servicenow (e.g. servicenow: ['Payments Hub']), or add the "
        "Service"]
