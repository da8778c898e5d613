"""What a leak captures of a client's access tokens and DPoP proofs (MODEL-v2.md sections 4 and 9).

What a log or a store saw is drawn first, always the same way whatever the policy
(common random numbers): per (instance, cell) the time since that cell's last
logged request, Exp(request rate x share of paths through the node), from the
leak's own ``capture`` stream (`logged_requests`). The rules then read those times
(`capture_block`, over a block of instances at once): a token's last use is the
latest request among the cells it serves; it is held if that request fell inside
the token's age (and the retention); the proof captured for a cell is the proof of
that cell's last request, held only if the token that request carried is the one
held, and usable until its window (or its nonce epoch) closes (`proof_deadline`).
One instance's store or log (`instance_tokens`) is a block of one row; a whole
population behind a logging node (`population_tokens`) comes block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tokensim.model.policy import Policy
from tokensim.sim.activity import Activity
from tokensim.sim.bundle import INF, CapturedToken, Cell
from tokensim.sim.lifecycle import current_expiry_array
from tokensim.sim.plan import ClientPlan
from tokensim.sim.proofs import proof_deadline
from tokensim.sim.token_families import row_any


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


def logged_requests(rates: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows x cells) times since each cell's last request seen, Exp(rate) (inf where the rate is 0).

    Always ``rows x cells`` standard exponentials, scaled afterwards: the stream advances by the same
    amount under every policy, and the same (instance, cell) gets the same time under every policy.
    """
    draws = rng.standard_exponential((rows, rates.size))
    safe = np.where(rates > 0, rates, 1.0)
    since: np.ndarray = np.where(rates > 0, draws / safe, INF)
    return since


def idle_for(plan: ClientPlan, rows: int, rng: np.random.Generator) -> np.ndarray | None:
    """Per instance, how long ago it last ran (0: running now), for a client that is not always active.

    The state at a leak is the stationary one (running with probability `active_fraction`); an idle
    instance's idle spell is exponential, so the time back to its last active moment is too (mean the
    idle spell's, `activity.Activity.idle_period`). Drawn from the capture stream after the request times,
    only for such clients (a model property: the same under every policy); None: always active.
    """
    spec = plan.spec
    if spec.active_fraction >= 1.0:
        return None
    running = rng.random(rows) < spec.active_fraction
    back = rng.exponential(Activity(spec.active_fraction, spec.active_period).idle_period, rows)
    idle: np.ndarray = np.where(running, 0.0, back)
    return idle


def cells_by_token(plan: ClientPlan, cells: tuple[Cell, ...] | list[Cell]) -> dict[str, list[int]]:
    """The cells that have a token (the mechanism is possible), by index, grouped by the token that serves them."""
    groups: dict[str, list[int]] = {}
    for cell in cells:
        if plan.mechanism[cell.tier] is not None:  # unsupported and failing: no token exists for this tier
            groups.setdefault(plan.token_ids[cell.index], []).append(cell.index)
    return groups


