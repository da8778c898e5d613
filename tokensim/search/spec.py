"""Search files: the policy space to search, what to minimise, the target, and how hard to look.

    name: spa-policy-search
    model: spa_behind_proxy
    base: bearer                         # every candidate starts from this policy
    space:                               # what varies, like an experiment's factors
      privileged: [[bearer], [dpop, bearer], [dpop]]
      access_ttl: {low: 5m, high: 8h, log: true}
      rotation: [false, true]
      overrides.ci.access_ttl: [5m, 1h]  # a per-client override
    target: 500                          # keep the harm (blast radius) at or under this
    budget: 60                           # candidates the optimiser evaluates
    population: 12
    replications: 5
    seed: 1
    horizon: 90d

Validated with pydantic like experiment files; every problem names the file and the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from tokensim.errors import did_you_mean
from tokensim.experiment.spec import FactorValues, Replications, Seed
from tokensim.model import limits
from tokensim.model.fields import Horizon, not_boolean, whole, within
from tokensim.model.policy import OVERRIDABLE, PARAMETERS

#: The policy presets a search compares its answer with, on the same common random numbers.
PRESETS = ("bearer", "hybrid", "dpop", "mtls")
#: Policy parameters a space may vary (the name labels a candidate; overrides are varied per client).
SEARCHABLE = tuple(p for p in PARAMETERS if p not in ("name", "overrides"))
#: How many candidates one search may evaluate (each on ``replications`` runs, refinement aside).
Budget = Annotated[int, Field(ge=1, le=limits.CANDIDATES.high), whole(limits.CANDIDATES)]
Population = Annotated[int, Field(ge=2, le=limits.POPULATION.high), whole(limits.POPULATION)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def space_problem(key: str) -> str | None:
    """Why a space key names no searchable setting (None when it does): a policy parameter, or
    ``overrides.CLIENT.PARAM`` for a per-client override (CLIENT: a client node or a platform)."""
    if key.startswith("overrides."):
        parts = key.split(".")
        if len(parts) != 3 or not parts[1]:
            return "a per-client override is written overrides.CLIENT.PARAMETER (e.g. overrides.ci.access_ttl)"
        if parts[2] not in OVERRIDABLE:
            return f"a client cannot override {parts[2]!r}{did_you_mean(parts[2], OVERRIDABLE)}; it can: {', '.join(OVERRIDABLE)}"
        return None
    if key not in SEARCHABLE:
        return f"unknown policy parameter {key!r}{did_you_mean(key, SEARCHABLE)}; allowed: {', '.join(SEARCHABLE)}"
    return None


class SearchFile(_Strict):
    """A whole search file."""

    name: Annotated[str, Field(min_length=1)] = Field(description="the search's name (its default results folder)")
    description: str = Field("", description="free text: what the search is for")
    model: str | None = Field(None, description="a model file or a built-in model name (the command's MODEL wins)")
    base: str = Field("bearer", description="the preset or policy file every candidate starts from")
    space: Annotated[dict[str, FactorValues], Field(min_length=1)] = Field(
        description="what varies: a policy parameter or overrides.CLIENT.PARAMETER, to a list of choices or {low, high}"
    )
    harm: str = Field("blast_radius", description="the outcome to keep low: blast_radius, loss or another metric")
    cost: str = Field("integration_cost", description="the cost to keep low")
    target: Annotated[float, BeforeValidator(not_boolean), within(limits.TARGET, positive=True)] | None = Field(
        None, description="the harm the answer must stay at or under (on the upper end of its 95% interval)"
    )
    budget: Budget = Field(60, description="candidates the optimiser evaluates")
    population: Population = Field(12, description="candidates per generation (NSGA-II's population)")
    sampler: Literal["nsga2", "tpe", "random"] = Field("nsga2", description="optuna's sampler")
    replications: Replications = Field(5, description="paired replications per candidate (common random numbers)")
    max_replications: Replications = Field(
        20, description="refinement: replications a candidate contending for the front may get"
    )
    rel_ci: Annotated[float, BeforeValidator(not_boolean), within(limits.REL_CI, positive=True)] = Field(
        0.1, description="refinement stops when the harm interval's half-width is this share of its mean"
    )
    presets: list[str] = Field(list(PRESETS), description="presets (or policy files) compared with the answer")
    seed: Seed = Field(0, description="the root seed: same seed, same search, same front")
    horizon: Horizon = Field(90 * 24.0, description="simulated time of each run")
    costs: dict[str, Any] = Field(default_factory=dict, description="integration-cost overrides, as a cost file")
    out: str | None = Field(None, description="the results folder (--out wins); unset: results/NAME")

    @field_validator("space")
    @classmethod
    def _known_settings(cls, space: dict[str, Any]) -> dict[str, Any]:
        for key in space:
            why = space_problem(key)
            if why:
                raise ValueError(f"{key}: {why}")
        return space

    @model_validator(mode="after")
    def _sizes(self) -> SearchFile:
        if self.max_replications < self.replications:
            raise ValueError(f"max_replications ({self.max_replications}) is below replications ({self.replications})")
        return self
