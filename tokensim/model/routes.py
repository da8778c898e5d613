"""Route analysis (MODEL.md section 3): where does the binding survive?

Every (client, resource, path, tier) is classified before any event runs (the rule
per hop: tokensim.model.hops; the paths are counted, never all listed:
tokensim.model.paths):

* ``status`` is what the network does to the chosen mechanism: ``bound`` (the
  binding reaches a point that verifies it), ``downgraded`` (the request works,
  but the token is taken as a bearer token) or ``broken`` (legitimate requests fail);
* ``effect`` is what the policy makes of it: ``bound`` (a thief needs the key),
  ``bearer`` (possession is enough) or ``fails`` (nobody's request succeeds).

``hop`` names the node that causes a downgrade or a break.

`analyse` gives what the engine and the cost model read: per (client, resource,
tier), one `Route` per outcome with the number of paths that have it. `route_table`
is the table for people: one row per path, or, beyond `TABLE_ROWS` rows, the
rows of `analyse` (each with its path count and its first path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tokensim.errors import InputError
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.hops import HopRule, Status, Verdict
from tokensim.model.policy import Policy, resolve_policy
from tokensim.model.schema import Client, Issuer
from tokensim.model.validate import check_overrides

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ROUTING_FIELDS",
    "TABLE_ROWS",
    "TIERS",
    "Effect",
    "Route",
    "RouteAnalysis",
    "Status",
    "Tier",
    "Verdict",
    "analyse",
    "choose_mechanism",
    "classify_path",
    "client_mechanisms",
    "effective_binding",
    "mechanism_for",
    "route_table",
    "unsupported_reason",
]

#: A policy's two tiers of resources, each with its own wanted mechanisms.
Tier = Literal["low_risk", "privileged"]
#: What the policy makes of a route: a thief needs the key, possession is enough, or nobody's request succeeds.
Effect = Literal["bound", "bearer", "fails"]

TIERS: tuple[Tier, ...] = ("low_risk", "privileged")
#: The policy fields route analysis reads: the mechanisms wanted per tier and what a loss of binding does.
ROUTING_FIELDS: tuple[str, ...] = ("low_risk", "privileged", "on_binding_loss", "on_unsupported")
#: Most rows `route_table` lists one per path; beyond, it gives one row per outcome with its path count.
#: Assumption: what a person reads in a terminal or a report (every built-in model has at most 6).
TABLE_ROWS = 200


def classify_path(arch: Architecture, path: tuple[str, ...], mechanism: str) -> Verdict:
    """Classify one path for one mechanism by walking it from client to resource (`HopRule.classify`)."""
    return HopRule(arch.spec.nodes, mechanism).classify(path)


def choose_mechanism(client: Client, wanted: tuple[str, ...], issuer: Issuer | None = None) -> str | None:
    """The first wanted mechanism the client can do and ``issuer`` issues (None if there is none).

    ``issuer`` None: the client alone decides (every issuer of version 1 issued every mechanism).
    A static key (an API key or PAT) cannot be sender-constrained: every policy treats it as bearer.
    """
    if client.credential == "static_key":
        return "bearer"
    for mechanism in wanted:
        if mechanism == "bearer":
            return mechanism
        if mechanism in client.supports and client.key_storage != "none":
            if issuer is None or mechanism in issuer.supports:
                return mechanism
    return None


def mechanism_for(client: Client, policy: Policy, tier: Tier, issuer: Issuer | None = None) -> str | None:
    """The mechanism a client uses for a tier's tokens under a policy, at a resource of ``issuer``.

    The first wanted mechanism it can do and the issuer issues; if none, bearer when the policy falls
    back (``on_unsupported: fallback``), else None: no token exists and its requests fail. An issuer
    that cannot issue what the client asks for is treated as a client that cannot do it (MODEL-v2 section 1).
    """
    chosen = choose_mechanism(client, getattr(policy, tier), issuer)
    if chosen is None and policy.on_unsupported == "fallback":
        return "bearer"
    return chosen


def client_mechanisms(arch: Architecture, name: str, policy: Policy, tier: Tier) -> dict[str, str | None]:
    """Per resource the client reaches, in model order: its mechanism for the tier (`mechanism_for`)."""
    client: Client = arch.node(name)
    return {r: mechanism_for(client, policy, tier, arch.issuer_of(r)) for r in arch.reachable(name)}


def unsupported_reason(
    client: str, spec: Client, issuer: str | None, issuer_spec: Issuer, wanted: tuple[str, ...]
) -> str:
    """Why no wanted mechanism is possible: what the client cannot do, then what its resource's issuer does not issue."""
    cannot = [m for m in wanted if m not in spec.supports or spec.key_storage == "none"]
    not_issued = [m for m in wanted if m not in cannot and m not in issuer_spec.supports]
    parts = [f"{client} cannot do {' or '.join(cannot)}"] if cannot else []
    if not_issued:
        parts.append(f"issuer {issuer or '(default)'} issues no {' or '.join(not_issued)} tokens")
    return "; ".join(parts)


