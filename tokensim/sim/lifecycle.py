"""Token lifecycle arithmetic (MODEL.md sections 2, 6 and 10).

Routine renewals are never events: an instance with phase ``u`` in [0, 1) renews
its access token at times ``(k - u) * ttl`` for every integer k, so which token it
holds at time t, and when that token expires, follow from arithmetic. Grants
(refresh-token families) repeat every ``refresh_ttl`` at their own phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def current_expiry(t: float, ttl: float, phase: float) -> float:
    """Expiry of the token held at time t by an instance renewing every ``ttl`` at ``phase``."""
    return (math.floor(t / ttl + phase) + 1 - phase) * ttl


def current_expiry_array(t: float, ttl: float, phases: np.ndarray) -> np.ndarray:
    """`current_expiry` for many instances at once."""
    expiry: np.ndarray = (np.floor(t / ttl + phases) + 1 - phases) * ttl
    return expiry


@dataclass(frozen=True)
class RaceResult:
    """Outcome of a refresh-token race between the legitimate client and the thief.

    ``thief_until``: the time from which the thief's refresh token no longer works
    (``end`` if it keeps the family to the end of the grant). ``reuse_at``: the time
    reuse detection revokes the family, or None.
    """

    thief_until: float
    reuse_at: float | None
    legit_until: float = math.inf  # the legitimate client leaves the family (refused, it re-authenticates)


def rotation_race(
    *,
    legit_first: float,
    thief_first: float,
    thief_last: float,
    period: float,
    grace: float,
    reuse_detection: bool,
    end: float,
) -> RaceResult:
    """Resolve refresh-token rotation between two holders of the same refresh token.

    The legitimate client refreshes at ``legit_first + k * period``; the thief at
    ``thief_first + k * period`` up to ``thief_last`` (after that it can no longer
    authenticate a refresh, e.g. its oracle is gone). Each refresh rotates the
    token. A party presenting a token that was already rotated is accepted when the
    rotation was at most ``grace`` ago (the party then holds the newest token);
    otherwise reuse detection revokes the family, or, without reuse detection, the
    stale party's refresh is refused (a refused thief loses the family; a refused
    legitimate client re-authenticates into a new family and leaves the old one to
    the thief). Both schedules have the same period, so the pattern of gaps repeats:
    a handful of steps settles it, which is why this is arithmetic, not events.
    """
    holder = None  # who holds the newest token; None: both still hold the stolen one
    superseded_at = 0.0  # when the stale party's token was rotated
    legit_t, thief_t = legit_first, thief_first
    for _ in range(16):  # after the skips below, events alternate; their gaps repeat with the period
        thief_active = thief_t <= thief_last
        if holder == "legit":  # the client's own refreshes change nothing until the thief shows up
            if not thief_active or thief_t >= end:
                break
            legit_t = _first_at_or_after(legit_t, thief_t, period)
        elif holder == "thief":  # likewise the thief's until the client's next refresh
            thief_t = _first_at_or_after(thief_t, legit_t, period)
            thief_active = thief_t <= thief_last
        if thief_active and thief_t < legit_t:
            party, t = "thief", thief_t
            thief_t += period
        else:
            party, t = "legit", legit_t
            legit_t += period
        if t >= end:
            break
        if holder is None or holder == party:
            if holder is None:
                superseded_at = t
            holder = party
            continue
        if t - superseded_at <= grace:  # a stale token inside the grace window is accepted
            holder, superseded_at = party, t
            continue
        if reuse_detection:
            return RaceResult(thief_until=t, reuse_at=t)
        if party == "thief":
            return RaceResult(thief_until=t, reuse_at=None)
        return RaceResult(thief_until=end, reuse_at=None, legit_until=t)  # the legit client re-authenticates
    return RaceResult(thief_until=end, reuse_at=None)


def _first_at_or_after(t: float, target: float, period: float) -> float:
    """The first time t + k * period (k >= 0) that is not before ``target``."""
    if t >= target:
        return t
    return t + math.ceil((target - t) / period) * period


def idle_expiry(
    *,
    legit_last: float,
    legit_until: float,
    thief_first: float,
    thief_last: float,
    period: float,
    idle: float,
    end: float,
) -> float:
    """When a refresh token with sliding expiry dies: the first moment nobody used it for ``idle``.

    Uses (policy `refresh_idle_ttl`, docs/model.md section 6): the legitimate client refreshes at
    ``legit_last + k * period`` (``legit_last`` its last refresh before the leak) while it shares the
    family (before ``legit_until``); the thief at ``thief_first + k * period`` up to ``thief_last``.
    Returns inf when the token lives to ``end`` (its absolute expiry). Both schedules share the
    period, so once both run the gaps repeat: the walk jumps whole periods up to the next moment
    the pattern changes (a party stops, the thief starts, the end), which keeps it a few steps long.
    """
    last = legit_last
    nxt = {"legit": legit_last + period, "thief": thief_first}

    def live(party: str) -> bool:
        t = nxt[party]
        return t < legit_until if party == "legit" else t <= thief_last

    settled = 0
    previous: tuple[str, ...] = ("legit", "thief")
    for _ in range(256):
        active = tuple(p for p in nxt if live(p))
        if not active:
            return last + idle if last + idle < end else math.inf
        party = min(active, key=nxt.__getitem__)
        t = nxt[party]
        if t - last > idle:
            return last + idle if last + idle < end else math.inf
        if t >= end:
            return math.inf
        last = t
        nxt[party] += period
        settled = settled + 1 if active == previous and last >= thief_first else 0
        previous = active
        if settled >= 4:  # two full cycles alike: skip to just before the next change of pattern
            bounds = [end, *(legit_until if p == "legit" else thief_last for p in active)]
            k = math.floor((min(bounds) - max(nxt[p] for p in active)) / period) - 1
            if k > 0:
                for p in active:
                    nxt[p] += k * period
                last += k * period
                settled = 0
    return math.inf
