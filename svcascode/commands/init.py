"""`svcascode init [DIR]`: scaffold a catalogue that passes every control of the built-in library.

One tier-2 service with its team (an on-call rota of two), its SLA, an always-on calendar and business
hours, an incident and a patch policy, the evidence its tier requires, `.svcascode.yaml` with every
setting commented, a GitHub workflow that gates pull requests with `check --base`, a pre-commit
configuration, and the JSON schemas that the documents' yaml-language-server modelines point at.

The workflow and pre-commit install svcascode from its git repository at a tag or commit, as the README
says adopters do: the one named with --repository/--rev, else the one pip installed this svcascode
from (its direct_url.json), else the README's placeholders, which init then says to fill in.
It never overwrites a file: what exists already is listed as skipped.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import click

from svcascode.cli import main
from svcascode.errors import SvcascodeError
from svcascode.safewrite import OutputFolder

SCHEMA_DIR = "schemas"
COMBINED_SCHEMA = "svcascode.schema.json"

CONFIG = """\
# svcascode settings (the Configuration section of svcascode's README). Every setting is shown with its
# default, commented out; uncomment a line to change it.

# roots: [services, policies]   # folders read for documents (.yaml and .yml, multi-document files)
# exclude: []                   # glob patterns relative to the repository root
# cache: true                   # keep parsed files and check results in a cache outside the repository
#                               # ($SVCASCODE_CACHE_DIR, else $XDG_CACHE_HOME/svcascode, else ~/.cache/svcascode)
# limits:
#   max_file_bytes: 2097152     # larger files are refused
#   max_depth: 64               # deepest nesting of mappings and sequences
#   max_nodes: 100000           # nodes per document after alias expansion
#   max_aliases: 1000           # alias uses per document
# library:                      # the controls, frameworks and baselines that ship with svcascode
#   enabled: true               # false: only this repository's own Control documents apply
#   disable: []                 # ids of built-in controls not to apply, e.g. [svc-business-owner]
# local_checks: []              # modules of this repository with checks of its own (runs its code); a
#                               # `check --base` takes them from the base revision, never from a pull request
# ratchet: new                  # check --base: only findings a change adds block (`touched`: also the old
#                               # findings of every document the change edits)
#
# A Control, Framework or Baseline of this repository with the same name as a built-in one replaces it;
# defining any Baseline replaces the built-in baselines as a whole. `svcascode controls` lists what applies.
"""

CALENDARS = """\
# Calendars that service levels, support hours and on-call coverage refer to.
apiVersion: svcascode.io/v1alpha1
kind: BusinessCalendar
metadata:
  name: always-on
  title: Always on (24x7)
spec:
  timezone: UTC
  alwaysOn: true
---
apiVersion: svcascode.io/v1alpha1
kind: BusinessCalendar
metadata:
  name: business-hours
  title: Business hours
spec:
  timezone: Europe/London
  weekly:
    - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:30"}
"""

TEAM = """\
# The team that owns and runs the example service. Replace the people with your own.
apiVersion: svcascode.io/v1alpha1
kind: Team
metadata:
  name: example-team
  title: Example team
spec:
  type: team
  email: example-team@example.com
  members:
    - {id: alex@example.com, role: lead}
    - {id: blake@example.com, role: member}
    - {id: casey@example.com, role: member}
  onCall:
    coverage: business-hours
    primary: [blake@example.com, casey@example.com]
    secondary: [alex@example.com]
  escalation:
    - {after: 0m, notify: [oncall:primary]}
    - {after: 30m, notify: [oncall:secondary]}
"""

SERVICE = """\
# One service: who owns it, how critical it is (tier), its data, continuity and operations.
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata:
  name: example-service
  title: Example service
  description: "An internal tool; replace it with a service of your own."
