"""The nodes of a model file and their leaks (MODEL.md sections 1 and 4; MODEL-v2.md sections 1 to 3).

Data only, re-exported by ``schema.py``: which fields exist, their units, defaults, bounds and what each
means (the ``description`` of every field is what `tokensim schema` shows an editor; docs/parameters.md
says more, with sources). Durations are stored in hours and rates per hour (see ``units.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from tokensim.model import limits
from tokensim.model.cost_data import SDK_PLATFORMS, SdkName
from tokensim.model.delays import Exponential, Fixed, LogNormal, Uniform, _plain_duration_is_fixed, _Strict
from tokensim.model.fields import (
    Duration,
    DurationOrZero,
    Fraction,
    Instances,
    PerRequest,
    Rate,
    Records,
    Share,
    Tenants,
    Verifiers,
    Weight,
    active_share,
    not_boolean,
    reach_share,
    within,
)
from tokensim.model.file_schema import AlsoAccepts, unit_schema

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

#: Descriptions that several node kinds share.
LOGS_TOKENS = "its logs hold tokens (and DPoP proofs); a `log` leak on the node needs it"
LOG_RETENTION = "how far back a `log` leak on the node reaches"
VERIFIERS = "replicas that verify DPoP proofs, each with its own jti cache (read under jti_tracking: per_node)"
KEY_STORAGE = "where the key lives: software keys are exported by a compromise, the others only serve as an oracle"


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

    vector: Vector = Field(description="how tokens leak; which vectors fit which node: docs/parameters.md")
    rate: Rate = Field(
        description="leaks per instance per year on a client (per host for host_compromise), else per year"
    )
    dwell: Duration | None = Field(None, description="how long the compromise lasts (xss, malware, host_compromise)")
    position: Position | None = Field(None, description="where the thief replays from; unset: the vector's default")
    reach: Annotated[float, BeforeValidator(not_boolean), AfterValidator(reach_share), Share] | None = Field(
        None, description="a correlated leak: one event compromises each active instance with this probability"
    )
    resources: list[str] | None = Field(
        None, description="consent_phishing only: the consented resources; unset: all the client's"
    )
    replay_delay: Annotated[
        Fixed | LogNormal | Exponential | Uniform | None,
        BeforeValidator(_plain_duration_is_fixed),
        AlsoAccepts(unit_schema("duration_or_zero")),
        Field(discriminator="distribution"),
    ] = Field(None, description="replaces the attacker's replay delay for this leak (a duration: a fixed delay)")


class _NodeBase(_Strict):
    leaks: list[Leak] = Field(default_factory=list, description="the leak processes on this node")
    description: str = Field("", description="free text for readers")


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

    kind: Literal["client"] = Field(description="the node's kind")
    platform: Platform = Field(description="decides the allowed leak vectors, costs and support gaps")
    instances: Instances = Field(1, description="number of identical instances")
    hosts: Instances | None = Field(None, description="hosts the instances spread over; unset: one each")
    key_storage: KeyStorage = Field("software", description=KEY_STORAGE)
    supports: list[Mechanism] = Field(default_factory=_bearer_only, description="mechanisms the client can do")
    holds_refresh_token: bool = Field(False, description="whether instances hold a refresh token")
    # version 1: `true` means `auth: secret` (validate.py rejects a contradiction)
    confidential: bool = Field(False, description="version 1's spelling: true means auth: secret")
    auth: ClientAuth | None = Field(None, description="client authentication; unset: secret if confidential, else none")
    grants: list[Grant] | None = Field(None, description="registered grant types; unset: from the other fields")
    credential: Credential = Field("oauth", description="what the client holds besides OAuth tokens")
    static_ttl: Duration | None = Field(None, description="a static_key's lifetime; unset: it never expires")
    identity_ttl: Duration | None = Field(None, description="a workload identity token's lifetime; unset: 1h, 5m on ci")
    key_lifetime: Duration | None = Field(None, description="how long an exported key stays useful; unset: unlimited")
    request_rate: Rate = Field(60.0, description="legitimate requests per instance")
    tenants: Tenants = Field(1, description="organisations the client acts for")
    concurrent_refresh_fraction: Fraction = Field(0.0, description="share of legitimate refreshes that race each other")
    log_retention: Duration | None = Field(None, description="a client log leak's reach back; unset: every token")
    active_fraction: Annotated[float, BeforeValidator(not_boolean), AfterValidator(active_share), Share] = Field(
        1.0, description="share of time an instance runs (app open, workload up); 1: always"
    )
    #: Assumption: 1 h.
    active_period: Duration = Field(1.0, description="mean length of one active spell (when active_fraction < 1)")
    #: Default false: version 1 had no fresh grant.
    silent_grant: bool = Field(False, description="a resident thief can run a fresh grant with its own key")
    token_handler: Literal["none", "bff"] = Field(
        "none", description="bff: a backend-for-frontend holds the tokens, the browser a session cookie"
    )
    #: Default false (version 1 had no aitm).
    phishing_resistant: bool = Field(False, description="FIDO2/passkeys or a device-bound session: aitm gets nothing")
    sdk: SdkName | None = Field(None, description="the OAuth client SDK (its DPoP/mTLS gaps); must fit the platform")

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


class _Hop(_NodeBase):
    """The fields of proxies, gateways and mesh hops. ``forwards_host``: assumption, as version 1
    (docs/parameters.md): proxies differ (Envoy keeps the authority and sets x-forwarded-proto; nginx's
    proxy_pass sends Host $proxy_host and no X-Forwarded-Proto unless configured)."""

    terminates_tls: bool = Field(True, description="ends the client's TLS connection (breaks mTLS binding)")
    forwards_client_cert: bool = Field(False, description="passes the client certificate on (RFC 9440, Envoy XFCC)")
    forwards_host: bool = Field(True, description="a TLS terminator forwards scheme and host; false: DPoP's htu breaks")
    rewrites_uri: bool = Field(False, description="changes the request URI (breaks DPoP htu downstream)")
    verifies_binding: bool = Field(False, description="enforces DPoP/mTLS binding itself")
    logs_tokens: bool = Field(False, description=LOGS_TOKENS)
    log_retention: Duration = Field(30 * 24.0, description=LOG_RETENTION)
    verifiers: Verifiers = Field(1, description=VERIFIERS)


class Intermediary(_Hop):
    """Reverse proxy, load balancer or API gateway. ``forwards_host``: a TLS-terminating hop passes the original
    scheme and host on (X-Forwarded-* or Forwarded headers the verifier trusts); without it DPoP's htu breaks."""

    kind: Literal["proxy", "gateway"] = Field(description="the node's kind")


