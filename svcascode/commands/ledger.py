"""`svcascode ledger`: the posture on every day of an audit period, stored once, re-performable.

`show` records the days of the period the store does not hold yet (in a git repository) and prints the
ledger from the store; `record` only records; `verify` re-performs days from git and compares them with
the store. The ledger itself is `svcascode.ledger`.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any, Callable

import click

from svcascode.cli import EXIT_FINDINGS, EXIT_OK, _context, _write, main
from svcascode.errors import SvcascodeError

STORE_HELP = ("Where assessments are kept: a SQLite file (created when missing) or a postgresql:// URL "
              "(credentials from the environment, ~/.pgpass or a service file). Default: $SVCASCODE_STORE, "
              "else ledger.sqlite in the repository's cache folder.")


def _store_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--store", "store_spec", metavar="PATH|URL", envvar="SVCASCODE_STORE", help=STORE_HELP)(f)


def _name_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--name", "name", metavar="NAME", help="The name this repository's days are recorded "
                        "under (default: its origin remote without credentials, else its folder's name).")(f)


@main.group()
def ledger() -> None:
    """The auditors' ledger: the posture on every day of a period, stored once, re-performable from git.

    A day is a calendar day in UTC, judged at the last commit of the main line that touched the
    catalogue and entered the history by the end of that day, as of that day. See docs/ledger.md.
    """


class _Context:
    """The repository (when run in one), the store (when there is one) and how to assess a day."""

    def __init__(self, store_spec: str | None, name: str | None, need_git: bool, explicit_only: bool = False) -> None:
        from svcascode.ledger.source import default_store, digests, open_line
        from svcascode.ledger.store import open_store

        self.line: Any = None
        self.recorder: Any = None
        self.store: Any = None
        self.root: Any = None
        self.settings: Any = None
        try:
            self.root, self.settings = _context()
            self.line = open_line(self.root, self.settings, name)
        except SvcascodeError as error:
            if need_git:
                raise
            self.why_no_git = str(error)
        if self.line is not None:
            from svcascode.ledger.book import Recorder
            from svcascode.ledger.source import Assessor

            root, settings = self.root, self.settings
            self.recorder = Recorder(self.line, digests(root, settings, self.line.repo.prefix),
                                     lambda: Assessor(self.line))
        if store_spec:
            self.store = open_store(store_spec)
        elif not explicit_only and self.root is not None:
            path = default_store(self.root, self.settings)
            if path is not None:
                self.store = open_store(str(path))

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        if self.line is not None:
            self.line.close()
        if self.store is not None:
            self.store.close()


def _left_out_note(left_out: list[date]) -> None:
    if left_out:
        click.echo(f"svcascode: note: {len(left_out)} day(s) of the period from {left_out[0].isoformat()} on have not "
                   "ended (UTC): they are not in the ledger", err=True)


@ledger.command("show")
@click.option("--period", required=True, metavar="PERIOD", help="Days to show: 2026-01..2026-06 (months), "
              "2026-01-05..2026-02-10 (days), 2026-Q1, 2026-03 or 2026.")
@_store_option
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "csv", "oscal"]), default="markdown",
              show_default=True, help="oscal: OSCAL assessment results, one result per change of posture.")
@click.option("--repository", "repositories", multiple=True, metavar="NAME",
              help="Only these repositories of the store (repeat); default: every repository it holds.")
@click.option("--no-record", is_flag=True, help="Only read the store: assess and record nothing.")
@_name_option
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def show(period: str, store_spec: str | None, fmt: str, repositories: tuple[str, ...], no_record: bool,
         name: str | None, output: str | None) -> None:
    """The posture on every day of PERIOD: the commit in force, each control operating, failed, waived or
    not applicable with its findings and how long each had been open, the waivers and evidence in
    force; and per control the days in each state, the longest failure and the mean time to remediate.

    In a git repository, the days the store does not hold are assessed and recorded first; the
    ledger is then read from the store, so a second run prints the same from the store alone.

    Exit codes: 0 shown; 2 could not run (a store locked, full, damaged, of a newer schema or unreachable;
    not a git repository and no store).
    """
    from svcascode.ledger.formats import LEDGER_FORMATS

    result, left_out = build_ledger(period, store_spec, repositories, no_record, name)
    text = LEDGER_FORMATS[fmt](result)
    _left_out_note(left_out)
    _write(text, output)


def build_ledger(period: str, store_spec: str | None, repositories: tuple[str, ...], no_record: bool,
                 name: str | None, option: str = "--period") -> tuple[Any, list[date]]:
    """The ledger of a period (`svcascode.ledger.book.Ledger`) and the days of it that have not ended: the
    current repository's missing days recorded first (unless `no_record`), then every day read back."""
    from svcascode.ledger.book import (Ledger, LedgerDay, RepositoryDay, chain_heads, ended, parse_period, read,
                                       record)

    asked = parse_period(period, option)
    usable, left_out = ended(asked)
    context = _Context(store_spec, name, need_git=False)
    try:
        line, store = context.line, context.store
        if line is None and store is None:
            raise SvcascodeError(f"nothing to show: {context.why_no_git}, and no --store to read")
        by_day: dict[date, list[RepositoryDay]] = {}
        if usable is not None:
            if line is not None and not no_record:
                made = record(store, context.recorder, usable)
                if store is None:
                    for day, computed in made.items():
                        values = {n: computed.values[n] for n in ("controls", "findings", "waivers", "evidence")}
                        by_day[day] = [RepositoryDay(line.name, computed.row.commit, None, computed.row.key, values)]
            if store is not None:
                current = None
                if line is not None:
                    recorder = context.recorder

                    def key_of(day: date) -> str | None:
                        commit = line.in_force(day)
                        return recorder.key(commit.sha, day) if commit is not None else None

                    current = (line.name, key_of)
                by_day, _ = read(store, usable, list(repositories) or None, current)
        names = sorted({r.repository for records in by_day.values() for r in records}
                       | ({line.name} if line is not None and (not repositories or line.name in repositories) else set()))
        days = [LedgerDay(day, by_day.get(day, [])) for day in (usable.days() if usable else [])]
        heads = chain_heads(store, names) if store is not None else {}
        code = context.recorder.digests.code if context.recorder is not None else ""
        return Ledger(asked, names, days, store.location if store is not None else None, heads, code, left_out), left_out
    finally:
        context.close()


