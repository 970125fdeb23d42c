"""Where a `check` spends its time: a cold run, a warm run (nothing changed), and a run after editing 10 files.

    .venv/bin/python bench/profile_phases.py [--services 10000]

Generates the benchmark catalogue (bench/generate.py), then runs what `svcascode check --format json` runs, in
this process, three times (cold: an empty store; warm: nothing changed; edited: 10 services changed), the
phases one after another: loading (discovery, reading, parsing, validation, the catalogue-wide checks),
each control's evaluation (timed between the engine's `on_control` calls), the assessment's bookkeeping, the
report, JSON formatting and the store's write. Beside the seconds (CPU time of this process and its parse
workers), what each cached stage reused and computed (`svcascode -v`'s counts): a pair is counted once.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def profile(root: Path, as_of: date) -> tuple[dict[str, float], dict[str, tuple[int, int]]]:
    """One `check --format json` of the catalogue at `root`, phase by phase: (seconds, stage counts)."""
    from svcascode import stages
    from svcascode.assessment import ControlSelection, assess
    from svcascode.catalogue import load_catalogue
    from svcascode.config import load_settings
    from svcascode.formats import FORMATS

    spent: dict[str, float] = {}
    current: list[Any] = []

    def lap(phase: str) -> None:
        now = cpu()
        if current:
            spent[current[0]] = spent.get(current[0], 0.0) + now - current[1]
        current[:] = [phase, now]

    with stages.recording() as counts:
        lap("loading (discovery, reading, parsing, validation, integrity)")
        settings = load_settings(root)
        loaded = load_catalogue(root, settings)
        known = [c.name for c in loaded.catalogue.of_kind("Control")]
        lap("evaluation (the waivers' control first)")
        assessment = assess(loaded, as_of, ControlSelection.resolve((), (), known),
                            on_control=lambda control: lap(f"control {control.name}"))
        lap("report")
        report = assessment.report("high")
        lap("formatting (JSON)")
        FORMATS["json"](report)
        lap("store write")
        loaded.cache.save()
        lap("")
    return spent, {name: (count.reused, count.computed) for name, count in counts.counts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args(argv)
    gc.disable()  # as the command line runs
    started = cpu()
    import svcascode.assessment  # noqa: F401  (what a run imports before it works)
    imports = cpu() - started
    from generate import generate

    runs: list[tuple[str, dict[str, float], dict[str, tuple[int, int]]]] = []
    before = os.environ.get("SVCASCODE_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="svcascode-profile.") as name:
        folder = Path(name)
        os.environ["SVCASCODE_CACHE_DIR"] = str(folder / "store")
        try:
            files = generate(folder / "catalogue", args.services)
            for label in ("cold", "warm", "10 edited"):
                if label == "10 edited":
                    services = sorted(p for p in files if "/catalogue/" in str(p))
                    for path in services[:: max(1, len(services) // 10)][:10]:
                        text = path.read_text()
                        path.write_text(text.replace("rpo: 15m", "rpo: 30m", 1)
                                        .replace("interval: 30s", "interval: 45s", 1))
                spent, counts = profile(folder / "catalogue", date(2026, 11, 27))
                runs.append((label, spent, counts))
        finally:
            if before is None:
                os.environ.pop("SVCASCODE_CACHE_DIR", None)
            else:
                os.environ["SVCASCODE_CACHE_DIR"] = before
    controls = sorted({k for _, r, _ in runs for k in r if k.startswith("control ")})
    order = [k for k in runs[0][1] if not k.startswith("control ")]
    order = order[:2] + controls + order[2:]
    print(f"{args.services} services, {len(files)} files; imports {imports:.2f} s of CPU")
    print(f"{'phase (CPU seconds)':<62} " + " ".join(f"{label:>10}" for label, _, _ in runs))
    for phase in order:
        print(f"{phase:<62} " + " ".join(f"{row.get(phase, 0.0):10.3f}" for _, row, _ in runs))
    print(f"{'all controls':<62} " + " ".join(
        f"{sum(v for k, v in row.items() if k.startswith('control ')):10.3f}" for _, row, _ in runs))
    print(f"{'total':<62} " + " ".join(f"{sum(row.values()):10.3f}" for _, row, _ in runs))
    print()
    print(f"{'stage (reused / computed)':<62} " + " ".join(f"{label:>10}" for label, _, _ in runs))
    for stage in sorted({s for _, _, c in runs for s in c}):
        print(f"{stage:<62} " + " ".join(f"{'%d/%d' % c.get(stage, (0, 0)):>10}" for _, _, c in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
