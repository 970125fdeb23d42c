"""Benchmark: `svcascode history --posture` over a long history of a generated catalogue.

Builds a temporary git repository (one `git fast-import` run): a catalogue of --services services
(plus teams, service levels, a calendar and a control), then --commits commits each changing
--per-commit files. Times the posture walk over every commit and prints:

- blobs seen (file versions over all commits) against blobs parsed: each blob is parsed once per run;
- the time per commit, split into loading (git, parsing, validation, integrity) and evaluation;
- for comparison, the raw libyaml parse cost of the blobs that changed, and of parsing the whole
  catalogue once, which is what a walk without the blob cache would pay at every commit.

    .venv/bin/python bench/bench_history.py                       # 2,000 services, 1,000 commits
    .venv/bin/python bench/bench_history.py --services 10000      # larger catalogue
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

HEADER = "apiVersion: svcascode.io/v1alpha1\n"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
       "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

CONTROL = HEADER + """kind: Control
metadata: {name: svc-runbook, title: Services link a runbook}
spec:
  severity: high
  enforcement: block
  appliesTo: {kinds: [Service], where: {lifecycle: [production]}}
  check:
    schema:
      type: object
      required: [spec]
      properties:
        spec: {type: object, required: [operations], properties: {operations: {type: object, required: [runbook]}}}
  rationale: People on call need a runbook.
  remediation: Set spec.operations.runbook.
  examples: {failing: "spec: {}", passing: "spec: {operations: {runbook: x}}"}
  mappings:
    - {framework: bench, controls: [OPS-1]}
---
""" + HEADER + """kind: Framework
metadata: {name: bench, title: Bench framework}
spec:
  version: "1"
  source: {type: manual}
  controls:
    - {id: OPS-1, title: Runbooks}
