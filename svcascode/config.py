"""Settings from `.svcascode.yaml` or `[tool.svcascode]` in `pyproject.toml`, with documented defaults."""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from svcascode.errors import SvcascodeError


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


CONFIG_FILE = ".svcascode.yaml"
MAX_CONFIG_BYTES = 256 * 1024  # a configuration is a few lines; anything larger is refused before parsing


def _read_config(path: Path, name: str, root: Path) -> bytes | None:
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


def check_paths(root: Path, settings: Settings, where: str) -> None:
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


def load_settings(root: Path) -> Settings:
    """Read the settings of the repository at `root`; an unreadable or invalid config is a SvcascodeError."""
    config_path = root / CONFIG_FILE
    raw: object = None
    data = _read_config(config_path, CONFIG_FILE, root)
    if data is not None:
        raw = _parse_yaml_config(data)
        where = CONFIG_FILE
    else:
        data = _read_config(root / "pyproject.toml", "pyproject.toml", root)
        if data is None:
            return Settings()
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
    check_paths(root, settings, where)
    return settings
