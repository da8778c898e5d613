"""The article's claims about sender-constraining (shared/seeds, issue 12) as tests on the version-2 semantics.

The article ("When should organisations choose sender-constraining over bearer tokens?") claims that
sender-constraining pays most across untrusted hops and with long lifetimes (claim 1), that it does
not replace short lifetimes and rotation (claim 2), that a hybrid design protects privileged actions
(claim 3), and that it breaks down for legacy clients and across hops that lose the client's identity
(claim 4). Each test builds a small model in Python, runs paired replications (common random numbers:
replication r of every policy sees the same leaks) and asserts the claimed direction with a 99%
interval, not a picture:

- a paired difference: the t interval of the mean of the per-replication differences;
- a ratio of means R = mean(x) / mean(y) (a relative reduction is 1 - R): the delta method, with the
  per-replication influence (x_i - R y_i) / mean(y); two ratios of one set of runs are compared through
  the difference of their influences (paired), ratios of two model variants through independent seeds
  (pairing does not hold across model variants, docs/model.md section 9), their variances added.

"No reduction" claims assert the interval of the relative reduction lies within +-5% and, beside it, a
variant where the claim's condition is absent shows a large reduction, so the assertion can fail.
The last two tests check that two version-1 results no longer hold on the built-in models.
Where leaks are logs (token-only families, closed form or process) the test runs on both engine paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tokensim
from tokensim.model.policy import Policy
from tokensim.model.units import parse_duration
from tokensim.sim.engine import Simulation

YEAR = "365d"
#: The attacker of the built-in browser model (spa_behind_proxy.yaml): delay log-normal, median 1 h.
ATTACKER: dict[str, Any] = {
    "replay_delay": {"distribution": "lognormal", "median": "1h", "sigma": 1.0},
    "replay_rate": "30/h",
}
DEFENDER: dict[str, Any] = {"detection_probability": 0.01, "response_time": "24h"}
PATHS = pytest.mark.parametrize("closed_form", [True, False], ids=["closed-form", "processes"])
NO_REDUCTION = 0.05  # |relative reduction| below this, at 99%, counts as "no reduction"


@dataclass(frozen=True)
class Estimate:
    """A statistic over replications with its per-replication influence (so that se = sd(influence) / sqrt(n))."""

    value: float
    influence: np.ndarray

    def interval(self) -> tuple[float, float]:
        """The 99% t interval."""
        n = self.influence.size
        half = stats.t.ppf(0.995, n - 1) * self.influence.std(ddof=1) / np.sqrt(n)
        return self.value - half, self.value + half

    def minus(self, other: Estimate) -> Estimate:
        """The difference of two estimates from the same runs (paired)."""
        return Estimate(self.value - other.value, self.influence - other.influence)


def independent_gap(a: Estimate, b: Estimate) -> tuple[float, float, float]:
    """a - b for estimates from independent runs: the value and a 99% interval (variances added, smaller df)."""
    se = np.sqrt(a.influence.var(ddof=1) / a.influence.size + b.influence.var(ddof=1) / b.influence.size)
    half = stats.t.ppf(0.995, min(a.influence.size, b.influence.size) - 1) * se
    gap = a.value - b.value
    return gap, gap - half, gap + half


def runs(
    arch: tokensim.Architecture,
    policies: list[Policy],
    *,
    replications: int,
    seed: int,
    closed_form: bool = True,
    horizon: str = YEAR,
) -> pd.DataFrame:
    """One row of outcome fields per (policy, replication), on the chosen engine path."""
    hours = parse_duration(horizon)
    rows = []
    for rep in range(replications):
        for pol in policies:
            sim = Simulation(arch, pol, seed=seed, replication=rep, horizon=hours, closed_form_families=closed_form)
            sim.run()
            rows.append({"policy": pol.name, "replication": rep, **sim.outcome_fields()})
    return pd.DataFrame(rows)


def column(frame: pd.DataFrame, policy: str, field: str = "unauthorized_requests") -> np.ndarray:
    return frame[frame["policy"] == policy].sort_values("replication")[field].to_numpy(dtype=float)


def paired_difference(frame: pd.DataFrame, a: str, b: str, field: str = "unauthorized_requests") -> Estimate:
    """Mean over replications of (a - b), the runs paired by replication."""
    d = column(frame, a, field) - column(frame, b, field)
    return Estimate(float(d.mean()), d - d.mean())


def ratio(frame: pd.DataFrame, num: str, den: str, field: str = "unauthorized_requests") -> Estimate:
    """mean(num) / mean(den) over paired replications, delta-method influence."""
    x, y = column(frame, num, field), column(frame, den, field)
    assert y.mean() > 0, f"{den} has no {field}: the ratio is undefined"
    r = x.mean() / y.mean()
    return Estimate(float(r), (x - r * y) / y.mean())


def reduction(frame: pd.DataFrame, policy: str, baseline: str, field: str = "unauthorized_requests") -> Estimate:
    """1 - mean(policy) / mean(baseline): the relative reduction against the baseline."""
    r = ratio(frame, policy, baseline, field)
    return Estimate(1.0 - r.value, -r.influence)


def assert_no_reduction(est: Estimate, what: str) -> None:
    low, high = est.interval()
    assert -NO_REDUCTION < low and high < NO_REDUCTION, (
        f"{what}: reduction {est.value:.4f}, 99% ({low:.4f}, {high:.4f})"
    )


def model(name: str, nodes: dict[str, Any], edges: list[list[str]], defender: dict[str, Any] | None = None):
    return tokensim.Architecture.from_dict(
        {"name": name, "nodes": nodes, "edges": edges, "attacker": ATTACKER, "defender": defender or DEFENDER}
    )


def pol(base: str, name: str, **kw: Any) -> Policy:
    return tokensim.preset(base, name=name, **kw)


# ---------------------------------------------------------------------------------------------------
# Claim 1: sender-constraining pays most across untrusted hops and with long lifetimes.

TTL_POLICIES = [
    pol("bearer", "bearer_5m", access_ttl="5m"),
    pol("dpop", "dpop_5m", access_ttl="5m"),
    pol("bearer", "bearer_8h", access_ttl="8h"),
    pol("dpop", "dpop_8h", access_ttl="8h"),
]


def app_behind(proxy: bool) -> tokensim.Architecture:
    """A mobile app (hardware key, no refresh token) with malware (dwell 12 h) and crash-report logs, optionally
    behind a TLS-terminating proxy that logs tokens and whose log store leaks twice a year."""
    nodes: dict[str, Any] = {
        "app": {
            "kind": "client",
            "platform": "mobile",
            "instances": 100,
            "key_storage": "hardware",
            "supports": ["bearer", "dpop"],
            "leaks": [{"vector": "malware", "rate": "0.5/year", "dwell": "12h"}, {"vector": "log", "rate": "0.2/year"}],
        },
        "api": {"kind": "resource", "privileged_fraction": 0.1},
        "idp": {"kind": "issuer", "revocation": "introspection"},
    }
    edges = [["app", "api"]]
    if proxy:
        nodes["edge"] = {
            "kind": "proxy",
            "logs_tokens": True,
            "log_retention": "7d",
            "leaks": [{"vector": "log", "rate": "2/year"}],
        }
        edges = [["app", "edge"], ["edge", "api"]]
    return model("claim1", nodes, edges)


@PATHS
def test_claim1_dpop_pays_most_across_a_logging_hop_and_with_long_lifetimes(closed_form):
    """Claim 1 (article: "strongest when tokens traverse untrusted hops", "when token lifetimes must be long").

    Model: a mobile app with a hardware key and no refresh token; malware on the device (0.5/year,
    dwell 12 h) and the app's own crash-report logs (0.2/year); variant: a TLS-terminating proxy that
    logs tokens (retention 7 d) and whose logs leak twice a year. Policies: bearer and DPoP (no nonce,
    no jti tracking), access_ttl 5 m and 8 h. Independent seeds for the two variants.

    Why the semantics imply it: a logged token replays from outside after a delay (median 1 h) far
    beyond DPoP's 2-minute proof window, so DPoP removes every log's yield; resident malware signs
    with the oracle during the dwell and pre-signs proofs (no nonce) for the token it holds at the
    end, so DPoP removes none of the malware's yield (docs/model.md section 5, items 3 and 6). DPoP's
    reduction is the logs' share of bearer's total: a logging proxy adds a log-only term (larger
    share), and bearer's yield from a log grows like (a - d)^2 / 2a with the lifetime a, nearly zero
    at 5 m, while the dwell term grows only by a/2.
    """
    direct = runs(app_behind(False), TTL_POLICIES, replications=12, seed=1, closed_form=closed_form)
    proxied = runs(app_behind(True), TTL_POLICIES, replications=12, seed=2, closed_form=closed_form)
    for name, frame in (("direct", direct), ("proxy", proxied)):
        long, short = reduction(frame, "dpop_8h", "bearer_8h"), reduction(frame, "dpop_5m", "bearer_5m")
        low, high = long.minus(short).interval()
        assert low > 0, (
            f"{name}: reduction at 8h {long.value:.3f} - at 5m {short.value:.3f}: 99% ({low:.3f}, {high:.3f})"
        )
    with_proxy, without = reduction(proxied, "dpop_8h", "bearer_8h"), reduction(direct, "dpop_8h", "bearer_8h")
    gap, low, high = independent_gap(with_proxy, without)
    assert low > 0, (
        f"proxy {with_proxy.value:.3f} - direct {without.value:.3f} = {gap:.3f}, 99% ({low:.3f}, {high:.3f})"
    )


# ---------------------------------------------------------------------------------------------------
# Claim 2: sender-constraining does not replace short lifetimes and rotation against a resident thief.


def resident_app(active_fraction: float) -> tokensim.Architecture:
    """A mobile app (hardware key, refresh token) with resident malware that stays 2 days."""
    return model(
        "claim2",
        {
            "app": {
                "kind": "client",
                "platform": "mobile",
                "instances": 100,
                "key_storage": "hardware",
                "supports": ["bearer", "dpop"],
                "holds_refresh_token": True,
                "active_fraction": active_fraction,  # assumption: the app runs 30% of the time ...
                "active_period": "2h",  # ... in spells of 2 h on average (idle spells 4.7 h)
                "leaks": [{"vector": "malware", "rate": "0.5/year", "dwell": "2d"}],
            },
            "api": {"kind": "resource", "privileged_fraction": 0.1},
            "idp": {"kind": "issuer", "revocation": "introspection"},
        },
        [["app", "api"]],
        defender={"detection_probability": 0.0, "response_time": "24h"},
    )


RESIDENT_POLICIES = [
    pol("dpop", "dpop_long", access_ttl="8h", refresh_ttl="90d"),
    pol("bearer", "short_rotation", access_ttl="5m", refresh_ttl="90d", rotation=True, reuse_detection=True),
    pol("dpop", "both", access_ttl="5m", refresh_ttl="90d", rotation=True, reuse_detection=True),
]


def test_claim2_dpop_and_short_rotation_together_beat_each_alone_against_resident_malware():
    """Claim 2 (article: "pair sender-constraining with short TTLs, rotation ... not as a substitute").

    Model: a mobile app with a hardware key and a refresh token, active 30% of the time (spells of 2 h);
    malware on the device (0.5/year) that stays 2 days; no anomaly detection (the dwell is the
    compromise: what is compared is what each policy leaves the thief). Policies: DPoP with 8 h access
    tokens and no rotation; bearer with 5 m tokens, rotation and reuse detection; DPoP with both.

    Why the semantics imply it (docs/model.md sections 5 and 6): during the dwell every policy loses
    what the client obtains while active. After it, under DPoP alone the thief cannot refresh (the
    grant is bound to the hardware key) but pre-signed its proofs for the 8 h token it holds: it keeps
    that token's remaining life (a/2 = 4 h on average), and through idle spells within the dwell it
    keeps using 8 h tokens where 5 m tokens expire. Under bearer with rotation the thief holds the
    newest refresh token at the dwell's end and refreshes at once; reuse detection ends the family only
    at the client's next refresh, which an idle client makes when it next runs (4.7 h on average).
    With both, the thief keeps only a 5 m token after the dwell. Paired differences over replications.
    """
    frame = runs(resident_app(0.3), RESIDENT_POLICIES, replications=16, seed=3)
    for alone in ("dpop_long", "short_rotation"):
        est = paired_difference(frame, alone, "both")
        low, high = est.interval()
        assert low > 0, f"{alone} - both = {est.value:.1f} per replication, 99% ({low:.1f}, {high:.1f})"


# ---------------------------------------------------------------------------------------------------
# Claim 3: a hybrid with a bound grant protects privileged actions; with a bearer grant it does not.


def test_claim3_hybrid_protects_privileged_actions_only_with_a_bound_grant():
    """Claim 3 (article: "bearer tokens for low-risk requests, sender-constrained tokens for privileged actions").

    Model: a mobile app (public client, hardware key, refresh token of 30 d, no rotation); malware
    that leaves within an hour takes its refresh token (0.5/year). Policies: hybrid (bearer low-risk,
    DPoP privileged) with `refresh_binding: none` and with `refresh_binding: dpop`, and bearer.

    Why the semantics imply it (docs/model.md section 6): with a bearer grant the thief refreshes
    from anywhere until the grant ends, and what it mints for the privileged tier is bound to its own
    key, so the binding stops nothing: hybrid/none equals bearer. With `refresh_binding: dpop` the grant
    is bound to the victim's hardware key: after the dwell the thief can refresh nothing and keeps only
    pre-signed proofs for the privileged token it held (at most one lifetime).
    """
    arch = model(
        "claim3",
        {
            "app": {
                "kind": "client",
                "platform": "mobile",
                "instances": 200,
                "key_storage": "hardware",
                "supports": ["bearer", "dpop"],
                "holds_refresh_token": True,
                "leaks": [{"vector": "malware", "rate": "0.5/year", "dwell": "1h"}],
            },
            "api": {"kind": "resource", "privileged_fraction": 0.2},
            "idp": {"kind": "issuer", "revocation": "introspection"},
        },
        [["app", "api"]],
    )
    policies = [
        pol("hybrid", "hybrid_bearer_grant", refresh_binding="none", refresh_ttl="30d"),
        pol("hybrid", "hybrid_bound_grant", refresh_binding="dpop", refresh_ttl="30d"),
        pol("bearer", "bearer", refresh_ttl="30d"),
    ]
    frame = runs(arch, policies, replications=10, seed=4)
    field = "privileged_requests"
    est = paired_difference(frame, "hybrid_bearer_grant", "hybrid_bound_grant", field)
    low, high = est.interval()
    assert low > 0, f"bearer grant - bound grant = {est.value:.1f} privileged requests, 99% ({low:.1f}, {high:.1f})"
    bound = reduction(frame, "hybrid_bound_grant", "bearer", field)
    assert bound.interval()[0] > 0.5, (bound.value, bound.interval())
    assert_no_reduction(reduction(frame, "hybrid_bearer_grant", "bearer", field), "hybrid with a bearer grant")


# ---------------------------------------------------------------------------------------------------
# Claim 4: it breaks down for legacy clients and across hops that lose the client's identity.


def legacy_client(supports: list[str]) -> tokensim.Architecture:
    return model(
        "claim4-legacy",
        {
            "app": {
                "kind": "client",
                "platform": "legacy",
                "instances": 50,
                "key_storage": "software",
                "supports": supports,
                "leaks": [{"vector": "log", "rate": "2/year"}],
            },
            "api": {"kind": "resource", "privileged_fraction": 0.1},
            "idp": {"kind": "issuer", "revocation": "introspection"},
        },
        [["app", "api"]],
    )


BINDING_POLICIES = [
    pol("bearer", "bearer", access_ttl="8h"),
    pol("dpop", "dpop", access_ttl="8h"),
    pol("mtls", "mtls", access_ttl="8h"),
]


@PATHS
def test_claim4_a_legacy_client_without_proof_of_possession_gains_nothing(closed_form):
    """Claim 4, legacy clients (article: "break down when legacy clients cannot perform proof-of-possession").

    Model: a `legacy` client population with `supports: [bearer]` whose logs leak (2/year per instance),
    calling a resource that accepts bound tokens; variant: the same client able to do DPoP.

    Why the semantics imply it (docs/model.md section 2): a client uses the first wanted mechanism it
    can do; one that can do none falls back to bearer (`on_unsupported: fallback`), so DPoP's and
    mTLS's runs are bearer's. The variant that can do DPoP loses nothing to logs replayed after the
    proof window.
    """
    legacy = runs(legacy_client(["bearer"]), BINDING_POLICIES, replications=10, seed=5, closed_form=closed_form)
    for mechanism in ("dpop", "mtls"):
        assert_no_reduction(reduction(legacy, mechanism, "bearer"), f"legacy client under {mechanism}")
    able = runs(
        legacy_client(["bearer", "dpop"]), BINDING_POLICIES[:2], replications=10, seed=6, closed_form=closed_form
    )
    assert reduction(able, "dpop", "bearer").interval()[0] > 0.9


def behind(hop: dict[str, Any]) -> tokensim.Architecture:
    """A workload (hardware key) whose requests pass ``hop`` to a resource that accepts bound tokens and whose
    request logs (retention 7 d) leak four times a year: the leak lies beyond the hop."""
    return model(
        "claim4-hop",
        {
            "app": {
                "kind": "client",
                "platform": "workload",
                "instances": 200,
                "key_storage": "hardware",
                "supports": ["bearer", "dpop", "mtls"],
            },
            "hop": hop,
            "api": {
                "kind": "resource",
                "privileged_fraction": 0.1,
                "logs_tokens": True,
                "log_retention": "7d",
                "leaks": [{"vector": "log", "rate": "4/year"}],
            },
            "idp": {"kind": "issuer", "revocation": "introspection"},
        },
        [["app", "hop"], ["hop", "api"]],
    )


TLS_TERMINATOR = {"kind": "proxy", "terminates_tls": True}
HOPS = {
    # name: (hop that loses the client's identity, the mechanisms it defeats, the same hop keeping it)
    "broker_strip": (
        {"kind": "broker", "exchange": "strip"},
        ("dpop", "mtls"),
        {"kind": "broker", "exchange": "preserve"},
    ),
    "tls_without_forwarding": (
        {**TLS_TERMINATOR, "forwards_host": False, "forwards_client_cert": False},
        ("dpop", "mtls"),
        {**TLS_TERMINATOR, "forwards_host": True, "forwards_client_cert": True},
    ),
}


@PATHS
@pytest.mark.parametrize("hop", sorted(HOPS))
def test_claim4_no_reduction_beyond_a_hop_that_loses_the_clients_identity(hop, closed_form):
    """Claim 4, hops (article: "breaks down in architectures that cannot preserve client identity across
    proxies, service meshes, or third-party brokers").

    Model: a workload with a hardware key behind one hop, a resource (accepts bound tokens) whose logs
    leak. Hops: a broker with `exchange: strip`, a TLS terminator with neither `forwards_host` nor
    `forwards_client_cert`; variants that keep the identity: `exchange: preserve`, a terminator that
    forwards both. Policies: bearer, DPoP, mTLS (8 h).

    Why the semantics imply it (docs/model.md section 3): a strip downgrades the binding beyond the
    broker; a terminator that changes scheme and host breaks DPoP's htu, one that does not forward the
    certificate loses the mTLS binding; the resource then takes the token as bearer (`on_binding_loss:
    fallback`), so what its logs leak replays as bearer tokens. Where the identity survives, a logged
    token replays only with the key (never exported) or a proof inside its window: nothing.
    """
    losing, mechanisms, keeping = HOPS[hop]
    lost = runs(behind(losing), BINDING_POLICIES, replications=10, seed=7, closed_form=closed_form)
    for mechanism in mechanisms:
        assert_no_reduction(reduction(lost, mechanism, "bearer"), f"{hop} under {mechanism}")
    kept = runs(behind(keeping), BINDING_POLICIES, replications=10, seed=8, closed_form=closed_form)
    for mechanism in mechanisms:
        assert reduction(kept, mechanism, "bearer").interval()[0] > 0.9, (hop, mechanism)


# ---------------------------------------------------------------------------------------------------
# What version 1 got wrong (issue 12), on the built-in models.


@PATHS
def test_v1_wrong_dpop_saves_far_less_than_thirtyfold_on_the_spa_with_a_silent_grant(closed_form):
    """Version 1: DPoP cut unauthorized requests about thirtyfold on `spa_behind_proxy`.

    Model: the built-in `spa_behind_proxy` with `silent_grant: true` on the SPA (a browser with a live
    session at the issuer), one year, presets bearer and DPoP.

    Why the semantics imply it (MODEL-v2 section 2, docs/model.md section 5 item 4): an injected
    script runs a fresh grant with the thief's own key; the grant and its refresh token are bound to
    that key and live the full `refresh_ttl` past the dwell, so DPoP stops nothing of the XSS's yield,
    which dominates. Required: the 99% interval of bearer / DPoP lies below 3 (far from 30); the
    same runs without a silent grant show the ratio the bound discriminates (above 3).
    """
    base = tokensim.load_model("spa_behind_proxy")
    presets = [tokensim.preset("bearer"), tokensim.preset("dpop")]
    ratios = {}
    for silent in (True, False):
        spec = base.spec.model_dump()
        spec["nodes"]["spa"]["silent_grant"] = silent
        frame = runs(tokensim.Architecture.from_dict(spec), presets, replications=10, seed=9, closed_form=closed_form)
        ratios[silent] = ratio(frame, "bearer", "dpop")
    low, high = ratios[True].interval()
    assert high < 3, f"bearer / dpop with a silent grant: {ratios[True].value:.2f}, 99% ({low:.2f}, {high:.2f})"
    assert ratios[False].interval()[0] > 3, (ratios[False].value, ratios[False].interval())


def workload_with_sprawled_configuration(auth: str | None) -> tokensim.Architecture:
    """The built-in `workload_direct` with only `kms_backend`'s configuration leaking (1/year per replica, 20x
    the model's rate so that a year has leaks), its `auth` set (None: the model's own, `confidential: true`)."""
    spec = tokensim.load_model("workload_direct").spec.model_dump()
    for node in spec["nodes"].values():
        if node["kind"] == "client":
            node["leaks"] = []
    kms = spec["nodes"]["kms_backend"]
    kms["leaks"] = [{"vector": "secret_sprawl", "rate": "1/year"}]
    if auth is not None:
        kms.pop("confidential", None)
        kms["auth"] = auth
    return tokensim.Architecture.from_dict(spec)


def test_v1_wrong_dpop_differs_from_bearer_for_a_private_key_jwt_client_with_a_hardware_key():
    """Version 1: a leaked client configuration lets the thief mint DPoP tokens for its own key: DPoP = bearer.

    Model: the built-in `workload_direct`, its `kms_backend` (hardware key, client-credentials) with
    `auth: private_key_jwt` and a sprawled configuration as its only leak. Policies: bearer, DPoP.

    Why the semantics imply it (docs/model.md sections 4 and 5a): a sprawled configuration holds no
    hardware key, so the thief cannot authenticate as the client and mints nothing; it holds only the
    current access token, which DPoP binds to the hardware key. Required: bearer - DPoP > 0 (99%). The
    same fleet with a client secret (`auth: secret`; the built-in model now gives `kms_backend`
    `private_key_jwt`) still gives DPoP = bearer: the thief mints with the secret, for its own key.
    """
    presets = [tokensim.preset("bearer"), tokensim.preset("dpop")]
    keyed = runs(workload_with_sprawled_configuration("private_key_jwt"), presets, replications=20, seed=10)
    est = paired_difference(keyed, "bearer", "dpop")
    low, high = est.interval()
    assert low > 0, f"bearer - dpop = {est.value:.1f}, 99% ({low:.1f}, {high:.1f})"
    secret = runs(workload_with_sprawled_configuration("secret"), presets, replications=5, seed=10)
    assert column(secret, "bearer").sum() > 0
    assert_no_reduction(reduction(secret, "dpop", "bearer"), "a sprawled client secret")
