"""What a cached answer of this version of svcascode depends on besides its inputs: a result or an output
of one version's code, data or libraries is never another's."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import zoneinfo
from pathlib import Path

_CODE_DIGEST: bytes | None = None
_LIBRARIES = ("holidays", "pydantic_core", "tzdata", "re2", "celpy")


def _distributions() -> list[tuple[str, str]]:
    """(folder on the import path, `name-version.dist-info` or `.egg-info`) of every installed distribution."""
    found: list[tuple[str, str]] = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found.extend((entry or ".", n) for n in names if n.endswith((".dist-info", ".egg-info")))
    return found


def _installed() -> list[str]:
    """The installed distributions with their versions: a new pydantic, jsonschema, holidays or tzdata
    may change an answer, so it changes every key."""
    return sorted(name for _, name in _distributions())


def declares_entry_points(group: str) -> bool:
    """Whether an installed distribution (on the import path) declares entry points of `group`: read
    from the distributions' `entry_points.txt`, without importing importlib.metadata."""
    marker = f"[{group}]".encode()
    for folder, name in _distributions():
        try:
            with open(os.path.join(folder, name, "entry_points.txt"), "rb") as handle:
                if marker in handle.read():
                    return True
        except OSError:
            continue
    return False


def _stamp(path: Path) -> bytes:
    try:
        info = os.stat(path)
    except OSError:
        return f"{path}:missing\0".encode("utf-8", "surrogateescape")
    return f"{path}:{info.st_size}:{info.st_mtime_ns}\0".encode("utf-8", "surrogateescape")


def code_digest() -> bytes:
    """A digest of every file of the package (its code, the library's controls, its templates), Python's
    version, the installed distributions, and the time zone database and the libraries a check calls,
    by size and time: computed once a process."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        package = Path(__file__).resolve().parent
        h = hashlib.blake2b(digest_size=16)
        found: list[tuple[str, str]] = []  # (path in the package, path on disk)
        for folder, dirnames, filenames in os.walk(package):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]  # compiled code: written by any run
            under = os.path.relpath(folder, package).replace(os.sep, "/")
            found.extend((f"{under}/{name}", os.path.join(folder, name)) for name in filenames)
        for name, path in sorted(found):
            h.update(name.encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as handle:
                    h.update(handle.read())
            except OSError:
                h.update(b"unreadable")
        h.update(sys.version.encode() + b"\0")
        for name in _installed():
            h.update(name.encode("utf-8", "surrogateescape") + b"\0")
        for folder in zoneinfo.TZPATH:  # a release of the database rewrites its files, tzdata.zi among them
            h.update(_stamp(Path(folder)) + _stamp(Path(folder) / "tzdata.zi"))
        for library in _LIBRARIES:
            try:
                spec = importlib.util.find_spec(library)
            except (ImportError, ValueError):
                spec = None
            h.update(_stamp(Path(spec.origin)) if spec is not None and spec.origin else library.encode() + b"\0")
        _CODE_DIGEST = h.digest()
    return _CODE_DIGEST