spec:
  type: business
  tier: tier-2
  lifecycle: production
  owner: example-team
  businessOwner: alex@example.com
  supportHours: business-hours
  data:
    classification: internal
    personalData: false
  continuity:
    rpo: 24h
    rto: 24h
    backup: {method: snapshot, interval: 24h, retention: 30d, offsite: true}
  operations:
    runbook: https://wiki.example.com/runbooks/example-service
    monitoring:
      healthCheck: {url: "https://example-service.example.com/health", interval: 5m, timeout: 10s}
      slos: [example-service-availability]
    maintenanceWindows: [example-service-monthly]
    patchPolicy: standard-patching
    incidentPolicy: standard-incidents
    deployment: rolling
  security:
    accessPolicy: example-service-access
    encryptionAtRest: true
    encryptionInTransit: {minTls: "1.2"}
"""

SERVICE_LEVEL = """\
# The service level agreement of the example service.
apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata:
  name: example-service-sla
  title: Example service SLA
spec:
  type: SLA
  service: example-service
  customer: Internal users
  validFrom: {valid_from}
  validTo: {valid_to}
  coverage: business-hours
  availability:
    targetPercent: 99.5
    window: {calendar: month, timezone: Europe/London}
    measurement: time
    slo: example-service-availability
  support:
    priorities:
      P1: {response: 30m, resolution: 8h, coverage: business-hours}
      P2: {response: 8h, resolution: 5d, coverage: business-hours}
      P3: {response: 2d, resolution: 10d, coverage: business-hours}
  continuity: {rpo: 24h, rto: 24h}
  reporting: {cadence: monthly, recipients: [alex@example.com]}
  review: {cadence: 365d}
"""

SLO = """\
# The service level objective that measures the SLA's availability target (OpenSLO v1).
apiVersion: openslo/v1
kind: SLO
metadata:
  name: example-service-availability
  displayName: Example service availability
spec:
  description: "Successful health probes over all probes."
  service: example-service
  indicator:
    metadata:
      name: example-service-good-ratio
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: 'sum(rate(probe_success_total{service="example-service"}[5m]))'
        total:
          metricSource:
            type: Prometheus
            spec:
              query: 'sum(rate(probe_total{service="example-service"}[5m]))'
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: availability
      target: 0.996
"""

ACCESS = """\
# Who may do what on the example service, how access is granted, removed and reviewed.
apiVersion: svcascode.io/v1alpha1
kind: AccessPolicy
metadata:
  name: example-service-access
  title: Example service access
spec:
  targets: [example-service]
  authentication: {sso: true, mfa: required}
  roles:
    - name: user
      privileged: false
      grants: [use]
      approvers: [alex@example.com]
    - name: administrator
      privileged: true
      grants: [configure, deploy]
      approvers: [alex@example.com]
      maxDuration: 8h
  provisioning: {source: idp-group, requestRequiresApproval: true, approverNotRequester: true}
  deprovisioning: {onTermination: 1d, onTransfer: 5d, inactivityDisable: 90d}
  review: {privilegedCadence: 90d, standardCadence: 180d, reviewer: team:example-team}
"""

MAINTENANCE = """\
# When the example service may be taken down for planned work: outside business hours.
apiVersion: svcascode.io/v1alpha1
kind: MaintenanceWindow
metadata:
  name: example-service-monthly
  title: Example service monthly upgrade
spec:
  services: [example-service]
  type: standard
  schedule: {rrule: "FREQ=MONTHLY;BYDAY=1SA", start: "08:00", duration: 1h, timezone: Europe/London}
  expectedImpact: full-outage
  excludedFromSla: false
  notice: {leadTime: 7d, channels: [email]}
"""

EVIDENCE = """\
# Evidence that the controls of the service's tier ask for: record each new review or test here.
apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata:
  name: ev-{today}-sla-review-example-service-sla
spec:
  type: sla-review
  subject: servicelevel:example-service-sla
  performedAt: {today}
  performedBy: [alex@example.com]
  result: pass
  summary: "SLA agreed with the service's users when the catalogue was started."