@dataclass(frozen=True)
class Route:
    """One row of the route table: one path, or ``paths`` paths alike in all but their path (``path`` the first)."""

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
    paths: int = 1
    entry_verifier: str | None = None  # the first node verifying the binding: a thief from outside passes it


@dataclass(frozen=True)
class RouteAnalysis:
    """The routes of a model under a policy, counted: what the engine and the cost model read.

    ``groups``: per (client, resource, tier), in model order, one `Route` per outcome (status,
    effect, hop and reason), with the number of paths that have it and the first of them;
    ``bound_hops``: per (client, resource, tier), the interior nodes of its paths whose effect is bound.
    """

    groups: tuple[Route, ...]
    bound_hops: Mapping[tuple[str, str, Tier], frozenset[str]]

    @cached_property
    def binding(self) -> Mapping[tuple[str, str, Tier], tuple[Effect, float]]:
        """Per (client, resource, tier): what a thief faces and the share of legitimate requests that fail
        (`effective_binding`); exact: counts of paths are Python integers."""
        counts: dict[tuple[str, str, Tier], dict[Effect, int]] = {}
        for g in self.groups:
            by_effect = counts.setdefault((g.client, g.resource, g.tier), {})
            by_effect[g.effect] = by_effect.get(g.effect, 0) + g.paths
        out: dict[tuple[str, str, Tier], tuple[Effect, float]] = {}
        for key, n in counts.items():
            thief: Effect = "bearer" if "bearer" in n else ("bound" if "bound" in n else "fails")
            out[key] = (thief, n.get("fails", 0) / sum(n.values()))
        return out

    @cached_property
    def rows(self) -> int:
        """How many rows the route table has when it lists every path (one per path and tier)."""
        return sum(g.paths for g in self.groups)

    def uses(self, mechanism: str) -> bool:
        """Whether some client uses ``mechanism`` for some tier."""
        return any(g.mechanism == mechanism for g in self.groups)


def analyse(arch: Architecture, policy: Policy) -> RouteAnalysis:
    """Every client -> resource route, per tier, under a policy: counted by outcome, never listed.

    It reads only the policy's `ROUTING_FIELDS` and `overrides` (per client, `Policy.for_client`), so it is computed once per model and setting of them
    (every run of a sweep asks again) and kept in the model's memo.
    """
    key = ("routes", *(getattr(policy, f) for f in ROUTING_FIELDS), policy.overrides_key())
    if key not in arch.memo:
        problems = check_overrides(arch.spec, policy)
        if problems:
            raise InputError(f"policy {policy.name}", problems)
        arch.memo[key] = _analyse(arch, policy)
    analysis: RouteAnalysis = arch.memo[key]
    return analysis


def _analyse(arch: Architecture, base: Policy) -> RouteAnalysis:
    groups: list[Route] = []
    bound_hops: dict[tuple[str, str, Tier], frozenset[str]] = {}
    for (client_name, resource_name), space in arch.paths.items():
        pair = _Pair.of(arch, client_name, resource_name)
        policy = base.for_client(client_name, pair.spec.platform)
        for tier in TIERS:
            wanted = getattr(policy, tier)
            chosen = pair.choose(wanted)
            if chosen is None:
                first = next(space.listing())
                groups.append(_route(policy, pair, first, tier, wanted, None, None, space.total))
                continue
            tally = space.tally(chosen)
            hops: set[str] = set()
            for verdict, n in tally.paths.items():
                row = _route(policy, pair, tally.first[verdict], tier, wanted, chosen, verdict, n)
                groups.append(row)
                if row.effect == "bound":
                    hops.update(v for v, k in tally.through[verdict].items() if k)
            bound_hops[(client_name, resource_name, tier)] = frozenset(hops)
    return RouteAnalysis(tuple(groups), bound_hops)


def effective_binding(routes: RouteAnalysis) -> Mapping[tuple[str, str, Tier], tuple[Effect, float]]:
    """Per (client, resource, tier): what a thief faces, and the share of legit requests that fail.

    The thief takes the weakest path: ``bearer`` if any path carries the token as
    bearer, else ``bound`` if any path works, else ``fails``. Legitimate traffic
    spreads evenly over the paths, so the failing share is the share of failing paths.
    """
    return routes.binding


