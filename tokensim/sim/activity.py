"""When a client instance runs (MODEL-v2.md section 1, "Activity"): alternating active and idle spells.

An instance with ``active_fraction`` f < 1 alternates active spells (mean ``active_period``) and
idle spells (mean ``active_period`` x (1 - f) / f, so that the long-run share of active time is f),
both exponential: a two-state Markov process, stationary at every leak. Idle instances make no
requests and no refreshes. Nothing is held per instance: a leak that needs an instance's activity
draws the spells it needs, forward from the leak (and, for what the instance stored before, the
time since it was last active), from the leak's own ``activity`` stream, which no policy moves.
Two leaks on one instance see independent activity (an assumption: leaks on one instance are far
apart compared with its spells; docs/model.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activity:
    """An instance's activity: the share of time it runs and the mean length of one active spell (hours)."""

    fraction: float
    period: float

    @property
    def always(self) -> bool:
        """Always active (the version-1 behaviour): nothing to draw."""
        return self.fraction >= 1.0

    @property
    def idle_period(self) -> float:
        """The mean idle spell that makes the long-run active share ``fraction``."""
        return self.period * (1.0 - self.fraction) / self.fraction


@dataclass(frozen=True)
class Window:
    """The activity of one instance around a resident compromise, drawn once at the leak.

    ``spells``: the active intervals inside [leak, dwell end]; ``last_active``: the last moment
    before the leak at which the instance ran (the leak time if it is active then);
    ``next_active``: the first moment at or after the dwell's end at which it runs.
    """

    spells: tuple[tuple[float, float], ...]
    last_active: float
    next_active: float


def always_window(t0: float, t1: float) -> Window:
    """An always-active instance: one spell over the whole compromise."""
    return Window(((t0, t1),), t0, t1)


def draw_window(
    activity: Activity, t0: float, t1: float, rng: np.random.Generator, *, start_active: bool = False
) -> Window:
    """The active spells of one instance over [t0, t1], its last active moment before t0 and the first after t1.

    The state at t0 is the stationary one (active with probability ``fraction``); spells are
    exponential, so the remaining part of the spell in progress at t0 is exponential too, as is the
    time back to the end of the last active spell when the instance is idle at t0. ``start_active``: the
    instance is known to run at t0 (a correlated leak reaches only active instances), nothing is drawn for it.
    """
    if activity.always:
        return always_window(t0, t1)
    if activity.fraction <= 0.0:
        return Window((), -np.inf, np.inf)
    active = start_active or bool(rng.random() < activity.fraction)
    last = t0 if active else t0 - float(rng.exponential(activity.idle_period))
    spells: list[tuple[float, float]] = []
    t = t0
    while True:
        length = float(rng.exponential(activity.period if active else activity.idle_period))
        end = t + length
        if active:
            spells.append((t, min(end, t1)))
        if end >= t1:
            next_active = t1 if active else end
            return Window(tuple(spells), last, next_active)
        t, active = end, not active
