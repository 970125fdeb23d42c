"""Everything the ledger takes from the rest of svcascode, in one place.

The ledger stores and compares plain data; what it needs from the catalogue, git and the engine comes
through this module alone:

- the first-parent line of HEAD and the commit in force on a day (`Line`, by the rule of
  `svcascode.delivery.inforce`, the one the service levels use), read without loading any catalogue;
- a commit's catalogue (`svcascode.gitload.RevisionLoader` through `svcascode.delivery.timeline`) and
  its assessment as of a day (`svcascode.assessment.assess`, with the result memo, so a (control,
  document) pair is evaluated again only when something it read changed, the as-of date included
  only when it read it);
- an assessment turned into the parts of a record (`record_parts`): findings with their fingerprints,
  every control's and pair's status, the waivers' states, the evidence in force and the documents'
  digests;
- what else an answer depends on: the code of svcascode, the built-in library and the settings.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svcascode.delivery.inforce import index_in_force, line_times
from svcascode.errors import SvcascodeError

if TYPE_CHECKING:
    from svcascode.assessment import Assessment
    from svcascode.catalogue import LoadResult
    from svcascode.config import Settings
    from svcascode.gitrepo import GitRepo

# The states of a control on a day, worst first (several repositories: the worst of theirs).
FAILED, NOT_ASSESSED, WAIVED, OPERATING, NOT_APPLICABLE = (
    "failed", "not assessed", "waived", "operating", "not applicable")
STATES = (FAILED, NOT_ASSESSED, WAIVED, OPERATING, NOT_APPLICABLE)
_STATE_OF_STATUS = {"not-satisfied": FAILED, "not-assessed": NOT_ASSESSED, "waived": WAIVED,
                    "warning": OPERATING, "satisfied": OPERATING, "not-applicable": NOT_APPLICABLE}


def state_of(status: str) -> str:
    """A control's state in the ledger from its assessment status: a control whose only findings are
    warnings is operating; one that selects nothing is not applicable."""
    return _STATE_OF_STATUS.get(status, NOT_ASSESSED)


def end_of_day(day: date) -> datetime:
    """The last moment of a (UTC) calendar day: what is in force on the day is in force then."""
    return datetime.combine(day, time.max, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------
# The repository and its main line


_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)
_SCP = re.compile(r"^[^/@:]+@([^:/]+):(.*)$")  # git@github.com:acme/catalogue.git


def repository_name(url: str | None, top: Path, prefix: str) -> str:
    """How a repository is named in a shared store: its origin remote without credentials, scheme or
    `.git` (`github.com/acme/catalogue`), else its folder's name; the catalogue's folder inside it after."""
    name = top.name
    if url:
        text = url.strip()
        scp = _SCP.match(text)
        if scp:
            text = f"{scp.group(1)}/{scp.group(2)}"
        text = _CREDENTIALS.sub(r"\1", text)
        text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text, flags=re.IGNORECASE)
        text = text.rstrip("/").removesuffix(".git").rstrip("/")
        if text.startswith("/") or text.startswith("."):  # a local path: its last folder
            text = Path(text).name
        name = text or name
    return name + ("/" + prefix.strip("/") if prefix.strip("/") else "")


@dataclass
class Line:
    """The first-parent line of HEAD that touched the catalogue, oldest first, and when each commit of it
    entered the history."""

    root: Path
    settings: Settings
    repo: GitRepo
    commits: list[Any]  # svcascode.gitrepo.Commit
    times: list[datetime]
    name: str
    head: str  # the commit HEAD named when the line was read: every later read is of the same line
    _log: list[tuple[Any, list[Any]]] | None = None

    @property
    def log(self) -> list[tuple[Any, list[Any]]]:
        """Each commit with its changes (`svcascode.gitrepo.RawChange`), read when first asked: a ledger the
        store already holds never needs them."""
        if self._log is None:
            log = self.repo.log(self.head, self.settings, first_parent=True)
            if [c.sha for c, _ in log] != [c.sha for c in self.commits]:
                raise SvcascodeError("the main line read twice gave two answers: run again")
            self._log = log
        return self._log

    def in_force(self, day: date) -> Any | None:
        """The commit in force on a day: the last one that entered the history by the day's end (UTC)."""
        index = index_in_force(self.times, end_of_day(day))
        return self.commits[index] if index >= 0 else None

    def contains(self, sha: str) -> bool:
        return any(c.sha == sha for c in self.commits)

    def exists(self, sha: str) -> bool:
        """Whether the repository still holds the commit at all (a rewritten history may not)."""
        try:
            return self.repo.resolve(sha, "commit") == sha
        except SvcascodeError:
            return False

    def close(self) -> None:
        self.repo.close()


