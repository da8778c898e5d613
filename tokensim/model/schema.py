"""Pydantic schema of model files (MODEL.md sections 1, 4, 5 and 7).

This module is data only: it says which fields exist, their units, defaults and
bounds. Cross-field rules (which leak vector fits which node, edge ends) live in
``validate.py``; turning the validated file into a graph lives in ``architecture.py``.
Durations are stored in hours and rates per hour (see ``units.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationInfo, field_validator

from tokensim.model import limits
from tokensim.model.cost_data import SDK_PLATFORMS, SdkName
from tokensim.model.delays import (
    DelayDistribution,
    Exponential,
    Fixed,
    LogNormal,
    Uniform,
    _plain_duration_is_fixed,
    _Strict,
)
from tokensim.model.fields import (
    Duration,
    DurationOrZero,
    Fraction,
    Instances,
    PerRequest,
    Rate,
    Records,
    Tenants,
    Verifiers,
    Weight,
    active_share,
    not_boolean,
    reach_share,
    within,
)
from tokensim.model.loss import LossFigures

Mechanism = Literal["bearer", "dpop", "mtls"]
KeyStorage = Literal["none", "software", "non_extractable", "hardware"]
Platform = Literal["browser", "mobile", "workload", "ci", "legacy"]
# fmt: off
Vector = Literal["log", "xss", "malware", "host_compromise", "secret_sprawl", "signing_key",
                 "consent_phishing", "device_code_phishing", "aitm"]  # the last three: phishing (MODEL-v2 s2)
# fmt: on
#: Where a leak's thief replays from (MODEL-v2.md section 3): the internet, the victim's host, a node inside.
Position = Literal["outside", "resident", "inside"]
#: Client authentication at the token endpoint (MODEL-v2.md section 1).
ClientAuth = Literal["none", "secret", "private_key_jwt", "tls_client_auth", "attestation"]
Grant = Literal["authorization_code", "client_credentials", "device_code", "token_exchange"]
#: What a client holds besides OAuth tokens: nothing, a static API key or PAT, or federated workload identity.
Credential = Literal["oauth", "static_key", "workload_identity"]


__all__ = ["DelayDistribution", "Exponential", "Fixed", "LogNormal", "Uniform"]  # re-exported from delays.py


class Leak(_Strict):
    """A Poisson leak process on a node (MODEL.md section 4).

    ``rate`` is per instance per year on clients (per host for ``host_compromise``)
    and per year on every other node. ``dwell`` is how long an on-device or on-host
    compromise lasts: while it lasts the thief can use non-exportable keys as an oracle.
    ``replay_delay``, when given, replaces the attacker's delay for this leak (a
    secret in a public repository is found later than loot from a live compromise).

    Version 2 (MODEL-v2.md sections 2 and 3): ``position`` says where the thief replays from (unset: the
    vector's default, `tokensim.model.validate.position_of`); ``reach`` makes one event a correlated leak
    that compromises each active instance with that probability (``rate`` is then per year for the whole
    population: events, not per instance); ``resources`` limits a consent phishing grant to what was consented.
    """

    vector: Vector
    rate: Rate
    dwell: Duration | None = None
    position: Position | None = None  # None: the vector's default (`validate.position_of`)
    reach: Annotated[float, BeforeValidator(not_boolean), AfterValidator(reach_share)] | None = None
    resources: list[str] | None = None  # consent_phishing: the consented resources (None: all the client's)
    replay_delay: Annotated[
        Fixed | LogNormal | Exponential | Uniform | None,
        BeforeValidator(_plain_duration_is_fixed),
        Field(discriminator="distribution"),
    ] = None  # tagged here: Optional[DelayDistribution] loses the tag


class _NodeBase(_Strict):
    leaks: list[Leak] = Field(default_factory=list)
    description: str = ""


#: Default lifetime (hours) of a workload identity token per platform. Kubernetes projected service-account
#: tokens: `expirationSeconds` "defaults to 1 hour" (Kubernetes API, ServiceAccountTokenProjection); GitHub
#: Actions OIDC ID tokens expire 5 minutes after issue (observed in the token's `exp`, undocumented by GitHub:
#: Azure/login issue 441; docker/login-action discussion 1069). Other platforms: assumption, as Kubernetes.
IDENTITY_TTL_DEFAULT: dict[str, float] = {"workload": 1.0, "ci": 5 / 60.0, "legacy": 1.0, "mobile": 1.0, "browser": 1.0}


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
    confidential: bool = False  # version 1: `true` means `auth: secret` (validate.py rejects a contradiction)
    auth: ClientAuth | None = None  # None: from `confidential` (`secret` or `none`); see `authentication`
    grants: list[Grant] | None = None  # None: from the client's other fields; see `grant_types`
    credential: Credential = "oauth"
    static_ttl: Duration | None = None  # a static key's lifetime; None: it never expires
    identity_ttl: Duration | None = None  # a workload identity token's lifetime; None: the platform's default
    key_lifetime: Duration | None = None  # an exported key's useful life (rotation, certificate); None: unlimited
    request_rate: Rate = 60.0
    tenants: Tenants = 1
    concurrent_refresh_fraction: Fraction = 0.0
    log_retention: Duration | None = None
    #: Share of time an instance runs (app open, workload up, laptop awake); 1: always (version 1).
    active_fraction: Annotated[float, BeforeValidator(not_boolean), AfterValidator(active_share)] = 1.0
    #: Mean length of one active spell (read only when active_fraction < 1). Assumption: 1 h.
    active_period: Duration = 1.0
    #: A resident thief can obtain a fresh grant with its own key without the user (a live issuer
    #: session, the app's or workload's own code). Default false: version 1 had no fresh grant.
    silent_grant: bool = False
    #: `bff`: a backend-for-frontend holds the tokens; the browser holds only a session cookie.
    token_handler: Literal["none", "bff"] = "none"
    #: Phishing-resistant authentication (FIDO2/WebAuthn, passkeys) or a device-bound session: an
    #: adversary-in-the-middle sign-in (`aitm`) gets nothing. Default false (version 1 had no aitm).
    phishing_resistant: bool = False
    #: The OAuth client SDK it is built on (cost model v2: its DPoP / mTLS support gaps); None: the platform's usual.
    sdk: SdkName | None = None

    @field_validator("sdk")
    @classmethod
    def _sdk_fits_platform(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if value is not None and platform is not None and SDK_PLATFORMS[value] != platform:
            raise ValueError(
                f"{value} is an SDK for {SDK_PLATFORMS[value]} clients, and this client's platform is {platform}"
            )
        return value

    @property
    def authentication(self) -> ClientAuth:
        """How the client authenticates: `auth`, else version 1's `confidential` (`secret`) or `none`."""
        if self.auth is not None:
            return self.auth
        return "secret" if self.confidential else "none"

    @property
    def is_confidential(self) -> bool:
        """Whether the client authenticates to the issuer (by its own credential or its workload identity)."""
        return self.authentication != "none" or self.credential == "workload_identity"

    @property
    def grant_types(self) -> tuple[Grant, ...]:
        """The grant types it is registered for: `grants`, else a default that keeps version-1 files meaningful.

        Assumption (docs/parameters.md): a confidential client without refresh tokens is a workload
        (`client_credentials`, RFC 6749 section 4.4); every other client is user-delegated
        (`authorization_code`, RFC 6749 section 4.1).
        """
        if self.grants is not None:
            return tuple(self.grants)
        if self.is_confidential and not self.holds_refresh_token:
            return ("client_credentials",)
        return ("authorization_code",)

    @property
    def identity_lifetime(self) -> float:
        """Lifetime of a workload identity token in hours: `identity_ttl`, else the platform's default."""
        if self.identity_ttl is not None:
            return self.identity_ttl
        return IDENTITY_TTL_DEFAULT.get(self.platform, IDENTITY_TTL_DEFAULT["workload"])


class Intermediary(_NodeBase):
    """Reverse proxy, load balancer or API gateway. ``forwards_host``: a TLS-terminating hop passes the original
    scheme and host on (X-Forwarded-* or Forwarded headers the verifier trusts); without it DPoP's htu breaks."""

    kind: Literal["proxy", "gateway"]
    terminates_tls: bool = True
    forwards_client_cert: bool = False
    # A TLS terminator forwards the original scheme and host (X-Forwarded-Proto/Host or RFC 7239 Forwarded)
    # and the verifier trusts them, so DPoP's htu still matches (RFC 9449 section 4.3). Assumption, as version 1
    # (docs/parameters.md): proxies differ (Envoy keeps the authority and sets x-forwarded-proto; nginx's
    # proxy_pass sends Host $proxy_host and no X-Forwarded-Proto unless configured).
    forwards_host: bool = True
    rewrites_uri: bool = False
    verifies_binding: bool = False
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0
    verifiers: Verifiers = 1  # DPoP verifier replicas, each its own jti cache (assumption: one)


class Mesh(_NodeBase):
    """A service-mesh hop: re-encrypts with workload identity (mesh mTLS); ``forwards_host`` as for proxies."""

    kind: Literal["mesh"]
    terminates_tls: bool = True
    forwards_client_cert: bool = False
    forwards_host: bool = True  # as for proxies (Envoy sidecars keep :authority and set x-forwarded-proto)
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
    """An API. ``sensitivity`` weighs its requests in the blast radius, ``privileged_weight`` its privileged ones
    again; per tenant it holds ``records`` and each request returns ``records_per_request`` of them. ``validation``: ``local`` (it checks
    self-contained tokens with the issuer's public key: a stolen signing key forges tokens here) or
    ``introspection`` (it asks the issuer about opaque tokens: forged tokens fail); unset: ``introspection``
    for an ``introspection`` issuer, else ``local``."""

    kind: Literal["resource"]
    sensitivity: Annotated[float, BeforeValidator(not_boolean), within(limits.SENSITIVITY, positive=True)] = 1.0
    privileged_fraction: Fraction = 0.1
    accepts: Literal["any", "bound"] = "bound"
    #: harm of a privileged request relative to a read here (MODEL-v2 section 6); 1: version 1
    privileged_weight: Weight = 1.0
    records: Records | None = None  # per tenant: records exposed saturate at it (unset: no records counted)
    #: records one successful request returns (a bulk export: many). Assumption: 1, one record per read
    records_per_request: PerRequest = 1
    issuer: str | None = None
    # unset: `local` for resources of `jwt` and `caep` issuers, `introspection` for `introspection` issuers
    # (MODEL-v2 section 9; `Architecture.validation_of`)
    validation: Literal["local", "introspection"] | None = None
    logs_tokens: bool = False
    log_retention: Duration = 30 * 24.0
    verifiers: Verifiers = 1  # DPoP verifier replicas, each its own jti cache (assumption: one)
    #: IP allow-listing or a private network: a request from outside the victim's network fails (MODEL-v2
    #: section 3; FACTS.md, Drift: one victim's allow-list blocked the replay). Default false: version 1.
    network_allow_list: bool = False


def _every_mechanism() -> list[Mechanism]:
    """An issuer's mechanisms when its file names none: all three (version 1)."""
    return ["bearer", "dpop", "mtls"]


class Issuer(_NodeBase):
    """An authorization server; ``revocation`` says when revocation takes effect; ``supports`` which tokens it
    issues (bearer, DPoP-bound (RFC 9449), certificate-bound (RFC 8705)): Microsoft Entra ID issues no RFC 9449
    DPoP tokens (its proof-of-possession is its own signed HTTP request, SHR; FACTS.md, Integration effort)."""

    kind: Literal["issuer"]
    revocation: Literal["introspection", "jwt", "caep"] = "jwt"
    propagation_delay: DurationOrZero = 5.0 / 60.0
    supports: list[Mechanism] = Field(default_factory=_every_mechanism)  # assumption: version 1, no issuer gaps


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
    #: How far past the dwell a thief with a signing oracle pre-signs DPoP proofs (RFC 9449 s11.2);
    #: none: as far as the tokens it holds live.
    presign_horizon: Duration | None = None


class Defender(_Strict):
    """Detection of unauthorized requests (and failed ones) and the response to it (MODEL-v2.md section 5)."""

    detection_probability: Fraction = 0.01
    #: A bound token presented without a valid proof or with the wrong certificate is detected with this
    #: probability (MODEL-v2.md section 5). Default 0, version 1. Assumption (docs/parameters.md).
    binding_failure_detection: Fraction = 0.0
    #: A token presented at a resource outside its audience is detected with this probability. Default 0.
    failure_detection: Fraction = 0.0
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
    loss: LossFigures | None = None  # money per unit of harm (MODEL-v2 section 6); None: no `loss` column
