"""What a run is expected to simulate, refused up front when it would run for hours or overflow a counter.

Each field is inside its range (`limits`), but their product is what a run costs: a leak
rate of 1e12/h is refused by its own bound, and 1000/s on ten million instances over a
century would be 3e19 leaks. Every leak is an event of the engine, so a run's work is
about its expected number of leaks: the sum over leak processes of rate x units x horizon,
where the units are a client's instances (its hosts for ``host_compromise``) and 1 for
every other node, as the engine draws them (tokensim/sim/sources.py `leak_source`).

The thief's requests are counted in 64-bit integers (numpy arrays over families), so the
most it can make in a run, its replay rate x the horizon x the families it may steal, must
fit: a client leak steals one family (every instance of the host for a host compromise; reach x instances
on average for a correlated leak, whose rate is per event), a log or a broker's host at most every client
instance of the model.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tokensim.errors import InputError
from tokensim.model import limits
from tokensim.model.architecture import Architecture
from tokensim.model.schema import Client
from tokensim.model.units import duration_text


class LeakLoad(NamedTuple):
    """One leak process's expected leaks per run, and the field that sets its rate."""

    path: str  # e.g. nodes.app.leaks[0].rate
    rate: float  # per hour, per unit
    units: int
    unit: str  # "instance", "host", "event" (a correlated leak: its rate is per event) or "" (a node that leaks as one)
    expected: float


def leak_loads(arch: Architecture, horizon: float) -> list[LeakLoad]:
    """Every leak process of the model with its expected leaks over ``horizon`` hours."""
    out = []
    for name, node in arch.spec.nodes.items():
        for i, leak in enumerate(node.leaks):
            units, unit = 1, ""
            if isinstance(node, Client) and leak.reach is not None:  # one event for the population
                unit = "event"
            elif isinstance(node, Client):
                host = leak.vector == "host_compromise"
                units = (node.hosts or node.instances) if host else node.instances
                unit = "host" if host else "instance"
            out.append(LeakLoad(f"nodes.{name}.leaks[{i}].rate", leak.rate, units, unit, leak.rate * units * horizon))
    return out


def stolen_families(arch: Architecture, horizon: float) -> float:
    """The expected number of credential families a run's leaks expose, at most (see the module's docstring)."""
    population = sum(arch.node(c).instances for c in arch.clients)
    out = 0.0
    for load in leak_loads(arch, horizon):
        node = arch.node(load.path.split(".")[1])
        if load.unit == "host":
            out += load.expected * math.ceil(node.instances / load.units)
        elif load.unit == "event":  # a correlated leak: reach x instances families per event, on average
            reach = node.leaks[int(load.path.split("[")[1].split("]")[0])].reach
            out += load.expected * node.instances * (reach or 1.0)
        else:
            out += load.expected * (1 if load.unit == "instance" else population)
    return out


def check_run(arch: Architecture, horizon: float, source: str | None = None) -> None:
    """Raise `InputError` naming the model (``source``, default its file) and the field when a run over
    ``horizon`` hours would simulate more than `limits.LEAKS` leaks on average, or its thief could make
    more requests than `limits.REQUESTS` (a 64-bit counter)."""
    _check_run(arch, horizon, source or arch.source)
    rate = arch.spec.attacker.replay_rate
    requests = rate * horizon * stolen_families(arch, horizon)
    if requests > limits.REQUESTS.high:
        raise InputError.single(
            source or arch.source,
            "attacker.replay_rate",
            f"{rate:g}/h over a horizon of {duration_text(horizon)} on the {stolen_families(arch, horizon):.3g}"
            f" credential families its leaks may expose is up to {requests:.3g} requests per run;"
            f" at most {limits.REQUESTS.high_text} ({limits.REQUESTS.why}): lower the replay rate, the leaks or the horizon",
        )


def _check_run(arch: Architecture, horizon: float, source: str) -> None:
    loads = leak_loads(arch, horizon)
    total = sum(load.expected for load in loads)
    if total <= limits.LEAKS.high:
        return
    top = max(loads, key=lambda load: load.expected)
    on = f" on {top.units:,} {top.unit}{'s' if top.units != 1 else ''}" if top.unit not in ("", "event") else ""
    also = "" if top.expected == total else f" (all its leaks together: about {total:.3g})"
    raise InputError.single(
        source,
        top.path,
        f"{top.rate:g}/h{on} over a horizon of {duration_text(horizon)} is about {top.expected:.3g} leaks per run{also};"
        f" at most {limits.LEAKS.high_text} ({limits.LEAKS.why}): lower the rate, the population or the horizon",
    )
