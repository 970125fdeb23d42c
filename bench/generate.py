"""A deterministic catalogue of N services in the real schema, for benchmarks.

Each service file holds a Service and its SLA (about 2 KB, like a real catalogue entry); shared
documents (teams, calendars) sit beside them; the built-in control library applies unless turned off.
The same N always gives the same bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIERS = ("tier-0", "tier-1", "tier-2", "tier-3")
TEAMS = 40

SHARED = """\
apiVersion: svcascode.io/v1alpha1
kind: BusinessCalendar
metadata: {name: always-on}
spec: {timezone: UTC, alwaysOn: true}
---
apiVersion: svcascode.io/v1alpha1
kind: BusinessCalendar
metadata: {name: office-hours}
spec:
  timezone: Europe/London
  weekly:
    - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00"}
---
apiVersion: svcascode.io/v1alpha1
kind: IncidentPolicy
metadata: {name: incidents}
spec:
  severities:
    - {level: SEV1, criteria: Down for many, ack: 5m, page: true, postmortem: {required: true, within: 5d}}
    - {level: SEV2, criteria: Degraded for many, ack: 15m, page: true, postmortem: {required: true, within: 5d}}
    - {level: SEV3, criteria: Minor, ack: 1h}
  security: {notifyCisoWithin: 1h, regulatorNotificationWithin: 72h}
  exercise: {cadence: 365d}
---
apiVersion: svcascode.io/v1alpha1
kind: PatchPolicy
metadata: {name: patching}
spec:
  appliesTo: {tiers: [tier-0, tier-1, tier-2, tier-3]}
  remediationSla: {critical: 14d, high: 30d, medium: 90d, low: 180d}
  cadence: {os: 30d}
"""

TEAM = """\
---
apiVersion: svcascode.io/v1alpha1
kind: Team
metadata: {{name: team-{i:02d}, title: Team {i:02d}}}
spec:
  type: team
  email: team-{i:02d}@example.com
  members:
    - {{id: lead-{i:02d}@example.com, role: lead}}
    - {{id: a-{i:02d}@example.com, role: member}}
    - {{id: b-{i:02d}@example.com, role: member}}
  onCall:
    coverage: always-on
    primary: [a-{i:02d}@example.com, b-{i:02d}@example.com]
    secondary: [lead-{i:02d}@example.com]
  escalation:
    - {{after: 0m, notify: [oncall:primary]}}
    - {{after: 15m, notify: [oncall:secondary]}}
"""

SERVICE = """\
apiVersion: svcascode.io/v1alpha1
kind: Service
metadata:
  name: {name}
  title: Service {n}
  description: Generated service {n} of the benchmark catalogue, owned by {team}.
  labels: {{svcascode.io/domain: domain-{domain}, svcascode.io/site: site-{site}}}
spec:
  type: {type}
  tier: {tier}
  lifecycle: production
  owner: {team}
  businessOwner: owner-{n}@example.com
  supportHours: always-on
  dependencies:{deps}
  data: {{classification: {classification}, personalData: {personal}, regions: [eu-west-2]}}
  security:
    encryptionAtRest: true
    encryptionInTransit: {{minTls: "1.2"}}
  continuity:
    rpo: 15m
    rto: 4h
    backup: {{method: snapshot, interval: 15m, retention: 35d, offsite: true, immutable: true}}
    dr: {{strategy: warm-standby}}
  operations:
    runbook: https://runbooks.example.com/{name}
    monitoring:
      healthCheck: {{url: "https://{name}.example.com/healthz", interval: 30s, timeout: 5s}}
    patchPolicy: patching
    incidentPolicy: incidents
    deployment: rolling
---
apiVersion: svcascode.io/v1alpha1
kind: ServiceLevel
metadata: {{name: {name}-sla}}
spec:
  type: SLA
  service: {name}
  customer: business-unit-{domain}
  validFrom: 2026-01-01
  coverage: always-on
  availability: {{targetPercent: {target}, window: {{calendar: month}}, measurement: time}}
  support:
    priorities:
      P1: {{response: 15m, resolution: 4h, coverage: always-on}}
      P2: {{response: 30m, resolution: 8h, coverage: always-on}}
      P3: {{response: 4h, resolution: 3d, coverage: office-hours}}
  reporting: {{cadence: monthly, recipients: [reports@example.com]}}
  review: {{cadence: 180d}}
"""


def service_text(n: int, rng: random.Random) -> str:
    tier = TIERS[min(n % 10, 3)] if n >= 20 else "tier-0"
    deps = "".join(f"\n    - {{service: svc-{d:05d}, criticality: {rng.choice(['hard', 'soft'])}}}"
                   for d in sorted(rng.sample(range(n), min(n, 3))) if n > 20) or " []"
    return SERVICE.format(
        name=f"svc-{n:05d}", n=n, team=f"team-{n % TEAMS:02d}", domain=n % 17, site=n % 3,
        type=rng.choice(["business", "technical", "platform"]), tier=tier, deps=deps,
        classification=rng.choice(["internal", "confidential", "restricted"]), personal=rng.choice(["true", "false"]),
        target={"tier-0": 99.95, "tier-1": 99.9, "tier-2": 99.5, "tier-3": 99.0}[tier])


def generate(target: Path, services: int, with_controls: bool = True, seed: int = 7) -> list[Path]:
    """Write the catalogue under `target`; returns the YAML files written."""
    rng = random.Random(seed)
    (target / "services" / "generated").mkdir(parents=True, exist_ok=True)
    (target / "policies").mkdir(parents=True, exist_ok=True)
    shared = SHARED + "".join(TEAM.format(i=i) for i in range(TEAMS))
    (target / "services" / "shared.yaml").write_text(shared)
    for n in range(services):
        (target / "services" / "generated" / f"svc-{n:05d}.yaml").write_text(service_text(n, rng))
    if not with_controls:  # the built-in library applies unless it is turned off
        (target / ".svcascode.yaml").write_text("library: {enabled: false}\n")
    return sorted(p for p in target.rglob("*.yaml") if p.name != ".svcascode.yaml")


def single_documents(target: Path, files: list[Path]) -> list[Path]:
    """The same documents one per file under `target` (for tools that read one document a file)."""
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        for number, text in enumerate(t for t in path.read_text().split("\n---\n") if t.strip()):
            single = target / f"{path.stem}-{number}.yaml"
            single.write_text(text.removeprefix("---\n").rstrip("\n") + "\n")
            written.append(single)
    return sorted(written)
