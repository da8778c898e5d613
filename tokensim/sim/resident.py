"""What a resident thief gains while it stays (MODEL-v2.md section 2): arithmetic on the schedules.

A thief on the client (``xss``, ``malware``, ``host_compromise``) for its ``dwell``:

1. takes what is stored when it arrives;
2. harvests every access token, refresh token and proof the client obtains while it is there and
   the instance is active: it holds the client's current tokens through each active spell, and the
   last one it harvested until that token expires; a rotated refresh token it harvests keeps the
   family its own, so a rotation race starts only when the harvest ends;
3. uses a key it cannot export as a signing oracle while it is there;
4. with ``silent_grant``, runs a fresh grant with its own key (`fresh_grant_until`);
5. with an oracle, DPoP and no server nonce, pre-signs proofs for the tokens it holds (`presigned_until`).

None of this is an event: the client's renewals are on its grid (`lifecycle.py`) and its activity
spells are drawn once at the leak (`activity.py`), so which tokens the thief holds when is arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokensim.sim.activity import Window
from tokensim.sim.bundle import Bundle
from tokensim.sim.lifecycle import current_expiry


@dataclass(frozen=True)
class Harvest:
    """The schedule of one resident compromise of one instance.

    ``end``: the last moment the thief harvested (the last active moment inside the dwell, or,
    for an instance idle throughout, the last moment it ran before the thief arrived: what it
    stored then); ``first_active``: the first moment the thief could act through the running
    client (None: the instance never ran while the thief was there); ``next_active``: the client's
    first active moment at or after the dwell's end; ``window``: the spells themselves.
    """

    end: float
    first_active: float | None
    next_active: float
    window: Window


def harvest_of(window: Window, leak_time: float) -> Harvest:
    """The harvest schedule of a compromise whose instance runs as ``window`` says."""
    if window.spells:
        return Harvest(window.spells[-1][1], window.spells[0][0], window.next_active, window)
    return Harvest(min(window.last_active, leak_time), None, window.next_active, window)


def token_gaps(harvest: Harvest, ttl: float, phase: float) -> tuple[tuple[float, float], ...]:
    """The stretches inside the harvest during which the thief held no valid access token of lifetime ``ttl``.

    Each active spell ``(a, b)`` gives the thief the client's tokens from ``a`` to the expiry of the
    token current at ``b`` (the grid's: exact for spells at least ``ttl`` long; for shorter ones the
    expiry may be off by less than ``ttl``, docs/model.md section 5); what the instance stored before
    the thief arrived counts as a spell ending at its last active moment. A gap is a stretch between
    one such expiry and the next spell's start.
    """
    ends = [harvest.window.last_active, *(b for _, b in harvest.window.spells)]
    starts = [a for a, _ in harvest.window.spells]
    gaps = []
    for end, start in zip(ends, starts):
        expiry = current_expiry(end, ttl, phase)
        if expiry < start:
            gaps.append((expiry, start))
    return tuple(gaps)


def legit_first_refresh(harvest: Harvest, ttl: float, phase: float) -> float:
    """The client's first refresh once the harvest has ended: when its last harvested token expires,
    or when it next runs if it is idle then (an idle client refreshes nothing)."""
    return max(harvest.next_active, current_expiry(harvest.end, ttl, phase))


def fresh_grant_until(harvest: Harvest, *, refresh_ttl: float, holds_refresh_token: bool, dwell_end: float) -> float:
    """Until when a fresh grant with the thief's own key lets it mint (-inf: no grant was possible).

    The thief runs the grant the first time the client runs while it is there (a silent authorization
    request in a live session, or the app's or workload's own code). With a refresh token the grant
    lives its full ``refresh_ttl`` from then, past the dwell; without one, the thief obtains tokens
    only while it is there.
    """
    if harvest.first_active is None:
        return float("-inf")
    return harvest.first_active + refresh_ttl if holds_refresh_token else dwell_end


def presigned_until(token_expiry: float, dwell_end: float, horizon: float | None) -> float:
    """Until when proofs pre-signed with the oracle let the thief use a DPoP-bound token it holds.

    RFC 9449 section 11.2: a thief that can sign with the key but not export it pre-signs proofs
    with future ``iat``; a proof for a resource request carries ``ath``, the hash of one access
    token (section 4.2), so pre-signed proofs serve only the tokens the thief holds when it signs
    them: until their expiry, and no later than ``horizon`` past the dwell. Proofs for refresh
    requests carry no ``ath``, but the access tokens a refresh returns need proofs of their own,
    which the thief can no longer sign: they add nothing it can use (docs/model.md section 5).
    """
    limit = dwell_end + horizon if horizon is not None else float("inf")
    return min(token_expiry, limit)


def evict(b: Bundle, t: float) -> None:
    """A response at ``t`` while the thief is resident also ends its compromise (docs/model.md section 7).

    It keeps what it harvested until then: the tokens current at ``t`` (on the client's renewal grid),
    pre-signed proofs for them, and an oracle no longer.
    """
    gains, loot = b.loot.resident, b.loot
    b.inside_until = min(b.inside_until, t)  # evicted: it replays from outside from now on
    if gains is None or t >= gains.harvest_end:
        return
    gains.harvest_end = t
    gains.session_until = min(gains.session_until, t)
    loot.dwell_end = min(loot.dwell_end, t)
    for index, captured in loot.tokens.items():
        ttl = b.mint_ttl.get(b.cells[index].tier, 0.0)
        if captured.expiry > t and 0 < ttl < math.inf:  # the token current at t: the grid point after it
            expiry = captured.expiry - math.floor((captured.expiry - t) / ttl) * ttl
            loot.tokens[index] = captured._replace(expiry=expiry)
            if index in gains.presigned:
                gains.presigned[index] = min(gains.presigned[index], expiry)
