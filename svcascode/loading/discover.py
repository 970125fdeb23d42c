"""Which files make the catalogue on disk, and refusing those that cannot be read.

Discovery walks the configured roots (or the paths given), skipping hidden folders and the parse
cache, and follows symbolic links only to files and folders inside the repository; a link that
leaves it, loops, or is broken is refused with a finding, as are files too large or unreadable.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TYPE_CHECKING

from svcascode.errors import SvcascodeError
from svcascode.finding import Finding
from svcascode.loading.yamlfile import ParsedFile
from svcascode.rules import RULE_FILE

if TYPE_CHECKING:  # the settings are pydantic models: not imported to read, parse or cache a file
    from svcascode.configfile import FileLimits
    from svcascode.configfile import PathSettings

YAML_SUFFIXES = (".yaml", ".yml")
CACHE_DIR = ".svcascode-cache"  # where the parse cache lived; never read as catalogue

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class Refusal(Exception):
    """Why a file was not read (not a regular file, too large, unreadable)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: Path) -> str | None:
    """Why the file (or what its links lead to) is not a regular file, or None when it is; never opens it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return f"cannot read the file: {error.strerror}"
    if stat.S_ISREG(mode):
        return None
    return f"{_kind(mode)}, not a regular file: only regular files are read; remove it or exclude it"


def read_regular(path: Path | str, limit: int, resolved: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; links are resolved first (unless the caller
    found the path `resolved`, with no link on it) and the file is then opened without following links
    and without blocking (a FIFO cannot hang the run). Refusal otherwise."""
    real = path if resolved else os.path.realpath(path)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as error:
        raise Refusal(f"cannot read the file: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refusal(f"{_kind(info.st_mode)}, not a regular file: only regular files are read; remove it "
                          "or exclude it")
        if info.st_size > limit:
            raise Refusal(f"file is {info.st_size} bytes, over the limit of {limit} (limits.max_file_bytes): "
                          "split it into smaller files")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # until an empty read: a short read is not the end on every file system
            expected = info.st_size + 1 - size  # the rest as the file's size gives it, and one byte more
            chunk = os.read(fd, min(limit + 1 - size, expected if expected > 0 else 1 << 16, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while being read
            raise Refusal(f"file is over the limit of {limit} bytes (limits.max_file_bytes): split it into "
                          "smaller files")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as error:
        raise Refusal(f"cannot read the file: {error.strerror}") from None
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the repository root, with forward slashes
    location: str  # where it is read: its absolute path
    resolved: bool = False  # found by walking real folders, not a link: `location` has no link on it

    @property
    def absolute(self) -> Path:
        return Path(self.location)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _link_problem(root: Path, link: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it leads to something inside the repository."""
    try:
        target = link.resolve(strict=True)
    except (RuntimeError, OSError) as error:  # a loop is a RuntimeError before Python 3.13, an OSError (ELOOP) from it
        if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
            return "symlink loop: the link leads back to itself; remove or fix the link"
        return f"symlink cannot be followed ({error.strerror}); remove or fix the link"
    try:
        target.relative_to(root)
    except ValueError:
        return "symlink points outside the repository: refused; copy the file into the repository instead"
    if target.is_dir() and link.parent.resolve().is_relative_to(target):
        return (f"symlink loop: the link leads to {_relative(root, target) or '.'}, which contains it; remove "
                "the link")
    return None


def discover(root: Path, settings: PathSettings, paths: Iterable[str] = ()) -> tuple[list[SourceFile], list[Finding]]:
    """The YAML files under the configured roots (or the given paths), with refusals as findings.

    A given path that does not exist is a SvcascodeError (exit 2); a configured root that does not exist
    is skipped, since a catalogue may have no `policies/` yet.
    """
    root = root.resolve()
    files: dict[str, SourceFile] = {}
    refused: list[Finding] = []
    given = list(paths)
    starts: list[Path] = []
    for name in given:
        candidate = Path(name)
        candidate = candidate if candidate.is_absolute() else Path.cwd() / candidate
        if not candidate.exists() and not candidate.is_symlink():
            raise SvcascodeError(f"{name}: no such file or directory")
        starts.append(candidate)
    if not given:
        starts = [root / r for r in settings.roots if (root / r).exists()]
        if not starts:
            raise SvcascodeError(
                f"no catalogue found: none of {', '.join(settings.roots)} exists under {root}; "
                "run in a catalogue repository, pass paths, or set `roots` in .svcascode.yaml")

    def excluded(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, pattern) for pattern in settings.exclude)

    def refuse(path: Path, message: str) -> None:
        refused.append(Finding(RULE_FILE, "critical", message, _relative(root, path.absolute())))

    def add(path: Path, explicit: bool) -> None:
        rel = _relative(root, path.absolute())
        if excluded(rel) or rel.startswith(CACHE_DIR) or not (explicit or path.suffix in YAML_SUFFIXES):
            return
        problem = _link_problem(root, path) if path.is_symlink() else None
        if problem is None:
            problem = not_regular(path)  # FIFOs, sockets, devices, and links to them: never opened
        if problem is not None:
            refuse(path, problem)
        else:  # a file link is read as a file of its own, as `check --rev` reads it from git
            files.setdefault(rel, SourceFile(rel, str(path)))

    walked: set[Path] = set()
    links: list[Path] = []

    def walk(start: Path, real: Path) -> None:
        """Every folder under `start` (hidden ones and links to folders aside), its files first, then its
        folders, each in name order; the files by their path under `start`."""
        prefix = _relative(root, start.absolute())
        resolved = start == real  # no link on the way: the files' paths need no resolving to be read
        pending = [(str(start), "" if prefix in ("", ".") else prefix + "/", real)]
        while pending:
            folder, under, real_folder = pending.pop()
            walked.add(real_folder)
            try:
                with os.scandir(folder) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
            except OSError:
                continue  # an unreadable folder is skipped, as os.walk does
            folders: list[os.DirEntry[str]] = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                if is_dir or (entry.is_symlink() and os.path.isdir(entry.path)):
                    if entry.name.startswith(".") or entry.name == CACHE_DIR:
                        continue
                    if entry.is_symlink():
                        links.append(Path(entry.path))
                    else:
                        folders.append(entry)
                    continue
                rel = under + entry.name
                if excluded(rel) or rel.startswith(CACHE_DIR) or os.path.splitext(entry.name)[1] not in YAML_SUFFIXES:
                    continue
                if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                    add(Path(entry.path), False)  # a link, a FIFO, a device: judged one by one
                else:
                    files.setdefault(rel, SourceFile(rel, entry.path, resolved))
            for entry in reversed(folders):  # popped in name order
                pending.append((entry.path, under + entry.name + "/", real_folder / entry.name))

    for start in starts:
        if start.is_dir() and not start.is_symlink():
            walk(start, start.resolve())
        elif not start.is_dir():
            add(start, True)
        else:
            links.append(start)
    while links:  # each folder once, whether reached by its own path or through links
        link = links.pop(0)
        problem = _link_problem(root, link)
        if problem is not None:
            refuse(link, problem)
        elif link.resolve() not in walked:
            walk(link, link.resolve())
    return sorted(files.values(), key=lambda f: f.path), refused


def catalogue_sources(root: Path, settings: PathSettings, paths: Iterable[str] = ()
                      ) -> tuple[list[SourceFile], list[Finding], frozenset[str] | None]:
    """The files a catalogue on disk is built from, in order, the refusals, and the files findings are
    reported for: every file under the configured roots; with `paths`, those files last (a name they
    share with another file is then reported on them), the roots' files first, so that references from
    the given files resolve."""
    paths = list(paths)
    scope: frozenset[str] | None = None
    if paths:
        given, refused = discover(root, settings, paths)
        scope = frozenset(s.path for s in given) | frozenset(f.file for f in refused)
        try:  # the configured roots too, so that references from the given files resolve
            context, _ = discover(root, settings, ())
        except SvcascodeError:
            context = []
        # the given files last: a name they share with another file is then reported on them
        asked = {s.path for s in given}
        sources = [s for s in context if s.path not in asked] + sorted(given, key=lambda s: s.path)
    else:
        sources, refused = discover_catalogue(root, settings)  # none at all: an error saying to run init
    return sources, refused, scope


def oversized(path: str, size: int, limits: FileLimits) -> ParsedFile | None:
    """The refusal of a file (on disk or in git) over limits.max_file_bytes, or None when it is within it."""
    if size <= limits.max_file_bytes:
        return None
    return ParsedFile(path, "", problems=[Finding(
        RULE_FILE, "critical", f"file is {size} bytes, over the limit of {limits.max_file_bytes} "
        "(limits.max_file_bytes): split it into smaller files", path)])


def read_bytes(source: SourceFile, limits: FileLimits) -> bytes | ParsedFile:
    """A file's bytes, or a ParsedFile holding why it was refused (unreadable, oversized)."""
    try:
        return read_regular(source.location, limits.max_file_bytes, source.resolved)
    except Refusal as refusal:
        return ParsedFile(source.path, "", problems=[Finding(RULE_FILE, "critical", str(refusal), source.path)])


def checked_bytes(path: str, data: bytes, limits: FileLimits) -> bytes | ParsedFile:
    """Bytes read from elsewhere (a git object), or the refusal of them when oversized, as on disk."""
    refused = oversized(path, len(data), limits)
    return refused if refused is not None else data


def discover_catalogue(root: Path, settings: PathSettings) -> tuple[list[SourceFile], list[Finding]]:
    """The repository's files under the configured roots; a repository without any is an error that
    says how to start one, never a silent pass over the library alone."""
    if not any((root / r).exists() for r in settings.roots):
        raise no_documents(root, settings)
    sources, refused = discover(root, settings, ())
    if not sources and not refused:
        raise no_documents(root, settings)
    return sources, refused


class NoDocuments(SvcascodeError):
    """The repository has no documents under its roots: nothing to check (exit 2), though the library's
    controls can still be listed and explained."""


def no_documents(root: Path, settings: PathSettings) -> NoDocuments:
    return NoDocuments(
        f"no catalogue found: no documents under {root} (looked in {', '.join(r + '/' for r in settings.roots)}): "
        "run `svcascode init` to scaffold a catalogue, or set `roots` in .svcascode.yaml")
