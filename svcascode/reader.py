"""What a check may read of a catalogue: one typed interface, `CatalogueReader`.

Built-in checks (through `CheckContext`), the domain facts (`svcascode.facts`) and expressions
(`svcascode.expressions.CatalogueView`) read documents only through these methods. Two classes implement
it: the `Catalogue` itself, and `RecordingReader`, which gives the same answers while noting each lookup
and what it returned, so that a result can be reused while what it read is unchanged
(`svcascode.incremental`). Every read a check can make is a method here; there is nothing else to reach.

A lookup is named by a tuple: the method's name and its arguments, e.g. `("get", "Team", "ops")` or
`("levels_of", "claims-api")`. `evaluate_lookup` answers such a tuple against any reader, which is how a
later run tells whether a recorded lookup still gives the same answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from typing import TYPE_CHECKING, Any, Iterator, Literal, overload

if TYPE_CHECKING:
    from svcascode.documents import Document
    from svcascode.models import (
        AccessPolicySpec, BaselineSpec, BusinessCalendarSpec, ControlSpec, EvidenceSpec, FrameworkSpec,
        IncidentPolicySpec, IncidentSpec, MaintenanceWindowSpec, PatchPolicySpec, ServiceLevelSpec, ServiceSpec,
        SloSpec, TeamSpec, WaiverSpec,
    )
    from svcascode.models.service import Dependency

Lookup = tuple[Any, ...]  # (method name, *arguments)

# The lookups a trace may hold: each a method of CatalogueReader whose arguments are plain values.
LOOKUPS = frozenset({"get", "resolve", "defines", "of_kind", "levels_of", "incidents_of", "evidence_about",
                     "services_owned_by", "services_with_access_policy", "dependants_of", "windows_of",
                     "window_services_of", "in_force"})


class CatalogueReader(ABC):
    """The reads a check can make of a catalogue. Lists are in the catalogue's order and must not be changed."""

    # typed by kind: the document of a Literal kind has that kind's spec model
    @overload
    def get(self, kind: Literal["Service"], name: str) -> Document[ServiceSpec] | None: ...
    @overload
    def get(self, kind: Literal["ServiceLevel"], name: str) -> Document[ServiceLevelSpec] | None: ...
    @overload
    def get(self, kind: Literal["Team"], name: str) -> Document[TeamSpec] | None: ...
    @overload
    def get(self, kind: Literal["BusinessCalendar"], name: str) -> Document[BusinessCalendarSpec] | None: ...
    @overload
    def get(self, kind: Literal["MaintenanceWindow"], name: str) -> Document[MaintenanceWindowSpec] | None: ...
    @overload
    def get(self, kind: Literal["AccessPolicy"], name: str) -> Document[AccessPolicySpec] | None: ...
    @overload
    def get(self, kind: Literal["PatchPolicy"], name: str) -> Document[PatchPolicySpec] | None: ...
    @overload
    def get(self, kind: Literal["IncidentPolicy"], name: str) -> Document[IncidentPolicySpec] | None: ...
    @overload
    def get(self, kind: Literal["Evidence"], name: str) -> Document[EvidenceSpec] | None: ...
    @overload
    def get(self, kind: Literal["Control"], name: str) -> Document[ControlSpec] | None: ...
    @overload
    def get(self, kind: Literal["Baseline"], name: str) -> Document[BaselineSpec] | None: ...
    @overload
    def get(self, kind: Literal["Framework"], name: str) -> Document[FrameworkSpec] | None: ...
    @overload
    def get(self, kind: Literal["Waiver"], name: str) -> Document[WaiverSpec] | None: ...
    @overload
    def get(self, kind: Literal["SLO"], name: str) -> Document[SloSpec] | None: ...
    @overload
    def get(self, kind: Literal["Incident"], name: str) -> Document[IncidentSpec] | None: ...
    @overload
    def get(self, kind: str, name: str) -> Document | None: ...

    def get(self, kind: str, name: str) -> Document | None:
        """The document of that kind and name; a built-in one (the always-on calendar) when none is defined."""
        return self._get(kind, name)

    @overload
    def of_kind(self, kind: Literal["Service"]) -> list[Document[ServiceSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["ServiceLevel"]) -> list[Document[ServiceLevelSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Team"]) -> list[Document[TeamSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["BusinessCalendar"]) -> list[Document[BusinessCalendarSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["MaintenanceWindow"]) -> list[Document[MaintenanceWindowSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["AccessPolicy"]) -> list[Document[AccessPolicySpec]]: ...
    @overload
    def of_kind(self, kind: Literal["PatchPolicy"]) -> list[Document[PatchPolicySpec]]: ...
    @overload
    def of_kind(self, kind: Literal["IncidentPolicy"]) -> list[Document[IncidentPolicySpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Evidence"]) -> list[Document[EvidenceSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Control"]) -> list[Document[ControlSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Baseline"]) -> list[Document[BaselineSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Framework"]) -> list[Document[FrameworkSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Waiver"]) -> list[Document[WaiverSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["SLO"]) -> list[Document[SloSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Incident"]) -> list[Document[IncidentSpec]]: ...
    @overload
    def of_kind(self, kind: str) -> list[Document]: ...

    def of_kind(self, kind: str) -> list[Document]:
        """Every valid document of a kind, in the catalogue's order."""
        return self._of_kind(kind)

    @abstractmethod
    def _get(self, kind: str, name: str) -> Document | None: ...

    @abstractmethod
    def _of_kind(self, kind: str) -> list[Document]: ...

    @abstractmethod
    def resolve(self, reference: str, default_kind: str | None = None) -> Document | None:
        """`kind:name` or, with a default kind, a bare name."""

    @abstractmethod
    def defines(self, kind: str, name: str) -> bool:
        """Whether a document of that kind and name exists, valid or not."""

    @abstractmethod
    def levels_of(self, service: str) -> list[Document[ServiceLevelSpec]]:
        """Every ServiceLevel whose spec.service names the service, whatever its dates."""

    @abstractmethod
    def incidents_of(self, service: str) -> list[Document[IncidentSpec]]:
        """The Incidents that impact the service, by when they opened (then by name)."""

    @abstractmethod
    def evidence_about(self, kind: str, name: str) -> list[Document[EvidenceSpec]]:
        """The Evidence whose spec.subject names the document of that kind and name."""

    @abstractmethod
    def services_owned_by(self, team: str) -> list[Document[ServiceSpec]]:
        """The Services whose spec.owner is the team."""

    @abstractmethod
    def services_with_access_policy(self, policy: str) -> list[Document[ServiceSpec]]:
        """The Services whose spec.security.accessPolicy names the AccessPolicy."""

    @abstractmethod
    def dependants_of(self, service: str) -> list[Document[ServiceSpec]]:
        """The Services that depend on the service (hard or soft)."""

    @abstractmethod
    def windows_of(self, service: str) -> list[Document[MaintenanceWindowSpec]]:
        """The MaintenanceWindows that affect the service (either side naming the other, or a selector), by name."""

    @abstractmethod
    def window_services_of(self, window: str) -> list[Document[ServiceSpec]]:
        """The Services a MaintenanceWindow affects: those it names, or those its selector matches."""

    def window_services(self, window: Document) -> list[Document[ServiceSpec]]:
        return self.window_services_of(window.name)

    def underlying(self) -> CatalogueReader:
        """The catalogue whose answers these are (itself; the recording reader's, the one it records)."""
        return self

    def handing_over(self) -> AbstractContextManager[None]:
        """A block whose lookups give documents that the caller hands to an expression as they are, reading
        nothing of them itself (`expressions.CatalogueView`): a recording reader then lets the result depend
        on the fields the expression reads of them rather than on all they hold."""
        return nullcontext()

    def in_force(self, level: Document, on: date) -> bool:
        """Whether a ServiceLevel is in force on a date (`facts.level_in_force`)."""
        from svcascode.facts import level_in_force

        return level_in_force(level, on)

    def hard_dependencies(self, service: Document) -> list[tuple[int, Dependency]]:
        """The service's hard dependencies with their index in spec.dependencies (reads only the service)."""
        return [(i, d) for i, d in enumerate(service.spec.dependencies) if d.criticality == "hard"]


def evaluate_lookup(reader: CatalogueReader, lookup: Lookup, on: date) -> Any:
    """What a recorded lookup gives in this reader (a document, a list of documents, a bool or a count).

    A lookup of another shape raises ValueError or TypeError: a trace that holds one is never trusted."""
    op, *args = lookup
    if op not in LOOKUPS:
        raise ValueError(f"unknown lookup {op!r}")
    if op == "in_force":
        level = reader.get(args[0], args[1])
        return None if level is None else reader.in_force(level, on)
    method = getattr(reader, op)
    return method(*args)


# What a trace holds of a lookup's answer: its digest, or, for documents an expression was handed and read
# field by field, the digest of those fields with the paths it read (`svcascode.expressions.projection`).
Paths = tuple[tuple[str | int | None, ...], ...]
Answer = bytes | tuple[bytes, Paths]


class Recorder:
    """The lookups one check made while evaluating one document, with a digest of each answer; which of them
    it made only to hand their documents to an expression (`handed`); and the rows the result memo is to
    keep for them (`rows`)."""

    __slots__ = ("lookups", "as_of_read", "untraceable", "read", "rows")

    def __init__(self) -> None:
        self.lookups: dict[Lookup, Answer] = {}
        self.read: set[Lookup] = set()  # lookups whose answer Python code also read: followed whole
        self.rows: dict[Any, bytes] = {}
        self.as_of_read = False
        self.untraceable = False

    def handed(self, lookup: Lookup) -> bool:
        return lookup not in self.read

    def absorb(self, other: Recorder) -> None:
        """Add what another recorder saw (a value computed once and shared by several documents): followed
        whole, since the shared value is Python's."""
        for looked, digest in other.lookups.items():
            self.lookups.setdefault(looked, digest)
            self.read.add(looked)
        self.as_of_read = self.as_of_read or other.as_of_read
        self.untraceable = self.untraceable or other.untraceable


class LookupDigests(ABC):
    """The digest of what a lookup gives: what a recorder keeps and what a later run compares."""

    @abstractmethod
    def lookup(self, key: Lookup) -> bytes: ...


class _HandingOver:
    """`RecordingReader.handing_over`'s block (a class: it is entered for every call of an expression's
    catalogue functions)."""

    __slots__ = ("reader", "outer")

    def __init__(self, reader: RecordingReader) -> None:
        self.reader, self.outer = reader, False

    def __enter__(self) -> None:
        self.outer, self.reader._handing = self.reader._handing, True

    def __exit__(self, *exc: object) -> None:
        self.reader._handing = self.outer


class RecordingReader(CatalogueReader):
    """A catalogue as a check sees it while its reads are recorded: the same answers, each lookup noted in
    the current recorder with its digest."""

    def __init__(self, catalogue: CatalogueReader, digests: LookupDigests) -> None:
        self._catalogue = catalogue
        self._digests = digests
        self.recorder: Recorder | None = None
        self._handing = False

    def underlying(self) -> CatalogueReader:
        return self._catalogue.underlying()

    @contextmanager
    def recording(self, recorder: Recorder | None) -> Iterator[Recorder | None]:
        """Record into `recorder` (None: record nothing) for the duration of the block."""
        outer, self.recorder = self.recorder, recorder
        try:
            yield recorder
        finally:
            self.recorder = outer

    def handing_over(self) -> AbstractContextManager[None]:
        return _HandingOver(self)

    def _note(self, key: Lookup) -> None:
        recorder = self.recorder
        if recorder is not None:
            try:
                if key not in recorder.lookups:
                    recorder.lookups[key] = self._digests.lookup(key)
                if not self._handing:
                    recorder.read.add(key)
            except TypeError:  # an unhashable argument: nothing to follow it by
                recorder.untraceable = True

    def _get(self, kind: str, name: str) -> Document | None:
        self._note(("get", kind, name))
        return self._catalogue.get(kind, name)

    def _of_kind(self, kind: str) -> list[Document]:
        self._note(("of_kind", kind))
        return self._catalogue.of_kind(kind)

    def resolve(self, reference: str, default_kind: str | None = None) -> Document | None:
        self._note(("resolve", reference, default_kind))
        return self._catalogue.resolve(reference, default_kind)

    def defines(self, kind: str, name: str) -> bool:
        self._note(("defines", kind, name))
        return self._catalogue.defines(kind, name)

    def levels_of(self, service: str) -> list[Document[ServiceLevelSpec]]:
        self._note(("levels_of", service))
        return self._catalogue.levels_of(service)

    def incidents_of(self, service: str) -> list[Document[IncidentSpec]]:
        self._note(("incidents_of", service))
        return self._catalogue.incidents_of(service)

    def evidence_about(self, kind: str, name: str) -> list[Document[EvidenceSpec]]:
        self._note(("evidence_about", kind, name))
        return self._catalogue.evidence_about(kind, name)

    def services_owned_by(self, team: str) -> list[Document[ServiceSpec]]:
        self._note(("services_owned_by", team))
        return self._catalogue.services_owned_by(team)

    def services_with_access_policy(self, policy: str) -> list[Document[ServiceSpec]]:
        self._note(("services_with_access_policy", policy))
        return self._catalogue.services_with_access_policy(policy)

    def dependants_of(self, service: str) -> list[Document[ServiceSpec]]:
        self._note(("dependants_of", service))
        return self._catalogue.dependants_of(service)

    def windows_of(self, service: str) -> list[Document[MaintenanceWindowSpec]]:
        self._note(("windows_of", service))
        return self._catalogue.windows_of(service)

    def window_services_of(self, window: str) -> list[Document[ServiceSpec]]:
        self._note(("window_services_of", window))
        return self._catalogue.window_services_of(window)

    def in_force(self, level: Document, on: date) -> bool:
        """Recorded as that answer, not as the date: a result that read the date only here stays valid on
        any date that gives the same answers."""
        if self._catalogue.get(level.kind, level.name) is level:
            self._note(("in_force", level.kind, level.name))
        elif self.recorder is not None:
            self.recorder.as_of_read = True  # a level the catalogue does not index by its name: the date itself
        return self._catalogue.in_force(level, on)
