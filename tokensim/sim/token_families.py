"""Vectorized exploitation of stolen families that hold only captured access tokens.

A log leak on a busy proxy exposes thousands of sessions at once; each such family
holds nothing but access tokens (and DPoP proofs), whose usable windows all start
at the same exploitation time. For them the whole story (replays, first detection,
response, revocation as each resource sees it) has a closed form per family, so
it is computed for all families of one leak at once with numpy, instead of one
SimPy process each. The numbers follow the same rules as `Bundle.state` and the
same Poisson thinning as the process path:

* cell c is usable on ``[start, U_c)``, where ``U_c`` is the token's expiry for a
  bearer route, the earlier of expiry and proof window for a bound route with a
  captured proof, and nothing otherwise; revocation cuts ``U_c`` when the resource
  sees it (at once, after CAEP propagation, or never for self-contained JWTs);
* the first detection is the first event of a Poisson process of rate
  ``rho * q * sum(w_c over usable cells)``: the inverse of its piecewise-linear
  cumulative hazard at an Exp(1) draw;
* successes before it are undetected (rate ``rho (1 - q) w_c``), after it all
  successes count (rate ``rho w_c``), plus the detected one itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INF = np.inf


@dataclass(frozen=True)
class FamilyOutcome:
    """Results of `resolve`: totals, and per family (rows) and cell (columns)."""

    cell_successes: np.ndarray  # int (K,): successful requests per cell, all families
    attempts: int  # all families' replay attempts
    detections: int  # detected requests
    successes: np.ndarray  # int (M, K) per family
    family_attempts: np.ndarray  # int (M,) per family
    detected_at: np.ndarray  # float (M,): time of the first detection, NaN if none
    revoked_at: np.ndarray  # float (M,): revocation time, NaN if none before the horizon
    usable_end: np.ndarray  # float (M, K): end of each cell's usable window after revocation (<= start: none)
    exposure: np.ndarray  # float (M,): hours from the leak with at least one usable cell


def resolve(
    *,
    leak_time: np.ndarray | float,
    start: np.ndarray | float,
    horizon: float,
    expiry: np.ndarray,
    proof_until: np.ndarray,
    bearer: np.ndarray,
    bound: np.ndarray,
    weight: np.ndarray,
    seen_delay: np.ndarray,
    rho: float,
    q: float,
    response: np.ndarray,
    rng: np.random.Generator,
    accept: np.ndarray | None = None,
) -> FamilyOutcome:
    """Resolve M token-only families over K cells.

    ``leak_time`` and ``start`` (exploitation start) are per family (M,) or shared; ``expiry`` and ``proof_until`` are (M, K) times (-inf where absent); ``bearer``
    and ``bound`` are (K,) masks of the cells' route effects (neither: fails);
    ``weight`` (K,) the thief's aim; ``seen_delay`` (K,) how long after a revocation
    the resource sees it (inf for JWTs); ``response`` (M,) response-time draws.
    Every family's counts are drawn on their own (tenants, records per tenant and incidents need to
    know which families succeeded). ``accept`` (K,) is the chance that a replay resting on a
    captured proof (a bound cell) is accepted (jti caches per verifier replica): a thinning of those
    cells' success rate; the replays it refuses count as failing attempts.
    """
    if accept is not None:
        weight = weight * np.where(bound, accept, 1.0)  # the success weight; the aim stays in `failing`
    m = int(expiry.shape[0])
    leak_time = np.broadcast_to(np.asarray(leak_time, dtype=float), (m,))
    start_col = np.broadcast_to(np.asarray(start, dtype=float), (m,))[:, None]
    usable = np.where(bearer, expiry, np.where(bound, np.minimum(expiry, proof_until), -INF))
    usable = np.minimum(usable, horizon)
    length = np.clip(usable - start_col, 0.0, None)  # (M, K) usable time after exploitation starts

    # first detection: invert the piecewise-linear cumulative hazard (only where it is reached)
    detected_at = np.full(m, np.nan)
    if q > 0 and rho > 0:
        draw: np.ndarray = rng.exponential(1.0, m)
        rows = np.flatnonzero(draw < rho * q * (length @ weight))
        if rows.size:
            sub = length[rows]
            order = np.argsort(sub, axis=1)
            ls = np.take_along_axis(sub, order, axis=1)
            ws = weight[order]
            active = np.cumsum(ws[:, ::-1], axis=1)[:, ::-1]  # weight still usable in segment j
            seg = np.diff(ls, axis=1, prepend=0.0)
            hazard = np.cumsum(rho * q * active * seg, axis=1)
            x = draw[rows]
            j = np.argmax(hazard > x[:, None], axis=1)
            prev = np.maximum(j - 1, 0)[:, None]
            before = np.where(j > 0, np.take_along_axis(hazard, prev, axis=1)[:, 0], 0.0)
            seg_start = np.where(j > 0, np.take_along_axis(ls, prev, axis=1)[:, 0], 0.0)
            slope = rho * q * np.take_along_axis(active, j[:, None], axis=1)[:, 0]
            detected_at[rows] = start_col[rows, 0] + seg_start + (x - before) / slope

    detected = ~np.isnan(detected_at)
    revoked_at = np.where(detected, detected_at + response, np.nan)
    revoked_at = np.where(revoked_at < horizon, revoked_at, np.nan)
    # only revoked families change: the rest keep their usable windows (fewer passes over big arrays)
    expiry_h = np.minimum(expiry, horizon)
    final, valid, final_len = usable, expiry_h, length
    hit = np.flatnonzero(~np.isnan(revoked_at))
    if hit.size:
        seen = revoked_at[hit, None] + seen_delay[None, :]
        final, valid, final_len = usable.copy(), expiry_h.copy(), length.copy()
        final[hit] = np.minimum(usable[hit], seen)
        valid[hit] = np.minimum(expiry_h[hit], seen)
        final_len[hit] = np.clip(final[hit] - start_col[hit], 0.0, None)

    # successes: undetected before the first detection, all after it, plus the detected one
    t_d = np.where(detected, detected_at, INF)[:, None]
    pre = final_len.copy()
    det = np.flatnonzero(detected)
    if det.size:
        pre[det] = np.clip(np.minimum(final[det], t_d[det]) - start_col[det], 0.0, None)
    holds = np.clip(row_max(valid) - start_col[:, 0], 0.0, None)  # -inf where no token: clipped to 0
    failing = np.clip(holds - final_len @ weight, 0.0, None)  # attempts while holding, not usable

    successes = _poisson(rng, rho * (1 - q) * weight * pre)
    post = np.clip(final - t_d, 0.0, None) * detected[:, None]
    post_hits = _poisson(rng, rho * weight * post)
    successes += post_hits
    extra_detected = int(rng.binomial(post_hits[post_hits > 0], q).sum()) if q > 0 and post_hits.any() else 0
    if detected.any():
        # the detected request falls in a cell usable at that moment, chosen by weight
        live = (final > t_d) & (usable > t_d) & detected[:, None]
        probs = np.where(live, weight, 0.0)
        totals = probs.sum(axis=1, keepdims=True)
        hit = np.flatnonzero(detected & (totals[:, 0] > 0))
        cum = np.cumsum(probs[hit] / totals[hit], axis=1)
        pick = np.minimum((cum < rng.random(len(hit))[:, None]).sum(axis=1), cum.shape[1] - 1)
        successes[hit, pick] += 1
    family_attempts = _poisson(rng, rho * failing) + successes.sum(axis=1)
    cell_successes = successes.sum(axis=0)
    attempts = int(family_attempts.sum())

    exposure = np.clip(row_max(final) - leak_time, 0.0, None)
    return FamilyOutcome(
        cell_successes=cell_successes,
        attempts=attempts,
        detections=int(detected.sum()) + extra_detected,
        successes=successes,
        family_attempts=family_attempts,
        detected_at=detected_at,
        revoked_at=revoked_at,
        usable_end=final,
        exposure=exposure,
    )


def _poisson(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson draws, skipping the (many) zero means."""
    out = np.zeros(lam.shape, dtype=np.int64)
    nz = lam > 0
    if nz.any():
        out[nz] = rng.poisson(lam[nz])
    return out


def row_max(a: np.ndarray) -> np.ndarray:
    """Row maxima of a tall, narrow array (column by column: much faster than max(axis=1) there)."""
    out = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        np.maximum(out, a[:, k], out=out)
    return out


def row_any(a: np.ndarray) -> np.ndarray:
    """Row-wise any of a tall, narrow boolean array (column by column: faster than any(axis=1) there)."""
    out: np.ndarray = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        out |= a[:, k]
    return out
