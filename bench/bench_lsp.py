"""Benchmark of `svcascode lsp`: from `didChange` to `publishDiagnostics`, in a real server over stdio.

    python bench/bench_lsp.py                          # the example catalogue and 10,000 generated services
    SVCASCODE_BENCH_QUICK=1 python bench/bench_lsp.py  # 1,000 services (the output says so)

Rows: a one-line edit (a service's description) in the example catalogue and at N services, each
edit timed from the `didChange` written to the `publishDiagnostics` of that document at that version
(p50 and p95 of SVCASCODE_BENCH_LSP_EDITS edits); a cross-document edit at N services: a team that 50
services own renamed in its open buffer, timed until every one of the 50 files is published with its
`ref-unresolved` finding; and the server's peak resident memory (VmHWM). The first `didOpen` (the server
reading and assessing the whole catalogue) is shown too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AS_OF = os.environ.get("SVCASCODE_BENCH_AS_OF", "2026-11-27")
OWNED = 50


class Server:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        svcascode = Path(sys.executable).with_name("svcascode")
        command = [str(svcascode) if svcascode.exists() else "svcascode", "lsp", "--as-of", AS_OF, "--debounce", "0.01"]
        self.process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=None if os.environ.get("SVCASCODE_BENCH_VERBOSE") else subprocess.DEVNULL)
        self.root = root
        self.inbox: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {},
                                    "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}]})
        self.send("initialized", {})
        self.versions: dict[str, int] = {}

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                if not line.strip():
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(out.read(length))
            with self.lock:
                self.inbox.append((time.perf_counter(), body))
                self.lock.notify_all()

    def send(self, method: str, params: Any, ident: int | None = None) -> float:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if ident is not None:
            message["id"] = ident
        data = json.dumps(message).encode()
        assert self.process.stdin is not None
        started = time.perf_counter()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.process.stdin.flush()
        return started

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send(method, params, ident)
        return self.wait(lambda m: m.get("id") == ident and "method" not in m, 600)[1]

    def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float) -> tuple[float, dict[str, Any]]:
        end = time.perf_counter() + timeout
        with self.lock:
            while True:
                for index, (at, message) in enumerate(self.inbox):
                    if match(message):
                        del self.inbox[:index + 1]
                        return at, message
                left = end - time.perf_counter()
                if left <= 0:
                    sys.exit(f"no answer within {timeout} s")
                self.lock.wait(left)

    def published(self, uri: str, version: int | None) -> Callable[[dict[str, Any]], bool]:
        return lambda m: (m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                          and (version is None or m["params"].get("version") == version))

    def open(self, file: str) -> float:
        uri = (self.root / file).as_uri()
        self.versions[uri] = 1
        started = self.send("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": (self.root / file).read_text()}})
        at, _ = self.wait(self.published(uri, 1), 900)
        return at - started

    def change(self, file: str, text: str) -> tuple[float, str, int]:
        uri = (self.root / file).as_uri()
        self.versions[uri] += 1
        version = self.versions[uri]
        started = self.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                      "contentChanges": [{"text": text}]})
        return started, uri, version

    def peak_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return float("nan")
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def close(self) -> None:
        self.request("shutdown", None)
        self.send("exit", None)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def one_line_edits(server: Server, file: str, edits: int) -> list[float]:
    text = (server.root / file).read_text()
    times = []
    for number in range(edits):
        edited = re.sub(r"(?m)^(  description: ).*$", rf"\g<1>Edited {number} times.", text, count=1)
        started, uri, version = server.change(file, edited)
        at, _ = server.wait(server.published(uri, version), 900)
        times.append(at - started)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def row(label: str, goal: str, figure: str) -> None:
    print(f"  {label:<66} {figure:>26}   goal {goal}", flush=True)


def main() -> int:
    quick = os.environ.get("SVCASCODE_BENCH_QUICK") == "1"
    services = int(os.environ.get("SVCASCODE_BENCH_SERVICES", "1000" if quick else "10000"))
    edits = int(os.environ.get("SVCASCODE_BENCH_LSP_EDITS", "20"))
    large_edits = int(os.environ.get("SVCASCODE_BENCH_LSP_LARGE_EDITS", "5"))
    with tempfile.TemporaryDirectory(prefix="svcascode-bench-lsp.") as folder:
        base = Path(folder)
        env = {**os.environ, "SVCASCODE_CACHE_DIR": str(base / "cache")}
        smaller = f" -- SMALLER THAN THE GOAL SIZE: {services:,} services, not 10,000" if services != 10_000 else ""
        print(f"svcascode lsp benchmark{smaller}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        example = base / "example"
        for name in ("services", "policies"):
            shutil.copytree(REPO / name, example / name)
        server = Server(example, env)
        file = "services/catalogue/claims-api.yaml"
        opened = server.open(file)
        times = one_line_edits(server, file, edits)
        row("example catalogue: first didOpen (reads and assesses everything)", "", f"{opened * 1000:.0f} ms")
        row(f"example catalogue: one-line edit, {edits} edits", "p95 <= 100 ms",
            f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95(times) * 1000:.0f} ms")
        row("example catalogue: server peak memory", "", f"{server.peak_mb():.0f} MB")
        server.close()

        large = base / "generated"
        generate(large, services)
        owned = sorted((large / "services" / "generated").glob("*.yaml"))[:OWNED]
        for path in owned:  # a team of its own that these 50 services own
            path.write_text(re.sub(r"(?m)^  owner: \S+$", "  owner: team-bench", path.read_text(), count=1))
        team_file = "services/team-bench.yaml"
        team_text = (large / "services" / "team-00.yaml").read_text() if (large / "services" / "team-00.yaml").exists() \
            else re.search(r"(?s)---\napiVersion: svcascode.io/v1alpha1\nkind: Team\n.*?(?=\n---|\Z)",
                           (large / "services" / "shared.yaml").read_text()).group(0).removeprefix("---\n")
        team_text = re.sub(r"team-00\b", "team-bench", team_text)
        (large / team_file).write_text(team_text + "\n")
        server = Server(large, env)
        service_file = str(owned[-1].relative_to(large))
        opened = server.open(service_file)
        row(f"{services:,} services: first didOpen (reads and assesses everything)", "", f"{opened:.1f} s")
        times = one_line_edits(server, service_file, large_edits)
        row(f"{services:,} services: one-line edit, {large_edits} edits", "p95 <= 300 ms",
            f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95(times) * 1000:.0f} ms")
        server.open(team_file)
        renamed = team_text.replace("name: team-bench", "name: team-bench-renamed", 1) + "\n"
        started, _, _ = server.change(team_file, renamed)
        waiting = {path.as_uri() for path in owned}
        last = started
        while waiting:
            at, message = server.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                      and m["params"]["uri"] in waiting
                                      and any(d.get("code") == "ref-unresolved" for d in m["params"]["diagnostics"]),
                                      900)
            waiting.discard(message["params"]["uri"])
            last = at
        row(f"{services:,} services: rename a team {OWNED} services own, until all {OWNED} files are published",
            "<= 500 ms", f"{(last - started) * 1000:.0f} ms")
        row(f"{services:,} services: server peak memory", "<= check's", f"{server.peak_mb():.0f} MB")
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