def route_table(
    arch: Architecture | str | Path, policy: Policy | str | Path, *, limit: int = TABLE_ROWS
) -> pd.DataFrame:
    """The route table as a DataFrame: one row per client, resource, path and tier, up to ``limit`` rows.

    A model with more rows than ``limit`` gets one row per client, resource, tier and
    outcome instead (the rows of `analyse`): its ``path`` is the first of the ``paths``
    paths it stands for (``paths`` is 1 on every row of a table that lists each path).
    ``arch`` is an `Architecture`, a model file or a built-in model name; ``policy`` a
    `Policy`, a preset name or a policy file.
    """
    import pandas as pd  # here: `tokensim check` reads `route_rows` and starts without pandas

    return pd.DataFrame(route_rows(arch, policy, limit=limit))


def route_rows(
    arch: Architecture | str | Path, policy: Policy | str | Path, *, limit: int = TABLE_ROWS
) -> list[dict[str, Any]]:
    """`route_table`'s rows as records (the path joined with ``" > "``): the table without pandas."""
    if not isinstance(arch, Architecture):
        arch = load_model(arch)
    pol = resolve_policy(policy)
    analysis = analyse(arch, pol)
    routes = list(_listed(arch, pol)) if analysis.rows <= limit else list(analysis.groups)
    return [{**r.__dict__, "path": " > ".join(r.path)} for r in routes]


def _listed(arch: Architecture, base: Policy) -> list[Route]:
    """One row per client, resource, path and tier (every path listed: call it only for a bounded table)."""
    out: list[Route] = []
    for (client_name, resource_name), space in arch.paths.items():
        pair = _Pair.of(arch, client_name, resource_name)
        policy = base.for_client(client_name, pair.spec.platform)
        for tier in TIERS:
            wanted = getattr(policy, tier)
            chosen = pair.choose(wanted)
            rule = HopRule(arch.spec.nodes, chosen) if chosen is not None else None
            for path in space.listing():
                verdict = rule.classify(path) if rule is not None else None
                out.append(_route(policy, pair, path, tier, wanted, chosen, verdict, 1))
    return out


@dataclass(frozen=True)
class _Pair:
    """A client and a resource it reaches, with the issuer the resource trusts (which mechanisms exist there)."""

    client: str
    resource: str
    spec: Client
    issuer: str | None
    issuer_spec: Issuer

    @classmethod
    def of(cls, arch: Architecture, client: str, resource: str) -> _Pair:
        return cls(client, resource, arch.node(client), arch.issuer_name_of(resource), arch.issuer_of(resource))

    def choose(self, wanted: tuple[str, ...]) -> str | None:
        """The first wanted mechanism the client can do and the issuer issues (`choose_mechanism`)."""
        return choose_mechanism(self.spec, wanted, self.issuer_spec)


def _route(
    policy: Policy,
    pair: _Pair,
    path: tuple[str, ...],
    tier: Tier,
    wanted: tuple[str, ...],
    chosen: str | None,
    verdict: Verdict | None,
    paths: int,
) -> Route:
    """A row of the table: ``verdict`` on ``paths`` paths for the ``chosen`` mechanism (None: the client can do
    no wanted mechanism, and there is no verdict)."""
    status: Status
    effect: Effect
    client, resource = pair.client, pair.resource
    if chosen is None or verdict is None:
        fails = policy.on_unsupported == "fail"
        # the client is to blame when it can do none of them itself, else the issuer that does not issue them
        blame = client if choose_mechanism(pair.spec, wanted) is None else (pair.issuer or client)
        mechanism = "none" if fails else "bearer"
        status, effect = ("broken", "fails") if fails else ("downgraded", "bearer")
        reason = unsupported_reason(client, pair.spec, pair.issuer, pair.issuer_spec, wanted) + (
            "; its requests fail" if fails else "; it falls back to bearer"
        )
        return Route(client, resource, path, tier, ",".join(wanted), mechanism, status, effect, blame, reason, paths)
    if verdict.status == "bearer":
        status, effect = "bearer", "bearer"
    elif verdict.status == "broken":
        status, effect = "broken", ("fails" if policy.on_binding_loss == "fail" else "bearer")
    else:
        status, effect = verdict.status, ("bound" if verdict.status == "bound" else "bearer")
    reason = verdict.reason
    if verdict.status == "broken":
        reason += "; requests fail" if effect == "fails" else "; the policy falls back to bearer"
    return Route(
        client,
        resource,
        path,
        tier,
        ",".join(wanted),
        chosen,
        status,
        effect,
        verdict.hop,
        reason,
        paths,
        verdict.entry_verifier,
    )
