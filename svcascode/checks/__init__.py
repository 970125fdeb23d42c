"""Built-in checks, one module each, registered here by name; plugin checks from installed packages and,
where the configuration enables them, from the repository.

Each module defines `PARAMS` (the parameters it accepts, with defaults) and
`check(ctx, document) -> Iterator[Finding]`. Adding a check is one module and one entry below.

A package adds checks through the entry-point group `svcascode.checks`: each entry point's name is the
check's name (as a Control's `check: {builtin: NAME}` gives it) and its object a module (or any object)
with `check` and `PARAMS`, following the same contract. `local_checks:` in .svcascode.yaml names
repository modules (`checks/team_size.py` is the check `team_size`); they are loaded only then, since
loading one runs the repository's code. A built-in's name is never taken by a plugin. Which modules, and
their bytes, come from the working tree or, in a run against a revision, from the trusted revision
(`svcascode.trusted`); a module runs from the bytes read then, never read again.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
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

MAX_MODULE_BYTES = 1024 * 1024  # a repository check module is a page of Python; anything larger is refused


@dataclass(frozen=True, slots=True)
class LocalModule:
    """A repository check module as it will run: where it was read (for messages) and the bytes read."""

    label: str  # `checks/team_email.py`, or `checks/team_email.py at 1a2b3c4d5e6f`
    source: bytes


_LOCAL: dict[str, LocalModule] = {}  # check name -> repository module, from `local_checks:`
_REFUSED: dict[str, str] = {}  # check name -> why the run does not load it (not enabled where code is trusted)


def local_check_name(value: str) -> str:
    """The check a `local_checks:` entry names (its file name), or a SvcascodeError saying why it cannot be one."""
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    if not name.endswith(".py"):
        raise SvcascodeError(f"local_checks: {value!r}: not a Python module (.py file) in the repository")
    stem = name[:-3]
    if not NAME.match(stem):
        raise SvcascodeError(f"local_checks: {value!r}: a check module's file name is its check's name: "
                             "lower case letters, digits and _")
    if stem in BUILTINS:
        raise SvcascodeError(f"local_checks: {value!r}: {stem} is a built-in check's name")
    return stem


def set_local_checks(modules: dict[str, LocalModule], refused: dict[str, str] | None = None) -> None:
    """The repository check modules this run may load, replacing any earlier run's (in one process), and
    the names it must not load with why."""
    _LOCAL.clear()
    _LOCAL.update(modules)
    _REFUSED.clear()
    _REFUSED.update({name: why for name, why in (refused or {}).items() if name not in modules})
    load_builtin.cache_clear()


def enable_local_checks(root: Path, paths: list[str]) -> None:
    """The working tree's check modules that the configuration names (paths checked inside it), read now:
    the bytes read are the bytes run. An empty list enables none (and forgets an earlier run's)."""
    from svcascode.loading.discover import Refusal, read_regular

    modules: dict[str, LocalModule] = {}
    for value in paths:
        name = local_check_name(value)
        path = (root / value).resolve()
        if not path.is_file():
            raise SvcascodeError(f"local_checks: {value!r}: not a Python module (.py file) in the repository")
        try:
            modules[name] = LocalModule(value, read_regular(path, MAX_MODULE_BYTES))
        except Refusal as refusal:
            raise SvcascodeError(f"local_checks: {value!r}: {refusal}") from None
    set_local_checks(modules)


def memoisable(name: str) -> bool:
    """Whether the results of the check `name` may be reused while the documents it read are unchanged:
    svcascode's own checks, whose code the package's digest covers, read only what the check context
    traces. A repository module or an installed plugin is code outside the package that may read any
    file: its results are computed on every run."""
    if name in BUILTINS:
        return True
    return name not in _LOCAL and name not in _REFUSED and name not in _plugins()


def _plugins() -> dict[str, Any]:
    """Entry points of the group, by name."""
    from importlib.metadata import entry_points  # a fifth of a run answered by the run cache: imported here

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if NAME.match(ep.name)}


def available() -> list[str]:
    """Every check name a Control may give: built-ins, installed plugins, enabled repository modules."""
    return sorted({*BUILTINS, *_plugins(), *_LOCAL})


def _spec(module: Any, origin: str) -> CheckSpec | None:
    from svcascode.checks.base import CheckSpec

    function = getattr(module, "check", None)
    params = getattr(module, "PARAMS", {})
    if not callable(function) or not isinstance(params, dict):
        return None
    return CheckSpec(function, dict(params), (getattr(module, "__doc__", None) or "").strip(), origin)


def _load_local(name: str, local: LocalModule) -> ModuleType:
    """The module run from the bytes read when it was enabled (never read again from disk)."""
    module = ModuleType(f"svcascode_local_checks.{name}")
    module.__file__ = local.label
    sys.modules[module.__name__] = module
    exec(compile(local.source, local.label, "exec"), module.__dict__)  # noqa: S102  (enabled by the configuration)
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
        local = _LOCAL[name]
        try:
            module = _load_local(name, local)
        except Exception as error:
            raise ImportError(f"repository check module {local.label} failed to load: "
                              f"{type(error).__name__}: {error}") from None
        found = _spec(module, f"repository module {local.label}")
        if found is None:
            raise ImportError(f"repository check module {local.label} defines no check(ctx, document)")
        return found
    if name in _REFUSED:
        raise ImportError(_REFUSED[name])
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
