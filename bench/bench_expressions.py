"""Benchmark: the CEL expression controls under celpy's interpreter and compiled, in one run.

    python bench/bench_expressions.py                   # 5,000 services, 3 repeats
    python bench/bench_expressions.py --services 1000 --repeat 2

The catalogue is bench/generate.py's, with what the library's expression controls select added to it:
every 25th service is an external supplier (svc-supplier-uc judges it against the services that depend
on it, a few with a UC, some lapsed), and one AccessPolicy per 10 services (acc-mfa-sso and
acc-review-overdue) with its roles and an access-review Evidence. It is loaded once, in this process;
then each expression control is evaluated over all its documents (`engine.evaluate`, as `check` does,
with no result memo) by the interpreter and by the compiled closures in turn, then the three together
and every control of the library (the other 27 are Python and run the same in both columns), and each
row shows the smallest CPU time (`time.process_time`) of its runs (at least `--repeat`, and as many as
fit in 2 s of CPU for a short row), the findings of both checked to be
the same. The last row is one expression over a list of 500 maps, `items.filter(t, t.spec.tier in
params.tiers).map(t, t.metadata.name)`, evaluated 20 times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

AS_OF = date(2026, 11, 27)
CONTROLS = ("acc-mfa-sso", "acc-review-overdue", "svc-supplier-uc")

ACCESS = """\
---
apiVersion: svcascode.io/v1alpha1
kind: AccessPolicy
metadata: {{name: access-{n:05d}}}
spec:
  targets: [{targets}]
  authentication: {{sso: {sso}, mfa: {mfa}}}
  roles:
    - {{name: reader, privileged: false, grants: [read], approvers: [lead@example.com]}}
    - {{name: operator, privileged: true, grants: [deploy], approvers: [lead@example.com], maxDuration: 4h}}
    - {{name: admin, privileged: {admin}, grants: [admin], approvers: [lead@example.com], maxDuration: 4h}}
  provisioning: {{source: hris, requestRequiresApproval: true, approverNotRequester: true}}
  deprovisioning: {{onTermination: 4h, onTransfer: 5d, inactivityDisable: 60d}}
  review: {{privilegedCadence: {cadence}, standardCadence: 180d, reviewer: team:team-00}}
---
apiVersion: svcascode.io/v1alpha1
kind: Evidence
metadata: {{name: review-{n:05d}}}
spec:
  type: access-review
  subject: accesspolicy:access-{n:05d}
  performedAt: {performed}
  performedBy: [lead@example.com]
  result: {result}
  summary: Quarterly review.
"""

CONTRACT = """\
---
apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata: {{name: {name}-uc}}
spec:
  type: UC
  service: {name}
  customer: team-00
  validFrom: 2025-01-01
  validTo: {valid_to}
  coverage: always-on
  availability: {{targetPercent: 99.9, window: {{calendar: month}}, measurement: time}}
  reporting: {{cadence: monthly, recipients: [reports@example.com]}}
  review: {{cadence: 365d}}
