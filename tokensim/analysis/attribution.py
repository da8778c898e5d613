"""Where the harm comes from, per policy: leak vector, node, and how the thief's requests succeeded.

`attribution` runs paired, attributed replications (`tokensim.simulate(..., attribution=True)`;
the records are those of the same runs without it) and returns one tidy row per (model,
policy, node, vector, credential), summed over replications. ``credential`` is the engine's
reason a request succeeded ("minted with client secret, bound to the thief's own key"); ``how``
groups those reasons into a few plain causes (`how_of`), which the report's findings and the
attribution figure use.

    >>> how_of("minted with client secret, bound to the thief's own key")
    'stolen client secret'
    >>> how_of("captured token, signing oracle during dwell")
    "malware signs with the device's key"
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tokensim.api import ModelLike, PolicyLike, _architecture, checked, simulate
from tokensim.model import limits
from tokensim.model.cost import CostModel
from tokensim.model.policy import resolve_policy

#: The attribution frame's columns, in order.
ATTRIBUTION_FRAME_COLUMNS: tuple[str, ...] = (
    "model",
    "policy",
    "node",
    "vector",
    "credential",
    "how",
    "requests",
    "privileged_requests",
    "blast_radius",
    "replications",
)

#: Plain causes, first match wins: (a phrase of the engine's reason, the cause).
#: The reasons are those `tokensim.sim.bundle.Bundle.state` and the closed form give.
CAUSES: tuple[tuple[str, str], ...] = (
    ("issuer's signing key", "forged with the issuer's key"),
    ("backend-for-frontend session", "rode the browser's session"),
    ("pre-signed", "proofs pre-signed while resident"),
    ("signing oracle", "malware signs with the device's key"),
    ("exported key", "stolen private key"),
    ("own fresh grant", "thief's own grant from the live session"),
    ("client secret", "stolen client secret"),
    ("refresh token", "stolen refresh token"),
    ("DPoP proof", "captured DPoP proof replayed in its window"),
    ("bearer route", "stolen token on a bearer route"),
)

#: Why binding did not stop a success, by a phrase of its reason (first match wins).
WHY: tuple[tuple[str, str], ...] = (
    ("issuer's signing key", "with the issuer's key the thief mints any token it likes"),
    ("backend-for-frontend session", "the requests come from the victim's own browser"),
    ("pre-signed", "the proofs were signed with the victim's key while the thief was resident"),
    ("signing oracle", "the thief uses the key where it lives, without exporting it"),
    ("exported key", "the thief holds the key the token is bound to"),
    ("own key", "the issuer binds the new tokens to the thief's own key"),
    ("DPoP proof", "the captured proof is replayed before its window closes"),
    ("bearer route", "no binding is checked on that route"),
    ("minted", "the tokens it mints are bearer tokens on that route"),
)


def how_of(credential: str) -> str:
    """The plain cause of one engine reason (`CAUSES`); the reason itself when none matches."""
    return next((cause for phrase, cause in CAUSES if phrase in credential), credential)


def why_binding_fails(credential: str) -> str:
    """Why binding did not stop a success of this engine reason (`WHY`), or "" for one it does not know.

    >>> why_binding_fails("minted from refresh token")
    'the tokens it mints are bearer tokens on that route'
    """
    return next((why for phrase, why in WHY if phrase in credential), "")


def attribution(
    model: ModelLike,
    policies: Sequence[PolicyLike] = ("bearer",),
    *,
    replications: int = 10,
    seed: int = 0,
    horizon: float | str = "365d",
    costs: CostModel | None = None,
) -> pd.DataFrame:
    """The harm of paired runs of each policy by cause, summed over ``replications``.

    One row per (model, policy, node, vector, credential) with at least one success; the sums
    per policy are the replications' ``unauthorized_requests``, ``privileged_requests`` and
    ``blast_radius``. A policy with no success has no rows (its harm is zero).
    """
    replications = checked("attribution()", "replications", limits.replications, replications)
    arch = _architecture(model)
    pols = [resolve_policy(p) for p in policies]
    checked("attribution()", "replications", lambda n: limits.runs(n, len(pols)), replications)
    frames = []
    for pol in pols:
        for r in range(replications):
            run = simulate(arch, pol, seed=seed, horizon=horizon, replication=r, attribution=True, costs=costs)
            frame = run.attribution
            if frame is not None and len(frame):
                frames.append(frame.assign(model=arch.name, policy=pol.name))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ATTRIBUTION_FRAME_COLUMNS})
    keys = ["model", "policy", "node", "vector", "means"]
    summed = (
        pd.concat(frames)
        .groupby(keys, sort=False, as_index=False)[["requests", "privileged_requests", "blast_radius"]]
        .sum()
    )
    summed = summed.rename(columns={"means": "credential"})
    summed["how"] = summed["credential"].map(how_of)
    summed["replications"] = replications
    return summed[list(ATTRIBUTION_FRAME_COLUMNS)].reset_index(drop=True)


def by_cause(frame: pd.DataFrame, metric: str = "blast_radius") -> pd.DataFrame:
    """Per (model, policy): each (node, vector, how)'s ``metric``, its share of the policy's total, and its
    weightiest ``credential`` (the engine's reason), largest first."""
    keys = ["model", "policy", "node", "vector", "how"]
    ranked = frame.sort_values(metric, ascending=False, kind="stable")
    grouped = ranked.groupby(keys, sort=False, as_index=False).agg(
        **{metric: (metric, "sum"), "credential": ("credential", "first")}
    )
    totals = grouped.groupby(["model", "policy"])[metric].transform("sum")
    grouped["share"] = grouped[metric] / totals.where(totals > 0)
    return grouped.sort_values(["model", "policy", metric], ascending=[True, True, False]).reset_index(drop=True)
