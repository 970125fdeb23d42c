"""What `svcascode ledger show` prints: JSON, CSV, Markdown or OSCAL assessment results.

Every format is made from one JSON-ready dict (`ledger_json`), so they cannot disagree. Text from the
store (finding messages, file names, commit ids) is input like any other: JSON through `inert_json`,
CSV cells through `spreadsheet_cell` with controls shown as escapes, Markdown through `md_text`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import uuid
from datetime import date
from typing import Any, Callable

from svcascode.escape import inert, inert_json, md_code, md_text, spreadsheet_cell, visible
from svcascode.ledger.book import Ledger, LedgerDay, control_states, open_since, posture_key, summary
from svcascode.ledger.source import FAILED, NOT_APPLICABLE, NOT_ASSESSED, OPERATING, STATES, WAIVED

LEDGER_JSON_VERSION = 1
_LARGE = 200_000  # bytes of JSON past which it is written without indentation


_SHOWN = ("fingerprint", "rule", "severity", "message", "subject", "file", "line", "path", "waiver")


class _Findings:
    """Findings as each day lists them: what the record says, made once per stored finding (days whose
    findings did not change share them), with how long each had been open that day."""

    def __init__(self, first: date, several: bool, raw: bool = False) -> None:
        self.first, self.several = first, several
        self._base: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}
        self._iso: dict[date, str] = {}
        # raw: each row is a marker in the document and its JSON text is kept in `fragments` (made from the
        # JSON of what the record says, made once): a year of findings is written without a dict for each
        self.raw = raw
        self.nonce = secrets.token_hex(8)
        self.fragments: list[str] = []

    def row(self, finding: dict[str, Any], repository: str, since: date | None, day: date) -> Any:
        get = finding.get
        # a finding the same on many days (same place, message and waiver): its text is made once
        identity = (repository, get("fingerprint"), get("message"), get("file"), get("line"), get("waiver"),
                    get("rule"), get("severity"), get("subject"), get("path"))
        known = self._base.get(identity)
        if known is None:
            base = {key: finding.get(key) for key in _SHOWN}
            if self.several:
                base["repository"] = repository
            known = self._base[identity] = (base, json.dumps(base, ensure_ascii=True)[:-1] if self.raw else "")
        if since is None:
            if self.raw:
                return self._marker(known[1] + "}")
            return dict(known[0])
        iso = self._iso.get(since)
        if iso is None:
            iso = self._iso[since] = since.isoformat()
        # openBeforePeriod: it was there on the period's first day, so it may have opened earlier
        days, before = (day - since).days, since == self.first
        if self.raw:
            return self._marker(f'{known[1]}, "openSince": "{iso}", "openDays": {days}, '
                                f'"openBeforePeriod": {"true" if before else "false"}}}')
        return {**known[0], "openSince": iso, "openDays": days, "openBeforePeriod": before}

    def _marker(self, fragment: str) -> str:
        self.fragments.append(fragment)
        return f"\ue000{self.nonce}:{len(self.fragments) - 1}"

    def splice(self, text: str) -> str:
        """The document's text with each marker (a JSON string, ASCII-escaped) replaced by its row."""
        fragments = self.fragments
        return re.sub(r'"\\ue000' + self.nonce + r':(\d+)"', lambda m: fragments[int(m.group(1))], text)


