"""Harm by its cause: the successful requests of a run split by where the leak happened and how the thief got in.

Kept only when a run is asked for it (`tokensim.simulate(..., attribution=True)`): a tally of
successful requests, privileged requests and blast radius per (node, vector, means), where
``means`` is the engine's own reason a replay succeeded at a cell ("captured token, bearer
route", "minted with client secret, bound to the thief's own key", ...). It draws nothing, so
an attributed run's record is the record of the same run without it; its sums are the
record's ``unauthorized_requests``, ``privileged_requests`` and ``blast_radius``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tokensim.sim.records import Cell

#: The closed form's families hold captured tokens (and proofs) only: their means follow the cell's route effect.
CLOSED_FORM_MEANS = {"bearer": "captured token, bearer route", "bound": "captured DPoP proof inside its window"}


class Cause(NamedTuple):
    """Where a family was taken and how its thief's requests succeed."""

    node: str
    vector: str
    means: str


class AttributedRow(NamedTuple):
    """One cause's share of a run's harm (a row of `Outcome.attribution`)."""

    node: str
    vector: str
    means: str
    requests: int
    privileged_requests: int
    blast_radius: float


#: The columns of `Outcome.attribution`, in order.
ATTRIBUTION_COLUMNS: tuple[str, ...] = AttributedRow._fields


@dataclass
class Harm:
    """Successful requests and their weighted harm, for one cause."""

    requests: int = 0
    privileged_requests: int = 0
    blast_radius: float = 0.0


@dataclass
class Attribution:
    """The run's harm per cause, in the order causes first succeed."""

    by_cause: dict[Cause, Harm] = field(default_factory=dict)

    def add(self, cause: Cause, cell: Cell, n: int) -> None:
        """``n`` successful requests at ``cell`` by a thief of ``cause``."""
        harm = self.by_cause.setdefault(cause, Harm())
        harm.requests += n
        if cell.tier == "privileged":
            harm.privileged_requests += n
        harm.blast_radius += cell.harm * n

    def add_families(
        self, origins: list[tuple[str, str]], sizes: list[int], cells: tuple[Cell, ...], successes: np.ndarray
    ) -> None:
        """Closed-form families (rows of ``successes``, families x cells), ``sizes[k]`` of them from ``origins[k]``."""
        row = 0
        for (node, vector), size in zip(origins, sizes):
            per_cell = successes[row : row + size].sum(axis=0)
            row += size
            for cell, n in zip(cells, per_cell):
                if n:
                    self.add(Cause(node, vector, CLOSED_FORM_MEANS.get(cell.effect, cell.effect)), cell, int(n))

    def rows(self) -> list[AttributedRow]:
        """One row per cause."""
        return [
            AttributedRow(c.node, c.vector, c.means, h.requests, h.privileged_requests, h.blast_radius)
            for c, h in self.by_cause.items()
        ]
