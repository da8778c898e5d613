"""The memory of a run follows its incidents, not its instances times its leaks (issue 11, "Bounded work").

A proxy whose log leaks often exposes nearly every session of a large population at
each leak. The engine resolves those token-only families a bounded chunk at a time
(`closed_form.CHUNK_CELLS`), captures a population block by block, keeps only the sum
of the containment spans, and computes renewal phases when a leak asks for them.
"""

from __future__ import annotations

import functools
import gc
import operator
import tracemalloc
from typing import Any

import numpy as np
import pytest

import tokensim
from tokensim.model.architecture import Architecture
from tokensim.sim.closed_form import CHUNK_CELLS
from tokensim.sim.engine import Simulation
from tokensim.sim.phases import Phases
from tokensim.sim.streams import Streams
from tokensim.sim.tally import SpanSum

CELLS = 4  # two resources x two tiers: the (families x cells) arrays of the model below
#: A resolution pass holds about twenty (families x cells) float arrays of at most a chunk; twice that.
BOUND = 2 * 20 * CHUNK_CELLS * 8


def proxy_model(instances: int, leaks_per_day: float) -> Architecture:
    """Browser sessions behind a TLS-terminating proxy whose request log leaks ``leaks_per_day``."""
    return Architecture.from_dict(
        {
            "name": "memory",
            "nodes": {
                "app": {
                    "kind": "client",
                    "platform": "browser",
                    "instances": instances,
                    "key_storage": "non_extractable",
                    "supports": ["bearer", "dpop"],
                    "holds_refresh_token": True,
                    "request_rate": "60/h",
                },
                "edge": {
                    "kind": "proxy",
                    "terminates_tls": True,
                    "forwards_client_cert": False,
                    "logs_tokens": True,
                    "log_retention": "7d",
                    "leaks": [{"vector": "log", "rate": f"{leaks_per_day}/day"}],
                },
                "orders": {"kind": "resource", "sensitivity": 5, "privileged_fraction": 0.1, "accepts": "bound"},
                "catalog": {"kind": "resource", "sensitivity": 1, "privileged_fraction": 0.05, "accepts": "bound"},
                "idp": {"kind": "issuer", "revocation": "introspection"},
            },
            "edges": [["app", "edge"], ["edge", "orders"], ["edge", "catalog"]],
            "attacker": {"replay_delay": {"distribution": "lognormal", "median": "1h", "sigma": 1.0}},
        }
    )


def traced_peak(fn: Any) -> tuple[Any, int]:
    """What ``fn()`` returns, and the tracemalloc peak (bytes) of the call."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def fields(arch: Architecture, days: float, **kw: Any) -> dict[str, int | float]:
    sim = Simulation(arch, tokensim.preset("bearer"), seed=1, replication=0, horizon=days * 24.0, **kw)
    sim.run()
    return sim.outcome_fields()


def test_a_large_population_with_frequent_proxy_log_leaks_runs_in_bounded_memory():
    arch = proxy_model(150_000, 4)
    short, short_peak = traced_peak(lambda: tokensim.simulate(arch, seed=1, horizon="3d").record)
    long, long_peak = traced_peak(lambda: tokensim.simulate(arch, seed=1, horizon="9d").record)
    assert long["leaks"] >= 3 * short["leaks"] >= 24  # seed 1: 8 and 38 leaks
    # kept until the end, the long run's families alone (expiry and proof per cell) would exceed the bound
    assert long["credentials_exposed"] * CELLS * 2 * 8 > BOUND
    assert long_peak < BOUND, f"peak {long_peak / 2**20:.0f} MiB, bound {BOUND / 2**20:.0f} MiB"
    # almost five times the leaks, not five times the memory
    assert long_peak < 1.3 * short_peak, f"{short_peak / 2**20:.0f} MiB -> {long_peak / 2**20:.0f} MiB"


def test_results_do_not_depend_on_the_chunk_when_it_covers_the_run():
    arch = proxy_model(5_000, 1)  # 10 days: about 10 x 5,000 x 4 values queued, under the chunk
    assert 10 * 5_000 * CELLS < CHUNK_CELLS
    assert fields(arch, 10) == fields(arch, 10, chunk_cells=2**40)


def test_chunked_results_agree_with_the_unchunked_computation():
    """Chunks reorder the draws, so the numbers are not identical; the leaks are, and totals agree closely."""
    arch = proxy_model(20_000, 1)
    whole = fields(arch, 20, chunk_cells=2**40)
    chunked = fields(arch, 20, chunk_cells=2**12)  # 1,024-instance blocks, a pass per block or two
    assert chunked["leaks"] == whole["leaks"] >= 10
    # hundreds of thousands of families: relative sampling noise of these totals is well under 1 %
    assert whole["credentials_exposed"] > 200_000
    for key in ("credentials_exposed", "credentials_usable", "unauthorized_requests", "exposure_hours"):
        assert chunked[key] == pytest.approx(whole[key], rel=0.02), key
    assert chunked["time_to_containment_hours"] == pytest.approx(whole["time_to_containment_hours"], rel=0.02)


def test_a_huge_population_costs_nothing_before_a_leak_asks_for_it():
    arch = proxy_model(10_000_000, 0.5)
    # per-instance phases held by the plan would take 2 x 8 bytes x 10^7 = 153 MiB
    sim, peak = traced_peak(lambda: Simulation(arch, tokensim.preset("dpop"), seed=1, replication=0, horizon=1.0))
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert 0 <= sim.plan.clients["app"].phases.access(9_999_999) < 1


@pytest.mark.parametrize("n", [1, 7, 50, 1_000])
def test_phases_computed_on_demand_are_the_arrays_drawn_at_once(n: int):
    def stream() -> np.random.Generator:
        return Streams(3, 1).rng("phase", "app")

    rng = stream()
    access, grant = rng.random(n), rng.random(n)  # how the plan used to hold them
    phases = Phases(stream(), n, block=3)  # small blocks: many of them, the cache evicts
    for i in [*range(n), *reversed(range(n))]:
        assert phases.access(i) == access[i]
        assert phases.grant(i) == grant[i]
    assert np.array_equal(phases.access_range(0, n), access)
    assert np.array_equal(phases.access_range(n // 2, n), access[n // 2 :])
    with pytest.raises(IndexError):
        phases.access(n)


def test_the_containment_sum_is_the_left_to_right_sum_however_it_is_split():
    rng = np.random.default_rng(5)
    spans = rng.lognormal(0.0, 6.0, 5_000)  # magnitudes from 1e-9 to 1e9: the order of additions shows
    expected = functools.reduce(operator.add, spans.tolist(), 0.0)
    assert float(np.sum(spans)) != expected  # numpy's pairwise sum differs: the test can tell them apart
    total = SpanSum()
    cuts = np.sort(rng.choice(len(spans), 40, replace=False))
    for part in np.split(spans[:-3], cuts[cuts < len(spans) - 3]):
        total.add(part)
    assert total.mean_with(spans[-3:].tolist()) == expected / len(spans)
    assert np.isnan(SpanSum().mean_with([]))
