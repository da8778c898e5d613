"""Route analysis (MODEL.md section 3): where does the binding survive?

Every (client, resource, path, tier) is classified before any event runs:

* ``status`` is what the network does to the chosen mechanism: ``bound`` (the
  binding reaches a point that verifies it), ``downgraded`` (the request works,
  but the token is taken as a bearer token) or ``broken`` (legitimate requests fail);
* ``effect`` is what the policy makes of it: ``bound`` (a thief needs the key),
  ``bearer`` (possession is enough) or ``fails`` (nobody's request succeeds).

``hop`` names the node that causes a downgrade or a break.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from tokensim.model.architecture import Architecture, load_model
from tokensim.model.policy import Policy, resolve_policy
from tokensim.model.schema import Broker, Client, Intermediary, Mesh, Resource

#: A policy's two tiers of resources, each with its own wanted mechanisms.
Tier = Literal["low_risk", "privileged"]
#: What the network does to a mechanism on a path (``bearer``: the mechanism is bearer, nothing to bind).
Status = Literal["bound", "downgraded", "broken", "bearer"]
#: What the policy makes of a route: a thief needs the key, possession is enough, or nobody's request succeeds.
Effect = Literal["bound", "bearer", "fails"]

TIERS: tuple[Tier, ...] = ("low_risk", "privileged")


@dataclass(frozen=True)
class Verdict:
    """What the network does to one mechanism on one path."""

    status: Status
    hop: str | None
    reason: str


def classify_path(arch: Architecture, path: tuple[str, ...], mechanism: str) -> Verdict:
    """Classify one path for one mechanism by walking it from client to resource."""
    if mechanism == "bearer":
        return Verdict("bearer", None, "bearer token: possession is enough")
    lost: tuple[str, str] | None = None  # (hop, why) once the binding can no longer be verified
    verified: str | None = None  # the first hop that verified it (the thief must pass there)
    for hop in path[1:-1]:
        node = arch.node(hop)
        if verified is not None:  # beyond a verifier only a failing exchange still matters
            if isinstance(node, Broker) and node.exchange == "fail":
                return Verdict("broken", hop, f"{hop}'s token exchange fails for bound tokens")
            continue
        if isinstance(node, (Intermediary, Mesh)):
            if node.verifies_binding:
                if lost is None:
                    verified = hop
                    continue
                return Verdict("broken", lost[0], f"{lost[1]}; {hop} cannot verify the binding")
            if lost is None and mechanism == "mtls" and node.terminates_tls and not node.forwards_client_cert:
                what = "re-encrypts with workload identity" if isinstance(node, Mesh) else "terminates TLS"
                lost = (hop, f"{hop} {what} and does not forward the client certificate")
            if lost is None and mechanism == "dpop" and node.rewrites_uri:
                lost = (hop, f"{hop} rewrites the URI, so the proof's htu no longer matches")
        elif isinstance(node, Broker):
            if lost is not None:
                return Verdict("broken", lost[0], lost[1])
            if node.exchange == "strip":
                return Verdict("downgraded", hop, f"{hop}'s token exchange strips the binding: bearer beyond it")
            if node.exchange == "fail":
                return Verdict("broken", hop, f"{hop}'s token exchange fails for bound tokens")
    if verified is not None:
        return Verdict("bound", verified, f"{verified} verifies the {mechanism} binding itself")
    resource = arch.node(path[-1])
    assert isinstance(resource, Resource)
    if resource.accepts == "any":
        return Verdict("downgraded", path[-1], f"{path[-1]} accepts any token as a bearer token")
    if lost is not None:
        return Verdict("broken", lost[0], lost[1])
    return Verdict("bound", path[-1], f"{path[-1]} verifies the {mechanism} binding")


def choose_mechanism(client: Client, wanted: tuple[str, ...]) -> str | None:
    """The first wanted mechanism the client can do (None if it can do none)."""
    for mechanism in wanted:
        if mechanism == "bearer" or (mechanism in client.supports and client.key_storage != "none"):
            return mechanism
    return None


def mechanism_for(client: Client, policy: Policy, tier: Tier) -> str | None:
    """The mechanism a client uses for a tier's tokens under a policy.

    The first wanted mechanism it can do; if none, bearer when the policy falls back
    (``on_unsupported: fallback``), else None: no token exists and its requests fail.
    """
    chosen = choose_mechanism(client, getattr(policy, tier))
    if chosen is None and policy.on_unsupported == "fallback":
        return "bearer"
    return chosen


@dataclass(frozen=True)
class Route:
    """One row of the route table."""

    client: str
    resource: str
    path: tuple[str, ...]
    tier: Tier
    wanted: str
    mechanism: str
    status: Status
    effect: Effect
    hop: str | None
    reason: str


def analyse(arch: Architecture, policy: Policy) -> list[Route]:
    """Every client -> resource route, per tier, under a policy."""
    rows: list[Route] = []
    for (client_name, resource_name), paths in arch.paths.items():
        client = arch.node(client_name)
        for tier in TIERS:
            wanted = getattr(policy, tier)
            chosen = choose_mechanism(client, wanted)
            for path in paths:
                status: Status
                effect: Effect
                hop: str | None
                if chosen is None:
                    fails = policy.on_unsupported == "fail"
                    mechanism, hop = ("none" if fails else "bearer"), client_name
                    status, effect = ("broken", "fails") if fails else ("downgraded", "bearer")
                    reason = f"{client_name} cannot do {' or '.join(wanted)}" + (
                        "; its requests fail" if fails else "; it falls back to bearer"
                    )
                else:
                    verdict = classify_path(arch, path, chosen)
                    if verdict.status == "bearer":
                        status, effect = "bearer", "bearer"
                    elif verdict.status == "broken":
                        status, effect = "broken", ("fails" if policy.on_binding_loss == "fail" else "bearer")
                    else:
                        status, effect = verdict.status, ("bound" if verdict.status == "bound" else "bearer")
                    mechanism, hop, reason = chosen, verdict.hop, verdict.reason
                    if verdict.status == "broken":
                        reason += "; requests fail" if effect == "fails" else "; the policy falls back to bearer"
                rows.append(
                    Route(
                        client_name, resource_name, path, tier, ",".join(wanted), mechanism, status, effect, hop, reason
                    )
                )
    return rows


def route_table(arch: Architecture | str | Path, policy: Policy | str | Path) -> pd.DataFrame:
    """The route table as a DataFrame (one row per client, resource, path and tier).

    ``arch`` is an `Architecture`, a model file or a built-in model name; ``policy`` a
    `Policy`, a preset name or a policy file.
    """
    if not isinstance(arch, Architecture):
        arch = load_model(arch)
    rows = analyse(arch, resolve_policy(policy))
    frame = pd.DataFrame([r.__dict__ for r in rows])
    if not frame.empty:
        frame["path"] = frame["path"].map(" > ".join)
    return frame


def effective_binding(routes: list[Route]) -> dict[tuple[str, str, Tier], tuple[Effect, float]]:
    """Per (client, resource, tier): what a thief faces, and the share of legit requests that fail.

    The thief takes the weakest path: ``bearer`` if any path carries the token as
    bearer, else ``bound`` if any path works, else ``fails``. Legitimate traffic
    spreads evenly over the paths, so the failing share is the share of failing paths.
    """
    groups: dict[tuple[str, str, Tier], list[Route]] = {}
    for r in routes:
        groups.setdefault((r.client, r.resource, r.tier), []).append(r)
    out: dict[tuple[str, str, Tier], tuple[Effect, float]] = {}
    for key, rs in groups.items():
        effects = [r.effect for r in rs]
        thief: Effect = "bearer" if "bearer" in effects else ("bound" if "bound" in effects else "fails")
        out[key] = (thief, effects.count("fails") / len(effects))
    return out
