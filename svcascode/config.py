"""Settings from `.svcascode.yaml` or `[tool.svcascode]` in `pyproject.toml`, with documented defaults."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from svcascode.errors import SvcascodeError


class Limits(BaseModel):
    """Bounds that keep hostile or accidental YAML from exhausting time or memory."""

    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1, description="files larger than this are refused")
    max_depth: int = Field(default=64, ge=4, le=10_000, description="deepest nesting of mappings and sequences")
    max_nodes: int = Field(default=100_000, ge=100, description="nodes per document after alias expansion")
    max_aliases: int = Field(default=1_000, ge=0, description="alias uses per document")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roots: list[str] = Field(default_factory=lambda: ["services", "policies"])
    exclude: list[str] = Field(default_factory=list, description="glob patterns relative to the repository root")
    limits: Limits = Field(default_factory=Limits)
    cache: bool = Field(default=True, description="keep parsed documents in .svcascode-cache/, keyed by content hash")


CONFIG_FILE = ".svcascode.yaml"


def find_root(start: Path) -> Path:
    """The catalogue repository's root: the nearest folder up with a config file or `.git`, else `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).exists() or (folder / ".git").exists():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.exists() and "[tool.svcascode" in pyproject.read_text(errors="replace"):
            return folder
    return start


def load_settings(root: Path) -> Settings:
    """Read the settings of the repository at `root`; an unreadable or invalid config is a SvcascodeError."""
    config_path = root / CONFIG_FILE
    raw: object = None
    if config_path.exists():
        try:
            raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
            raise SvcascodeError(f"{CONFIG_FILE}: cannot be read:{where} YAML syntax error: "
                                 f"{(error.problem or 'syntax error').strip()}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise SvcascodeError(f"{CONFIG_FILE}: cannot be read: {error}") from None
        where = CONFIG_FILE
    else:
        pyproject = root / "pyproject.toml"
        if not pyproject.exists():
            return Settings()
        try:
            raw = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("svcascode", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SvcascodeError(f"pyproject.toml: cannot be read: {error}") from None
        where = "pyproject.toml [tool.svcascode]"
    if not isinstance(raw, dict):
        raise SvcascodeError(f"{where}: expected a mapping of settings")
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            known = Limits.model_fields if len(first["loc"]) > 1 and first["loc"][0] == "limits" else Settings.model_fields
            close = difflib.get_close_matches(str(first["loc"][-1]), list(known), n=1)
            message = f"unknown setting; {f'did you mean {close[0]!r}?' if close else 'settings are ' + ', '.join(known)}"
        raise SvcascodeError(f"{where}: {key}: {message}") from None
