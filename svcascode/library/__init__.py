"""The default library: the controls, frameworks and baselines that ship with svcascode.

They apply in every repository unless configuration says otherwise (`library: {enabled: false}`, or
`library: {disable: [id, ...]}` for named controls). A repository's own document of the same kind and
name replaces the default one; a repository that defines any Baseline replaces the default baselines
as a whole, since baselines of one tier combine. The files are read from the installed package, and
the catalogue builder adds them to every build, whether the repository's files come from disk or from
git, so findings about them are located as `<svcascode library>/controls/x.yaml:LINE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from svcascode import __version__
from svcascode.errors import SvcascodeError

if TYPE_CHECKING:
    from svcascode.documents import Document

NAME = "svcascode"
PREFIX = "<svcascode library>"  # the "file" of a library document, in findings and listings
FOLDERS = ("controls", "frameworks")
TOP_FILES = ("baselines.yaml",)


@dataclass(frozen=True, slots=True)
class LibraryFile:
    path: str  # PREFIX/controls/x.yaml
    data: bytes


@lru_cache(maxsize=1)
def library_files() -> tuple[LibraryFile, ...]:
    """The library's YAML files, read from the installed package, in a stable order."""
    package = files(__name__)
    found: list[LibraryFile] = []
    for name in TOP_FILES:
        entry = package.joinpath(name)
        if entry.is_file():
            found.append(LibraryFile(f"{PREFIX}/{name}", entry.read_bytes()))
    for folder in FOLDERS:
        entry = package.joinpath(folder)
        if not entry.is_dir():
            continue
        for item in sorted(entry.iterdir(), key=lambda i: i.name):
            if item.is_file() and item.name.endswith((".yaml", ".yml")):
                found.append(LibraryFile(f"{PREFIX}/{folder}/{item.name}", item.read_bytes()))
    return tuple(found)


def is_library(path: str) -> bool:
    return path.startswith(PREFIX + "/")


def source_of(document: Document) -> str:
    """Where a document comes from: `built-in library 0.1.0`, or `policies/controls/x.yaml:3`."""
    if is_library(document.file):
        return f"built-in library {__version__}"
    line, _ = document.locate(())
    return f"{document.file}:{line}"


@dataclass
class LibraryUse:
    """What one build took from the library: which controls apply, which the repository replaced or
    configuration disabled."""

    enabled: bool = True
    controls: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    baselines: bool = True  # whether the default baselines apply (the repository defines none)

    def as_dict(self) -> dict[str, Any]:
        return {"name": NAME, "version": __version__, "enabled": self.enabled, "controls": len(self.controls),
                "overridden": sorted(self.overridden), "disabled": sorted(self.disabled),
                "baselines": "library" if self.enabled and self.baselines else "repository"}


def describe(library: dict[str, Any]) -> str:
    """One line saying which library a check evaluated (from `LibraryUse.as_dict`)."""
    if not library.get("enabled", True):
        return "library: the built-in library is disabled (library.enabled: false)"
    parts = [f"{library['controls']} controls"]
    for key in ("overridden", "disabled"):
        if library.get(key):
            parts.append(f"{key} {', '.join(library[key])}")
    return f"library: {library['name']} {library['version']} built-in library, {'; '.join(parts)}"


def check_disabled(settings_disable: list[str], known: set[str]) -> None:
    """Every id in `library.disable` must name a control of the library: a typo must not pass silently."""
    import difflib

    for wanted in settings_disable:
        if wanted not in known:
            close = difflib.get_close_matches(wanted, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `svcascode controls` lists them"
            raise SvcascodeError(f"library.disable: {wanted!r} is not a control of the built-in library{hint}")
