"""Evaluating candidates: their runs on common random numbers, through the sweep's executors and store.

Replication ``r`` of every candidate runs on the same random streams (the same seed and
replication, docs/model.md section 9), so candidates, presets and refinements are paired the way
a sweep's policies are. A run already stored (a resumed search, a candidate proposed twice) is
not run again: its ``run_id`` hashes the configuration, the seed and the replication.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tokensim.api import config_hash
from tokensim.experiment.execute import execute
from tokensim.experiment.executors import TaskExecutor
from tokensim.experiment.plan import Plan, Run, run_id
from tokensim.experiment.store import ResultStore
from tokensim.experiment.tasks import Row
from tokensim.model.policy import Policy


@dataclass(frozen=True)
class Score:
    """A candidate's mean cost and harm over its first ``replications`` replications (what the optimiser is told)."""

    cost: float
    harm: float
    replications: int


@dataclass
class Evaluator:
    """Runs candidates' replications once each and keeps every row, stored or new, by run id."""

    plan: Plan  # one variant: the model; its spec gives the seed, horizon and name
    backend: TaskExecutor
    store: ResultStore | None
    cost: str
    harm: str
    progress: bool = False
    rows: dict[str, Row] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # candidate name -> its place (orders the rows)
    policies: dict[str, Policy] = field(default_factory=dict)  # candidate name -> its policy
    cap: int = 1  # the most replications any candidate can get: spaces the run indices

    def ensure(self, policies: list[Policy], replications: dict[str, int]) -> None:
        """Run, for each policy, the replications below ``replications[name]`` not yet held."""
        spec, variant = self.plan.spec, self.plan.variants[0]
        runs: list[Run] = []
        for policy in policies:
            place = self.order.setdefault(policy.name, len(self.order))
            self.policies[policy.name] = policy
            config = config_hash(variant.arch, policy, spec.horizon, self.plan.costs)
            for r in range(replications[policy.name]):
                rid = run_id(config, spec.seed, r, 0)
                if rid not in self.rows:
                    runs.append(Run(place * self.cap + r, rid, 0, policy, r))
        for row in execute(self.plan, runs, self.backend, self.store, progress=self.progress):
            self.rows[str(row["run_id"])] = row

    def frame(self, replications: dict[str, int]) -> pd.DataFrame:
        """The rows of each named policy's first ``replications[name]`` replications, in run order."""
        rows = [
            row
            for row in self.rows.values()
            if row["policy"] in replications and int(row["replication"]) < replications[str(row["policy"])]
        ]
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        return frame.sort_values(["policy", "replication"], kind="stable").reset_index(drop=True)

    def score(self, name: str, replications: int) -> Score:
        """The mean cost and harm of one policy over its first ``replications`` replications."""
        frame = self.frame({name: replications})
        return Score(float(frame[self.cost].mean()), float(frame[self.harm].mean()), len(frame))