@ledger.command("record")
@click.option("--period", required=True, metavar="PERIOD", help="Days to record, as `ledger show --period`.")
@_store_option
@_name_option
def record_command(period: str, store_spec: str | None, name: str | None) -> None:
    """Assess and record the days of PERIOD the store does not hold yet, and say how many were written:
    what a CI pipeline runs to publish its repository's days into a shared store.

    Exit codes: 0 recorded (or nothing to record); 2 could not run.
    """
    from svcascode.ledger.book import RunStats, ended, parse_period, record

    asked = parse_period(period)
    usable, left_out = ended(asked)
    context = _Context(store_spec, name, need_git=True)
    try:
        if context.store is None:
            raise SvcascodeError("no store to record into: give --store (the cache is off, so there is no default)")
        stats = RunStats()
        if usable is not None:
            record(context.store, context.recorder, usable, stats)
        click.echo(f"{context.line.name}: {stats.recorded} day(s) recorded in {context.store.location} "
                   f"({stats.assessed} assessed, {stats.days - stats.recorded} already there or before the "
                   "first commit)")
    finally:
        context.close()
    _left_out_note(left_out)


@ledger.command("verify")
@click.option("--period", metavar="PERIOD", help="Only the days of this period (default: every day recorded for "
              "this repository).")
@_store_option
@click.option("--sample", type=click.IntRange(1, None), default=None, help="Re-perform only this many days, chosen "
              "at random (with --seed, the same ones again).")
@click.option("--seed", type=int, default=None, help="The seed of --sample's choice.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_name_option
def verify_command(period: str | None, store_spec: str | None, sample: int | None, seed: int | None, fmt: str,
                   name: str | None) -> None:
    """Re-perform recorded days from git and compare them with the store: every day that differs is
    named with why (store tampered, code changed, history rewritten, not recorded). The chain of this
    repository's records is checked whole: a record changed, removed or inserted breaks it.

    Exit codes: 0 every day re-performed equals its record; 1 some differ; 2 could not run.
    """
    import json
    import random

    from svcascode.escape import inert, inert_json, one_line
    from svcascode.ledger.book import ended, parse_period, verify

    chosen = None
    if period is not None:
        chosen, _ = ended(parse_period(period))
    if sample is not None and seed is None:
        seed = random.SystemRandom().randrange(1 << 31)
    context = _Context(store_spec, name, need_git=True)
    try:
        if context.store is None:
            raise SvcascodeError("no store to verify: give --store")
        result = verify(context.store, context.recorder, chosen, sample, seed)
        location = context.store.location
    finally:
        context.close()
    if fmt == "json":
        body = {"version": 1, "command": "ledger verify", "repository": result.repository, "store": location,
                "period": str(period) if period else None, "sample": sample, "seed": seed,
                "records": result.records, "reperformed": result.checked,
                "differences": [{"date": d.day, "reason": d.reason, "detail": d.detail} for d in result.differences],
                "ok": not result.differences}
        text = inert_json(json.dumps(body, indent=2, ensure_ascii=False)) + "\n"
    else:
        lines = [f"{one_line(result.repository)}: {len(result.checked)} day(s) re-performed from git, "
                 f"{result.records} record(s) in the chain of {one_line(location)}"
                 + (f" (sample of {sample}, seed {seed})" if sample else "")]
        for d in result.differences:
            lines.append(f"  {d.day}: {d.reason}: {one_line(d.detail)}")
        lines.append("every day re-performed equals its record" if not result.differences else
                     f"{len({d.day for d in result.differences})} day(s) differ")
        text = inert("\n".join(lines) + "\n")
    _write(text, None)
    sys.exit(EXIT_FINDINGS if result.differences else EXIT_OK)