def capture_block(
    plan: ClientPlan,
    policy: Policy,
    t: float,
    since: np.ndarray,
    phase: np.ndarray,
    *,
    retention: float | None,
    with_proofs: bool,
    idle: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(expiry, proof deadline) per (instance, cell) of what a store or log holds at ``t``; -inf: nothing.

    ``since`` (instances x cells) is the time since each cell's last request the store or log saw (inf:
    none). A just-in-time token is issued at a request and lives ``jit_ttl``; a routine token is the one
    renewed every ``ttl`` at ``phase``. A store (``retention`` None) holds the current routine token; a log
    holds a token only if a request used it within both its age and the retention. ``idle`` (instances,):
    how long ago each instance last ran (`idle_for`; None: all running): an idle instance renewed and made
    requests only until then, so what it holds is what was current at its last active moment, and its
    requests are that much older.
    """
    m, k = since.shape
    at: float | np.ndarray = t if idle is None else t - idle  # each instance's last active moment
    back = 0.0 if idle is None else idle  # how much older than ``since`` says every request of a row is
    expiry = np.full((m, k), -INF)
    proof = np.full((m, k), -INF)
    replays = np.array(plan.proof_accept) > 0 if with_proofs and plan.proof_accept else np.zeros(k, dtype=bool)
    keep = INF if retention is None else retention
    for idx in cells_by_token(plan, plan.cells).values():
        tier = plan.cells[idx[0]].tier
        last = since[:, idx].min(axis=1)  # the token's last use: the latest request among its cells
        in_log = last + back < keep  # the request fell inside the retention
        if tier in plan.rules.jit_tiers:  # issued at that request, for it alone
            exp = at - last + policy.jit_ttl
            held = (last < policy.jit_ttl) & in_log
            window = None
        else:
            exp = current_expiry_array(at, plan.ttl[tier], phase)  # type: ignore[arg-type]  # per instance
            ttl = plan.ttl[tier]
            # requests since the current token's issue (a static key that never expires: since the retention)
            window = np.full(m, INF) if ttl == INF else ttl - (exp - at)
            held = np.ones(m, dtype=bool) if retention is None else (last < window) & in_log
        expiry[:, idx] = np.where(held, exp, -INF)[:, None]
        for c in idx:
            if replays[c]:
                s = since[:, c]
                # the proof pairs with the held token only if the cell's last request carried it
                pairs = held & ((s == last) if window is None else (s < window) & (s + back < keep))
                proof[:, c] = np.where(pairs, proof_deadline(at - s, policy), -INF)
    return expiry, proof


def instance_tokens(
    plan: ClientPlan,
    policy: Policy,
    i: int,
    t: float,
    since: np.ndarray,
    *,
    with_proofs: bool,
    retention: float | None = None,
    cells: tuple[Cell, ...] | None = None,
    idle: np.ndarray | None = None,
) -> tuple[dict[int, CapturedToken], dict[int, float]]:
    """The tokens instance ``i`` holds at ``t`` (and, from a log, the proofs of its last requests).

    ``since`` is the instance's row of `logged_requests` (cells of the plan). ``cells`` limits what is
    held to those cells (a broker's host holds the tokens of the cells beyond it). Returns per cell the
    (token id, expiry) and the captured proof's deadline. ``idle``: how long ago the instance last ran
    (`idle_for`, one value; None: it runs now): only what is still valid at ``t`` is held.
    """
    phase = np.array([plan.phases.access(i)])
    if cells is not None:  # only the requests of those cells passed there
        seen = np.zeros(len(plan.cells), dtype=bool)
        seen[[c.index for c in cells]] = True
        since = np.where(seen, since, INF)
    expiry, proof = capture_block(
        plan, policy, t, since[None, :], phase, retention=retention, with_proofs=with_proofs, idle=idle
    )
    wanted = range(len(plan.cells)) if cells is None else [c.index for c in cells]
    tokens = {c: CapturedToken(plan.token_ids[c], float(expiry[0, c])) for c in wanted if expiry[0, c] > t}
    proofs = {c: float(proof[0, c]) for c in tokens if proof[0, c] > -INF}
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
    population. Each block draws its (instances x cells) request times from ``rng`` (the leak's
    ``capture`` stream), for every population the node could see, whatever the policy. Blocks
    where nothing valid is exposed yield nothing.
    """
    rates = np.asarray(plan.request_rate) * share
    if not (rates > 0).any():
        return
    n, k = plan.spec.instances, len(plan.cells)
    block = rows_per_chunk(chunk_cells, k)
    for first in range(0, n, block):
        m = min(block, n - first)
        since = logged_requests(rates, m, rng)
        idle = idle_for(plan, m, rng)  # an instance not running now logged nothing since it stopped
        phase = plan.phases.access_range(first, first + m)
        expiry, proof = capture_block(plan, policy, t, since, phase, retention=retention, with_proofs=True, idle=idle)
        rows = np.flatnonzero(row_any(expiry > t))
        if rows.size:
            yield CapturedFamilies(plan, rows + first, expiry[rows], proof[rows])


def rows_per_chunk(chunk_cells: int, cells: int) -> int:
    """How many families (rows of ``cells`` values) a chunk of ``chunk_cells`` values holds (at least one)."""
    return max(1, chunk_cells // max(1, cells))
