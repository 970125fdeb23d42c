"""Settings from `.svcascode.yaml` or `[tool.svcascode]` in `pyproject.toml`, with documented defaults."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from svcascode.configfile import CONFIG_FILE, MAX_CONFIG_BYTES, check_paths, config_source, find_root
from svcascode.errors import SvcascodeError

__all__ = ["CONFIG_FILE", "MAX_CONFIG_BYTES", "Limits", "LibrarySettings", "Settings", "check_paths", "find_root",
           "load_settings", "settings_from"]


class Limits(BaseModel):
    """Bounds that keep hostile or accidental YAML from exhausting time or memory."""

    model_config = ConfigDict(extra="forbid")

    # The upper bounds keep a configuration (which a pull request may change) from lifting the limits
    # past what a run can afford.
    max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1, le=64 * 1024 * 1024,
                                description="files larger than this are refused")
    max_depth: int = Field(default=64, ge=4, le=1_000, description="deepest nesting of mappings and sequences")
    max_nodes: int = Field(default=100_000, ge=100, le=5_000_000,
                           description="nodes per document after alias expansion")
    max_aliases: int = Field(default=1_000, ge=0, le=100_000, description="alias uses per document")


class LibrarySettings(BaseModel):
    """Which of the default library (the controls, frameworks and baselines that ship with svcascode) apply."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="apply the built-in library; false: only the repository's own")
    disable: list[str] = Field(default_factory=list, description="ids of built-in controls not to apply")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roots: list[str] = Field(default_factory=lambda: ["services", "policies"])
    exclude: list[str] = Field(default_factory=list, description="glob patterns relative to the repository root")
    limits: Limits = Field(default_factory=Limits)
    cache: bool = Field(default=True, description="keep parsed documents in the parse cache, outside the "
                        "repository ($SVCASCODE_CACHE_DIR, else $XDG_CACHE_HOME/svcascode or ~/.cache/svcascode)")
    library: LibrarySettings = Field(default_factory=LibrarySettings)
    local_checks: list[str] = Field(default_factory=list, description="check modules of the repository (.py "
                                    "files) to load as built-ins named by their file name: this runs the "
                                    "repository's code")
    ratchet: Literal["new", "touched"] = Field(
        default="new", description="what `check --base` fails on: findings not at the base (new), or also those "
        "on documents the change edits (touched); in a --base run the stricter of the base's and the working "
        "tree's applies")


def _parse_yaml_config(data: bytes) -> object:
    """The configuration's mapping, parsed by the same hardened loader as documents; located errors."""
    from svcascode.loading.yamlfile import parse_text

    if all(not line.strip() or line.lstrip().startswith(b"#") for line in data.splitlines()):
        return {}
    parsed = parse_text(CONFIG_FILE, data, Limits())
    if parsed.problems:
        first = parsed.problems[0]
        more = f" (and {len(parsed.problems) - 1} more)" if len(parsed.problems) > 1 else ""
        raise SvcascodeError(f"{CONFIG_FILE}:{first.line or 1}:{first.column or 1}: cannot be read: "
                             f"{first.message}{more}")
    documents = [d for d in parsed.documents if d.data is not None]
    if len(documents) > 1:
        line, column = documents[1].locate(())
        raise SvcascodeError(f"{CONFIG_FILE}:{line}:{column}: a second document: the configuration is one "
                             "mapping; remove the `---`")
    return documents[0].data if documents else {}


def load_settings(root: Path) -> Settings:
    """Read the settings of the repository at `root`; an unreadable or invalid config is a SvcascodeError."""
    return settings_from(root, config_source(root))


def settings_from(root: Path, source: tuple[str, bytes] | None, paths_on_disk: bool = True) -> Settings:
    """The settings in a configuration file's bytes (`config_source`), checked against the repository
    (its configured paths resolved on disk, unless `paths_on_disk` is false: a revision's configuration)."""
    if source is None:
        return Settings()
    name, data = source
    raw: object
    if name == CONFIG_FILE:
        raw = _parse_yaml_config(data)
        where = CONFIG_FILE
    else:
        try:
            raw = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("svcascode", {})
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SvcascodeError(f"pyproject.toml: cannot be read: {error}") from None
        except (RecursionError, ValueError, MemoryError) as error:  # deep nesting, a huge integer
            raise SvcascodeError(f"pyproject.toml: cannot be read: {type(error).__name__}: "
                                 f"{str(error)[:200]}") from None
        where = "pyproject.toml [tool.svcascode]"
    if not isinstance(raw, dict):
        raise SvcascodeError(f"{where}: expected a mapping of settings")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            known = Limits.model_fields if len(first["loc"]) > 1 and first["loc"][0] == "limits" else Settings.model_fields
            close = difflib.get_close_matches(str(first["loc"][-1]), list(known), n=1)
            message = f"unknown setting; {f'did you mean {close[0]!r}?' if close else 'settings are ' + ', '.join(known)}"
        raise SvcascodeError(f"{where}: {key}: {message}") from None
    if paths_on_disk:
        check_paths(root, settings, where)
    return settings
