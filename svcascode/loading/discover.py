"""Which files make the catalogue on disk, and refusing those that cannot be read.

Discovery walks the configured roots (or the paths given), skipping hidden folders and the parse
cache, and follows symbolic links only to files and folders inside the repository; a link that
leaves it, loops, or is broken is refused with a finding, as are files too large or unreadable.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from svcascode.config import Limits, Settings
from svcascode.errors import SvcascodeError
from svcascode.finding import Finding
from svcascode.loading.yamlfile import ParsedFile
from svcascode.rules import RULE_FILE

YAML_SUFFIXES = (".yaml", ".yml")
CACHE_DIR = ".svcascode-cache"  # where the parse cache lives; never read as catalogue


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the repository root, with forward slashes
    absolute: Path


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _link_problem(root: Path, link: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it leads to something inside the repository."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return "symlink loop: the link leads back to itself; remove or fix the link"
    except OSError as error:
        return f"symlink cannot be followed ({error.strerror}); remove or fix the link"
    try:
        target.relative_to(root)
    except ValueError:
        return "symlink points outside the repository: refused; copy the file into the repository instead"
    if target.is_dir() and link.parent.resolve().is_relative_to(target):
        return (f"symlink loop: the link leads to {_relative(root, target) or '.'}, which contains it; remove "
                "the link")
    return None


def discover(root: Path, settings: Settings, paths: Iterable[str] = ()) -> tuple[list[SourceFile], list[Finding]]:
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
        if problem is not None:
            refuse(path, problem)
        else:  # a file link is read as a file of its own, as `check --rev` reads it from git
            files.setdefault(rel, SourceFile(rel, path))

    walked: set[Path] = set()
    links: list[Path] = []

    def walk(start: Path, real: Path) -> None:
        walked.add(real)
        for folder, dirnames, filenames in os.walk(start, followlinks=False):
            base = Path(folder)
            walked.add(real / base.relative_to(start))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != CACHE_DIR)
            for dirname in list(dirnames):
                if (base / dirname).is_symlink():
                    dirnames.remove(dirname)
                    links.append(base / dirname)
            for filename in sorted(filenames):
                add(base / filename, False)

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


def oversized(path: str, size: int, limits: Limits) -> ParsedFile | None:
    """The refusal of a file (on disk or in git) over limits.max_file_bytes, or None when it is within it."""
    if size <= limits.max_file_bytes:
        return None
    return ParsedFile(path, "", problems=[Finding(
        RULE_FILE, "critical", f"file is {size} bytes, over the limit of {limits.max_file_bytes} "
        "(limits.max_file_bytes): split it into smaller files", path)])


def read_bytes(source: SourceFile, limits: Limits) -> bytes | ParsedFile:
    """A file's bytes, or a ParsedFile holding why it was refused (unreadable, oversized)."""
    try:
        refused = oversized(source.path, source.absolute.stat().st_size, limits)
        return refused if refused is not None else source.absolute.read_bytes()
    except OSError as error:
        return ParsedFile(source.path, "", problems=[Finding(
            RULE_FILE, "critical", f"cannot read the file: {error.strerror}", source.path)])


def checked_bytes(path: str, data: bytes, limits: Limits) -> bytes | ParsedFile:
    """Bytes read from elsewhere (a git object), or the refusal of them when oversized, as on disk."""
    refused = oversized(path, len(data), limits)
    return refused if refused is not None else data
