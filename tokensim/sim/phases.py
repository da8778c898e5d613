"""Renewal phases of a client population, computed on demand instead of held per instance.

Every instance renews its access tokens and its grants at its own phase in [0, 1)
(`lifecycle.py`). The phases come from the policy-independent ``phase`` stream:
its first n uniforms are the access-token phases of instances 0..n-1, the next n
the grant phases, the n after them the credential phases (key rotation every
`key_lifetime`, workload identity tokens every `identity_ttl`; a third block, so
the first two are what they were before it existed). Holding them as two arrays cost 16 bytes per instance before
the clock started (15 GiB for a billion instances); here a range of them is
computed when asked, by advancing a copy of the stream's generator. numpy's
``Generator.random`` turns exactly one 64-bit output of PCG64 into one uniform,
and ``PCG64.advance(k)`` skips k outputs, so a phase is the same number whichever
way it is reached (tests/test_run_memory.py checks this against the arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Instances per cached block of phases: 2^16, 512 KiB per block. Assumption: large enough that
#: every built-in model's population is one block, small enough that a block costs well under a millisecond.
PHASE_BLOCK = 2**16
#: Blocks kept per kind (access, grant, credential): 16 blocks, 8 MiB per kind. Assumption: a population of up to
#: 2^20 instances is computed once; a larger one recomputes a block when a leak picks an instance outside them.
PHASE_CACHE_BLOCKS = 16


class Phases:
    """The access-token, grant and credential phases of ``n`` instances, drawn from ``rng`` (used only for its state)."""

    def __init__(self, rng: np.random.Generator, n: int, *, block: int = PHASE_BLOCK) -> None:
        self.n = int(n)
        self._state: Any = rng.bit_generator.state  # PCG64 (`streams.Streams.rng`)
        self._block = block
        self._cache: dict[tuple[int, int], np.ndarray] = {}  # (kind offset, block index) -> phases, oldest first

    def access_range(self, start: int, stop: int) -> np.ndarray:
        """Access-token phases of instances ``start`` to ``stop - 1`` (a fresh array)."""
        return self._draw(start, stop - start)

    def access(self, i: int) -> float:
        """The access-token phase of instance ``i``."""
        return self._cached(0, i)

    def grant(self, i: int) -> float:
        """The grant (refresh-token family) phase of instance ``i``."""
        return self._cached(self.n, i)

    def credential(self, i: int) -> float:
        """The credential phase of instance ``i``: when its key rotates, when its identity token renews."""
        return self._cached(2 * self.n, i)

    def _draw(self, skip: int, count: int) -> np.ndarray:
        bits = np.random.PCG64()
        bits.state = self._state
        bits.advance(skip)
        return np.random.Generator(bits).random(count)

    def _cached(self, offset: int, i: int) -> float:
        if not 0 <= i < self.n:
            raise IndexError(f"instance {i} outside a population of {self.n}")
        key = (offset, i // self._block)
        block = self._cache.pop(key, None)  # re-inserted below: the most recently used block is last
        if block is None:
            first = key[1] * self._block
            block = self._draw(offset + first, min(self._block, self.n - first))
            if sum(k[0] == offset for k in self._cache) >= PHASE_CACHE_BLOCKS:
                del self._cache[next(k for k in self._cache if k[0] == offset)]
        self._cache[key] = block
        return float(block[i % self._block])