def open_line(root: Path, settings: Settings, name: str | None = None) -> Line:
    """The main line of the repository holding the catalogue at `root`; SvcascodeError outside git."""
    from svcascode.gitrepo import GitRepo

    repo = GitRepo(root)
    try:
        if repo.head() is None:
            raise SvcascodeError(f"{root}: the git repository has no commit yet: there is no day to record")
        head = repo.resolve("HEAD")
        commits = main_line(repo, settings, head)
        if name is None:
            try:
                url: str | None = repo.git("config", "--get", "remote.origin.url").strip()
            except SvcascodeError:
                url = None
            name = repository_name(url, repo.top, repo.prefix)
    except BaseException:
        repo.close()
        raise
    return Line(root, settings, repo, commits, line_times(c.committed or c.date for c in commits), name, head)


def main_line(repo: GitRepo, settings: Settings, head: str) -> list[Any]:
    """The commits of `GitRepo.log(head, settings, first_parent=True)`, without their changes: the same git
    log (first parents, the catalogue roots), which lists a commit the same with or without `--raw`."""
    from svcascode.gitrepo import Commit

    roots = [repo.prefix + r.strip("/") + "/" for r in settings.roots]
    out = repo.git("log", "-z", "--reverse", "--first-parent", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%cI%x1f%s",
                   "--end-of-options", head, "--", *roots)
    commits = []
    for chunk in out.split("\x1e")[1:]:
        sha, author, email, authored, committed, subject = chunk.rstrip("\0\n").split("\x1f", 5)
        commits.append(Commit(sha, author, email, authored, subject, committed))
    return commits


# ---------------------------------------------------------------------------------------------------
# What an answer depends on besides the commit and the day


def _hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class Digests:
    code: str  # svcascode's code, Python and the libraries a check calls (svcascode.codeversion)
    library: str  # the built-in library's files, and which of it the settings apply
    settings: str  # the settings that change an answer (roots, exclusions, limits, repository checks)


def digests(root: Path, settings: Settings, prefix: str = "") -> Digests:
    from svcascode.codeversion import code_digest
    from svcascode.library import library_files

    library = hashlib.sha256()
    for item in library_files():
        library.update(item.path.encode() + b"\0" + _hex(item.data).encode() + b"\0")
    library.update(settings.library.model_dump_json().encode())
    chosen = settings.model_dump(mode="json", exclude={"cache", "library"})
    local = {}
    for path in settings.local_checks:  # the repository's own check modules run: their bytes count
        try:
            local[path] = _hex((root / path).read_bytes())
        except OSError:
            local[path] = "unreadable"
    text = json.dumps({"settings": chosen, "prefix": prefix, "localChecks": local}, sort_keys=True)
    return Digests(code_digest().hex(), library.hexdigest(), _hex(text))


# ---------------------------------------------------------------------------------------------------
# Loading and assessing


class Assessor:
    """Assessments of the commits of one main line, as of days: a commit's catalogue is loaded once while
    days ask for it in turn, and each day is assessed with the result memo of the run."""

    def __init__(self, line: Line) -> None:
        from svcascode.catalogue import Catalogue
        from svcascode.delivery.timeline import Definitions, FileStates
        from svcascode.gitload import RevisionLoader
        from svcascode.incremental import memo_of

        loader = RevisionLoader(line.root, line.settings, line.repo)
        # the catalogue in force on a day as the service levels read it (svcascode.delivery.timeline), over the
        # main line already read: the files of a commit are worked out only when one of its days is assessed
        self.definitions = Definitions(Catalogue(), "", loader, list(zip(line.times, line.commits)),
                                       FileStates(loader, line.settings, line.log))
        self.memo = memo_of(loader.cache)
        self.memo.defer_save = True  # saved once, when the run ends
        self._loaded: tuple[str, LoadResult] | None = None
        self.loaded_commits = 0
        self.assessed = 0

    def load(self, day: date) -> tuple[Any, tuple[Any, ...], LoadResult] | None:
        """The commit in force on the day, its files and its loaded catalogue; None before the first."""
        found = self.definitions.in_force(end_of_day(day))
        if found is None:
            return None
        commit, files = found
        if self._loaded is None or self._loaded[0] != commit.sha:
            loader = self.definitions.loader
            assert loader is not None
            self._loaded = (commit.sha, loader.load_files(list(files)))
            self.loaded_commits += 1
        return commit, files, self._loaded[1]

    def assess(self, loaded: LoadResult, day: date) -> Assessment:
        from svcascode.assessment import assess

        self.assessed += 1
        return assess(loaded, day)

    def close(self) -> None:
        self.definitions.close()  # saves the parse cache and the result memo once


