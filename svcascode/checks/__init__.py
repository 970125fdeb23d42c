"""Built-in checks, one module each, registered here by name; plugin checks from installed packages and,
where the configuration enables them, from the repository.

Each module defines `PARAMS` (the parameters it accepts, with defaults) and
`check(ctx, document) -> Iterator[Finding]`. Adding a check is one module and one entry below.

A package adds checks through the entry-point group `svcascode.checks`: each entry point's name is the
check's name (as a Control's `check: {builtin: NAME}` gives it) and its object a module (or any object)
with `check` and `PARAMS`, following the same contract. `local_checks:` in .svcascode.yaml names
repository modules (`checks/team_size.py` is the check `team_size`); they are loaded only then, since
loading one runs the repository's code. A built-in's name is never taken by a plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from svcascode.errors import SvcascodeError

if TYPE_CHECKING:  # the checks' base imports the catalogue and the models: not needed to name the checks
    from svcascode.checks.base import CheckSpec

ENTRY_POINT_GROUP = "svcascode.checks"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

BUILTINS: dict[str, str] = {
    name: f"svcascode.checks.{name}"
    for name in (
        "svc_owner_exists", "svc_dep_resolve", "svc_sla_required",
        "sla_dep_feasible", "sla_tier_band", "sla_support_targets", "sla_review_current", "sla_slo_backed",
        "sla_underpinned",
        "slo_matches_sla",
        "mw_budget_fit", "mw_business_hours", "mw_change_control",
        "patch_policy_assigned", "oncall_min_rota", "oncall_coverage", "inc_policy_complete",
        "mon_health_and_alerts",
        "acc_lifecycle", "sec_data_protection",
        "bck_rpo_consistent", "bck_restore_tested", "dr_readiness",
        "wvr_valid",
        "dlv_pir_linked",
    )
}

_LOCAL: dict[str, Path] = {}  # check name -> repository module, from `local_checks:`


def enable_local_checks(root: Path, paths: list[str]) -> None:
    """Register the repository's check modules that the configuration names (paths checked inside it)."""
    for value in paths:
        path = (root / value).resolve()
        if path.suffix != ".py" or not path.is_file():
            raise SvcascodeError(f"local_checks: {value!r}: not a Python module (.py file) in the repository")
        if not NAME.match(path.stem):
            raise SvcascodeError(f"local_checks: {value!r}: a check module's file name is its check's name: "
                                 "lower case letters, digits and _")
        if path.stem in BUILTINS:
            raise SvcascodeError(f"local_checks: {value!r}: {path.stem} is a built-in check's name")
        _LOCAL[path.stem] = path
    load_builtin.cache_clear()


def _plugins() -> dict[str, Any]:
    """Entry points of the group, by name."""
    from importlib.metadata import entry_points  # a fifth of a run answered by the run cache: imported here

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if NAME.match(ep.name)}


def available() -> list[str]:
    """Every check name a Control may give: built-ins, installed plugins, enabled repository modules."""
    return sorted({*BUILTINS, *_plugins(), *_LOCAL})


def code_identity(name: str) -> bytes:
    """What a cached result of the check `name` must be keyed by beyond svcascode's own code: the bytes of
    an enabled repository module, or an installed plugin's distribution, version, entry point and the
    module file it names (a built-in check is covered by the package's code digest: empty here)."""
    if name in BUILTINS:
        return b""
    if name in _LOCAL:
        try:
            return b"local\0" + _LOCAL[name].read_bytes()
        except OSError:
            return b"local\0unreadable"
    entry = _plugins().get(name)
    if entry is None:
        return b"unknown\0" + name.encode()
    parts = [b"plugin", entry.value.encode(), (entry.dist.name if entry.dist else "").encode(),
             (entry.dist.version if entry.dist else "").encode()]
    try:
        found = importlib.util.find_spec(entry.module)
        origin = found.origin if found is not None else None
        if origin:
            parts.append(Path(origin).read_bytes())
    except Exception:  # noqa: BLE001  (a broken plugin's package raising on import: keyed as such, run later)
        parts.append(b"unresolvable")
    return b"\0".join(parts)


def _spec(module: Any, origin: str) -> CheckSpec | None:
    from svcascode.checks.base import CheckSpec

    function = getattr(module, "check", None)
    params = getattr(module, "PARAMS", {})
    if not callable(function) or not isinstance(params, dict):
        return None
    return CheckSpec(function, dict(params), (getattr(module, "__doc__", None) or "").strip(), origin)


def _load_local(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"svcascode_local_checks.{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def load_builtin(name: str) -> CheckSpec | None:
    """The check of that name (built-in, plugin or enabled repository module), or None when there is none.

    A plugin or repository module that fails to import, or lacks `check`, is an ImportError naming it.
    """
    module_name = BUILTINS.get(name)
    if module_name is not None:
        module = importlib.import_module(module_name)
        from svcascode.checks.base import CheckSpec

        return CheckSpec(module.check, dict(getattr(module, "PARAMS", {})), (module.__doc__ or "").strip())
    if name in _LOCAL:
        try:
            module = _load_local(name, _LOCAL[name])
        except Exception as error:
            raise ImportError(f"repository check module {_LOCAL[name].name} failed to load: "
                              f"{type(error).__name__}: {error}") from None
        found = _spec(module, f"repository module {_LOCAL[name].name}")
        if found is None:
            raise ImportError(f"repository check module {_LOCAL[name].name} defines no check(ctx, document)")
        return found
    entry = _plugins().get(name)
    if entry is None:
        return None
    package = entry.dist.name if entry.dist is not None else entry.value
    version = f" {entry.dist.version}" if entry.dist is not None else ""
    try:
        loaded = entry.load()
    except Exception as error:
        raise ImportError(f"plugin check {name} of {package} failed to load: {type(error).__name__}: {error}"
                          ) from None
    found = _spec(loaded, f"plugin {package}{version} (entry point {entry.value})")
    if found is None:
        raise ImportError(f"plugin check {name} of {package} has no check(ctx, document) with PARAMS")
    return found