---
apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata:
  name: ev-{today}-restore-test-example-service
spec:
  type: restore-test
  subject: service:example-service
  performedAt: {today}
  performedBy: [blake@example.com]
  result: pass
  summary: "Restored the latest snapshot into a scratch environment and checked it."
  measured: {restoreDuration: 2h, dataLossWindow: 24h}
---
apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata:
  name: ev-{today}-access-review-example-service-access
spec:
  type: access-review
  subject: accesspolicy:example-service-access
  performedAt: {today}
  performedBy: [alex@example.com]
  result: pass
  summary: "Reviewed every account and role of the example service."
---
apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata:
  name: ev-{today}-ir-exercise-standard-incidents
spec:
  type: ir-exercise
  subject: incidentpolicy:standard-incidents
  performedAt: {today}
  performedBy: [alex@example.com, blake@example.com]
  result: pass
  summary: "Tabletop exercise of a SEV1 outage: paging, escalation and the postmortem."
"""

POLICIES = """\
# How incidents are handled and how fast vulnerabilities are patched, by severity.
apiVersion: svcascode.io/v1alpha1
kind: IncidentPolicy
metadata:
  name: standard-incidents
  title: Standard incident policy
spec:
  severities:
    - {level: SEV1, criteria: "Unavailable for all users", ack: 15m, page: true, postmortem: {required: true, within: 5d} }
    - {level: SEV2, criteria: "Degraded for many users", ack: 30m, page: true, postmortem: {required: true, within: 5d} }
    - {level: SEV3, criteria: "Minor; a workaround exists", ack: 4h}
  security: {notifyCisoWithin: 1h, regulatorNotificationWithin: 72h}
  exercise: {cadence: 365d}
---
apiVersion: svcascode.io/v1alpha1
kind: PatchPolicy
metadata:
  name: standard-patching
  title: Standard patching
spec:
  appliesTo: {tiers: [tier-0, tier-1, tier-2, tier-3]}
  remediationSla: {critical: 14d, high: 30d, medium: 90d, low: 180d}
  cadence: {os: 30d}
"""

WORKFLOW = """\
# svcascode on pull requests: fails only on findings the pull request introduces (`check --base`);
# findings that already exist on the target branch are reported as existing, fixed ones are listed.
# A push to main checks the whole catalogue.
name: svcascode

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the base commit must be in the clone

      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      # svcascode is installed from its git repository at a tag or commit; only its dependencies come
      # from the package index pip is configured with. To upgrade, change SVCASCODE_REV here and `rev:`
      # in .pre-commit-config.yaml.
      # Repository and rev: {origin}.
      - name: Install svcascode
        env:
          SVCASCODE_REPOSITORY: {repository}
          SVCASCODE_REV: {rev}
        run: python -m pip install --disable-pip-version-check "git+$SVCASCODE_REPOSITORY@$SVCASCODE_REV"

      - name: Check (pull requests fail only on new findings)
        env:
          BASE_SHA: ${{ github.event.pull_request.base.sha }}
        run: |
          if [ -n "$BASE_SHA" ]; then
            svcascode check --base "$BASE_SHA" --fail-on high
          else
            svcascode check --fail-on high
          fi
"""

PRE_COMMIT = """\
# pre-commit (https://pre-commit.com): `pre-commit install`, then every commit validates the staged
# catalogue files and checks the whole catalogue. The hooks are those of svcascode's repository at `rev`:
# pre-commit installs svcascode from it into an environment of its own.
# Repository and rev: {origin}.
repos:
  - repo: {repository}
    rev: {rev}
    hooks:
      - id: svcascode-validate
      - id: svcascode-check
