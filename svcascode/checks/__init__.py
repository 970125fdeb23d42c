"""Built-in checks, one module each, registered here by name.

Each module defines `PARAMS` (the parameters it accepts, with defaults) and
`check(ctx, document) -> Iterator[Finding]`. Adding a check is one module and one entry below.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from svcascode.checks.base import CheckSpec

BUILTINS: dict[str, str] = {
    name: f"svcascode.checks.{name}"
    for name in (
        "svc_owner_exists", "svc_dep_resolve", "svc_sla_required", "svc_supplier_uc",
        "sla_dep_feasible", "sla_tier_band", "sla_support_targets", "sla_review_current", "sla_slo_backed",
        "sla_underpinned",
        "slo_matches_sla",
        "mw_budget_fit", "mw_business_hours", "mw_change_control",
        "patch_policy_assigned", "oncall_min_rota", "oncall_coverage", "inc_policy_complete",
        "mon_health_and_alerts",
        "acc_mfa_sso", "acc_review_overdue", "acc_lifecycle", "sec_data_protection",
        "bck_rpo_consistent", "bck_restore_tested", "dr_readiness",
        "wvr_valid",
        "dlv_pir_linked",
    )
}


@lru_cache(maxsize=None)
def load_builtin(name: str) -> CheckSpec | None:
    """The registered check of that name, or None when there is none."""
    module_name = BUILTINS.get(name)
    if module_name is None:
        return None
    module = importlib.import_module(module_name)
    return CheckSpec(module.check, dict(getattr(module, "PARAMS", {})), (module.__doc__ or "").strip())
