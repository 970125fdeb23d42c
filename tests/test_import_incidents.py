"""import incidents: the three built-in mappings on real-looking exports, a mapping file, re-importing as a
no-op, nothing written on error unless --partial, and hostile CSV with located messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import cpu_seconds, run_cli
from svcascode.errors import SvcascodeError
from svcascode.incidentimport.importer import Existing, plan_import
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
    assert result.stdout.splitlines() == [
        "wrote services/incidents/inc0012345.yaml",
        "wrote services/incidents/inc0012388.yaml",
        "wrote services/incidents/inc0012401.yaml",
        "imported: 3 written, 0 skipped (already there)",
    ]
    assert _spec(catalogue, "inc0012345") == {
        "title": "Card payments failing at checkout", "priority": "P1",
        "opened": "2026-05-03T08:12:00+00:00", "resolved": "2026-05-03T13:02:00+00:00",
        "closed": "2026-05-04T09:00:00+00:00",
        "impacts": [{"service": "customer-portal", "impact": "outage"}],  # "Customer Portal" by its slug
        "links": {"change": "CHG0012345", "problem": "PRB0000356"},
        "source": {"system": "servicenow", "id": "INC0012345"},
    }
    # business_service empty: cmdb_ci is read; an open ticket has no resolved; "" in a cell is a quote
    assert _spec(catalogue, "inc0012388")["impacts"] == [{"service": "claims-api", "impact": "outage"}]
    assert "resolved" not in _spec(catalogue, "inc0012401")
    assert _spec(catalogue, "inc0012401")["title"] == 'Quote PDF shows "standard" excess'
    assert run_cli("validate", cwd=catalogue).stdout.strip() == "valid: 9 documents in 4 files"

    again = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping", "servicenow", cwd=catalogue)
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
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
    assert _spec(catalogue, "fin-2291") == {
        "title": "Journal import rejected by the ledger", "priority": "P3",
        "opened": "2026-08-14T15:00:00+00:00", "resolved": "2026-08-18T10:00:00+00:00",
        "impacts": [{"service": "general-ledger", "impact": "outage"}],
        "source": {"system": "jsm", "id": "FIN-2291"},
    }
    assert _spec(catalogue, "fin-2302")["impacts"] == [
        {"service": "claims-api", "impact": "outage"}, {"service": "customer-portal", "impact": "outage"}]
    assert _spec(catalogue, "fin-2302")["priority"] == "P1"


def test_pagerduty_export_priority_or_urgency_and_seconds_to_first_ack(catalogue: Path) -> None:
    result = run_cli("import", "incidents", str(EXPORTS / "pagerduty.csv"), "--mapping", "pagerduty", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    first = _spec(catalogue, "pd-4821")
    assert (first["priority"], first["opened"], first["responded"], first["resolved"]) == (
        "P2", "2026-10-06T10:10:00+01:00", "2026-10-06T10:30:00+01:00", "2026-10-06T12:10:00+01:00")
    assert first["source"] == {"system": "pagerduty", "id": "4821"}
    second = _spec(catalogue, "pd-4830")  # no priority_name: urgency low; no acknowledged_on: 300 s after opened
    assert (second["priority"], second["responded"]) == ("P4", "2026-10-09T02:05:00+00:00")
    assert second["impacts"] == [{"service": "claims-api", "impact": "outage"}]


def test_a_mapping_file_on_a_builtin_base_maps_names_and_time_zone(catalogue: Path) -> None:
    (catalogue / "servicenow-northwind.yaml").write_text(
        "base: servicenow\nservices:\n  Customer Portal: claims-api\ndates:\n  timezone: Europe/London\n")
    result = run_cli("import", "incidents", str(EXPORTS / "servicenow.csv"), "--mapping",
                     "servicenow-northwind.yaml", cwd=catalogue)
    assert result.returncode == 0, result.stdout + result.stderr
    spec = _spec(catalogue, "inc0012345")
    assert spec["opened"] == "2026-05-03T08:12:00+01:00"  # BST
    assert spec["impacts"] == [{"service": "claims-api", "impact": "outage"}]


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
        "planned, priority, problem, resolved, responded, respondedAfterSeconds, review, service, title",
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
    "bad.csv:3:business_service: service 'Nowhere' is not a Service of the catalogue: map it under `services:` in "
    "a mapping file (e.g. 'Nowhere': <service name>), or add the Service",
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
    assert dry.stdout.splitlines()[-4:] == [
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
    result = plan_import(path, "x.csv", builtin_mapping(mapping), set(SERVICES), Existing({}, {}))
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
        "x.csv:5:business_service: service '\\u202eevil' is not a Service of the catalogue: map it under "
        "`services:` in a mapping file (e.g. '\\u202eevil': <service name>), or add the Service",
    ]


def test_a_long_title_is_cut_and_a_time_in_the_spring_gap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "london.yaml").write_text("base: servicenow\ndates: {timezone: Europe/London}\n")
    mapping = load_mapping("london.yaml", tmp_path)
    path = tmp_path / "x.csv"
    path.write_text(SN_HEADER + '\n"INC1","' + "t" * 5000 + '","2 - High","2026-03-29 01:30:00","","claims-api"\n'
                    '"INC2","' + "t" * 5000 + '","2 - High","2026-03-29 02:30:00","","claims-api"\n')
    result = plan_import(path, "x.csv", mapping, set(SERVICES), Existing({}, {}))
    assert [str(p) for p in result.problems] == [
        "x.csv:2:opened_at: '2026-03-29 01:30:00' does not exist in Europe/London (the clocks went forward over "
        "it): correct the cell, or set `dates.timezone` to the zone the export was made in"]
    (planned,) = result.planned
    assert planned.data["spec"]["opened"] == "2026-03-29T02:30:00+01:00"
    assert planned.data["spec"]["title"] == "t" * 300 + "… (4700 more characters)"


def test_many_rows_in_bounded_time(tmp_path: Path) -> None:
    rows = [SN_HEADER] + [f'"INC{i:06d}","Ticket {i}","2 - High","2026-05-03 08:00:00","2026-05-03 09:00:00",'
                          '"claims-api"' for i in range(5000)]
    started = cpu_seconds()
    path = tmp_path / "x.csv"
    path.write_text("\n".join(rows) + "\n")
    result = plan_import(path, "x.csv", builtin_mapping("servicenow"), set(SERVICES), Existing({}, {}))
    assert len(result.planned) == 5000 and result.problems == []
    assert cpu_seconds() - started < 60


def test_the_mapping_files_in_the_documentation_load(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).parent.parent / "docs" / "incidents.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: Incident" not in b]
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
