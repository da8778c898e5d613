"""Closed form of token-only families when failed attempts signal, or when a scope group revokes them.

The version-1 closed form (`token_families.resolve`) has every window starting at exploitation start.
With failure detection (MODEL-v2.md section 5) a cell's replays are, in turn, a success (until the
token expires, the proof window closes or the resource sees the revocation), a binding failure (a
bound cell whose proof has closed, while the token lives) or an audience failure (no token covering
the cell's resource is held, one for another resource is): three windows per cell, not all starting at
the start. The detection hazard is still piecewise linear in time, ``rho`` times the sum over windows
open at t of their coefficients (``q w``, ``q_b w``, ``q_f w``); the first detection is its inverse at an
Exp(1) draw (`first_event`), and the counts follow the process path's thinning (exact Poisson draws).

A family's revocation time is either its own (first detection plus its response draw) or given: under
`revocation_scope: leak` the minimum of that over every family of the leak (docs/model.md, section 7,
says why that is exact). Its detection is then the inverse of the hazard cut by that revocation, at the
same draw: the same time when it comes before the revocation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tokensim.sim.token_families import INF, FamilyOutcome, _poisson, row_max


@dataclass(frozen=True)
class Signals:
    """The detection probabilities and the token coverage of one client population's cells."""

    q: float  # per success
    q_binding: float  # per binding failure
    q_audience: float  # per audience failure
    covers: np.ndarray  # bool (T, K): token t serves cell k
    same: np.ndarray  # bool (K, T): token t serves some cell of cell k's resource


@dataclass(frozen=True)
class Windows:
    """Per family (rows): the three windows per cell, as absolute times (columns: success, binding, audience)."""

    a: np.ndarray  # float (M, 3K) window starts (>= start)
    b: np.ndarray  # float (M, 3K) window ends (>= a)
    success_end: np.ndarray  # float (M, K): end of each cell's usable window (<= start: none)
    held_end: np.ndarray  # float (M,): until when the thief holds some token (it keeps attempting)


@dataclass(frozen=True)
class CellInputs:
    """A client population's K cells as the closed form sees them."""

    bearer: np.ndarray  # bool (K,): the route is bearer for the thief
    bound: np.ndarray  # bool (K,): the route is bound (neither: fails)
    weight: np.ndarray  # float (K,): the thief's aim
    seen_delay: np.ndarray  # float (K,): how long after a revocation the resource sees it (inf: JWT)
    signals: Signals

    def thinned(self, accept: np.ndarray) -> CellInputs:
        """The cells with each bound cell's aim times ``accept`` (K,): replays of captured proofs that per-node
        `jti` caches accept (`proofs.proofs_replay`). **Approximation:** every signal of a bound cell is
        thinned alike, binding failures included (exact when binding failures do not signal)."""
        replays = self.bound & (accept > 0)  # 0: proofs never replay there (nothing to thin)
        return replace(self, weight=self.weight * np.where(replays, accept, 1.0))

    def coefficients(self, rho: float) -> np.ndarray:
        """The detection rate per open window (3K,): success, binding failure, audience failure."""
        sig, w = self.signals, self.weight
        route = (self.bearer | self.bound).astype(float)
        return rho * np.concatenate([sig.q * w, sig.q_binding * w * self.bound, sig.q_audience * w * route])

    def windows(
        self, start: np.ndarray, horizon: float, expiry: np.ndarray, proof_until: np.ndarray, revoked: np.ndarray
    ) -> Windows:
        """The windows of M families, with revocation at ``revoked`` (M,) (inf: none)."""
        bearer, bound = self.bearer, self.bound
        s = start[:, None]
        seen = revoked[:, None] + self.seen_delay[None, :]  # when each resource sees the revocation
        held = np.minimum(np.minimum(expiry, horizon), seen)  # captured token held at the cell (-inf: none)
        usable = np.where(bearer, expiry, np.where(bound, np.minimum(expiry, proof_until), -INF))
        success_end = np.minimum(np.minimum(usable, horizon), seen)
        bind_a = np.where(bound, np.maximum(s, success_end), s)
        bind_b = np.where(bound, held, s)
        # a token is held while some cell it serves still accepts it
        sig = self.signals
        per_token = np.stack([row_max(np.where(c[None, :], held, -INF)) for c in sig.covers], axis=1)
        mine = np.stack([row_max(np.where(m[None, :], per_token, -INF)) for m in sig.same], axis=1)
        other = np.stack([row_max(np.where(~m[None, :], per_token, -INF)) for m in sig.same], axis=1)
        aud_a = np.maximum(s, mine)
        aud_b = np.where(bearer | bound, other, s)
        a = np.maximum(np.concatenate([np.broadcast_to(s, expiry.shape), bind_a, aud_a], axis=1), s)
        b = np.maximum(np.concatenate([success_end, bind_b, aud_b], axis=1), a)
        return Windows(a, b, success_end, row_max(held))


