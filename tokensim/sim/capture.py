"""What a leak captures of a client's access tokens and DPoP proofs (MODEL.md sections 4-5).

The rule is written once, in `captured_token` and `proof_deadline`, over numbers or
numpy arrays alike: one instance's store or log (`instance_tokens`, scalar draws)
and a whole population seen by an intermediary's log (`population_tokens`,
vectorised draws) both call it. What differs is only how the random "time since
the token was last used" is drawn: one draw per captured token for an instance,
one array per token for a population, so that each path keeps its own streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tokensim.model.policy import Policy
from tokensim.sim.bundle import INF, CapturedToken, Cell
from tokensim.sim.lifecycle import current_expiry, current_expiry_array
from tokensim.sim.plan import ClientPlan
from tokensim.sim.token_families import row_any

#: One instance's value or a population's array of them (numpy operates on both alike).
Times = float | np.ndarray


@dataclass(frozen=True)
class CapturedFamilies:
    """Token-only stolen families of one client population: one row per exposed instance.

    ``expiry`` and ``proof`` are (instances x cells): the captured token's expiry and the
    captured proof's deadline per cell, -inf where nothing was captured.
    """

    plan: ClientPlan
    instances: np.ndarray
    expiry: np.ndarray
    proof: np.ndarray


def captured_token(
    t: float, since: Times, *, ttl: float, phase: Times, jit_ttl: float | None, retention: float | None
) -> tuple[Times, np.ndarray | bool]:
    """The expiry of the token in a store or log at ``t``, and whether it is there.

    ``since`` is the time since a request last used the token. A just-in-time token was
    issued at that request and lives ``jit_ttl``; a routine token is the one the instance
    renews every ``ttl`` at ``phase``. A store (``retention`` None) holds the current
    routine token; a log holds a token only if a request used it within both the
    token's age and the retention.
    """
    if jit_ttl is not None:
        window = jit_ttl if retention is None else min(jit_ttl, retention)
        return t - since + jit_ttl, since < window
    population = isinstance(phase, np.ndarray)  # one instance: plain float arithmetic (numpy calls cost more)
    expiry = current_expiry_array(t, ttl, phase) if population else current_expiry(t, ttl, phase)  # type: ignore[arg-type]
    if retention is None:
        return expiry, True
    if ttl == INF:  # a static key that never expires: it is in the log if a request used it within the retention
        return expiry, since < retention
    age_window = ttl - (expiry - t)  # how long ago the current token was issued
    return expiry, since < (np.minimum(age_window, retention) if population else min(age_window, retention))


def proof_deadline(t: float, since: Times, proof_window: float) -> Times:
    """A logged DPoP proof replays the same request until its window closes."""
    return t - since + proof_window


def proofs_replay(policy: Policy, mechanism: str | None) -> bool:
    """Captured proofs replay only for DPoP, and neither a server nonce nor jti tracking stops them."""
    return mechanism == "dpop" and not (policy.nonce or policy.jti_tracking)


def cells_by_token(plan: ClientPlan, cells: tuple[Cell, ...] | list[Cell]) -> dict[str, list[Cell]]:
    """The cells that have a token (the mechanism is possible), grouped by the token that serves them."""
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        if plan.mechanism[cell.tier] is not None:  # unsupported and failing: no token exists for this tier
            groups.setdefault(plan.token_ids[cell.index], []).append(cell)
    return groups


def instance_tokens(
    plan: ClientPlan,
    policy: Policy,
    i: int,
    t: float,
    rng: np.random.Generator,
    cells: tuple[Cell, ...],
    *,
    with_proofs: bool,
    retention: float | None = None,
) -> tuple[dict[int, CapturedToken], dict[int, float]]:
    """The tokens instance ``i`` holds at ``t`` (and, from a log, the proofs of its last requests).

    Returns per cell the (token id, expiry) and the captured proof's deadline.
    """
    tokens: dict[int, CapturedToken] = {}
    proofs: dict[int, float] = {}
    u = plan.phases.access(i)  # a Python float: the scalar path does plain float arithmetic
    for tok, tok_cells in cells_by_token(plan, cells).items():
        jit = tok_cells[0].tier in plan.rules.jit_tiers
        since = INF
        if jit or retention is not None:  # when was this token last used?
            rate = sum(plan.request_rate[c.index] for c in tok_cells)
            since = rng.exponential(1.0 / rate) if rate > 0 else INF
        expiry, held = captured_token(
            t,
            since,
            ttl=plan.ttl[tok_cells[0].tier],
            phase=u,
            jit_ttl=policy.jit_ttl if jit else None,
            retention=retention,
        )
        if not held:
            continue
        for cell in tok_cells:
            tokens[cell.index] = CapturedToken(tok, float(expiry))
            if with_proofs and proofs_replay(policy, plan.mechanism[cell.tier]):
                rate = plan.request_rate[cell.index]
                since_proof = rng.exponential(1.0 / rate) if rate > 0 else INF
                proofs[cell.index] = float(proof_deadline(t, since_proof, policy.proof_window))
    return tokens, proofs


def population_tokens(
    plan: ClientPlan,
    policy: Policy,
    share: np.ndarray,
    t: float,
    retention: float,
    rng: np.random.Generator,
    *,
    chunk_cells: int,
) -> Iterator[CapturedFamilies]:
    """Tokens of a population that passed through a logging node within its retention, still valid at ``t``.

    ``share`` is, per cell, the share of the client's paths through the node. A token seen
    for one resource works wherever its audience reaches; each logged request carries its
    own proof (htm, htu), so proofs are per cell. The population is taken in blocks of
    instances whose (instances x cells) arrays hold at most ``chunk_cells`` values, and a block's
    families are yielded before the next block is drawn: memory is a block's, whatever the
    population. A population that fits in one block draws exactly as one array per token did;
    a larger one draws block after block from the same stream (the results then depend on the
    fixed block size, not on the policy). Blocks where nothing valid is exposed yield nothing.
    """
    seen = [c for c in plan.cells if share[c.index] > 0]
    groups = cells_by_token(plan, seen)
    if not groups:
        return
    n, k = plan.spec.instances, len(plan.cells)
    block = rows_per_chunk(chunk_cells, k)
    for first in range(0, n, block):
        m = min(block, n - first)
        phase = plan.phases.access_range(first, first + m)
        expiry = np.full((m, k), -INF)
        proof = np.full((m, k), -INF)
        for tok, tok_cells in groups.items():
            rate = sum(plan.request_rate[c.index] * share[c.index] for c in tok_cells)
            since = rng.exponential(1.0 / rate, m) if rate > 0 else np.full(m, INF)
            jit = tok_cells[0].tier in plan.rules.jit_tiers
            exp, hit = captured_token(
                t,
                since,
                ttl=plan.ttl[tok_cells[0].tier],
                phase=phase,
                jit_ttl=policy.jit_ttl if jit else None,
                retention=retention,
            )
            captured = np.where(hit, exp, -INF)
            for c in plan.cells:
                if plan.token_ids[c.index] == tok and plan.mechanism[c.tier] is not None:
                    expiry[:, c.index] = captured
            for c in tok_cells:
                if proofs_replay(policy, plan.mechanism[c.tier]):
                    rate_c = plan.request_rate[c.index] * share[c.index]
                    since_c = rng.exponential(1.0 / rate_c, m) if rate_c > 0 else np.full(m, INF)
                    proof[:, c.index] = np.where(hit, proof_deadline(t, since_c, policy.proof_window), -INF)
        rows = np.flatnonzero(row_any(expiry > t))
        if rows.size:
            yield CapturedFamilies(plan, rows + first, expiry[rows], proof[rows])


def rows_per_chunk(chunk_cells: int, cells: int) -> int:
    """How many families (rows of ``cells`` values) a chunk of ``chunk_cells`` values holds (at least one)."""
    return max(1, chunk_cells // max(1, cells))
