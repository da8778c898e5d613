"""Refinement: more replications for the candidates that still contend for the front (noisy objectives).

A candidate is *beaten* when another one costs no more and is better on harm with confidence:
the 95% t interval of their paired differences (replication r against replication r, common
random numbers) lies wholly above zero. Pairing matters: harm is heavy-tailed, so two candidates'
own intervals overlap almost always, while their paired difference, whose shared luck cancels, is
often clear after a few replications (docs/analysis.md, "Paired intervals"). A candidate no other
beats contends; while its own harm interval is wider than ``rel_ci`` of its mean, its replications
double, up to ``max_replications``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tokensim.search.evaluate import Evaluator
from tokensim.search.spec import SearchFile
from tokensim.stats import t_interval


def refine(spec: SearchFile, evaluator: Evaluator, names: list[str]) -> dict[str, int]:
    """Replications per candidate once no contender is left with a wide interval and room to grow."""
    replications = dict.fromkeys(dict.fromkeys(names), spec.replications)
    while True:
        frame = evaluator.frame(replications)
        wider = [name for name in contenders(frame, spec) if _wide(frame, spec, name, replications)]
        if not wider:
            return replications
        for name in wider:
            replications[name] = min(2 * replications[name], spec.max_replications)
        evaluator.ensure([evaluator.policies[name] for name in wider], replications)


def contenders(frame: pd.DataFrame, spec: SearchFile) -> list[str]:
    """The policies of ``frame`` that no other beats (see the module), in the frame's order."""
    harm = frame.pivot_table(index="replication", columns="policy", values=spec.harm, sort=False)
    cost = frame.groupby("policy", sort=False)[spec.cost].mean()
    names = list(cost.index)
    out = []
    for name in names:
        rivals = [other for other in names if other != name and cost[other] <= cost[name]]
        if not any(_better(harm[other], harm[name]) for other in rivals):
            out.append(str(name))
    return out


def _better(other: pd.Series, this: pd.Series) -> bool:
    """Whether ``other``'s harm is below ``this``'s with confidence, on the replications both hold."""
    both = pd.concat([this, other], axis=1).dropna().to_numpy(float)
    if len(both) < 2:
        return False
    differences = both[:, 0] - both[:, 1]
    if not np.any(differences):
        return False
    return t_interval(differences).low > 0


def _wide(frame: pd.DataFrame, spec: SearchFile, name: str, replications: dict[str, int]) -> bool:
    """Whether a contender's own harm interval is still wider than ``rel_ci`` of its mean, with room to grow."""
    if replications[name] >= spec.max_replications:
        return False
    values = frame.loc[frame["policy"] == name, spec.harm].to_numpy(float)
    mean, low, high = t_interval(values)
    half = (high - low) / 2
    return bool(half > spec.rel_ci * abs(mean) and half > 0)