def day_json(day: LedgerDay, since: dict[tuple[str, Any], date], rows: _Findings) -> dict[str, Any]:
    several = rows.several
    states = control_states(day)
    controls: dict[str, dict[str, Any]] = {}
    for record in day.records:
        for control, row in record.parts["controls"].items():
            entry = controls.setdefault(control, {"state": states[control], "title": row.get("title"),
                                                  "severity": row.get("severity"), "findings": []})
            if several:
                entry.setdefault("repositories", {})[record.repository] = row.get("state")
    other: list[dict[str, Any]] = []
    for record in day.records:
        repository = record.repository
        for finding in record.parts["findings"]:
            item = rows.row(finding, repository, since.get((repository, finding.get("fingerprint"))), day.date)
            target = controls.get(str(finding.get("rule")))
            (target["findings"] if target is not None else other).append(item)
    counts = {state: sum(1 for s in states.values() if s == state) for state in STATES}
    commits = {r.repository: r.commit for r in day.records}
    out: dict[str, Any] = {
        "date": day.date.isoformat(),
        "commit": day.records[0].commit if len(day.records) == 1 else None,
        "repository": day.records[0].repository if len(day.records) == 1 else None,
        "commits": commits,
        "records": {r.repository: r.record.hash if r.record is not None else None for r in day.records},
        "posture": {"counts": counts, "controls": controls, "otherFindings": other},
        "waivers": [{**({"repository": r.repository} if several else {}), "name": name, **w}
                    for r in day.records for name, w in sorted(r.parts["waivers"].items())
                    if w.get("suppresses")],
        "evidence": [{**({"repository": r.repository} if several else {}), **e}
                     for r in day.records for e in r.parts["evidence"]],
    }
    return out


def ledger_json(ledger: Ledger, rows: _Findings | None = None) -> dict[str, Any]:
    several = len(ledger.repositories) > 1
    since = open_since(ledger.days)
    rows = rows if rows is not None else _Findings(ledger.period.start, several)
    days = []
    for index, day in enumerate(ledger.days):
        if day.records:
            days.append(day_json(day, since[index], rows))
        else:
            days.append({"date": day.date.isoformat(), "commit": None, "repository": None, "commits": {},
                         "records": {}, "posture": None, "waivers": [], "evidence": []})
    return {
        "version": LEDGER_JSON_VERSION, "command": "ledger show",
        "period": {"start": ledger.period.start.isoformat(), "end": ledger.period.end.isoformat()},
        "notEnded": [d.isoformat() for d in ledger.left_out],
        "repositories": ledger.repositories, "store": ledger.store, "chain": ledger.heads,
        "codeDigest": ledger.code,
        "summary": summary(ledger),
        "days": days,
    }


def render_json(ledger: Ledger) -> str:
    rows = _Findings(ledger.period.start, len(ledger.repositories) > 1, raw=True)
    text = rows.splice(json.dumps(ledger_json(ledger, rows), ensure_ascii=True))  # compact, ASCII: checked fast
    if len(text) <= _LARGE:  # small enough to read: indented
        text = json.dumps(ledger_json(ledger), ensure_ascii=False, indent=2)
    return inert_json(text) + "\n"


# ---------------------------------------------------------------------------------------------------
# CSV: one row per day, repository and control


def render_csv(ledger: Ledger) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "repository", "commit", "control", "state", "status", "open_findings",
                     "waived_findings", "longest_open_days", "fingerprints"])
    since = open_since(ledger.days)
    for index, day in enumerate(ledger.days):
        if not day.records:
            writer.writerow([day.date.isoformat(), "", "", "", "not recorded", "", "", "", "", ""])
            continue
        for record in day.records:
            by_rule: dict[str, list[dict[str, Any]]] = {}
            for finding in record.parts["findings"]:
                by_rule.setdefault(str(finding.get("rule")), []).append(finding)
            for control, row in sorted(record.parts["controls"].items()):
                found = by_rule.get(control, [])
                open_ = [f for f in found if not f.get("waiver")]
                ages = [(day.date - since[index][(record.repository, f.get("fingerprint"))]).days for f in open_]
                writer.writerow([day.date.isoformat(), spreadsheet_cell(record.repository), record.commit,
                                 spreadsheet_cell(control), row.get("state"), row.get("status"), len(open_),
                                 len(found) - len(open_), max(ages) if ages else "",
                                 " ".join(str(f.get("fingerprint")) for f in found)])
    return inert(visible(out.getvalue(), keep="\n"))


# ---------------------------------------------------------------------------------------------------
# Markdown


_SHOWN_FINDINGS = 20  # findings listed per change of posture


