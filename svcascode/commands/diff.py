"""`svcascode diff BASE [HEAD]`: the semantic change set between two revisions and what it does to findings.

Parse the options, load both catalogues (BASE from git objects; HEAD from git objects, or the working
tree when HEAD is not given), diff and classify them (`svcascode.diff`), evaluate both to find the
findings introduced and fixed, and print the DiffReport in the chosen format.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from svcascode.cli import EXIT_FINDINGS, EXIT_OK, _context, _write, answer_from, main, output_file, parse_as_of, run_cache

if TYPE_CHECKING:
    from svcascode.catalogue import LoadResult
    from svcascode.config import Settings
    from svcascode.diffreport import DiffReport

APPROVAL_LABEL = "svcascode/approved-weakening"
WORKING_TREE = "working tree"
# the keys of `svcascode.diffreport.DIFF_FORMATS`, named here so that an answer from the run cache imports
# neither the catalogue nor the models
FORMATS = ("text", "json", "markdown")


def build_diff(root: Path, settings: Settings, base: str, head: str | None, as_of: date, gate: bool = False,
               labels: frozenset[str] = frozenset(), approval_label: str = APPROVAL_LABEL,
               loaded: list[LoadResult] | None = None) -> DiffReport:
    """The diff of BASE and HEAD (the working tree when None, whose catalogue is appended to `loaded`)."""
    from svcascode.assessment import assess
    from svcascode.catalogue import load_catalogue
    from svcascode.diff import approving_waivers, diff_catalogues, unapproved_weakenings
    from svcascode.diffreport import DiffReport
    from svcascode.finding import Finding
    from svcascode.gitload import RevisionLoader

    loader = RevisionLoader(root, settings)
    try:
        base_sha = loader.repo.resolve(base, "BASE")
        head_sha = loader.repo.resolve(head, "HEAD") if head is not None else None
        old = loader.load_commit(base_sha, require=False)
        new = loader.load_commit(head_sha) if head_sha else load_catalogue(root, settings)
        if head_sha is None and loaded is not None:
            loaded.append(new)
    finally:
        loader.close()
    changes = diff_catalogues(old.catalogue, new.catalogue)
    from svcascode.levels import level_changes

    assessed_before = assess(old, as_of)
    before = assessed_before.findings
    assessed = assess(new, as_of)
    after = assessed.findings
    known = {f.fingerprint for f in before}
    now = {f.fingerprint for f in after}
    introduced = tuple(f for f in after if f.fingerprint not in known)
    fixed = tuple(sorted((f for f in before if f.fingerprint not in now), key=Finding.sort_key))
    waivers = list(assessed.waivers.values())
    unapproved = tuple(unapproved_weakenings(changes, waivers, set(labels), approval_label))
    approvals = {} if approval_label in labels else approving_waivers(waivers)
    return DiffReport(base_sha, head_sha or WORKING_TREE, changes, introduced, fixed, unapproved, gate,
                      approvals, tuple(level_changes(assessed_before, assessed)))


@main.command()
@click.argument("base")
@click.argument("head", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
@click.option("--as-of", "as_of", metavar="DATE", callback=parse_as_of,
              help="Evaluate findings (and waiver expiry) as of this date instead of today.")
@click.option("--fail-on-weakened", "gate", is_flag=True,
              help="Exit 1 when something is weakened without an approving waiver or label (docs/git.md).")
@click.option("--labels", default="", metavar="LIST",
              help="Comma-separated pull-request labels, e.g. from the CI event.")
@click.option("--approval-label", default=APPROVAL_LABEL, show_default=True,
              help="The label that approves every weakening in the change.")
def diff(base: str, head: str | None, fmt: str, output: str | None, as_of: date, gate: bool, labels: str,
         approval_label: str) -> None:
    """What changed in the catalogue between BASE and HEAD (default: the working tree).

    Documents added, removed, renamed and changed field by field, each change classified as weakened,
    strengthened or changed (an SLA target lowered, MFA relaxed, a waiver extended, ...), and the
    findings the change introduces and fixes.

    Exit codes: 0 done (or nothing weakened without approval, with --fail-on-weakened); 1 weakened
    without approval, with --fail-on-weakened; 2 could not run (not a git repository, unknown revision).
    """
    from svcascode.gitrepo import check_revision_text

    check_revision_text(base, "BASE")
    if head is not None:
        check_revision_text(head, "HEAD")
    given = frozenset(part.strip() for part in labels.split(",") if part.strip())
    runs = None
    commits = None if click.get_current_context().find_root().params.get("no_cache") else _commits(base, head)
    if commits is not None:
        # an earlier run may answer: the same commits (by id, and as written: a message may quote BASE),
        # options and, without HEAD, working tree
        request = ("diff", fmt, base, head, *commits, as_of.isoformat(), gate, sorted(given), approval_label)
        runs = run_cache(request, (), tree=head is None)
        # BASE's configuration is its commit's, named in the key: a run whose BASE enables repository checks,
        # whose code the key does not cover, keeps nothing, so no run with that BASE is answered
        answer_from(runs, output)
    from svcascode.diffreport import DIFF_FORMATS

    root, settings = _context(runs, trusted=("BASE", base))  # the code that runs is chosen by BASE
    loaded: list[LoadResult] = []
    report = build_diff(root, settings, base, head, as_of, gate, given, approval_label, loaded)
    text, code = DIFF_FORMATS[fmt](report), EXIT_FINDINGS if report.exit_code else EXIT_OK
    if runs is not None:
        runs.keep(settings, loaded[0] if loaded else None, code, text)
    _write(text, output)
    sys.exit(code)


def _commits(base: str, head: str | None) -> tuple[str, str | None] | None:
    """The commit ids BASE and HEAD name (HEAD None: the working tree); None when git names none (the full run
    then says what is wrong, the configuration first, as it always has)."""
    from svcascode.configfile import find_root
    from svcascode.gitrepo import commit_ids

    found = commit_ids(find_root(Path.cwd()), [base] if head is None else [base, head])
    if found is None:
        return None
    return found[0], found[1] if head is not None else None
