"""Real temporary git repositories holding a small catalogue, for the git tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Callable

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Author", "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Author", "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}

def committed(root: Path) -> Callable[..., None]:
    """A git repository made of everything under `root`, committed once (branch main); returns `git(*args)`,
    which runs git there (unsigned commits, none of the machine's configuration) and fails the test on an
    error."""
    env = {**os.environ, **GIT_ENV}

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=root, env=env, check=True,
                       capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "catalogue")
    return git


CALENDAR = """apiVersion: svcascode.io/v1alpha1
kind: BusinessCalendar
metadata: {name: always-on}
spec: {timezone: UTC, alwaysOn: true}
"""

TEAM = """apiVersion: svcascode.io/v1alpha1
kind: Team
metadata: {name: %(name)s}
spec:
  type: team
  members:
    - {id: ana@example.com, role: lead}
"""

CONTROL = """apiVersion: svcascode.io/v1alpha1
kind: Control
metadata: {name: svc-runbook, title: Services link a runbook}
spec:
  severity: %(severity)s
  enforcement: %(enforcement)s
  appliesTo: {kinds: [Service]}
  check:
    schema:
      type: object
      required: [spec]
      properties:
        spec:
          type: object
          required: [operations]
          properties:
            operations: {type: object, required: [runbook]}
  rationale: People on call need a runbook.
  remediation: Set spec.operations.runbook.
  examples: {failing: "spec: {}", passing: "spec: {operations: {runbook: x}}"}
  mappings:
    - {framework: fw, controls: [OPS-1]}
"""

FRAMEWORK = """apiVersion: svcascode.io/v1alpha1
kind: Framework
metadata: {name: fw, title: Test framework}
spec:
  version: "1"
  source: {type: manual}
  controls:
    - {id: OPS-1, title: Runbooks}
"""

SERVICE = """apiVersion: svcascode.io/v1alpha1
kind: Service
metadata: {name: %(name)s}
spec:
  type: technical
  tier: %(tier)s
  lifecycle: production
  owner: %(owner)s
  supportHours: always-on
  data: {classification: internal}
%(extra)s"""

RUNBOOK = "  operations: {runbook: 'https://runbooks.example.com/%(name)s'}\n"


def service(name: str, runbook: bool = True, tier: str = "tier-2", owner: str = "ops", extra: str = "") -> str:
    body = (RUNBOOK % {"name": name} if runbook else "") + extra
    return SERVICE % {"name": name, "tier": tier, "owner": owner, "extra": body}


def control(severity: str = "high", enforcement: str = "block") -> str:
    return CONTROL % {"severity": severity, "enforcement": enforcement}


class Repo:
    """A git repository in a temporary folder, driven by the real git binary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = {**os.environ, **GIT_ENV}
        done = subprocess.run(["git", *args], cwd=cwd or self.path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def write(self, files: dict[str, str | None]) -> None:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str | None] | None = None, date: str | None = None) -> str:
        self.write(files or {})
        env = ["-c", "commit.gpgsign=false"]
        if date:
            os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = date
        try:
            self.git("add", "-A")
            self.git(*env, "commit", "-q", "--allow-empty", "-m", message)
        finally:
            os.environ.pop("GIT_AUTHOR_DATE", None)
            os.environ.pop("GIT_COMMITTER_DATE", None)
        return self.git("rev-parse", "HEAD").strip()


def base_catalogue(severity: str = "high") -> dict[str, str | None]:
    return {
        "services/calendars.yaml": CALENDAR,
        "services/teams/ops.yaml": TEAM % {"name": "ops"},
        "services/teams/platform.yaml": TEAM % {"name": "platform"},
        "policies/controls/svc-runbook.yaml": control(severity),
        "policies/frameworks/fw.yaml": FRAMEWORK,
        ".svcascode.yaml": "library: {enabled: false}  # only the control above, not the built-in library\n",
        "services/catalogue/alpha.yaml": service("alpha"),
        "services/catalogue/beta.yaml": service("beta", runbook=False),
    }


def run(cwd: Path, *args: str) -> Any:
    """The command line as a user runs it (in this process, `conftest.run_cli`), with the git identity of
    these repositories: its exit code and both streams."""
    from conftest import run_cli

    return run_cli(*args, cwd=cwd, env=GIT_ENV)


def findings(json_text: str) -> list[dict[str, Any]]:
    import json

    return list(json.loads(json_text)["findings"])


def fast_history(repo: Repo, commits: list[dict[str, str | None]], start: int = 1_700_000_000,
                 step: int = 86_400) -> None:
    """Many commits in one `git fast-import` run, each changing the given files, one day apart."""
    stream: list[bytes] = []
    parent = repo.git("rev-parse", "--verify", "--quiet", "HEAD").strip() if (repo.path / ".git/refs/heads/main"
                                                                               ).exists() else ""
    for number, files in enumerate(commits, 1):
        when = start + number * step
        message = f"change {number}".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"author Ada Author <ada@example.com> {when} +0000\n".encode())
        stream.append(f"committer Ada Author <ada@example.com> {when} +0000\n".encode())
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if number == 1 and parent:
            stream.append(f"from {parent}\n".encode())
        for path, text in files.items():
            if text is None:
                stream.append(f"D {path}\n".encode())
            else:
                data = text.encode()
                stream.append(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(data) + data + b"\n")
        stream.append(b"\n")
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, input=b"".join(stream), env=env,
                          capture_output=True)
    assert done.returncode == 0, done.stderr
    repo.git("reset", "-q", "--hard", "main")
