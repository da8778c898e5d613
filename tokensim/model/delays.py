"""Delay distributions of model files (replay delay, response time): a fixed delay, log-normal, exponential, uniform.

Data only, like ``schema.py`` (which re-exports them); ``tokensim.sim.distributions`` draws from them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tokensim.model import limits
from tokensim.model.fields import Duration, DurationOrZero, not_boolean, within
from tokensim.model.file_schema import AlsoAccepts, unit_schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Strict):
    """A fixed delay."""

    distribution: Literal["fixed"] = Field("fixed", description="a fixed delay")
    value: DurationOrZero = Field(description="the delay")


class LogNormal(_Strict):
    """Log-normal with the given median (a duration) and sigma of the log."""

    distribution: Literal["lognormal"] = Field(description="log-normal delays")
    median: Duration = Field(description="the median delay")
    sigma: Annotated[float, BeforeValidator(not_boolean), within(limits.SIGMA)] = Field(
        1.0, description="sigma of the natural log of the delay (unitless)"
    )


class Exponential(_Strict):
    """Exponential with the given mean."""

    distribution: Literal["exponential"] = Field(description="exponential delays")
    mean: Duration = Field(description="the mean delay")


class Uniform(_Strict):
    """Uniform between low and high."""

    distribution: Literal["uniform"] = Field(description="delays uniform between low and high")
    low: DurationOrZero = Field(description="the shortest delay")
    high: DurationOrZero = Field(description="the longest delay (not below low)")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must not be below low")
        return self


def _plain_duration_is_fixed(value: object) -> object:
    """A plain duration (`1h`, a number) means a fixed delay."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"distribution": "fixed", "value": value}
    return value


DelayDistribution = Annotated[
    Fixed | LogNormal | Exponential | Uniform,
    BeforeValidator(_plain_duration_is_fixed),
    AlsoAccepts(unit_schema("duration_or_zero")),
    Field(discriminator="distribution"),
]