def render_markdown(ledger: Ledger) -> str:
    start, end = ledger.period.start.isoformat(), ledger.period.end.isoformat()
    lines = [f"# Compliance ledger {start} to {end}", ""]
    repos = ", ".join(md_code(r) for r in ledger.repositories) or "none recorded"
    lines.append(f"Repositories: {repos}. Each day is judged at the last commit of the main line in force by the "
                 "end of that day (UTC), as of that day.")
    if ledger.store:
        lines.append(f"Store: {md_code(ledger.store)}.")
    for repository, head in sorted(ledger.heads.items()):
        lines.append(f"Last record of {md_code(repository)}: {md_code(head)} (keep it to detect records removed "
                     "from the end).")
    if ledger.left_out:
        lines.append(f"Not in the ledger: {len(ledger.left_out)} day(s) from {ledger.left_out[0].isoformat()} on, "
                     "which have not ended.")
    lines += ["", "## Controls over the period", "",
              "| control | operating | failed | waived | not applicable | not assessed | not recorded | longest failure "
              "| failures | mean time to remediate |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for control, row in summary(ledger).items():
        mttr = row["meanTimeToRemediateDays"]
        lines.append(f"| {md_code(control)} | {row['daysOperating']} | {row['daysFailed']} | {row['daysWaived']} | "
                     f"{row['daysNotApplicable']} | {row['daysNotAssessed']} | {row['daysNotRecorded']} | "
                     f"{row['longestFailureDays']} d | {row['failures']} | "
                     f"{'-' if mttr is None else f'{mttr:g} d'} |")
    lines += ["", "## Days", "", "| date | commit | failed | waived | operating | open findings | waivers in force "
              "| evidence in force |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    changes: list[str] = []
    before: dict[str, str] | None = None
    for day in ledger.days:
        if not day.records:
            lines.append(f"| {day.date.isoformat()} | no commit in force | | | | | | |")
            continue
        states = control_states(day)
        commits = ", ".join(md_code(r.commit[:12]) for r in day.records)
        open_findings = sum(1 for r in day.records for f in r.parts["findings"] if not f.get("waiver"))
        waivers = sum(1 for r in day.records for w in r.parts["waivers"].values() if w.get("suppresses"))
        evidence = sum(len(r.parts["evidence"]) for r in day.records)
        count = {state: sum(1 for s in states.values() if s == state) for state in (FAILED, WAIVED, OPERATING)}
        lines.append(f"| {day.date.isoformat()} | {commits} | {count[FAILED]} | {count[WAIVED]} | {count[OPERATING]} | "
                     f"{open_findings} | {waivers} | {evidence} |")
        changed = [c for c in states if before.get(c) != states[c]] if before is not None else \
            [c for c in states if states[c] in (FAILED, WAIVED, NOT_ASSESSED)]
        if changed:
            changes.append(f"- **{day.date.isoformat()}** at {commits}:")
            for control in changed:
                was = f"{md_text(before.get(control, 'not recorded'))} -> " if before is not None else ""
                changes.append(f"  - {md_code(control)} {was}{md_text(states[control])}")
                if states[control] not in (FAILED, WAIVED):
                    continue
                found = [f for r in day.records for f in r.parts["findings"] if f.get("rule") == control]
                for finding in found[:_SHOWN_FINDINGS]:
                    waived = f" (waived by {md_code(finding.get('waiver'))})" if finding.get("waiver") else ""
                    changes.append(f"    - {md_code(finding.get('subject'))}: {md_text(finding.get('message'))}{waived}")
                if len(found) > _SHOWN_FINDINGS:
                    changes.append(f"    - and {len(found) - _SHOWN_FINDINGS} more (JSON and CSV list all)")
        before = states
    lines += ["", "## Changes of posture", "", *changes]
    return inert("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------------
# OSCAL assessment results: one result per change of posture

OSCAL_VERSION = "1.1.2"
NS = "https://svcascode.io/ns/oscal"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS + "/ledger")
_OSCAL_STATE = {OPERATING: "satisfied", NOT_APPLICABLE: None, FAILED: "not-satisfied", WAIVED: "not-satisfied",
                NOT_ASSESSED: "not-satisfied"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(parts)))


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": str(value)}


def _oscal_token(text: str) -> str:
    from svcascode.render.oscal import _token

    return _token(text)


def render_oscal(ledger: Ledger) -> str:
    body = ledger_json(ledger)
    by_date = {d.date.isoformat(): d for d in ledger.days}
    runs: list[list[dict[str, Any]]] = []
    last: tuple[Any, ...] | None = None
    for day in body["days"]:
        if day["posture"] is None:
            last = None
            continue
        key = posture_key(by_date[day["date"]])
        if runs and key == last and runs[-1][-1]["date"] == _previous(day["date"]):
            runs[-1].append(day)
        else:
            runs.append([day])
        last = key
    identity = _uuid("ledger", body["period"]["start"], body["period"]["end"], *ledger.repositories,
                     *(h for _, h in sorted(ledger.heads.items())))
    results = [_result(run, ledger) for run in runs]
    if not results:
        results = [{"uuid": _uuid("empty", identity), "title": "No day of the period is recorded",
                    "description": "No commit of the catalogue was in force on any day of the period.",
                    "start": f"{body['period']['start']}T00:00:00+00:00",
                    "end": f"{body['period']['end']}T23:59:59+00:00",
                    "reviewed-controls": {"control-selections": [{"include-all": {}}]}}]
    generated = f"{body['period']['end']}T23:59:59+00:00"
    document = {"assessment-results": {
        "uuid": _uuid("assessment-results", identity),
        "metadata": {"title": f"svcascode compliance ledger {body['period']['start']} to {body['period']['end']}",
                     "last-modified": generated, "version": identity[:8], "oscal-version": OSCAL_VERSION,
                     "props": [_prop("tool", "svcascode"), *(_prop("repository", r) for r in ledger.repositories)]},
        "import-ap": {"href": "#" + _uuid("assessment-plan", identity),
                      "remarks": "The assessment plan is the control library of each repository, at the commit "
                                 "each result names."},
        "results": results,
        "back-matter": {"resources": [{"uuid": _uuid("assessment-plan", identity),
                                       "title": "svcascode assessment plan: the control library",
                                       "description": "The Control documents of the repositories, at the commits "
                                                      "the results name in their props.",
                                       "rlinks": [{"href": "policies/"}]}]},
    }}
    return inert_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def _previous(day: str) -> str:
    return date.fromordinal(date.fromisoformat(day).toordinal() - 1).isoformat()


def _result(run: list[dict[str, Any]], ledger: Ledger) -> dict[str, Any]:
    first, last = run[0], run[-1]
    posture = first["posture"]
    identity = _uuid("result", first["date"], last["date"], *sorted(first["commits"].values()))
    observations, findings, risks = [], [], []
    for control, entry in sorted(posture["controls"].items()):
        state = _OSCAL_STATE.get(entry["state"])
        if state is None:
            continue
        observation = _uuid("observation", identity, control)
        open_ = [f for f in entry["findings"] if not f["waiver"]]
        waived = [f for f in entry["findings"] if f["waiver"]]
        description = f"{control} {entry['state']} from {first['date']} to {last['date']}"
        if open_:
            description += f"; {len(open_)} open finding(s): " + "; ".join(
                f"{f['subject']}: {f['message']} (open {f.get('openDays', 0)} day(s))" for f in open_[:10])
        observations.append({
            "uuid": observation, "title": f"{control}: {entry['state']}", "description": description,
            "props": [_prop("control", control), _prop("state", entry["state"])],
            "methods": ["TEST"], "types": ["finding"] if entry["findings"] else ["control-objective"],
            "collected": f"{first['date']}T23:59:59+00:00",
            "relevant-evidence": [{"href": f"{f['file']}#L{f['line']}", "description": f"{f['subject']}: {f['message']}"}
                                  for f in entry["findings"][:50] if f.get("file")] or
            [{"href": "policies/", "description": f"the catalogue at {', '.join(first['commits'].values())}"}],
        })
        risk_ids = []
        for item in waived[:50]:
            risk = _uuid("risk", identity, control, str(item["fingerprint"]))
            risk_ids.append(risk)
            risks.append({"uuid": risk, "title": f"Waived: {control} on {item['subject']}",
                          "description": str(item["message"]),
                          "statement": f"Accepted under waiver {item['waiver']}.", "status": "deviation-approved",
                          "props": [_prop("waiver", item["waiver"])],
                          "related-observations": [{"observation-uuid": observation}]})
        finding: dict[str, Any] = {
            "uuid": _uuid("finding", identity, control), "title": f"{control}: {entry.get('title') or control}",
            "description": f"{control} was {entry['state']} on every day from {first['date']} to {last['date']}.",
            "props": [_prop("control", control), _prop("state", entry["state"])],
            "target": {"type": "objective-id", "target-id": _oscal_token(control),
                       "status": {"state": state}},
            "related-observations": [{"observation-uuid": observation}],
        }
        if risk_ids:
            finding["related-risks"] = [{"risk-uuid": r} for r in risk_ids]
        findings.append(finding)
    result: dict[str, Any] = {
        "uuid": identity,
        "title": f"Posture from {first['date']} to {last['date']}",
        "description": f"Every day from {first['date']} to {last['date']} had this posture, each judged at the commit "
                       "in force by the end of that day, as of that day.",
        "start": f"{first['date']}T00:00:00+00:00", "end": f"{last['date']}T23:59:59+00:00",
        "props": [_prop("first-day", first["date"]), _prop("last-day", last["date"]),
                  *(_prop("commit", c) for c in sorted(set().union(*(d["commits"].values() for d in run))))],
        "reviewed-controls": {"control-selections": [{"include-controls": [
            {"control-id": _oscal_token(c)} for c in sorted(posture["controls"])]} if posture["controls"] else
            {"include-all": {}}]},
    }
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    if risks:
        result["risks"] = risks
    return result


LEDGER_FORMATS: dict[str, Callable[[Ledger], str]] = {
    "json": render_json, "csv": render_csv, "markdown": render_markdown, "oscal": render_oscal}


# ---------------------------------------------------------------------------------------------------
# `report posture`: one day across repositories


def render_posture(ledger: Ledger, fmt: str) -> str:
    body = ledger_json(ledger)
    day = body["days"][0] if body["days"] else None
    if fmt == "json":
        out = {"version": LEDGER_JSON_VERSION, "command": "report posture", "asOf": body["period"]["start"],
               "repositories": body["repositories"], "store": body["store"], "chain": body["chain"], "day": day}
        return inert_json(json.dumps(out, indent=2, ensure_ascii=False)) + "\n"
    lines = [f"# Posture on {md_text(body['period']['start'])}", ""]
    if day is None or day["posture"] is None:
        lines.append("No repository of the store has a record of this day.")
        return inert("\n".join(lines) + "\n")
    lines += ["| repository | commit |", "|---|---|"]
    lines += [f"| {md_code(r)} | {md_code(c)} |" for r, c in sorted(day["commits"].items())]
    repositories = sorted(day["commits"])
    several = len(repositories) > 1
    head = "| control | state |" + ("".join(f" {md_code(r)} |" for r in repositories) if several else "") + \
        " open findings | waived findings |"
    lines += ["", head, "|---|---|" + ("---|" * len(repositories) if several else "") + "---:|---:|"]
    for control, entry in sorted(day["posture"]["controls"].items()):
        states = "".join(f" {md_text(entry.get('repositories', {}).get(r, '-'))} |" for r in repositories) \
            if several else ""
        open_ = sum(1 for f in entry["findings"] if not f["waiver"])
        lines.append(f"| {md_code(control)} | {md_text(entry['state'])} |{states} {open_} | "
                     f"{len(entry['findings']) - open_} |")
    return inert("\n".join(lines) + "\n")
