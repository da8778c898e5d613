"""What binding a thief faces from where it stands (MODEL-v2.md section 3; docs/model.md section 3).

The route table (`tokensim.model.routes`) says what reaches the resource. A thief does not always
enter where the client does:

* a thief from **outside** (a leak's ``position: outside``, and a resident thief, whose requests leave the
  victim's host through the client's first hop) meets every verifier of the route: a verifier before a
  strip still stops a token it holds without the key (`outside_effect`: the route table's
  downgraded-after-verifier rows, ``entry_verifier``);
* a thief **inside** a broker's host replays from the broker's place: an edge verifier before it does not
  stop it; the broker's exchange and the hops after it decide (`inside_effect`: `HopRule` folded over the
  path suffix, counted as the route table counts paths).
"""

from __future__ import annotations

from tokensim.model.architecture import Architecture
from tokensim.model.hops import Verdict
from tokensim.model.paths import path_spaces
from tokensim.model.policy import Policy
from tokensim.model.routes import Effect, Route, RouteAnalysis, Tier, client_mechanisms

__all__ = ["inside_effect", "outside_binding", "outside_effect"]


def outside_effect(route: Route) -> Effect:
    """What a thief entering at the client's first hop faces on one route-table row.

    A strip after a verifier makes the route bearer at the resource (MODEL-v2 section 9), but a thief from
    outside must first pass the verifier (``entry_verifier``) with the key: for it the route is bound.
    """
    if route.status == "downgraded" and route.entry_verifier is not None and route.effect == "bearer":
        return "bound"
    return route.effect


def outside_binding(routes: RouteAnalysis) -> dict[tuple[str, str, Tier], tuple[Effect, float]]:
    """`RouteAnalysis.binding` as a thief entering at the client's first hop faces it (`outside_effect`): what
    every client leak's thief (outside, or resident) meets; the failing share of legitimate requests is the same."""
    effects: dict[tuple[str, str, Tier], set[Effect]] = {}
    for g in routes.groups:
        effects.setdefault((g.client, g.resource, g.tier), set()).add(outside_effect(g))
    binding = routes.binding
    return {key: (_weakest(seen), binding[key][1]) for key, seen in effects.items()}


def _weakest(effects: set[Effect]) -> Effect:
    """The thief takes the weakest path: bearer if any, else bound if any works, else fails."""
    return "bearer" if "bearer" in effects else ("bound" if "bound" in effects else "fails")


def inside_effect(
    arch: Architecture, policy: Policy, broker: str, client: str, resource: str, tier: Tier, outside: Effect
) -> Effect:
    """What a thief inside ``broker`` faces with the tokens the broker holds for ``client`` at ``resource``.

    ``policy`` is the client's (its overrides applied); ``outside``: the cell's effect from outside, kept where
    nothing is bound (a bearer or unsupported mechanism) or where the broker's exchange fails for bound tokens
    (the route's own verdict). A broker that strips holds bearer tokens: bearer beyond it. A broker that
    preserves the binding forwards bound tokens: the hops after it decide (the weakest suffix path).
    """
    mechanism = client_mechanisms(arch, client, policy, tier).get(resource)
    node = arch.node(broker)
    if mechanism is None or mechanism == "bearer" or node.exchange == "fail":
        return outside
    if node.exchange == "strip":
        return "bearer"
    key = ("inside-suffix", broker, resource)
    if key not in arch.memo:
        spaces = path_spaces(arch.graph, arch.spec.nodes, [broker], [resource], arch.source)
        arch.memo[key] = spaces.get((broker, resource))
    space = arch.memo[key]
    if space is None:  # cannot happen for a broker on the client's paths to the resource
        return outside
    return _weakest({_effect(verdict, policy) for verdict in space.tally(mechanism).paths})


def _effect(verdict: Verdict, policy: Policy) -> Effect:
    """What the policy makes of a suffix's verdict (as `routes._route` does for a whole path)."""
    if verdict.status == "bound":
        return "bound"
    if verdict.status == "broken":
        return "fails" if policy.on_binding_loss == "fail" else "bearer"
    return "bearer"
