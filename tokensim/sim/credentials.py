"""What a thief needs to mint tokens for a client, and what of the client's credential a leak gives it.

MODEL-v2.md section 1: a client authenticates (`auth`) with a secret, a key (`private_key_jwt`,
`tls_client_auth`), a key and its platform (`attestation`) or its platform's short-lived identity
tokens (`credential: workload_identity`); its grant types decide whether that credential mints
tokens by itself (`client_credentials`) or is one half of a refresh (every other grant). A static
key (`credential: static_key`) is itself a bearer token and mints nothing. `mint_rules` turns this
and the policy into the `MintRules` a stolen family obeys; `take_key` and `take_credential` fill
the `Loot` at the leak (docs/model.md sections 4 and 5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokensim.model.policy import Policy
from tokensim.model.routes import Tier, choose_mechanism
from tokensim.model.schema import Client
from tokensim.sim.lifecycle import current_expiry

if TYPE_CHECKING:
    from tokensim.sim.records import Loot

INF = math.inf
#: Vectors that give the thief the client's device or host for the dwell.
RESIDENT = frozenset({"xss", "malware", "host_compromise"})
#: Authentication methods whose credential is the client's key (`key_storage`).
KEY_AUTH = frozenset({"private_key_jwt", "tls_client_auth", "attestation"})


@dataclass(frozen=True)
class MintRules:
    """What a thief needs to mint tokens for one client (from its authentication, grants and the policy).

    "Secret" stands for the client credential whatever it is (a secret, a key, an attestation, a
    workload identity token): `Loot.secret` says the thief holds it, `Loot.cred_end` until when it works.
    """

    rt_needs_key: bool = False  # refreshing needs the victim's key (bound RT or certificate client auth)
    rt_needs_secret: bool = False  # confidential client: refreshing needs the client credential
    secret_needs_key: bool = False  # client authentication signs with the client's key (key-based auth)
    own_key_rt: bool = False  # tokens minted from the refresh token are bound to the thief's own key
    own_key_secret: bool = False  # tokens minted with the credential are bound to the thief's own key
    jit_tiers: frozenset[str] = frozenset()  # tiers whose tokens are issued just in time against the key
    secret_mints: bool = True  # `client_credentials`: the credential alone mints tokens
    refresh_token: bool = True  # the client holds a refresh token under this policy (a leak may take it)


def mint_rules(spec: Client, policy: Policy, mech: Mapping[Tier, str | None], jit: bool) -> MintRules:
    """The rules for one client under its own policy (``mech``: the chosen mechanism per tier)."""
    jit_tiers = frozenset({"privileged"}) if jit else frozenset()
    if spec.credential == "static_key":  # the key is a bearer token: nothing to refresh, nothing to mint
        return MintRules(secret_mints=False, refresh_token=False, jit_tiers=jit_tiers)
    bound = {m for m in mech.values() if m in ("dpop", "mtls")}
    auth = spec.authentication
    # Certificate client authentication: tls_client_auth, and version 1's rule kept: a client with a
    # secret under a policy that chose mtls for it authenticates with its certificate (RFC 8705 section 2).
    cert_auth = auth == "tls_client_auth" or (auth == "secret" and "mtls" in bound)
    cert_bound = cert_auth and "mtls" in bound  # what it mints is bound to the victim's certificate
    rt_bound, rt_issued = refresh_bound(spec, policy, mech)
    return MintRules(
        rt_needs_key=rt_bound or cert_bound,
        rt_needs_secret=spec.is_confidential,
        secret_needs_key=cert_auth or auth in KEY_AUTH,
        own_key_rt=not rt_bound and not cert_bound,
        own_key_secret=not cert_bound,
        jit_tiers=jit_tiers,
        secret_mints="client_credentials" in spec.grant_types,
        refresh_token=spec.holds_refresh_token and rt_issued,
    )


def refresh_bound(spec: Client, policy: Policy, mech: Mapping[Tier, str | None]) -> tuple[bool, bool]:
    """(is the refresh token sender-constrained, is one issued at all) under the policy's `refresh_binding`.

    A confidential client's refresh token is bound by its client authentication, not by a key (RFC 9449
    section 5; version 1). A public client's: `auto`, version 1, when its low-risk mechanism is DPoP or
    mTLS (RFC 9449 section 5, RFC 8705); `dpop` or `mtls` when the client can do it, else as
    `on_unsupported` says (`fallback`: unbound; `fail`: no refresh token is issued); `none`: unbound.
    """
    if spec.is_confidential:
        return False, True
    wanted = policy.refresh_binding
    if wanted == "auto":
        return mech["low_risk"] in ("dpop", "mtls"), True
    if wanted == "none":
        return False, True
    if choose_mechanism(spec, (wanted,)) == wanted:
        return True, True
    return False, policy.on_unsupported == "fallback"


def key_end(spec: Client, t: float, phase: float) -> float:
    """When a key exported at ``t`` stops being useful: its next rotation (`key_lifetime`), else never."""
    return INF if spec.key_lifetime is None else current_expiry(t, spec.key_lifetime, phase)


def take_key(loot: Loot, storage: str, dwell_end: float, exported_until: float = INF) -> None:
    """Software keys are exported (useful until ``exported_until``); others serve as an oracle during the dwell."""
    if storage == "software":
        loot.key, loot.key_end = "exported", exported_until
    elif storage in ("non_extractable", "hardware"):
        loot.key, loot.dwell_end = "oracle", dwell_end


def take_credential(loot: Loot, spec: Client, vector: str, t: float, dwell_end: float, phase: float) -> None:
    """What the leak gives of the client credential (call after `take_key`, before the refresh-token race).

    ``phase`` is the instance's credential phase (`Phases.credential`): when its identity token renews,
    when its key rotates.
    """
    if spec.credential == "static_key":
        return
    if spec.credential == "workload_identity":  # nothing long-lived: the host mints, or one identity token does
        if vector in RESIDENT:
            loot.secret, loot.cred_end = True, dwell_end + spec.identity_lifetime
        elif vector == "secret_sprawl":
            loot.secret, loot.cred_end = True, current_expiry(t, spec.identity_lifetime, phase)
        return
    auth = spec.authentication
    if auth == "secret":
        loot.secret = loot.secret or vector in ("host_compromise", "secret_sprawl")  # version 1
        return
    if auth not in KEY_AUTH:
        return
    if vector == "secret_sprawl" and loot.key is None and spec.key_storage == "software":
        take_key(loot, "software", -INF, key_end(spec, t, phase))  # the key file sprawls; a KMS key does not
    if auth == "attestation":  # the key and the platform: only while the thief is on it
        if vector in RESIDENT and loot.key is not None:
            loot.secret, loot.cred_end = True, dwell_end
        return
    loot.secret = loot.key is not None  # the key is the credential
