"""The per-hop rule of route analysis (docs/model.md section 3): a path's fate as a fold over its hops.

A path is classified by folding `HopRule.step` over its interior hops, from client to
resource, starting at `HopRule.start`, and ending with `HopRule.finish` at the resource.
The state between hops (`Walk`) is small and hashable, so one rule serves both one path
(the route table) and counting over the architecture's graph (tokensim.model.paths):
paths that reach a node in the same state share their future, so they are counted
together instead of listed. Changing the rule (issue 12) is a change of `step` (and of
`Walk`, if the rule needs to remember more), nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from tokensim.model.schema import Broker, Intermediary, Mesh, Resource

#: What the network does to a mechanism on a path (``bearer``: the mechanism is bearer, nothing to bind).
Status = Literal["bound", "downgraded", "broken", "bearer"]


class Verdict(NamedTuple):
    """What the network does to one mechanism on one path: its status, the hop that decides it, and why.

    ``entry_verifier`` is the first node that verifies the binding on the path (a verifying hop, or the
    resource), where a thief coming from outside must pass with the key; None when nothing verifies it. It
    is kept apart from ``status`` (what reaches the resource, MODEL-v2 section 9) so that a thief already
    inside the network, beyond the verifier, can later be told from one outside (MODEL-v2 section 3).
    """

    status: Status
    hop: str | None
    reason: str
    entry_verifier: str | None = None


BEARER = Verdict("bearer", None, "bearer token: possession is enough")


class Walk(NamedTuple):
    """The state of a walk along a path, after some of its hops (hashable: walks in one state are counted together)."""

    lost: tuple[str, str] | None = None  # (hop, why): the first hop after which the binding can no longer be verified
    verified: str | None = None  # the first hop that verified it (the thief must pass there)
    sealed: Verdict | None = None  # the path's fate, once a hop decided it: later hops change nothing


@dataclass(frozen=True)
class HopRule:
    """What each hop does to one mechanism: ``nodes`` are the model's validated nodes by name.

    The rule per hop (docs/model.md section 3): a proxy, gateway or mesh may lose the binding (`loss`);
    a verifying hop binds the route if nothing was lost before it, else breaks it; a broker validates the
    token it exchanges, so a loss before it breaks the route, and its `exchange` decides the rest. A hop
    after a verifier still matters: a strip downgrades the route (the binding is what reaches the
    resource, MODEL-v2 section 9), and a loss matters if a later hop verifies again (a verifying hop or a
    broker). The resource behind a verifier relies on it (**Choice**, docs/model.md section 3).
    """

    nodes: Mapping[str, Any]
    mechanism: str

    def start(self) -> Walk:
        """The state at the client: a bearer token has nothing to lose."""
        return Walk(sealed=BEARER) if self.mechanism == "bearer" else Walk()

    def loss(self, node: Intermediary | Mesh, hop: str) -> str | None:
        """Why the binding cannot be verified beyond a proxy, gateway or mesh hop that does not verify it (None: it can)."""
        if self.mechanism == "mtls" and node.terminates_tls and not node.forwards_client_cert:
            what = "re-encrypts with workload identity" if isinstance(node, Mesh) else "terminates TLS"
            return f"{hop} {what} and does not forward the client certificate"
        if self.mechanism == "dpop" and node.rewrites_uri:
            return f"{hop} rewrites the URI, so the proof's htu no longer matches"
        if self.mechanism == "dpop" and node.terminates_tls and not node.forwards_host:
            return f"{hop} terminates TLS and changes the host and scheme, so the proof's htu no longer matches"
        return None

    def step(self, state: Walk, hop: str) -> Walk:
        """The state after an interior hop (a proxy, gateway, mesh or broker)."""
        if state.sealed is not None:
            return state
        node = self.nodes[hop]
        lost, entry = state.lost, state.verified
        if isinstance(node, (Intermediary, Mesh)):
            if node.verifies_binding:
                if lost is not None:  # the proof or certificate never reaches it
                    why = f"{lost[1]}; {hop} cannot verify the binding"
                    return state._replace(sealed=Verdict("broken", lost[0], why, entry))
                state = state if entry is not None else state._replace(verified=hop)
            if lost is None:  # a verifier too may lose the binding for a hop beyond it that verifies again
                loss = self.loss(node, hop)
                if loss is not None:
                    return state._replace(lost=(hop, loss))
        elif isinstance(node, Broker):
            if lost is not None:
                return state._replace(sealed=Verdict("broken", lost[0], lost[1], entry))
            if node.exchange == "strip":
                why = f"{hop}'s token exchange strips the binding: bearer beyond it"
                if entry is not None:
                    why += f" (after {entry} verified it)"
                return state._replace(sealed=Verdict("downgraded", hop, why, entry))
            if node.exchange == "fail":
                why = f"{hop}'s token exchange fails for bound tokens"
                return state._replace(sealed=Verdict("broken", hop, why, entry))
        return state

    def finish(self, state: Walk, resource: str) -> Verdict:
        """The path's verdict once it reaches ``resource``."""
        if state.sealed is not None:
            return state.sealed
        if state.verified is not None:  # the resource relies on the verifier; a loss after it does not matter
            why = f"{state.verified} verifies the {self.mechanism} binding itself"
            return Verdict("bound", state.verified, why, state.verified)
        node = self.nodes[resource]
        assert isinstance(node, Resource)
        if node.accepts == "any":
            return Verdict("downgraded", resource, f"{resource} accepts any token as a bearer token")
        if state.lost is not None:
            return Verdict("broken", state.lost[0], state.lost[1])
        return Verdict("bound", resource, f"{resource} verifies the {self.mechanism} binding", resource)

    def classify(self, path: Iterable[str]) -> Verdict:
        """One path's verdict: the fold of `step` over its interior hops."""
        hops = list(path)
        state = self.start()
        for hop in hops[1:-1]:
            state = self.step(state, hop)
        return self.finish(state, hops[-1])