class Mesh(_Hop):
    """A service-mesh hop: re-encrypts with workload identity (mesh mTLS); ``forwards_host`` as for proxies."""

    kind: Literal["mesh"] = Field(description="the node's kind")


class Broker(_NodeBase):
    """A SaaS integration or token-exchange broker holding tokens for many tenants."""

    kind: Literal["broker"] = Field(description="the node's kind")
    tenants: Tenants = Field(1, description="organisations whose tokens the broker holds")
    exchange: Literal["preserve", "strip", "fail"] = Field(
        "strip", description="token exchange of bound tokens: keep the binding, downgrade to bearer, or fail"
    )
    key_storage: KeyStorage = Field("software", description=KEY_STORAGE)
    logs_tokens: bool = Field(False, description=LOGS_TOKENS)
    log_retention: Duration = Field(30 * 24.0, description=LOG_RETENTION)


class Resource(_NodeBase):
    """An API. ``sensitivity`` weighs its requests in the blast radius, ``privileged_weight`` its privileged ones
    again; per tenant it holds ``records`` and each request returns ``records_per_request`` of them. ``validation``: ``local`` (it checks
    self-contained tokens with the issuer's public key: a stolen signing key forges tokens here) or
    ``introspection`` (it asks the issuer about opaque tokens: forged tokens fail); unset: ``introspection``
    for an ``introspection`` issuer, else ``local``."""

    kind: Literal["resource"] = Field(description="the node's kind")
    sensitivity: Annotated[float, BeforeValidator(not_boolean), within(limits.SENSITIVITY, positive=True)] = Field(
        1.0, description="weight of each unauthorized request in blast_radius and in the thief's targeting"
    )
    privileged_fraction: Fraction = Field(0.1, description="share of requests that are privileged")
    accepts: Literal["any", "bound"] = Field(
        "bound", description="bound: enforces binding; any: treats tokens as bearer"
    )
    #: MODEL-v2 section 6; 1: version 1
    privileged_weight: Weight = Field(1.0, description="harm of a privileged request relative to a read here")
    records: Records | None = Field(None, description="records held per tenant; unset: no records counted")
    records_per_request: PerRequest = Field(1, description="records one successful request returns")
    issuer: str | None = Field(None, description="the issuer node it trusts; unset: the model's only issuer")
    # unset: `local` for resources of `jwt` and `caep` issuers, `introspection` for `introspection` issuers
    # (MODEL-v2 section 9; `Architecture.validation_of`)
    validation: Literal["local", "introspection"] | None = Field(
        None, description="local: checks self-contained tokens (a stolen signing key forges them); unset: by issuer"
    )
    logs_tokens: bool = Field(False, description=LOGS_TOKENS)
    log_retention: Duration = Field(30 * 24.0, description=LOG_RETENTION)
    verifiers: Verifiers = Field(1, description=VERIFIERS)
    #: MODEL-v2 section 3; FACTS.md, Drift: one victim's allow-list blocked the replay. Default false: version 1.
    network_allow_list: bool = Field(False, description="IP allow-list or private network: outside requests fail")


def _every_mechanism() -> list[Mechanism]:
    """An issuer's mechanisms when its file names none: all three (version 1)."""
    return ["bearer", "dpop", "mtls"]


class Issuer(_NodeBase):
    """An authorization server; ``revocation`` says when revocation takes effect; ``supports`` which tokens it
    issues (bearer, DPoP-bound (RFC 9449), certificate-bound (RFC 8705)): Microsoft Entra ID issues no RFC 9449
    DPoP tokens (its proof-of-possession is its own signed HTTP request, SHR; FACTS.md, Integration effort)."""

    kind: Literal["issuer"] = Field(description="the node's kind")
    revocation: Literal["introspection", "jwt", "caep"] = Field(
        "jwt", description="when revocation reaches resources: at once, at token expiry, after propagation_delay"
    )
    propagation_delay: DurationOrZero = Field(5.0 / 60.0, description="delay before a caep revocation is seen")
    # assumption: version 1, no issuer gaps
    supports: list[Mechanism] = Field(default_factory=_every_mechanism, description="tokens it issues (bearer listed)")
