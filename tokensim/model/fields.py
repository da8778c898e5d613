"""Field types of model and policy files: durations, rates, fractions and counts, checked and in hours.

Every model and policy field of a kind shares one type here, so that units, ranges and the wording
of a refusal are the same everywhere (`tokensim/model/schema.py`, `tokensim/model/policy.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from tokensim.model import limits
from tokensim.model.file_schema import Bounds, UnitText
from tokensim.model.limits import Bound
from tokensim.model.units import parse_duration, parse_rate


def not_boolean(value: object) -> object:
    """YAML reads `true` as a boolean, which pydantic would take for 1: a boolean is not a number."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r} (a boolean is not a number)")
    return value


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a fraction in [0, 1], got {value:g}")
    return value


def active_share(value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be a share of time in (0, 1], got {value:g}")
    return value


def reach_share(value: float) -> float:
    """A correlated leak's reach: the probability that one event compromises a given active instance."""
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be a probability in (0, 1], got {value:g}")
    return value


@dataclass(frozen=True, slots=True)
class _Within(AfterValidator):
    """An `AfterValidator` that checks a `Bound` and shows it in the JSON Schema."""

    bound: Bound | None = None
    positive: bool = False

    def __get_pydantic_json_schema__(self, core: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        assert self.bound is not None, "within() gives every _Within its bound"
        low = "exclusiveMinimum" if self.positive else "minimum"
        return Bounds({low: self.bound.low, "maximum": self.bound.high}).__get_pydantic_json_schema__(core, handler)


def within(bound: Bound, *, positive: bool = False) -> AfterValidator:
    """Check a float field against ``bound`` (greater than its lower end if ``positive``) and that it is finite."""
    check: Any = lambda v: limits.real_number(v, bound, positive=positive)  # noqa: E731
    return _Within(check, bound, positive)


def whole(bound: Bound) -> BeforeValidator:
    """Read an int field as a count inside ``bound``: an integral float (a grid's 100.0) counts, a boolean does not."""
    return BeforeValidator(lambda v: limits.whole_number(v, bound))


def _units_required(info: ValidationInfo) -> bool:
    """Files must say their units; Python callers may pass hours and per-hour numbers."""
    return bool(info.context and info.context.get("units_required"))


def _reading(
    parse: Callable[[object], float], example: str, check: Callable[[float, object], float]
) -> Callable[[object, ValidationInfo], float]:
    """A validator that parses a duration or rate and checks its range (`limits`), quoting what the user wrote."""

    def read(value: object, info: ValidationInfo) -> float:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        if _units_required(info) and isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
            raise ValueError(f"{value!r} has no unit; write it with one, e.g. {value}{example}")
        return check(parse(value), value)

    return read


def _duration(positive: bool) -> Callable[[float, object], float]:
    return lambda hours, written: limits.duration_in(hours, written, limits.DURATION, positive=positive)


#: A strictly positive duration in hours, written `90s`, `15m`, `1h`, `30d`, `1y` (1 ms to 1000 years).
Duration = Annotated[
    float, BeforeValidator(_reading(parse_duration, "h", _duration(positive=True))), UnitText("duration", "1000y")
]
#: A duration that may be zero (grace windows, delays).
DurationOrZero = Annotated[
    float,
    BeforeValidator(_reading(parse_duration, "h", _duration(positive=False))),
    UnitText("duration_or_zero", "1000y"),
]
#: A run's horizon: a positive duration of at most 100 years (`limits.HORIZON`).
Horizon = Annotated[
    float,
    BeforeValidator(
        _reading(parse_duration, "h", lambda h, w: limits.duration_in(h, w, limits.HORIZON, positive=True))
    ),
    UnitText("duration", "100y"),
]
#: A rate per hour, written `0.2/year`, `3/day`, `30/h`; zero switches it off; at most 1000/s.
Rate = Annotated[float, BeforeValidator(_reading(parse_rate, "/year", limits.rate_in)), UnitText("rate", "1000/s")]
Fraction = Annotated[
    float, BeforeValidator(not_boolean), AfterValidator(_fraction), Bounds({"minimum": 0, "maximum": 1})
]
#: A share of time or a probability in (0, 1] (`active_share`, `reach_share`).
Share = Bounds({"exclusiveMinimum": 0, "maximum": 1})
#: Counts (`limits.INSTANCES`, `TENANTS`, `RECORDS`); the JSON schema shows their ranges.
Instances = Annotated[int, Field(ge=1, le=limits.INSTANCES.high), whole(limits.INSTANCES)]
Tenants = Annotated[int, Field(ge=1, le=limits.TENANTS.high), whole(limits.TENANTS)]
Records = Annotated[int, Field(ge=0, le=limits.RECORDS.high), whole(limits.RECORDS)]
#: Records one successful request returns: at least 1 (a request that returns none exposes nothing: leave
#: `records` unset instead).
PerRequest = Annotated[int, Field(ge=1, le=limits.RECORDS.high), whole(limits.RECORDS)]
#: A weight relative to 1 (`limits.PRIVILEGED_WEIGHT`): finite, not negative, not a boolean.
Weight = Annotated[float, BeforeValidator(not_boolean), within(limits.PRIVILEGED_WEIGHT)]
#: A money figure (`limits.MONEY`), in the model's `loss.currency`.
Money = Annotated[float, BeforeValidator(not_boolean), within(limits.MONEY)]
#: Replicas of a node that verify DPoP proofs, each with its own `jti` cache under `jti_tracking: per_node`.
#: Assumption: a thousand replicas, beyond any single verifier tier; the default 1 is an assumption as well.
VERIFIERS = Bound(1, 1000, "1,000", "more verifier replicas than one node of a model stands for")
Verifiers = Annotated[int, Field(ge=1, le=VERIFIERS.high), whole(VERIFIERS)]
