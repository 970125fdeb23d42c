"""Every rule id the tool reports, with its title, severity, enforcement and help: one registry.

Two sources: the tool's own rules (what the loader, the validator and the engine report about files,
documents and control definitions), listed here; and the organisation's controls, whose metadata comes
from their Control documents (`control_rule`). Every format reads rule metadata from `rule_info`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svcascode.documents import Document

RULE_YAML = "yaml-invalid"
RULE_FILE = "file-refused"
RULE_SCHEMA = "schema-invalid"
RULE_REFERENCE = "ref-unresolved"
RULE_DUPLICATE = "name-duplicate"
RULE_CYCLE = "dependency-cycle"
RULE_TEAM_CYCLE = "team-cycle"
RULE_CONTROL = "control-invalid"
RULE_UNUSED = "control-selects-nothing"
RULE_CHECK_ERROR = "check-error"
WAIVER_CONTROL = "wvr-valid"  # the control that judges waivers; evaluated last

# The published control reference (docs/controls.md, the output of `svcascode controls --format markdown`
# for the built-in library): each built-in control and each of the tool's rules has a heading there,
# whose anchor is its id. A link, never fetched.
REFERENCE_URL = "https://github.com/svcascode/svcascode/blob/main/docs/controls.md"


def reference_uri(rule: str) -> str:
    return f"{REFERENCE_URL}#{rule}"


@dataclass(frozen=True)
class Mapping:
    framework: str
    controls: tuple[str, ...]
    relationship: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "controls": list(self.controls), "relationship": self.relationship}


@dataclass(frozen=True)
class RuleInfo:
    """What a reader needs of a rule: what it asks, how bad a finding is, and what to do about one."""

    id: str
    title: str
    severity: str
    enforcement: str
    help: str  # the remediation
    description: str  # the rationale
    mappings: tuple[Mapping, ...] = field(default=())
    source: str = "tool"  # "tool", or the file:line of the Control document
    help_uri: str | None = None  # its entry in the published control reference, when it has one

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the output formats embed."""
        out = {"title": self.title, "severity": self.severity, "enforcement": self.enforcement,
               "help": self.help, "description": self.description,
               "mappings": [m.as_dict() for m in self.mappings]}
        return out | {"helpUri": self.help_uri} if self.help_uri else out


def _tool(rule: str, title: str, severity: str, enforcement: str, description: str, help: str) -> RuleInfo:
    return RuleInfo(rule, title, severity, enforcement, help, description, help_uri=reference_uri(rule))


TOOL_RULES: dict[str, RuleInfo] = {rule.id: rule for rule in (
    _tool(RULE_YAML, "File is well-formed, bounded YAML", "critical", "block",
          "The file could not be read as YAML: a syntax error, a duplicate key, an unsafe tag, an alias bomb, "
          "too deep nesting, or bytes that are not UTF-8. Nothing in it was checked.",
          "Fix the YAML at the line and column given; run `svcascode validate FILE` to recheck quickly."),
    _tool(RULE_SCHEMA, "Document matches the schema of its kind", "critical", "block",
          "The document has an unknown field, a missing required field, or a value of the wrong type or form, "
          "so it was left out of every control.",
          "Change the field named in the message; `svcascode schema KIND` prints the schema, and editors with "
          "yaml-language-server complete fields from schemas/."),
    _tool(RULE_FILE, "File is readable and inside the repository", "critical", "block",
          "The file was refused: it is too large, or a symlink that leaves the repository.",
          "Copy the file into the repository, split it, or exclude it in .svcascode.yaml."),
    _tool(RULE_REFERENCE, "References resolve to defined documents", "critical", "block",
          "A field names a document (a team, service, calendar, control, ...) that is not defined, so every "
          "check relying on it would be guessing.",
          "Fix the name (the message suggests the closest one) or add the missing document."),
    _tool(RULE_DUPLICATE, "Names are unique per kind", "critical", "block",
          "Two documents of the same kind share metadata.name; references to it are ambiguous.",
          "Rename or remove one of the two documents."),
    _tool(RULE_CYCLE, "Hard dependencies form no cycle", "critical", "block",
          "Services depend on each other in a circle of hard dependencies: none of them can start first, and "
          "availability over the chain cannot be computed.",
          "Make one dependency in the cycle soft, or remove it."),
    _tool(RULE_TEAM_CYCLE, "Team parents form no cycle", "critical", "block",
          "Teams name each other as `spec.parent` in a circle: the organisation has no top, and ownership, "
          "escalation and roll-ups along the parents never end.",
          "Change or remove `spec.parent` of one team in the cycle, so that the chain ends at a team without a "
          "parent."),
    _tool(RULE_CONTROL, "Control definition is well-formed", "high", "block",
          "The control's check cannot run: an unknown built-in, an unknown parameter, or an invalid or remote "
          "JSON Schema fragment. It is reported instead of silently skipped.",
          "Fix spec.check at the location given; `svcascode controls` lists the built-ins in use."),
    _tool(RULE_UNUSED, "Control selects at least one document", "info", "audit",
          "The control's spec.appliesTo matched no document, so it checked nothing. For a built-in control "
          "that means the catalogue has nothing it checks (no waivers, no external services): it is not "
          "applicable, and nothing needs doing. For the repository's own control it often means a typo in its "
          "kinds, where, hasFields or labels.",
          "Nothing, when the catalogue has none of what the control checks. Otherwise correct spec.appliesTo of "
          "the repository's control, or remove it if nothing should be checked by it."),
    _tool(RULE_CHECK_ERROR, "Check completed on the document", "high", "block",
          "A built-in check failed with an error on this document; its result is unknown.",
          "Report the message as a defect; set SVCASCODE_DEBUG=1 for details."),
)}


def control_rule(control: Document) -> RuleInfo:
    """A Control document's rule metadata; a built-in control links its entry in the control reference (a
    repository's own control, even one that replaces a built-in, is documented only where it is written)."""
    from svcascode.library import is_library

    spec = control.spec
    return RuleInfo(
        control.name, control.model.metadata.title or control.name, str(spec.severity), str(spec.enforcement),
        str(spec.remediation).strip(), str(spec.rationale).strip(),
        tuple(Mapping(m.framework, tuple(m.controls), m.relationship) for m in spec.mappings),
        f"{control.file}:{control.locate(())[0]}",
        reference_uri(control.name) if is_library(control.file) else None)


def unknown_rule(rule: str, severity: str, enforcement: str) -> RuleInfo:
    """A rule id neither the tool nor a loaded Control defines (a control removed since a base revision)."""
    return RuleInfo(rule, rule, severity, enforcement, "", "")