def default_store(root: Path, settings: Settings) -> Path | None:
    """The embedded store's file, `ledger.sqlite` in the repository's cache folder (outside it); None
    when the cache is off or its folder is not a private folder of ours."""
    from svcascode.store import cache_folder, private_folder

    if not settings.cache:
        return None
    folder = private_folder(cache_folder(root), root)
    return folder / "ledger.sqlite" if folder is not None else None


def check_as_of(root: Path, settings: Settings, commit: str, day: date) -> Assessment:
    """What `svcascode check --rev COMMIT --as-of DAY` evaluates: a commit loaded on its own."""
    from svcascode.assessment import assess
    from svcascode.gitload import load_revision

    return assess(load_revision(root, settings, commit), day, incremental=False)


# ---------------------------------------------------------------------------------------------------
# An assessment as the parts of a record


def finding_row(finding: Any) -> dict[str, Any]:
    return {"fingerprint": finding.fingerprint, "rule": finding.rule, "severity": finding.severity,
            "enforcement": finding.enforcement, "message": finding.message, "file": finding.file,
            "line": finding.line, "column": finding.column, "path": finding.json_path,
            "kind": finding.kind or None, "name": finding.name or None, "subject": finding.subject,
            "waiver": finding.waiver, "justification": finding.justification}


def documents_part(files: Any) -> dict[str, str]:
    """The documents' digests: every catalogue file at the commit by its git blob id (a digest of its bytes,
    which `git cat-file` checks), the documents of the built-in library being covered by the library's digest."""
    return {f.path: f.blob for f in files}


def record_parts(assessment: Assessment, day: date) -> dict[str, Any]:
    """The parts of a day's record (without the documents: `documents_part`, made once per commit)."""
    from svcascode.facts import evidence_in_force

    controls = {}
    for name, result in sorted(assessment.controls.items()):
        rule = result.rule
        controls[name] = {"status": str(result.status), "state": state_of(str(result.status)),
                          "title": rule.title, "severity": rule.severity,
                          "mappings": [m.as_dict() for m in rule.mappings]}
    pairs: dict[str, dict[str, str]] = {}
    for (control, subject), pair in assessment.pairs.items():
        pairs.setdefault(control, {})[subject] = str(pair.status)
    waivers = {}
    for name, waiver in assessment.waivers.items():
        spec = waiver.waiver.spec
        waivers[name] = {"state": str(waiver.state), "suppresses": waiver.state.suppresses,
                         "findingsWaived": waiver.matched, "control": spec.control,
                         "subjects": list(spec.subjects), "approvedAt": spec.approved_at.isoformat(),
                         "expiresAt": spec.expires_at.isoformat(), "file": waiver.waiver.file}
    evidence = []
    for item in sorted(assessment.catalogue.of_kind("Evidence"), key=lambda e: (e.spec.performed_at, e.name)):
        if evidence_in_force(item, day):
            spec = item.spec
            evidence.append({"name": item.name, "type": spec.type, "subject": spec.subject,
                             "result": spec.result, "performedAt": spec.performed_at.isoformat(),
                             "ageDays": (day - spec.performed_at).days,
                             "expiresAt": spec.expires_at.isoformat() if spec.expires_at else None,
                             "file": item.file})
    return {"controls": controls, "findings": [finding_row(f) for f in assessment.findings],
            "pairs": {c: dict(sorted(s.items())) for c, s in sorted(pairs.items())},
            "waivers": waivers, "evidence": evidence}


def fingerprints(assessment: Assessment) -> list[tuple[str, str | None]]:
    """(fingerprint, waiver) of every finding, as `check --format json` lists them."""
    return sorted((f.fingerprint, f.waiver) for f in assessment.findings)


@dataclass
class Timing:
    """What a run of the ledger did, for the benchmark and the end-of-run note."""

    days: int = 0
    recorded: int = 0
    assessed: int = 0
    loaded_commits: int = 0
    from_store: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
