"""Where a `check` spends its time: a cold run, a warm run (nothing changed), and a run after editing 10 files.

    .venv/bin/python bench/profile_phases.py [--services 10000]

Generates the benchmark catalogue (bench/generate.py), then runs `svcascode check --format json` in this
process three times (cold: an empty cache folder; warm: nothing changed; edited: 10 services changed),
timing each phase by wrapping the functions that do it: imports, discovery and reading, the cache read,
parsing, model validation, the catalogue-wide integrity checks, the indexes, each control, waivers,
the assessment's bookkeeping, JSON formatting and the cache write. Prints one table, in seconds.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

spent: dict[str, float] = defaultdict(float)


def timed(phase: str | Callable[..., str], function: Callable[..., Any], consume: bool = False) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = phase(*args) if callable(phase) else phase
        began = time.perf_counter()
        try:
            result = function(*args, **kwargs)
            return iter(list(result)) if consume else result
        finally:
            spent[name] += time.perf_counter() - began
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args()
    gc.disable()  # as the command line runs
    began = time.perf_counter()
    import svcascode.assessment as assessment
    import svcascode.catalogue as catalogue
    import svcascode.commands.check  # noqa: F401  (registers the command)
    import svcascode.engine as engine
    import svcascode.formats.json_format as json_format
    import svcascode.loading.cache as cache
    import svcascode.loading.discover as discover
    from svcascode.cli import main as cli
    imports = time.perf_counter() - began
    from generate import generate

    engine._run = timed(lambda f, c, d, control: f"control {control.name}", engine._run, consume=True)
    engine._reuse_or_run = timed(lambda m, k, dg, t, a, f, c, d, control: f"control {control.name}",
                                 engine._reuse_or_run)
    engine._failed_waivers = timed("waivers", engine._failed_waivers)
    engine._active_waivers = timed("waivers", engine._active_waivers)
    catalogue.validate_file = timed("model validation", catalogue.validate_file)
    catalogue.parse_many = timed("parse (or rebuild from the cache)", catalogue.parse_many, consume=True)
    catalogue._duplicates = timed("integrity (names, references, cycles)", catalogue._duplicates, consume=True)
    catalogue._cycles = timed("integrity (names, references, cycles)", catalogue._cycles)
    catalogue.CatalogueBuilder._unresolved = timed("integrity (names, references, cycles)",
                                                   catalogue.CatalogueBuilder._unresolved)
    discover.read_bytes = timed("discovery and reading", discover.read_bytes)
    catalogue.read_bytes = discover.read_bytes
    discover.discover = timed("discovery and reading", discover.discover)
    catalogue.discover = discover.discover
    cache.ParseCache._load = timed("cache read", cache.ParseCache._load)
    cache.ParseCache.load_pack = timed("cache read", cache.ParseCache.load_pack)
    cache.ParseCache.save_pack = timed("cache write", cache.ParseCache.save_pack)
    json_format.render = timed("formatting (JSON)", json_format.render)
    from svcascode import formats
    formats.FORMATS["json"] = json_format.render
    for index in ("levels_by_service", "evidence_by_subject", "services_by_owner", "dependants",
                  "_window_services", "windows_by_service"):
        prop = getattr(catalogue.Catalogue, index)
        prop.func = timed("indexes", prop.func)
    assessment.assess = timed("assess (total)", assessment.assess)
    import svcascode.commands.check as check
    check.assess = assessment.assess

    folder = Path(tempfile.mkdtemp(prefix="svcascode-profile."))
    os.environ["SVCASCODE_CACHE_DIR"] = str(folder / "cache")
    files = generate(folder / "catalogue", args.services)
    runs: list[tuple[str, dict[str, float]]] = []
    for label in ("cold", "warm", "10 edited"):
        if label == "10 edited":
            services = sorted(p for p in files if "/catalogue/" in str(p))
            for path in services[:: max(1, len(services) // 10)][:10]:
                text = path.read_text()
                path.write_text(text.replace("rpo: 15m", "rpo: 30m", 1).replace("interval: 30s", "interval: 45s", 1))
        spent.clear()
        started = time.perf_counter()
        try:
            cli(["-C", str(folder / "catalogue"), "check", "--format", "json", "--as-of", "2026-11-27",
                 "--output", str(folder / "out.json")], standalone_mode=False)
        except SystemExit:
            pass
        total = time.perf_counter() - started
        row = dict(spent)
        row["total (in process)"] = total
        runs.append((label, row))
    controls = sorted({k for _, r in runs for k in r if k.startswith("control ")})
    order = ["discovery and reading", "cache read", "parse (or rebuild from the cache)", "model validation",
             "integrity (names, references, cycles)", "indexes", *controls, "waivers", "assess (total)",
             "formatting (JSON)", "cache write", "total (in process)"]
    print(f"{args.services} services, {len(files)} files; imports {imports:.2f} s")
    print(f"{'phase':<44} " + " ".join(f"{label:>10}" for label, _ in runs))
    for phase in order:
        print(f"{phase:<44} " + " ".join(f"{row.get(phase, 0.0):10.3f}" for _, row in runs))
    every = sum(v for k, v in runs[0][1].items() if k.startswith("control "))
    print(f"{'all controls':<44} " + " ".join(
        f"{sum(v for k, v in row.items() if k.startswith('control ')):10.3f}" for _, row in runs) + f"  (cold {every:.2f})")


if __name__ == "__main__":
    main()
