"""Delay distributions of model files (replay delay, response time): a fixed delay, log-normal, exponential, uniform.

Data only, like ``schema.py`` (which re-exports them); ``tokensim.sim.distributions`` draws from them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tokensim.model import limits
from tokensim.model.fields import Duration, DurationOrZero, not_boolean, within


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Strict):
    """A fixed delay."""

    distribution: Literal["fixed"] = "fixed"
    value: DurationOrZero


class LogNormal(_Strict):
    """Log-normal with the given median (a duration) and sigma of the log."""

    distribution: Literal["lognormal"]
    median: Duration
    sigma: Annotated[float, BeforeValidator(not_boolean), within(limits.SIGMA)] = 1.0


class Exponential(_Strict):
    """Exponential with the given mean."""

    distribution: Literal["exponential"]
    mean: Duration


class Uniform(_Strict):
    """Uniform between low and high."""

    distribution: Literal["uniform"]
    low: DurationOrZero
    high: DurationOrZero

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
    Field(discriminator="distribution"),
]
