"""Scorecard: maturity levels (bronze, silver, gold, ...) in order, each a set of controls a service must pass."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from svcascode.models.common import Envelope, FieldError, Model, Name, Text, Tier

MAX_DELIVERY_WINDOWS = 24  # windows back a level may look for a breach: two years of months

MAX_LEVELS = 20  # levels per scorecard: a ladder, not a database
MAX_LEVEL_CONTROLS = 200  # control ids per level (and per tier of a level)


class Level(Model):
    """One rung: a service reaches it when it passes these controls and every lower level's."""

    name: Name
    title: Text | None = None
    description: Text | None = None
    controls: list[Name] = Field(default_factory=list, max_length=MAX_LEVEL_CONTROLS,
                                 description="control ids every service must pass for this level")
    tiers: dict[Tier, Annotated[list[Name], Field(max_length=MAX_LEVEL_CONTROLS)]] = Field(
        default_factory=dict, description="tier -> further control ids that services of that tier must pass")
    no_breached_windows: Annotated[int, Strict(), Field(ge=1, le=MAX_DELIVERY_WINDOWS)] | None = Field(
        None, description="service levels as delivered: no window of the service's levels in force is breached "
        "among the current one and this many complete ones before it (1: the current and the last)")

    @model_validator(mode="after")
    def _bounded(self) -> Level:
        if not self.controls and not any(self.tiers.values()) and self.no_breached_windows is None:
            raise FieldError("controls", "a level needs at least one control, in `controls:` or `tiers:`, or "
                             "`noBreachedWindows:`")
        return self

    def controls_for(self, tier: str) -> list[str]:
        """The controls a service of this tier must pass for this level, each once, in the written order."""
        extra = next((ids for name, ids in self.tiers.items() if name == tier), [])
        return list(dict.fromkeys([*self.controls, *extra]))


class ScorecardSpec(Model):
    levels: list[Level] = Field(min_length=1, max_length=MAX_LEVELS,
                                description="lowest first; a service's level is the highest it passes with all "
                                            "the levels below it")

    @model_validator(mode="after")
    def _unique_names(self) -> ScorecardSpec:
        seen: set[str] = set()
        for level in self.levels:
            if level.name in seen:
                raise FieldError("levels", f"level '{level.name}' is defined twice; level names are unique")
            seen.add(level.name)
        return self


class Scorecard(Envelope):
    kind: Literal["Scorecard"]
    spec: ScorecardSpec
