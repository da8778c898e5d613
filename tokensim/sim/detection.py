"""What the defender detects and what one detection revokes (MODEL-v2.md section 5).

Failed attempts are signals: a replay at a cell is a success, a binding failure (the thief holds a
token for the cell but cannot satisfy its binding), an audience failure (it holds tokens only for
other audiences) or nothing the defender sees (`FailureKind`). The first detection of a family is the
first event of a Poisson process of rate ``rho (q w_success + q_b w_binding + q_f w_audience)``.

A detection revokes, after the response time, every family of its `revocation_scope` group that
exists by then (`Scopes`): the family, its leak, its client population, its (client, tenant), or the run.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tokensim.model.routes import Effect

#: Why a replay at one cell succeeds or fails, for detection: ``success``; ``binding`` (holds a token for the
#: cell whose binding it cannot satisfy); ``audience`` (holds tokens only for other audiences); ``none`` (route
#: fails for everyone, nothing held, or a token of this audience without the tier: never a signal).
FailureKind = Literal["success", "binding", "audience", "none"]
Scope = Literal["family", "leak", "client", "tenant", "all"]


class CellLike(Protocol):
    """What `audience_failures` reads of a cell (a `bundle.Cell`)."""

    @property
    def resource(self) -> str: ...
    @property
    def effect(self) -> Effect: ...


def audience_failures(
    cells: Sequence[CellLike], kinds: list[FailureKind], held: Iterable[tuple[str, str, bool]]
) -> list[FailureKind]:
    """Mark as ``audience`` the cells (with a route) where the thief holds no token covering the cell's
    resource but holds one for another resource. ``held``: per captured (token, resource it covers, held now)."""
    tokens: dict[str, tuple[bool, set[str]]] = {}
    for token, resource, ok in held:
        was, where = tokens.setdefault(token, (False, set()))
        where.add(resource)
        tokens[token] = (was or ok, where)
    live = [where for ok, where in tokens.values() if ok]
    out = list(kinds)
    for i, cell in enumerate(cells):
        if out[i] == "none" and cell.effect != "fails":
            if live and all(cell.resource not in where for where in live):
                out[i] = "audience"
    return out


@dataclass(frozen=True)
class Detection:
    """The defender's detection probabilities and the revocation scope of the policy."""

    q: float  # per successful unauthorized request (`detection_probability`)
    q_binding: float  # per binding failure (`binding_failure_detection`)
    q_audience: float  # per audience failure (`failure_detection`)
    scope: Scope

    def failure_signal(self, weights: Sequence[float], kinds: Sequence[FailureKind]) -> float:
        """``q_b w_binding + q_f w_audience``: the failures' part of the detection rate per replay."""
        if not (self.q_binding or self.q_audience):
            return 0.0
        wb = sum(w for w, k in zip(weights, kinds) if k == "binding")
        wa = sum(w for w, k in zip(weights, kinds) if k == "audience")
        return self.q_binding * wb + self.q_audience * wa


@dataclass(frozen=True)
class Scopes:
    """Which scope group a family belongs to, and how many legitimate sessions revoking a group ends."""

    scope: Scope
    populations: Mapping[str, tuple[int, int]]  # client -> (instances, tenants)

    def key(
        self,
        uid: int,
        leak: Hashable,
        client: str | None,
        tenant: tuple[str, int] | None,
        scope: Scope | None = None,
    ) -> Hashable:
        """The group of a family: one per family, leak, client population, (client, tenant) or the run
        (``scope``: in place of the policy's, for one leak)."""
        scope = scope or self.scope
        if scope == "all":
            return "all"
        if scope == "leak":
            return ("leak", leak)
        if scope == "client" and client is not None:
            return ("client", client)
        if scope == "tenant" and tenant is not None:
            return ("tenant", tenant)
        return ("family", uid)  # family scope, or an issuer's signing key (no client, no tenant)

    def sessions(self, key: Hashable, members: Iterable[tuple[str | None, int]]) -> int:
        """Legitimate sessions (instances) a revocation of the group ends: each re-authenticates.

        ``members``: the (client, instance) of the families revoked (client None: a signing key, no session).
        """
        if self.scope == "all":
            return sum(n for n, _ in self.populations.values())
        if isinstance(key, tuple) and key[0] == "client":
            return int(self.populations[str(key[1])][0])
        if isinstance(key, tuple) and key[0] == "tenant":
            client, tenant = key[1]
            n, tenants = self.populations[client]
            return int((n - tenant + tenants - 1) // tenants)
        return len({(c, i) for c, i in members if c is not None})  # family, leak: the victims themselves
