"""Pydantic schema of model files (MODEL.md sections 1, 4, 5 and 7).

This module is data only: it says which fields exist, their units, defaults and
bounds. Cross-field rules (which leak vector fits which node, edge ends) live in
``validate.py``; turning the validated file into a graph lives in ``architecture.py``.
Durations are stored in hours and rates per hour (see ``units.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from tokensim.model import limits
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


def within(bound: Bound, *, positive: bool = False) -> AfterValidator:
    """Check a float field against ``bound`` (greater than its lower end if ``positive``) and that it is finite."""
    return AfterValidator(lambda v: limits.real_number(v, bound, positive=positive))


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
Duration = Annotated[float, BeforeValidator(_reading(parse_duration, "h", _duration(positive=True)))]
#: A duration that may be zero (grace windows, delays).
DurationOrZero = Annotated[float, BeforeValidator(_reading(parse_duration, "h", _duration(positive=False)))]
#: A run's horizon: a positive duration of at most 100 years (`limits.HORIZON`).
Horizon = Annotated[
    float,
    BeforeValidator(
        _reading(parse_duration, "h", lambda h, w: limits.duration_in(h, w, limits.HORIZON, positive=True))
    ),
]
#: A rate per hour, written `0.2/year`, `3/day`, `30/h`; zero switches it off; at most 1000/s.
Rate = Annotated[float, BeforeValidator(_reading(parse_rate, "/year", limits.rate_in))]
Fraction = Annotated[float, BeforeValidator(not_boolean), AfterValidator(_fraction)]
#: Counts (`limits.INSTANCES`, `TENANTS`, `RECORDS`); the JSON schema shows their ranges.
Instances = Annotated[int, Field(ge=1, le=limits.INSTANCES.high), whole(limits.INSTANCES)]
Tenants = Annotated[int, Field(ge=1, le=limits.TENANTS.high), whole(limits.TENANTS)]
Records = Annotated[int, Field(ge=0, le=limits.RECORDS.high), whole(limits.RECORDS)]
#: Replicas of a node that verify DPoP proofs, each with its own `jti` cache under `jti_tracking: per_node`.
#: Assumption: a thousand replicas, beyond any single verifier tier; the default 1 is an assumption as well.
VERIFIERS = Bound(1, 1000, "1,000", "more verifier replicas than one node of a model stands for")
Verifiers = Annotated[int, Field(ge=1, le=VERIFIERS.high), whole(VERIFIERS)]

Mechanism = Literal["bearer", "dpop", "mtls"]
KeyStorage = Literal["none", "software", "non_extractable", "hardware"]
Platform = Literal["browser", "mobile", "workload", "ci", "legacy"]
Vector = Literal["log", "xss", "malware", "host_compromise", "secret_sprawl", "signing_key"]


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


class Leak(_Strict):
    """A Poisson leak process on a node (MODEL.md section 4).

    ``rate`` is per instance per year on clients (per host for ``host_compromise``)
    and per year on every other node. ``dwell`` is how long an on-device or on-host
    compromise lasts: while it lasts the thief can use non-exportable keys as an oracle.
    ``replay_delay``, when given, replaces the attacker's delay for this leak (a
    secret in a public repository is found later than loot from a live compromise).
    """

    vector: Vector
    rate: Rate
    dwell: Duration | None = None
    replay_delay: Annotated[
        Fixed | LogNormal | Exponential | Uniform | None,
        BeforeValidator(_plain_duration_is_fixed),
        Field(discriminator="distribution"),
    ] = None  # tagged here: Optional[DelayDistribution] loses the tag


class _NodeBase(_Strict):
    leaks: list[Leak] = Field(default_factory=list)
    description: str = ""


def _bearer_only() -> list[Mechanism]:
    """A client's mechanisms when its file names none: bearer tokens only."""
    return ["bearer"]


class Client(_NodeBase):
    """A population of identical client instances."""

    kind: Literal["client"]
    platform: Platform
    instances: Instances = 1
    hosts: Instances | None = None
    key_storage: KeyStorage = "software"
    supports: list[Mechanism] = Field(default_factory=_bearer_only)
    holds_refresh_token: bool = False
    confidential: bool = False
    request_rate: Rate = 60.0
    tenants: Tenants = 1
    concurrent_refresh_fraction: Fraction = 0.0
    log_retention: Duration | None = None


class Intermediary(_NodeBase):
    """Reverse proxy, load balancer or API gateway."""

    kind: Literal["proxy", "gateway"]
    terminates_tls: bool = True
    forwards_client_cert: bool = False
    rewrites_uri: bool = False
    verifies_binding: bool = False
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0
    verifiers: Verifiers = 1  # DPoP verifier replicas, each its own jti cache (assumption: one)


class Mesh(_NodeBase):
    """A service-mesh hop: re-encrypts with workload identity (mesh mTLS)."""

    kind: Literal["mesh"]
    terminates_tls: bool = True
    forwards_client_cert: bool = False
    rewrites_uri: bool = False
    verifies_binding: bool = False
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0
    verifiers: Verifiers = 1  # DPoP verifier replicas, each its own jti cache (assumption: one)


class Broker(_NodeBase):
    """A SaaS integration or token-exchange broker holding tokens for many tenants."""

    kind: Literal["broker"]
    tenants: Tenants = 1
    exchange: Literal["preserve", "strip", "fail"] = "strip"
    key_storage: KeyStorage = "software"
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0


class Resource(_NodeBase):
    """An API. ``sensitivity`` weighs its requests in the blast radius."""

    kind: Literal["resource"]
    sensitivity: Annotated[float, BeforeValidator(not_boolean), within(limits.SENSITIVITY, positive=True)] = 1.0
    privileged_fraction: Fraction = 0.1
    accepts: Literal["any", "bound"] = "bound"
    records: Records | None = None
    issuer: str | None = None
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0
    verifiers: Verifiers = 1  # DPoP verifier replicas, each its own jti cache (assumption: one)


class Issuer(_NodeBase):
    """An authorization server; ``revocation`` says when revocation takes effect."""

    kind: Literal["issuer"]
    revocation: Literal["introspection", "jwt", "caep"] = "jwt"
    propagation_delay: DurationOrZero = 5.0 / 60.0


Node = Annotated[Client | Intermediary | Mesh | Broker | Resource | Issuer, Field(discriminator="kind")]

#: Node class for each ``kind`` value (used for error messages and the schema).
NODE_CLASSES: dict[str, type[BaseModel]] = {
    "client": Client,
    "proxy": Intermediary,
    "gateway": Intermediary,
    "mesh": Mesh,
    "broker": Broker,
    "resource": Resource,
    "issuer": Issuer,
}


class Attacker(_Strict):
    """When and how hard the thief replays (MODEL.md section 5)."""

    replay_delay: DelayDistribution = Field(
        default_factory=lambda: LogNormal(distribution="lognormal", median=1.0, sigma=1.0)
    )
    replay_rate: Rate = 30.0
    targeting: Literal["sensitivity", "uniform"] = "sensitivity"


class Defender(_Strict):
    """Detection of unauthorized requests and the response to it (MODEL.md section 7)."""

    detection_probability: Fraction = 0.01
    response_time: DelayDistribution = Field(default_factory=lambda: Exponential(distribution="exponential", mean=24.0))


Edge = Annotated[list[str], Field(min_length=2, max_length=2)]


class ModelFile(_Strict):
    """A whole architecture model file."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    nodes: Annotated[dict[str, Node], Field(min_length=1)]
    edges: list[Edge] = Field(default_factory=list)
    attacker: Attacker = Field(default_factory=Attacker)
    defender: Defender = Field(default_factory=Defender)
