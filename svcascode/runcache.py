"""The run cache: a `check`, `validate`, `forecast` or `diff` whose inputs mean what an earlier run's inputs
meant writes that run's output (and what it said on stderr) and exits with its code, without loading the
catalogue.

A run's output is kept under a key of everything it depends on:

- the code: `code_digest()` (every file of the package, Python, the installed distributions, the time
  zone database); a repository with local checks, or a Python with a plugin check installed, is never
  answered, since their code is outside the key and may read anything;
- what was asked: the command, its options as parsed (the as-of date among them; for a `diff`, the commits
  its revisions name), the given paths, the working folder and the repository's root;
- the commit checked out (`git_head`, as `git rev-parse` says) and a shallow clone's boundary: service
  levels as delivered are judged by the history behind it; a repository where that history may be other
  than its commits say (replace refs, grafts, git's environment moving the repository) is never answered;
- the configuration file's bytes;
- each file of the working tree the run reads, by path, and what it means (`meaning`); a `diff` of two
  commits reads none (they are named by their ids):
  - a file that parsed and validated without a finding and holds no Control means its documents'
    content (`RawDocument.content_digest`: the data and the line and column of every node), so a comment
    added, changed or removed keeps the key;
  - any other file means its bytes (a Control's expression errors, a validation error's explanation
    and a YAML error quote the text);
- the files discovery refused, with why.

A later run finds its files' meanings without loading the catalogue from an index the last full run
left (`runs-v1.index`): the settings it read for that configuration, and each file's bytes (by digest)
with their meaning. A file whose bytes the index does not know is parsed (only parsed); it means what
the index says only when it parsed without a problem and its documents' content is the content the
index has for that path, already known clean. Anything else (a refusal, a new or changed document,
local checks, a configuration the index does not know, a cache that cannot be read) makes a full run,
which then keeps its output.

Like the parse cache, the index and the outputs live in the private cache folder outside the repository
and are signed with its key: a file that is missing, foreign or tampered with is not used. A cache may
only ever save work: the key covers every input of the output, so it never changes an answer.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from svcascode import stages
from svcascode.codeversion import declares_entry_points
from svcascode.configfile import LIMIT_NAMES, check_paths, config_source
from svcascode.escape import stdout_text
from svcascode.loading.cache import parse_key, parse_settings
from svcascode.loading.discover import catalogue_sources, read_bytes
from svcascode.loading.yamlfile import ParsedFile, parse_text
from svcascode.store import Store, stage_key

if TYPE_CHECKING:
    from svcascode.catalogue import LoadResult, ValidatedFile
    from svcascode.config import Settings

INDEX = "runs.index"
KEEP = 8  # outputs kept: the last runs' (one per command, format and option set asked for)

Request = tuple[str, ...]  # the command and its options, as parsed


@dataclass(frozen=True, slots=True)
class Answer:
    """An earlier run's exit code and output, whether stdout takes the output as it is, and what the run
    said on stderr (its notes, written before it ended)."""

    code: int
    text: str
    plain: bool
    said: str


def _revisions_note() -> str:
    """The end-of-command note of the git revisions this run read (`svcascode.gitload`), if it read any:
    an answer says it again."""
    gitload = sys.modules.get("svcascode.gitload")  # not imported here: a run that read no revision never loads it
    return str(gitload.pending_note()) if gitload is not None else ""


@dataclass(frozen=True, slots=True)
class KeptLimits:
    max_file_bytes: int
    max_depth: int
    max_nodes: int
    max_aliases: int


@dataclass(frozen=True, slots=True)
class KeptSettings:
    """The settings a run reads before it knows whether it needs the catalogue, as the last full run
    validated them for the same configuration bytes."""

    roots: list[str]
    exclude: list[str]
    local_checks: list[str]
    cache: bool
    limits: KeptLimits

    @staticmethod
    def of(settings: Settings) -> tuple[Any, ...]:
        limits = tuple(getattr(settings.limits, name) for name in LIMIT_NAMES)
        return (list(settings.roots), list(settings.exclude), list(settings.local_checks), settings.cache, limits)

    @staticmethod
    def read(value: Any) -> KeptSettings:
        roots, exclude, local_checks, cache, limits = value
        for names in (roots, exclude, local_checks):
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise TypeError("not a list of names")
        if not isinstance(cache, bool) or not all(isinstance(n, int) for n in limits):
            raise TypeError("not settings")
        return KeptSettings(roots, exclude, local_checks, cache, KeptLimits(*limits))


def meaning(path: str, key: str, file: ValidatedFile) -> bytes:
    """What a file parsed and validated means to a run's output: its documents' content when it is
    clean (no finding, no Control), else its bytes (`key`, the parse cache's digest of them)."""
    if file.problems or any(document.kind == "Control" for document in file.documents):
        return b"t" + bytes.fromhex(key)
    return _clean(path, file.parsed)


def _clean(path: str, parsed: ParsedFile) -> bytes:
    h = hashlib.blake2b(path.encode("utf-8", "surrogatepass") + b"\0", digest_size=16)
    for document in parsed.documents:
        h.update(document.content_digest())
    return b"c" + h.digest()


# git's environment that moves the repository, changes where git looks for it or changes the history git
# shows behind a commit: a run with any of them set (even empty) is neither answered nor kept. Not
# GIT_INDEX_FILE, which git sets for every pre-commit hook: the staging area is no part of the history.
_GIT_ENVIRONMENT = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_GRAFT_FILE", "GIT_REPLACE_REF_BASE",
                    "GIT_NO_REPLACE_OBJECTS", "GIT_NAMESPACE", "GIT_SHALLOW_FILE", "GIT_CEILING_DIRECTORIES",
                    "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def git_head(root: Path) -> str:
    """The commit checked out in the repository holding `root`, as git itself says (one `git rev-parse`),
    with a shallow clone's boundary (one deepened shows more history): `none` outside a repository (no
    `.git` from `root` up: no git process), `unknown` when git cannot say or the history may be other than
    the commits say (replace refs, grafts, git's environment moving the repository). A run with it unknown
    is neither answered nor kept."""
    import subprocess

    if any(name in os.environ for name in _GIT_ENVIRONMENT):
        return "unknown"
    folder = root.resolve()
    if not any(os.path.lexists(candidate / ".git") for candidate in (folder, *folder.parents)):
        return "none"
    try:
        done = subprocess.run(["git", "rev-parse", "--absolute-git-dir", "--git-common-dir",
                               "--is-shallow-repository", "-q", "--verify", "HEAD^{commit}"],
                              cwd=folder, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, ValueError):
        return "unknown"
    lines = done.stdout.splitlines()
    if done.returncode not in (0, 1) or len(lines) != (4 if done.returncode == 0 else 3):
        return "unknown"  # 1: HEAD names no commit yet (an unborn branch)
    history = _history((folder / lines[1]).resolve(), lines[2] == "true")
    if history is None:
        return "unknown"
    return (lines[3] if done.returncode == 0 else "unborn") + history


def _history(common: Path, shallow: bool) -> str | None:
    """A digest of a shallow clone's boundary ('' for a whole history); None when the history git shows may
    be other than the commits say (replace refs, grafts), or cannot be told (refs in git's reftable format,
    a shallow file that is a link)."""
    try:
        grafts, replace, packed = common / "info" / "grafts", common / "refs" / "replace", common / "packed-refs"
        if (common / "reftable").exists() or os.path.lexists(grafts) or replace.is_symlink() \
                or (replace.is_dir() and any(replace.iterdir())) \
                or (packed.is_file() and b" refs/replace/" in packed.read_bytes()):
            return None
        if not shallow:
            return ""
        boundary = common / "shallow"
        if boundary.is_symlink():
            return None
        return f" shallow {hashlib.blake2b(boundary.read_bytes(), digest_size=16).hexdigest()}"
    except OSError:
        return None


def _config(source: tuple[str, bytes] | None) -> bytes:
    return hashlib.blake2b(marshal.dumps(source), digest_size=16).digest()


class RunCache:
    """The run cache of one invocation: `answer` before loading anything, `keep` after a full run."""

    def __init__(self, root: Path, request: Request, paths: Sequence[str], tree: bool = True) -> None:
        self.root = root
        self.request = request
        self.paths = list(paths)
        self.tree = tree  # whether the output depends on the working tree's files (not for a diff of two commits)
        self._source: tuple[str, bytes] | None = None
        self._read = False
        self._store: Store | None = None
        self._plugins: bool | None = None
        self.why = "no earlier run"  # why the last `answer` found none
        self._git_head: str | None = None

    def _folder(self, create: bool) -> Store | None:
        """The repository's store; only an existing folder unless `create` (a repository with `cache: false`
        never gets one). Signed for this version of the code: an index or an output another version wrote
        is not read."""
        if self._store is None or (create and self._store.folder is None):
            self._store = Store.of(self.root, create=create)
        return self._store if self._store.folder is not None else None

    def _has_plugins(self) -> bool:
        """Whether a plugin check is installed: its code (and what it reads) is outside the key."""
        if self._plugins is None:
            from svcascode.checks import ENTRY_POINT_GROUP

            self._plugins = declares_entry_points(ENTRY_POINT_GROUP)
        return self._plugins

    def _head(self) -> str:
        """`git_head`, read once a run."""
        if self._git_head is None:
            self._git_head = git_head(self.root)
        return self._git_head

    def _key(self, files: list[tuple[str, bytes]], refused: list[tuple[str, str]],
             scope: frozenset[str] | None) -> str:
        # the commit checked out: service levels as delivered are judged by the history it heads
        asked = marshal.dumps((self.request, self.paths, os.getcwd(), str(self.root), sorted(files), sorted(refused),
                               sorted(scope) if scope is not None else None, self._head()))
        return stage_key("run", _config(self._source), asked).hex()

    def config(self) -> tuple[str, bytes] | None:
        """The configuration file's name and bytes, read once: a full run validates these same bytes. A
        configuration that cannot be read is a SvcascodeError, each time it is asked for."""
        if not self._read:
            self._source = config_source(self.root)
            self._read = True
        return self._source

    def answer(self) -> Answer | None:
        """An earlier run's answer with the same inputs, or None: then run in full."""
        try:
            self.config()
            found = self._answer()
        except Exception:  # noqa: BLE001  (whatever went wrong, the full run does the work or says what is wrong)
            found, self.why = None, "the store could not be read"
        stages.count("run", found is not None, self.why)
        return found

    def _answer(self) -> Answer | None:
        self.why = "no earlier run"
        if self._head() == "unknown":
            self.why = "the commit checked out cannot be read"
            return None
        if self._has_plugins():
            self.why = "a plugin check is installed (its code is not part of the key)"
            return None
        store = self._folder(create=False)
        if store is None:
            return None
        index = store.load(INDEX)
        if not isinstance(index, dict):
            self.why = store.reason() or "no earlier run"
            return None
        if index.get("config") != _config(self._source):
            self.why = "settings changed"
            return None
        settings = KeptSettings.read(index["settings"])
        if settings.local_checks or not settings.cache:
            self.why = "local checks run the repository's code"
            return None  # a local check runs the repository's code, which may read anything
        check_paths(self.root, settings, "configuration")
        if not self.tree:
            return self._output(store, [], [], None)
        known: dict[str, tuple[str, bytes]] = index["files"]
        salt = parse_settings(settings.limits)
        sources, refused, scope = catalogue_sources(self.root, settings, self.paths)
        files: list[tuple[str, bytes]] = []
        for source in sources:
            data = read_bytes(source, settings.limits)
            if isinstance(data, ParsedFile):
                self.why = f"file refused: {source.path}"
                return None  # refused when read: the full run reports it
            key = parse_key(salt, data)
            entry = known.get(source.path)
            if entry is None:
                self.why = f"new file: {source.path}"
                return None
            if entry[0] != key:  # other bytes: the same meaning only if they hold the same clean content
                parsed = parse_text(source.path, data, settings.limits)
                if parsed.problems or not entry[1].startswith(b"c") or _clean(source.path, parsed) != entry[1]:
                    self.why = f"file changed: {source.path}"
                    return None
            files.append((source.path, entry[1]))
        return self._output(store, files, [(f.file, f.message) for f in refused], scope)

    def _output(self, store: Store, files: list[tuple[str, bytes]], refused: list[tuple[str, str]],
                scope: frozenset[str] | None) -> Answer | None:
        found = store.load(f"run-{self._key(files, refused, scope)}")
        if not isinstance(found, tuple) or len(found) != 4:
            self.why = "not run before with these options, files and date"
            return None
        code, text, plain, said = found
        ok = isinstance(code, int) and isinstance(text, str) and isinstance(plain, bool) and isinstance(said, str)
        return Answer(code, text, plain, said) if ok else None

    def keep(self, settings: Settings, result: LoadResult | None, code: int, text: str, said: str = "") -> None:
        """Keep a full run's output, what it said on stderr before its end (`said`; the end-of-command note
        of git revisions read is added here), and the index a later run reads. `result` is the working
        tree's catalogue as loaded, None for a run that reads none of its files. Nothing is kept when a
        file was refused when read (a later run could not tell its meaning), the disk cache is off, the
        repository has local checks or a plugin check is installed. Never fails the run that asks."""
        if not self._read or not settings.cache or settings.local_checks or self._has_plugins() \
                or self._head() == "unknown":
            return
        try:
            self._keep(settings, result, code, text, said + _revisions_note())
        except Exception:  # noqa: BLE001  (the output is written whether or not it could be kept)
            return

    def _keep(self, settings: Settings, result: LoadResult | None, code: int, text: str, said: str) -> None:
        store = self._folder(create=True)  # raises (caught by `keep`) when there is no home folder for it
        if store is None or store.folder is None:
            return
        previous = store.load(INDEX)
        files: list[tuple[str, bytes]] = []
        known: dict[str, tuple[str, bytes]] = {}
        refused: list[tuple[str, str]] = []
        scope = None
        if result is not None:
            keys = result.cache.keys
            for file in result.files:
                key = keys.get(file.parsed.path)
                if key is None:
                    return  # refused when read
                files.append((file.parsed.path, meaning(file.parsed.path, key, file)))
                known[file.parsed.path] = (key, files[-1][1])
            refused, scope = [(f.file, f.message) for f in result.refused], result.scope
        elif isinstance(previous, dict) and previous.get("config") == _config(self._source):
            known = previous.get("files", {})  # what the last run over the files found, for the next one
        name = f"run-{self._key(files, refused, scope)}"
        if store.save(name, (code, text, stdout_text(text) == text, said)) is None:
            return
        runs = [r for r in previous.get("runs", []) if isinstance(r, str) and r != name] \
            if isinstance(previous, dict) and isinstance(previous.get("runs"), list) else []
        runs = [*runs, name][-KEEP:]
        # the others, and those of other versions of svcascode, whose index this one cannot read
        for old in store.names("run-"):
            if old not in runs:
                store.remove(old)
        store.save(INDEX, {"config": _config(self._source), "settings": KeptSettings.of(settings),
                                  "files": known, "runs": runs})
