"""Writing generated files: only inside the --out folder, never through a link, never into the catalogue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from svcascode.config import Settings
from svcascode.errors import SvcascodeError

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def comment(text: str) -> str:
    """A YAML comment line whose text cannot end the comment or start YAML of its own."""
    return "# " + _UNPRINTABLE.sub("?", text) + "\n"


def _fresh(data: Any) -> Any:
    """A copy sharing no mapping or list, so that the YAML has no anchors and aliases."""
    if isinstance(data, dict):
        return {key: _fresh(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_fresh(value) for value in data]
    return data


def dump(data: Any, header: list[str] | None = None) -> str:
    body = yaml.safe_dump(_fresh(data), sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False)
    return "".join(comment(line) for line in header or ()) + body


class OutputFolder:
    """The --out folder: created when missing; refused when it is (or holds, or lies in) catalogue folders.
    Every file is written through `svcascode.safewrite`: no link followed, nothing outside the folder."""

    def __init__(self, root: Path, settings: Settings, out: str) -> None:
        from svcascode.safewrite import OutputFolder as SafeFolder

        self.root = root.resolve()
        self.path = (Path.cwd() / out).resolve()
        for name in settings.roots:
            catalogue = (self.root / name).resolve()
            if self.path == catalogue or catalogue.is_relative_to(self.path) or self.path.is_relative_to(catalogue):
                raise SvcascodeError(f"{out}: the output folder would mix generated files with the catalogue "
                                     f"folder {name}/; choose a folder outside it, e.g. out/monitoring")
        if self.path == self.root:
            raise SvcascodeError(f"{out}: the output folder is the repository root; choose a folder such as "
                                 "out/monitoring")
        self.folder = SafeFolder(out)  # a link on the way to it is refused here, before anything is written
        self.written: list[Path] = []

    def write(self, relative: str, text: str) -> Path:
        self.folder.write(relative, text)
        target = self.path / relative  # the same file: no link on the way to it
        self.written.append(target)
        return target