"""

# Where svcascode comes from when neither the options nor the installation say: the README's placeholders.
PLACEHOLDER_REPOSITORY = "https://github.com/<owner>/svcascode"
PLACEHOLDER_REV = "<tag>"
_REPOSITORY = re.compile(r"^(https|ssh|file)://[A-Za-z0-9._~:/@%+,=-]+$")
_REV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


@dataclass(frozen=True)
class Source:
    """The repository svcascode is installed from, by the workflow and by pre-commit, and at which rev."""

    repository: str
    rev: str
    origin: str  # how it was chosen, said in the files' comments

    @property
    def placeholder(self) -> bool:
        return self.repository == PLACEHOLDER_REPOSITORY or self.rev == PLACEHOLDER_REV


def installed_source() -> Source | None:
    """The git repository and commit this svcascode was installed from (pip's direct_url.json, PEP 610),
    when it was installed from one."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("svcascode").read_text("direct_url.json")
        data = json.loads(text) if text else None
    except (PackageNotFoundError, ValueError, OSError):
        return None
    if not isinstance(data, dict):
        return None
    vcs = data.get("vcs_info")
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git":
        return None
    url, commit = data.get("url"), vcs.get("commit_id")
    if not (isinstance(url, str) and isinstance(commit, str) and _REPOSITORY.match(url) and _REV.match(commit)):
        return None
    return Source(url, commit, "those this svcascode was installed from")


def choose_source(repository: str | None, rev: str | None) -> Source:
    """The source the options name, else the installation's, else the README's placeholders."""
    if repository is not None and not _REPOSITORY.match(repository):
        raise SvcascodeError(f"--repository {repository!r}: give the git URL of svcascode's repository, "
                             "https://, ssh:// or file://, without spaces or quotes")
    if rev is not None and not _REV.match(rev):
        raise SvcascodeError(f"--rev {rev!r}: give a tag, branch or commit of svcascode's repository")
    installed = installed_source()
    if repository is not None:
        return Source(repository, rev or (installed.rev if installed and installed.repository == repository
                                          else PLACEHOLDER_REV), "named with `svcascode init --repository`")
    if installed is not None:
        return Source(installed.repository, rev or installed.rev, installed.origin)
    return Source(PLACEHOLDER_REPOSITORY, rev or PLACEHOLDER_REV,
                  "placeholders, to replace with your fork or mirror of svcascode and a tag or commit of it")


DOCUMENTS = {  # path -> template; each gets a yaml-language-server modeline
    "services/calendars.yaml": CALENDARS,
    "services/teams/example-team.yaml": TEAM,
    "services/catalogue/example-service.yaml": SERVICE,
    "services/service-levels/example-service-sla.yaml": SERVICE_LEVEL,
    "services/slos/example-service.yaml": SLO,
    "services/access/example-service-access.yaml": ACCESS,
    "services/maintenance/example-service.yaml": MAINTENANCE,
    "services/evidence/example-service.yaml": EVIDENCE,
    "policies/policies.yaml": POLICIES,
}


def modeline(path: str) -> str:
    """The yaml-language-server modeline of a document at `path`: the combined schema, relative to it."""
    target = posixpath.relpath(f"{SCHEMA_DIR}/{COMBINED_SCHEMA}", posixpath.dirname(path) or ".")
    return f"# yaml-language-server: $schema={target}\n"


def scaffold(today: date, source: Source | None = None) -> dict[str, str]:
    """Every file `init` writes, by path relative to DIR, in the order written."""
    from svcascode.schemas import all_schemas, render

    source = source or choose_source(None, None)
    values = {"today": today.isoformat(), "valid_from": today.isoformat(),
              "valid_to": (today + timedelta(days=730)).isoformat()}
    files = {".svcascode.yaml": CONFIG}
    for path, template in DOCUMENTS.items():
        files[path] = modeline(path) + _fill(template, values)
    # as YAML double-quoted strings; the values are checked to hold no quote, `$` or brace, so neither
    # YAML, the shell (they reach the script as environment variables) nor a workflow expression reads more
    where = {"repository": json.dumps(source.repository), "rev": json.dumps(source.rev), "origin": source.origin}
    files[".github/workflows/svcascode.yml"] = _fill(WORKFLOW, where)
    files[".pre-commit-config.yaml"] = _fill(PRE_COMMIT, where)
    for name, schema in all_schemas().items():
        files[f"{SCHEMA_DIR}/{name}"] = render(schema)
    return files


def _fill(template: str, values: dict[str, str]) -> str:
    """The template with each `{name}` of `values` replaced (YAML's own braces left alone)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _problem(target: Path, relative: str) -> str | None:
    """Why `relative` cannot be written under `target` (a file or a link in the way), else None."""
    current = target
    for part in relative.split("/"):
        current = current / part
        if current.is_symlink():
            return f"{current}: is a symbolic link; init writes no file through a link"
    if current.exists() and not current.is_file():
        return f"{current}: exists and is not a file"
    parent = current.parent
    while parent != target and not parent.exists():
        parent = parent.parent
    if parent != target and not parent.is_dir():
        return f"{parent}: is a file where a folder is needed"
    return None


def _check_target(folder: str) -> Path:
    target = Path(folder)
    if target.is_symlink():
        raise SvcascodeError(f"{folder}: is a symbolic link; run init in the folder itself")
    if target.exists() and not target.is_dir():
        raise SvcascodeError(f"{folder}: exists and is not a folder")
    for parent in target.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise SvcascodeError(f"{parent}: is a file where a folder is needed")
    return target


@main.command()
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--dry-run", is_flag=True, help="List what would be written, and write nothing.")
@click.option("--repository", metavar="URL", help="Git URL of the svcascode repository the workflow and the "
              "pre-commit hooks install svcascode from (your fork or mirror). Default: the one this svcascode "
              "was installed from, when pip installed it from git.")
@click.option("--rev", metavar="REV", help="Tag or commit of that repository. Default: the installed commit.")
def init(folder: str, dry_run: bool, repository: str | None, rev: str | None) -> None:
    """Scaffold a catalogue in DIR (default: here) that `validate` and `check` pass.

    Writes one tier-2 service with its team, SLA, calendars, policies and evidence, a commented
    .svcascode.yaml, a GitHub workflow gating pull requests with `check --base`, a pre-commit
    configuration (the hooks of svcascode's repository) and the JSON schemas the documents' editor
    modelines point at. Never overwrites a file: existing files are listed as skipped.
    """
    target = _check_target(folder)
    source = choose_source(repository, rev)
    files = scaffold(date.today(), source)
    problems = [p for p in (_problem(target, path) for path in files) if p is not None]
    if problems:
        raise SvcascodeError("cannot scaffold: " + "; ".join(problems))
    written: list[str] = []
    skipped: list[str] = []
    for path, text in files.items():
        destination = target / path
        if destination.exists():
            skipped.append(path)
            continue
        written.append(path)
        if dry_run:
            continue
        try:  # exclusively, through no link: never replaces a file, never writes outside DIR
            OutputFolder(target).write(path, text, exclusive=True)
        except FileExistsError:
            written.pop()
            skipped.append(path)
    verb = "would write" if dry_run else "wrote"
    for path in written:
        click.echo(f"{verb} {os.path.join(folder, path) if folder != '.' else path}")
    for path in skipped:
        click.echo(f"skipped {os.path.join(folder, path) if folder != '.' else path} (exists; not overwritten)")
    click.echo(f"{len(written)} file(s) {'to write' if dry_run else 'written'}, {len(skipped)} skipped")
    tooling = {".github/workflows/svcascode.yml", ".pre-commit-config.yaml"} & set(written)
    if tooling and source.placeholder:
        click.echo(f"note: {' and '.join(sorted(tooling))} install svcascode from {source.repository} at "
                   f"{source.rev}, placeholders: put the repository you take svcascode from and a tag or commit "
                   "of it there (or run init with --repository URL --rev REV)")
    if not dry_run and written:
        where = "" if folder == "." else f" -C {folder}"
        click.echo(f"next: `svcascode{where} check`, then replace the example service with your own")