"""


def service(number: int, revision: int, rng: random.Random) -> str:
    runbook = f"  operations: {{runbook: 'https://runbooks.example.com/s{number}'}}\n" if rng.random() > 0.1 else ""
    dependency = (f"  dependencies:\n    - {{service: svc-{number - 1:05d}, criticality: soft}}\n"
                  if number and rng.random() > 0.5 else "")
    return (HEADER + f"kind: Service\nmetadata:\n  name: svc-{number:05d}\n  title: Service {number}\n"
            f"  description: Generated service {number}, revision {revision}.\nspec:\n  type: technical\n"
            f"  tier: tier-{rng.randint(0, 3)}\n  lifecycle: production\n  owner: team-{number % 50:02d}\n"
            f"  supportHours: always-on\n  data: {{classification: internal, personalData: false}}\n"
            f"{runbook}{dependency}")


def service_level(number: int, revision: int, rng: random.Random) -> str:
    target = rng.choice(["99.0", "99.5", "99.9", "99.95"])
    return (HEADER + f"kind: ServiceLevel\nmetadata: {{name: svc-{number:05d}-sla}}\nspec:\n  type: SLA\n"
            f"  service: svc-{number:05d}\n  customer: Customers of {number} (revision {revision})\n"
            "  validFrom: 2026-01-01\n  coverage: always-on\n"
            f"  availability: {{targetPercent: {target}, window: {{calendar: month, timezone: UTC}}, "
            "measurement: time}\n  support:\n    priorities:\n"
            "      P1: {response: 15m, resolution: 4h, coverage: always-on}\n"
            "      P2: {response: 30m, resolution: 8h, coverage: always-on}\n"
            "  reporting: {cadence: monthly, recipients: [ops@example.com]}\n  review: {cadence: 90d}\n")


def team(number: int) -> str:
    return (HEADER + f"kind: Team\nmetadata: {{name: team-{number:02d}}}\nspec:\n  type: team\n"
            "  members:\n    - {id: lead@example.com, role: lead}\n")


def initial_files(services: int, rng: random.Random) -> dict[str, str]:
    files = {"services/calendars.yaml": HEADER + "kind: BusinessCalendar\nmetadata: {name: always-on}\n"
             "spec: {timezone: UTC, alwaysOn: true}\n", "policies/controls/bench.yaml": CONTROL,
             ".svcascode.yaml": "library: {enabled: false}\n"}  # the one control above, not the built-in 28
    files.update({f"services/teams/team-{n:02d}.yaml": team(n) for n in range(50)})
    for n in range(services):
        files[f"services/catalogue/svc-{n:05d}.yaml"] = service(n, 0, rng)
        if n % 2 == 0:
            files[f"services/levels/svc-{n:05d}-sla.yaml"] = service_level(n, 0, rng)
    return files


def build_repo(folder: Path, services: int, commits: int, per_commit: int, seed: int) -> int:
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True, env=ENV)
    start = int(time.mktime(date(2025, 1, 1).timetuple()))
    stream: list[bytes] = []
    changed_blobs = 0
    for number in range(commits + 1):
        files = initial_files(services, rng) if number == 0 else {}
        for _ in range(per_commit if number else 0):
            n = rng.randrange(services)
            if n % 2 == 0 and rng.random() < 0.3:
                files[f"services/levels/svc-{n:05d}-sla.yaml"] = service_level(n, number, rng)
            else:
                files[f"services/catalogue/svc-{n:05d}.yaml"] = service(n, number, rng)
        changed_blobs += len(files) if number else 0
        when = start + number * 8 * 3600  # three commits a day: the posture date moves on
        message = f"change {number}".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"committer Bench <bench@example.com> {when} +0000\n".encode())
        stream.append(b"data %d\n%s\n" % (len(message), message))
        for path, text in files.items():
            data = text.encode()
            stream.append(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(data) + data + b"\n")
        stream.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=folder, input=b"".join(stream), check=True, env=ENV)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=folder, check=True, env=ENV)
    return changed_blobs


def raw_parse_seconds(texts: list[bytes]) -> float:
    began = time.perf_counter()
    for text in texts:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--per-commit", type=int, default=3, help="files changed by each commit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the generated repository and print its path")
    args = parser.parse_args()
    gc.disable()  # as the command line runs every command (svcascode/cli.py)

    from svcascode.commands.history import _evaluate
    from svcascode.config import Settings
    from svcascode.gitload import RevisionLoader
    from svcascode.history import WalkStats, posture

    folder = Path(tempfile.mkdtemp(prefix="svcascode-bench-history."))
    began = time.perf_counter()
    changed = build_repo(folder, args.services, args.commits, args.per_commit, args.seed)
    print(f"generated {args.services} services, {args.commits + 1} commits, {args.per_commit} files per commit "
          f"in {time.perf_counter() - began:.1f} s ({folder if args.keep else 'temporary'})")

    settings = Settings(cache=False)  # a cold run: nothing parsed before
    loader = RevisionLoader(folder, settings)
    evaluate = _evaluate(folder, settings)
    spent = {"evaluate": 0.0}

    def timed(loaded: object, as_of: date) -> list:
        t = time.perf_counter()
        try:
            return evaluate(loaded, as_of)
        finally:
            spent["evaluate"] += time.perf_counter() - t

    stats = WalkStats()
    began = time.perf_counter()
    rows = list(posture(loader, timed, "HEAD", stats=stats))
    total = time.perf_counter() - began
    loader.close()

    blobs = [loader.repo.read(blob) for (_, blob) in loader.files]
    first = [b for b in blobs[: len(blobs) - changed]] if changed < len(blobs) else blobs
    full_parse = raw_parse_seconds(first)
    changed_parse = raw_parse_seconds(blobs[len(first):])
    commits = len(rows)
    print(f"history --posture over {commits} commits: {total:.1f} s, {1000 * total / commits:.1f} ms per commit")
    print(f"  loading (git, parse, validate, integrity): {1000 * (total - spent['evaluate']) / commits:.1f} ms "
          f"per commit; evaluating the controls: {1000 * spent['evaluate'] / commits:.1f} ms per commit "
          f"({stats.evaluated} states evaluated)")
    print(f"  blobs seen: {loader.blobs_seen:,}; blobs parsed: {loader.blobs_read:,} "
          f"({loader.blobs_seen / max(loader.blobs_read, 1):.0f}x fewer than parsing every file at every commit)")
    print(f"  raw libyaml parse of the {len(blobs) - len(first):,} changed blobs: {changed_parse:.2f} s "
          f"({1000 * changed_parse / max(commits - 1, 1):.2f} ms per commit)")
    print(f"  raw libyaml parse of the whole first catalogue ({len(first):,} files): {full_parse:.2f} s, "
          f"x {commits} commits = {full_parse * commits:.0f} s without the blob cache")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
