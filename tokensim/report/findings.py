"""The findings of the report's first screen: what each policy blocked, what it could not, and why.

Every finding is read off the runs: the verdict cells (`tokensim.report.verdict`) and the harm
by cause of attributed replications (`tokensim.analysis.attribution`). Per architecture, in
order of weight: what the policy that removes most could not block (its largest remaining
cause, and why binding does not stop it), what it blocked (the cause whose harm fell most), a
second remaining cause, and what keeps a policy from doing what it says. The report shows
the first findings of every architecture in turn, up to `MAX_FINDINGS`. Each carries the
assumptions it rests on as a caveat: the leak it names, as the model file sets it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from tokensim.analysis.attribution import by_cause, why_binding_fails
from tokensim.model.architecture import Architecture
from tokensim.report.verdict import CLEAR, VerdictCell, share_text

MAX_FINDINGS = 5
#: A remaining cause is named as its own finding from this share of what is left (assumption: a fifth).
SECOND_CAUSE = 0.2


class Finding(NamedTuple):
    """One finding: its sentence, the cause it names (node, vector, how), and the caveat it rests on."""

    model: str
    text: str
    node: str
    vector: str
    how: str
    caveat: str
    weight: float  # share of the baseline's blast radius it concerns (ordering)


def leak_caveat(arch: Architecture | None, node: str, vector: str, source: str) -> str:
    """What a finding about ``vector`` on ``node`` rests on, as the model sets it."""
    if arch is None or node not in arch.spec.nodes:
        return f"Rests on the {vector} leak on {node} as the model sets it."
    leaks = [leak for leak in arch.spec.nodes[node].leaks if leak.vector == vector]
    parts = []
    for leak in leaks:
        text = f"rate {leak.rate * 8760:.3g} a year"
        if leak.dwell is not None:
            text += f", dwell {leak.dwell:.3g} h"
        if leak.reach is not None:
            text += f", reach {leak.reach:g}"
        parts.append(text)
    said = "; ".join(parts) or "as the model sets it"
    return f"Rests on: {vector} on {node} ({said}) and the weights of what it reaches, as {source} sets them."


def _cause_words(row: pd.Series) -> str:
    return f"{row['vector']} on {row['node']} ({row['how']})"


def _left(model: str, row: pd.Series, said: str, arch: Architecture | None, source: str, kept: float) -> Finding:
    """A finding about a cause the best policy left (a row of `by_cause`): ``said``, the cause, and why."""
    why = why_binding_fails(str(row["credential"]))
    return Finding(
        model,
        f"{said} {_cause_words(row)}" + (f": {why}." if why else "."),
        str(row["node"]), str(row["vector"]), str(row["how"]),
        leak_caveat(arch, str(row["node"]), str(row["vector"]), source),
        kept * float(row["share"]),
    )  # fmt: skip


def model_findings(
    model: str,
    cells: Sequence[VerdictCell],
    attribution: pd.DataFrame,
    baseline: str,
    arch: Architecture | None,
    source: str,
) -> list[Finding]:
    """The findings of one architecture, most weighty first (none when no policy was compared or nothing harmed)."""
    out: list[Finding] = []
    rated = [c for c in cells if c.policy != baseline and not math.isnan(c.blast.share)]
    if not rated or attribution.empty:
        return out
    best = max(rated, key=lambda c: (c.blast.share, -c.cost))
    causes = by_cause(attribution)
    base = causes[causes["policy"] == baseline]
    left = causes[causes["policy"] == best.policy]
    base_total = float(base["blast_radius"].sum())
    if base_total <= 0:
        return out
    kept = 1 - best.blast.share
    if not left.empty:
        top = left.iloc[0]
        said = f"On {model}, {best.label} removes {share_text(best.blast)} of {baseline}'s blast radius. "
        out.append(_left(model, top, said + f"{top['share']:.0%} of what remains comes from", arch, source, kept))
    drops = (
        base.groupby(["node", "vector"], sort=False)["blast_radius"].sum()
        .sub(left.groupby(["node", "vector"], sort=False)["blast_radius"].sum(), fill_value=0.0)
        .sort_values(ascending=False)
    )  # fmt: skip
    if len(drops) and drops.iloc[0] / base_total >= CLEAR:
        node, vector = drops.index[0]
        was = base[(base["node"] == node) & (base["vector"] == vector)].iloc[0]
        out.append(
            Finding(
                model,
                f"What {best.label} blocked on {model}: {float(drops.iloc[0]) / base_total:.0%} of {baseline}'s "
                f"blast radius, from {vector} on {node} ({was['how']} under {baseline}).",
                str(node), str(vector), str(was["how"]),
                leak_caveat(arch, str(node), str(vector), source),
                float(drops.iloc[0]) / base_total,
            )
        )  # fmt: skip
    if len(left) > 1 and float(left.iloc[1]["share"]) >= SECOND_CAUSE:
        second = left.iloc[1]
        said = f"Also left under {best.label} on {model}: {second['share']:.0%} from"
        out.append(_left(model, second, said, arch, source, kept))
    for cell in cells:
        if cell.marks and cell.policy != baseline:
            out.append(
                Finding(
                    model, f"{cell.label} on {model}: {'; '.join(cell.marks)}.", "", "", "",
                    "From the route analysis and the platforms' support (docs/parameters.md, cost section).", 0.0,
                )
            )  # fmt: skip
    return sorted(out, key=lambda f: -f.weight)


def first_findings(per_model: Sequence[Sequence[Finding]], limit: int = MAX_FINDINGS) -> list[Finding]:
    """Up to ``limit`` findings, taking each architecture's next one in turn (weightiest architectures first)."""
    queues = sorted((list(f) for f in per_model if f), key=lambda f: -f[0].weight)
    out: list[Finding] = []
    depth = 0
    while len(out) < limit and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(out) < limit:
                out.append(queue[depth])
        depth += 1
    return out
