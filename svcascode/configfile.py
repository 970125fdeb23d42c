"""Finding the repository's root and reading its configuration file, light to import: a run that the
run cache answers (`svcascode.runcache`) reads these before it knows whether it needs the settings'
models (`svcascode.config`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from svcascode.errors import SvcascodeError


class FileLimits(Protocol):
    """The limits reading and parsing a file obey: the validated `Limits`, or the same values kept by the
    run cache."""

    @property
    def max_file_bytes(self) -> int: ...

    @property
    def max_depth(self) -> int: ...

    @property
    def max_nodes(self) -> int: ...

    @property
    def max_aliases(self) -> int: ...


LIMIT_NAMES = ("max_file_bytes", "max_depth", "max_nodes", "max_aliases")  # the fields of FileLimits, in order


class PathSettings(Protocol):
    """The settings that name paths of the repository: the validated Settings, or the same values kept
    by the run cache."""

    @property
    def roots(self) -> list[str]: ...

    @property
    def exclude(self) -> list[str]: ...

    @property
    def local_checks(self) -> list[str]: ...


CONFIG_FILE = ".svcascode.yaml"
MAX_CONFIG_BYTES = 256 * 1024  # a configuration is a few lines; anything larger is refused before parsing


def read_config(path: Path, name: str, root: Path) -> bytes | None:
    """The bytes of a configuration file, read as documents are (a regular file, bounded, never blocking),
    or None when there is none. A link leaving the repository, a FIFO or a device is a SvcascodeError."""
    from svcascode.loading.discover import Refusal, read_regular

    if not os.path.lexists(path):
        return None
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root.resolve()):
        raise SvcascodeError(f"{name}: a link to {real}, outside the repository: refused; make it a file")
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
    except Refusal as refusal:
        message = str(refusal).replace("(limits.max_file_bytes)", "for a configuration file").replace(
            "remove it or exclude it", "make it a regular file")
        raise SvcascodeError(f"{name}: {message}") from None


def _inside(root: Path, value: str) -> str | None:
    """Why a configured path does not stay inside the repository, or None when it does."""
    if not value.strip():
        return "an empty path"
    if value.startswith(("/", "\\")) or Path(value).is_absolute() or (len(value) > 1 and value[1] == ":"):
        return "an absolute path: paths are relative to the repository root"
    if ".." in value.replace("\\", "/").split("/"):
        return "'..' leaves the repository: paths are relative to the repository root"
    try:
        real = (root / value).resolve()
    except (OSError, RuntimeError):
        return "cannot be resolved (a link loop?)"
    if not real.is_relative_to(root.resolve()):
        return f"leads to {real} through a link, outside the repository"
    return None


def check_paths(root: Path, settings: PathSettings, where: str) -> None:
    """Every configured path resolves inside the repository (links resolved), or a SvcascodeError says which."""
    for setting in ("roots", "exclude", "local_checks"):
        for value in getattr(settings, setting):
            problem = _inside(root, value)
            if problem is not None:
                raise SvcascodeError(f"{where}: {setting}: {value!r}: {problem}; give a path inside the "
                                     "repository")


def find_root(start: Path) -> Path:
    """The catalogue repository's root: the nearest folder up with a config file or `.git`, else `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).exists() or (folder / ".git").exists():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.svcascode" in _peek(pyproject):
            return folder
    return start


def _peek(path: Path) -> str:
    from svcascode.loading.discover import Refusal, read_regular

    try:
        return read_regular(path, MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except Refusal:
        return ""


def config_source(root: Path) -> tuple[str, bytes] | None:
    """The configuration file the settings come from, and its bytes: `.svcascode.yaml`, else
    `pyproject.toml` (whose `[tool.svcascode]` table holds them, if any); None when there is neither."""
    for name in (CONFIG_FILE, "pyproject.toml"):
        data = read_config(root / name, name, root)
        if data is not None:
            return name, data
    return None
