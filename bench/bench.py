"""Benchmark: svcascode validate and check against raw libyaml parsing of the same files, in one run.

    python bench/bench.py [--services 10000] [--repeat 3]

Prints, for a generated catalogue of N services: the time of `yaml.load_all(..., CSafeLoader)` over every
file (the floor any YAML tool pays), the time of `svcascode validate` and `svcascode check` as a user runs
them (a fresh process; cold = no parse cache, warm = the parse cache of the previous run), and each as a
ratio of the raw parse. Times are the best of --repeat runs. check-jsonschema is measured too when it is
installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

CACHE = ".svcascode-cache"


def raw_parse(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        list(yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - started


def run(command: list[str], cwd: Path, cold: bool) -> float:
    if cold:
        shutil.rmtree(cwd / CACHE, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--as-of", default="2026-11-27")
    args = parser.parse_args()
    svcascode = str(Path(sys.executable).with_name("svcascode"))
    with tempfile.TemporaryDirectory(prefix="svcascode-bench.") as folder:
        root = Path(folder)
        files = generate(root, args.services)
        size = sum(p.stat().st_size for p in files)
        print(f"catalogue: {args.services} services, {len(files)} files, {size / len(files) / 1024:.1f} KB per file")
        raw_parse(files)  # warm the page cache
        raw = min(raw_parse(files) for _ in range(args.repeat))
        rows = [("raw libyaml parse (yaml.load_all, CSafeLoader)", raw)]
        commands = {
            "validate": [svcascode, "validate", "--format", "json"],
            "check (all controls)": [svcascode, "check", "--format", "json", "--as-of", args.as_of],
        }
        for label, command in commands.items():
            rows.append((f"svcascode {label}, cold", min(run(command, root, True) for _ in range(args.repeat))))
            run(command, root, False)
            rows.append((f"svcascode {label}, warm", min(run(command, root, False) for _ in range(args.repeat))))
        checker = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))
        if Path(checker).exists():
            schema = Path(__file__).resolve().parent.parent / "schemas" / "svcascode.schema.json"
            command = [checker, "--schemafile", str(schema), *[str(p) for p in files]]
            rows.append(("check-jsonschema (schema only)", min(run(command, root, False) for _ in range(args.repeat))))
        width = max(len(label) for label, _ in rows)
        print(f"{'operation':<{width}}  {'seconds':>8}  {'ms/file':>8}  {'x raw':>6}")
        for label, seconds in rows:
            print(f"{label:<{width}}  {seconds:8.2f}  {seconds / len(files) * 1000:8.3f}  {seconds / raw:6.2f}")


if __name__ == "__main__":
    main()
