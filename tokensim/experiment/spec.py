"""Experiment files: which models, policies and factors to sweep, how, and how often.

    name: ttl-vs-policy
    models: [spa_behind_proxy, saas_broker]
    policies: [bearer, hybrid, dpop]
    factors:
      policy.access_ttl: [5m, 15m, 1h, 8h]
      policy.rotation: [false, true]
    design: grid
    replications: 50
    seed: 20261125
    horizon: 90d

Validated with pydantic like model files; every problem names the file and field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tokensim.model import limits
from tokensim.model.fields import Horizon, not_boolean, whole, within
from tokensim.model.file_schema import AlsoAccepts
from tokensim.model.units import parse_duration, parse_rate

#: Counts of an experiment file and their ranges (`limits`); the JSON schema shows them.
Replications = Annotated[int, Field(ge=1, le=limits.REPLICATIONS.high), whole(limits.REPLICATIONS)]
Samples = Annotated[int, Field(ge=1, le=limits.VARIANTS.high), whole(limits.VARIANTS)]
Steps = Annotated[int, Field(ge=2, le=limits.STEPS.high), whole(limits.STEPS)]
Levels = Annotated[int, Field(ge=2, le=limits.LEVELS.high), whole(limits.LEVELS)]
Seed = Annotated[int, Field(ge=0, le=limits.SEED.high), BeforeValidator(limits.seed)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A numeric range: ``{low, high}`` (durations and rates accepted), optional ``steps`` for grids, ``log`` spacing."""

    low: Annotated[float | str, BeforeValidator(not_boolean)] = Field(description="the low end (a unit for durations)")
    high: Annotated[float | str, BeforeValidator(not_boolean)] = Field(description="the high end, above low")
    steps: Steps | None = Field(None, description="points of a grid design over the range")
    log: bool = Field(False, description="log spacing (low above zero)")

    @model_validator(mode="after")
    def _not_empty(self) -> Range:
        low, high = range_end(self.low), range_end(self.high)
        for end, value in (("low", low), ("high", high)):
            if not math.isfinite(value):
                raise ValueError(f"{end} must be a finite number, got {getattr(self, end)!r}")
        if not low < high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.log and not low > 0:
            raise ValueError(f"a log range needs low above zero, got {self.low}")
        return self


def range_end(value: float | str) -> float:
    """A range end as a number (durations in hours, rates per hour); UnitError (a ValueError) if unreadable."""
    if isinstance(value, str):
        return parse_rate(value) if "/" in value else parse_duration(value)
    return float(value)


def _factor_values(value: object) -> object:
    if isinstance(value, dict) and "low" in value:
        return Range.model_validate(value)
    if isinstance(value, list) and not value:
        raise ValueError("empty list of values; give at least one value or a range {low, high}")
    if isinstance(value, list):
        return tuple(value)
    return value


FactorValues = Annotated[Range | tuple[Any, ...], BeforeValidator(_factor_values)]


class PolicyEntry(_Strict):
    """A policy: a preset or policy file (``base``) with parameter overrides and an optional name."""

    base: str = Field(description="a preset (bearer, dpop, mtls, hybrid, hybrid_jit) or a policy file")
    name: str | None = Field(None, description="the label in results; unset: base's name")
    set: dict[str, Any] = Field(default_factory=dict, description="policy parameters to override, e.g. access_ttl: 5m")


#: A policy given by its name alone (a preset or a policy file), as `_policy_entry` reads it.
_POLICY_NAME = {"type": "string", "description": "a preset or a policy file"}


def _policy_entry(value: object) -> object:
    if isinstance(value, str):
        return {"base": value}
    return value


class Until(_Strict):
    """Sequential stopping: add replications until the interval of ``metric`` is tight enough."""

    metric: str = Field("blast_radius", description="the outcome metric whose interval decides")
    rel_ci: Annotated[float, BeforeValidator(not_boolean), within(limits.REL_CI, positive=True)] = Field(
        0.05, description="target 95% interval half-width relative to the mean"
    )
    max_replications: Replications = Field(1000, description="stop at this many replications in any case")
    batch: Replications | None = Field(None, description="replications added per round; unset: replications")


class DesignOptions(_Strict):
    """Sizes of sampled designs: ``samples`` (LHS points, Sobol base N, Morris trajectories), Morris ``levels``."""

    samples: Samples = Field(16, description="LHS points, Sobol base N or Morris trajectories")
    levels: Levels = Field(4, description="Morris grid levels")


class ExperimentFile(_Strict):
    """A whole experiment file."""

    name: Annotated[str, Field(min_length=1)] = Field(description="the experiment's name (its default results folder)")
    description: str = Field("", description="free text: what the experiment is")
    question: str = Field("", description="the question it answers, in words: the report's first line (not hashed)")
    models: Annotated[list[str], Field(min_length=1)] = Field(description="model files or built-in model names")
    policies: Annotated[
        list[Annotated[PolicyEntry, BeforeValidator(_policy_entry), AlsoAccepts(_POLICY_NAME)]], Field(min_length=1)
    ] = Field(description="presets or policy files, each a name or {base, name, set}")
    factors: dict[str, FactorValues] = Field(
        default_factory=dict, description="what varies: policy.PARAM or a model field path, to a list or {low, high}"
    )
    design: Literal["grid", "lhs", "sobol", "morris"] = Field("grid", description="how factor values are combined")
    design_options: DesignOptions = Field(default_factory=DesignOptions, description="sizes of sampled designs")
    replications: Replications = Field(10, description="paired replications per variant and policy")
    seed: Seed = Field(0, description="the root seed: same seed, same results")
    horizon: Horizon = Field(90 * 24.0, description="simulated time of each run")
    out: str | None = Field(None, description="the results folder (--out wins); unset: results/NAME")
    until: Until | None = Field(None, description="sequential stopping: replications until the interval is tight")
    costs: dict[str, Any] = Field(default_factory=dict, description="integration-cost overrides, as a cost file")

    @model_validator(mode="after")
    def _sampled_designs_need_factors(self) -> ExperimentFile:
        if self.design != "grid" and not self.factors:
            raise ValueError(f"design {self.design!r} samples factors, but none are given")
        return self
