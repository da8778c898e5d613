"""Integration cost of a policy on an architecture (MODEL.md section 8; version 2: MODEL-v2.md section 7).

Deterministic: it follows from the route table, the client populations and the
policy, not from the random run. Every figure of the default `CostModel` and its
source (or the assumption behind it) is in tokensim/model/cost_data.py and
docs/parameters.md section 4; all of them can be overridden:
``CostModel().with_overrides({"weights": {"latency": 2}})`` or a cost file.

Units: `engineering_cost` person-days (one-off), `recurring_cost` person-days per year,
`integration_cost` cost points where one point is one person-day (it holds three years of recurring
cost and weighs latency and availability, so money is the work, ``day_rate x (engineering + years x
recurring)``: tokensim.analysis.return_on_cost). The arithmetic is in tokensim/model/cost_terms.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tokensim.display import quote
from tokensim.errors import InputError, did_you_mean
from tokensim.model import cost_data, limits
from tokensim.model.cost_data import STORAGES, SdkName, Storage, SupportStatus
from tokensim.model.cost_terms import integration_cost
from tokensim.model.fields import Fraction, not_boolean, within
from tokensim.model.loading import read_document, validate_as
from tokensim.model.schema import KeyStorage, Platform

__all__ = ["CostModel", "CostWeights", "RecurringCosts", "Support", "integration_cost", "load_costs"]

#: A figure of the cost table: finite, not negative, at most `limits.COST_FIGURE` (NaN and
#: negative figures made a sweep finish with NaN costs and empty plots: issue 11).
Figure = Annotated[float, BeforeValidator(not_boolean), within(limits.COST_FIGURE)]
#: A figure something is divided by: greater than zero as well.
PositiveFigure = Annotated[float, BeforeValidator(not_boolean), within(limits.COST_FIGURE, positive=True)]
#: A share of requests, 0 to 1.
Share = Fraction
#: The mechanisms that bind a token (bearer costs nothing).
Bound = Literal["dpop", "mtls"]
#: Version 1 keyed `sign_ms` by a client's `key_storage`; version 2 keys it by storage.
_SIGN_HINT = " (a client's key_storage, e.g. hardware, maps to a storage through key_storage_map)"


def _keys_among(allowed: tuple[str, ...], what: str, hint: str = "") -> BeforeValidator:
    """Refuse a mapping key outside ``allowed`` with one plain message (pydantic's names a ``[key]``)."""

    def check(value: object) -> object:
        if isinstance(value, dict):
            unknown = [k for k in value if k not in allowed]
            if unknown:
                close = did_you_mean(unknown[0], allowed)
                raise ValueError(f"unknown {what} {quote(unknown[0], 40)}{close}; allowed: {', '.join(allowed)}{hint}")
        return value

    return BeforeValidator(check)


PLATFORMS: tuple[str, ...] = get_args(Platform)
KEY_STORAGES: tuple[str, ...] = get_args(KeyStorage)
SDKS: tuple[str, ...] = get_args(SdkName)
BOUND: tuple[str, ...] = get_args(Bound)
#: The policy features with a one-off cost of their own (`feature_person_days`).
FEATURES: tuple[str, ...] = ("rotation", "reuse_detection", "nonce", "jit")


class CostWeights(BaseModel):
    """Weights of the composite ``integration_cost`` (units: cost points per unit)."""

    model_config = ConfigDict(extra="forbid")
    engineering: Figure = 1.0  # per person-day (one-off, and each recurring person-day of the horizon)
    latency: Figure = 1.0  # per ms added to the mean legitimate request
    token_endpoint: Figure = 0.01  # per request/s at the issuer
    availability: Figure = 1000.0  # per unit share of failed legitimate requests (10 per percentage point)
    unsupported: Figure = 100.0  # per unit share of instances that cannot do the policy


class Support(BaseModel):
    """What a platform or SDK can do for one mechanism: native, custom (``person_days`` of work) or unsupported."""

    model_config = ConfigDict(extra="forbid")
    status: SupportStatus
    person_days: Figure = 0.0


def _copy_of(table: dict[str, Any]) -> Callable[[], Any]:
    """A default factory: a deep copy of a `cost_data` table (each model gets its own)."""
    return lambda: copy.deepcopy(table)


def _support_table(table: dict[str, dict[str, tuple[SupportStatus, float]]]) -> Any:
    """A `cost_data` support table as `Support` records."""
    return {k: {m: Support(status=s, person_days=d) for m, (s, d) in v.items()} for k, v in table.items()}


class RecurringCosts(BaseModel):
    """The yearly cost of running a binding mechanism (person-days per year) and its outage risk."""

    model_config = ConfigDict(extra="forbid")
    rotation_person_days_per_year: Annotated[dict[Bound, Figure], _keys_among(BOUND, "mechanism")] = Field(
        default_factory=_copy_of(cost_data.ROTATION_PERSON_DAYS_PER_YEAR)
    )
    jti_store_person_days_per_year: Figure = cost_data.JTI_STORE_PERSON_DAYS_PER_YEAR
    person_days_per_rps_year: Figure = cost_data.PERSON_DAYS_PER_RPS_YEAR
    cert_outages_per_year: Figure = cost_data.CERT_OUTAGES_PER_YEAR
    cert_outage_hours: Figure = cost_data.CERT_OUTAGE_HOURS
    outage_person_days: Figure = cost_data.OUTAGE_PERSON_DAYS
    clock_skew_failure_share: Annotated[dict[Platform, Share], _keys_among(PLATFORMS, "platform")] = Field(
        default_factory=_copy_of(cost_data.CLOCK_SKEW_FAILURE_SHARE)
    )
    years: Figure = cost_data.RECURRING_YEARS  # the horizon `integration_cost` adds recurring cost over


class CostModel(BaseModel):
    """Cost table and weights; see docs/parameters.md for the source of each figure."""

    model_config = ConfigDict(extra="forbid")
    client_person_days: Annotated[
        dict[str, Annotated[dict[str, Figure], _keys_among(BOUND, "mechanism")]],
        _keys_among(PLATFORMS, "platform"),
    ] = Field(
        default_factory=lambda: {
            "browser": {"dpop": 5.0, "mtls": 30.0},
            "mobile": {"dpop": 4.0, "mtls": 5.0},
            "workload": {"dpop": 3.0, "mtls": 3.0},
            "ci": {"dpop": 5.0, "mtls": 5.0},
            "legacy": {"dpop": 20.0, "mtls": 20.0},
        }
    )
    resource_person_days: Annotated[dict[str, Figure], _keys_among(BOUND, "mechanism")] = Field(
        default_factory=lambda: {"dpop": 2.0, "mtls": 3.0}
    )
    intermediary_person_days: Figure = 1.0
    feature_person_days: Annotated[dict[str, Figure], _keys_among(FEATURES, "feature")] = Field(
        default_factory=lambda: {"rotation": 1.0, "reuse_detection": 1.0, "nonce": 2.0, "jit": 5.0}
    )
    #: milliseconds to sign one DPoP proof, per storage (`cost_data.SIGN_MS`)
    sign_ms: Annotated[dict[Storage, Figure], _keys_among(STORAGES, "storage", _SIGN_HINT)] = Field(
        default_factory=_copy_of(cost_data.SIGN_MS)
    )
    #: which storage a client's `key_storage` is on its platform (`cost_data.KEY_STORAGE_MAP`)
    key_storage_map: Annotated[
        dict[Platform, Annotated[dict[KeyStorage, Storage], _keys_among(KEY_STORAGES, "key_storage")]],
        _keys_among(PLATFORMS, "platform"),
    ] = Field(default_factory=_copy_of(cost_data.KEY_STORAGE_MAP))
    #: support gaps of each platform's usual libraries, and of the SDKs a client may name (`sdk`)
    platform_support: Annotated[
        dict[Platform, Annotated[dict[Bound, Support], _keys_among(BOUND, "mechanism")]],
        _keys_among(PLATFORMS, "platform"),
    ] = Field(default_factory=lambda: _support_table(cost_data.PLATFORM_SUPPORT))
    sdk_support: Annotated[
        dict[SdkName, Annotated[dict[Bound, Support], _keys_among(BOUND, "mechanism")]], _keys_among(SDKS, "sdk")
    ] = Field(default_factory=lambda: _support_table(cost_data.SDK_SUPPORT))
    dpop_verify_ms: Figure = 0.0587
    mtls_ms: Figure = 0.5
    nonce_round_trip_ms: Figure = 50.0
    concurrent_refresh_gap_seconds: PositiveFigure = 5.0  # divides the grace
    recurring: RecurringCosts = Field(default_factory=RecurringCosts)
    weights: CostWeights = Field(default_factory=CostWeights)

    def with_overrides(self, overrides: dict[str, Any], source: str = "costs") -> CostModel:
        """A copy with some entries replaced (nested mappings are merged at every depth); bad entries raise
        `InputError` naming ``source`` and the field."""
        return validate_as(CostModel, _merged(self.model_dump(), overrides), source)

    def storage_of(self, platform: str, key_storage: str) -> str:
        """The latency table's storage for a client's `key_storage` on its platform."""
        table = cast(dict[str, dict[str, str]], self.key_storage_map)
        return table.get(platform, {}).get(key_storage, key_storage)

    def support(self, platform: str, sdk: str | None, mechanism: str) -> Support:
        """What the client's platform, or the SDK it names, can do for ``mechanism`` (native when not listed).

        An SDK's entry replaces its platform's for the mechanisms it lists; a platform that cannot do a
        mechanism at all (`unsupported`) cannot do it whatever the SDK.
        """
        platforms = cast(dict[str, dict[str, Support]], self.platform_support)
        base = platforms.get(platform, {}).get(mechanism, Support(status="native"))
        if sdk is None or base.status == "unsupported":
            return base
        return cast(dict[str, dict[str, Support]], self.sdk_support).get(sdk, {}).get(mechanism, base)


def _merged(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``overrides`` laid over it, mappings merged key by key at every depth."""
    out = dict(data)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def load_costs(path: str | Path) -> CostModel:
    """The default cost model with the overrides of a YAML or JSON file."""
    data, source = read_document(path)
    if not isinstance(data, dict):
        raise InputError.single(source, "", "expected a mapping of cost-model entries")
    return CostModel().with_overrides(data, source)