"""


def add_expression_subjects(root: Path, services: int) -> None:
    """Suppliers, their contracts, access policies and their reviews, for the library's expression controls."""
    folder = root / "services" / "generated"
    contracts = []
    for n in range(0, services, 25):
        path = folder / f"svc-{n:05d}.yaml"
        text = path.read_text()
        start = text.index("  type: ")
        end = text.index("\n", start)
        path.write_text(text[:start] + f"  type: external\n  supplier: Supplier {n} Ltd" + text[end:])
        if n % 50 == 0:
            contracts.append(CONTRACT.format(name=f"svc-{n:05d}", valid_to="2027-12-31" if n % 100 else "2026-06-30"))
    policies = [ACCESS.format(n=n, targets=", ".join(f"svc-{t:05d}" for t in range(n, min(n + 3, services))),
                              sso="true" if n % 20 else "false",
                              mfa=("required", "privileged-only", "none")[n // 10 % 3],
                              admin="true" if n % 30 else "false", cadence=("90d", "365d")[n // 10 % 2],
                              performed=("2026-10-01", "2025-06-01")[n // 10 % 2],
                              result=("pass", "fail")[n // 70 % 2])
                for n in range(0, services, 10)]
    (root / "services" / "expression-subjects.yaml").write_text("".join(contracts + policies).removeprefix("---\n"))


def cpu(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The smallest CPU time of `repeat` runs, and of more while they add up to less than 2 s (a short row
    is measured often enough for one run to miss the other work of a shared machine)."""
    best, result, runs, total = float("inf"), None, 0, 0.0
    while runs < repeat or total < 2.0:
        started = time.process_time()
        result = function()
        spent = time.process_time() - started
        best, runs, total = min(best, spent), runs + 1, total + spent
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="svcascode-bench-cel."))
    os.environ["SVCASCODE_CACHE_DIR"] = str(folder / "cache")
    try:
        run(folder, args.services, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, services: int, repeat: int) -> None:
    from svcascode import engine, expressions
    from svcascode.catalogue import load_catalogue
    from svcascode.config import Settings

    root = folder / "catalogue"
    generate(root, services)
    add_expression_subjects(root, services)
    started = time.process_time()
    catalogue = load_catalogue(root, Settings(cache=False)).catalogue
    print(f"{services:,} services, {len(catalogue.documents):,} documents, loaded in "
          f"{time.process_time() - started:.1f} s of CPU; the smallest CPU time of at least {repeat} runs each\n")
    rows: list[tuple[str, float, float]] = []

    def timed(name: str, work: Callable[[], Any]) -> None:
        times: dict[bool, float] = {}
        results: dict[bool, Any] = {}
        for interpret in (True, False):
            expressions._INTERPRET = interpret
            try:
                work()  # once untimed: the documents' CEL values are made, the expressions compiled
                times[interpret], results[interpret] = cpu(work, repeat)
            finally:
                expressions._INTERPRET = False
        if results[True] != results[False]:
            raise SystemExit(f"{name}: the interpreter and the compiled expressions disagree")
        rows.append((name, times[True], times[False]))

    for control in CONTROLS:
        def evaluate(control: str = control) -> Any:
            evaluation = engine.evaluate(catalogue, AS_OF, select=[control])
            return [(f.file, f.line, f.column, f.rule, f.message) for f in evaluation.findings + evaluation.problems]

        subjects = len(engine.evaluate(catalogue, AS_OF, select=[control]).subjects.get(control, []))
        timed(f"{control} ({subjects:,} documents)", evaluate)
    timed("the three controls together", lambda: [f.message for f in engine.evaluate(
        catalogue, AS_OF, select=list(CONTROLS)).findings])
    timed("every control of the library", lambda: [f.message for f in engine.evaluate(catalogue, AS_OF).findings])

    compiled = expressions.compile_expression(
        "params.items.filter(t, t.spec.tier in params.tiers).map(t, t.metadata.name)", {"document", "asOf", "params"})
    items = [{"metadata": {"name": f"s{i}"}, "spec": {"tier": f"tier-{i % 4}"}} for i in range(500)]
    params = expressions.to_cel({"items": items, "tiers": ["tier-0", "tier-1"]})
    activation = {"document": None, "asOf": expressions.to_cel(AS_OF), "params": params}

    def filter_map() -> Any:  # one Program per run of a control, as `check` makes (its meter's clock starts anew)
        program = expressions.Program(expressions.CatalogueView(catalogue, AS_OF), {})
        for _ in range(20):
            program.meter.start()
            found = program.run(compiled, activation)
        return list(found)

    timed("filter/map over 500 maps, 20 times", filter_map)

    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'interpreter':>12}  {'compiled':>10}  {'ratio':>7}")
    for name, interpreted, fast in rows:
        print(f"{name:{width}}  {interpreted:10.3f} s  {fast:8.3f} s  {interpreted / fast:6.1f}x")


if __name__ == "__main__":
    main()
