"""Named random streams (MODEL.md section 9).

Every draw comes from a generator keyed by (seed, replication, stream, parts...)
through numpy's SeedSequence. Stream and node names are hashed (CRC-32), so
adding a node or a stream never shifts another stream's numbers, and nothing in
a key depends on the policy: replication r of every policy sees the same leaks.
"""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: object) -> int:
    if isinstance(part, (int, np.integer)):
        return int(part)
    return zlib.crc32(str(part).encode("utf-8"))


class Streams:
    """Factory of independent generators for one (seed, replication)."""

    def __init__(self, seed: int, replication: int) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative integers")
        self.seed = int(seed)
        self.replication = int(replication)

    def rng(self, stream: str, *parts: object) -> np.random.Generator:
        """The generator for a named stream, e.g. ``rng("leak", "edge", 0)``."""
        key = (self.replication, _key(stream), *(_key(p) for p in parts))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))
