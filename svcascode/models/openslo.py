"""OpenSLO v1 documents, accepted as they are: only their names, kinds and SLO objectives are checked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from svcascode.models.common import Name

OPENSLO_API_VERSION = "openslo/v1"
OPENSLO_KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource", "Service")


class OpenSloMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: Name
    display_name: Annotated[str, Strict()] | None = Field(None, alias="displayName")
    labels: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, Any] = Field(default_factory=dict)


class Objective(BaseModel):
    model_config = ConfigDict(extra="allow")

    target: Annotated[float, Strict(), Field(ge=0, lt=1)] | None = None


class SloSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    service: Annotated[str, Strict()]
    objectives: list[Objective] = Field(min_length=1)


class OpenSloDocument(BaseModel):
    """Any OpenSLO v1 document; its spec is kept as written."""

    model_config = ConfigDict(extra="forbid")

    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    kind: Literal["SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource",
                  "Service"]
    metadata: OpenSloMetadata
    spec: dict[str, Any] = Field(default_factory=dict)


class OpenSloSlo(OpenSloDocument):
    kind: Literal["SLO"]
    spec: SloSpec  # type: ignore[assignment]