def first_event(a: np.ndarray, b: np.ndarray, coef: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """The first event of a Poisson process whose rate is the sum of ``coef`` over windows [a, b) open at t:
    the cumulative hazard (piecewise linear) inverted at ``draw`` (Exp(1) per row); NaN where never reached."""
    out = np.full(a.shape[0], np.nan)
    total = (b - a) @ coef
    rows = np.flatnonzero(draw < total)
    if not rows.size:
        return out
    points = np.concatenate([a[rows], b[rows]], axis=1)
    deltas = np.broadcast_to(np.concatenate([coef, -coef]), points.shape)
    order = np.argsort(points, axis=1, kind="stable")
    ps = np.take_along_axis(points, order, axis=1)
    slope = np.cumsum(np.take_along_axis(deltas, order, axis=1), axis=1)  # rate after each point
    steps = np.cumsum(slope[:, :-1] * np.diff(ps, axis=1), axis=1)
    hazard = np.concatenate([np.zeros((rows.size, 1)), steps], axis=1)  # cumulative hazard at each point
    x = draw[rows]
    j = np.argmax(hazard[:, 1:] > x[:, None], axis=1)
    h0 = np.take_along_axis(hazard, j[:, None], axis=1)[:, 0]
    p0 = np.take_along_axis(ps, j[:, None], axis=1)[:, 0]
    out[rows] = p0 + (x - h0) / np.take_along_axis(slope, j[:, None], axis=1)[:, 0]
    return out


def resolve_general(
    *,
    leak_time: np.ndarray,
    start: np.ndarray,
    horizon: float,
    expiry: np.ndarray,
    proof_until: np.ndarray,
    cells: CellInputs,
    rho: float,
    draw: np.ndarray,
    response: np.ndarray | None,
    revoke_at: np.ndarray | None,
    rng: np.random.Generator,
) -> FamilyOutcome:
    """Resolve M token-only families (per family): revocation after their own detection (``response``) or
    at ``revoke_at`` (their scope group's revocation, inf: none); ``draw`` the Exp(1) of each first detection."""
    m, k = expiry.shape
    weight, signals = cells.weight, cells.signals
    coef = cells.coefficients(rho)
    cut = cells.windows(start, horizon, expiry, proof_until, np.full(m, INF))
    if revoke_at is None:  # the family's own response
        assert response is not None
        detected_at = first_event(cut.a, cut.b, coef, draw)
        revoked = np.where(np.isnan(detected_at), INF, detected_at + response)
    else:
        revoked = np.asarray(revoke_at, dtype=float)
    revoked = np.where(revoked < horizon, revoked, INF)
    if np.isfinite(revoked).any():
        cut = cells.windows(start, horizon, expiry, proof_until, revoked)
    if revoke_at is not None:  # the hazard cut by the group's revocation, at the same draw
        detected_at = first_event(cut.a, cut.b, coef, draw)
    detected = ~np.isnan(detected_at)
    t_d = np.where(detected, detected_at, INF)[:, None]
    w3 = np.concatenate([weight, weight, weight])
    pre = np.clip(np.minimum(cut.b, t_d) - cut.a, 0.0, None)
    post = np.clip(cut.b - np.maximum(cut.a, t_d), 0.0, None)
    s = start
    held_pre = np.clip(np.minimum(cut.held_end, t_d[:, 0]) - s, 0.0, None)
    held_post = np.clip(cut.held_end - np.maximum(s, t_d[:, 0]), 0.0, None)
    q = signals.q
    successes = _poisson(rng, rho * (1 - q) * weight * pre[:, :k])
    post_hits = _poisson(rng, rho * weight * post[:, :k])
    successes += post_hits
    found = int(rng.binomial(post_hits, q).sum()) if q > 0 else 0
    signalled = (
        pre * w3 * np.concatenate([np.full(k, q), np.full(k, signals.q_binding), np.full(k, signals.q_audience)])
    )
    quiet_fail = np.clip(held_pre - pre[:, :k] @ weight - signalled[:, k:].sum(axis=1), 0.0, None)
    attempts = _poisson(rng, rho * quiet_fail)
    nb = _poisson(rng, rho * post[:, k : 2 * k] @ weight)
    na = _poisson(rng, rho * post[:, 2 * k :] @ weight)
    rest = np.clip(held_post - post @ w3, 0.0, None)
    attempts += nb + na + _poisson(rng, rho * rest)
    found += int(rng.binomial(nb, signals.q_binding).sum()) + int(rng.binomial(na, signals.q_audience).sum())
    rows = np.flatnonzero(detected)
    if rows.size:  # the detected request: a window open at that moment, chosen by its rate
        live = (cut.a[rows] <= t_d[rows]) & (cut.b[rows] > t_d[rows])
        probs = np.where(live, coef, 0.0)
        cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        pick = np.minimum((cum < rng.random(rows.size)[:, None]).sum(axis=1), 3 * k - 1)
        hit = pick < k
        np.add.at(successes, (rows[hit], pick[hit]), 1)
        attempts[rows[~hit]] += 1
    family_attempts = attempts + successes.sum(axis=1)
    return FamilyOutcome(
        cell_successes=successes.sum(axis=0),
        attempts=int(family_attempts.sum()),
        detections=int(detected.sum()) + found,
        successes=successes,
        family_attempts=family_attempts,
        detected_at=detected_at,
        revoked_at=np.where(np.isfinite(revoked), revoked, np.nan),
        usable_end=cut.success_end,
        exposure=np.clip(row_max(cut.success_end) - leak_time, 0.0, None),
    )
