"""Which configurations of a tradeoff table fall back to bearer, and on which client platforms.

A policy that asks for mTLS everywhere runs bearer tokens on a browser that cannot do
mTLS (``on_unsupported: fallback``) or on a route that loses the binding
(``on_binding_loss: fallback``): its points then sit on top of bearer's, and a figure
that drew them like any bound policy would mislead. The route table says so per
route: a binding was wanted and the effect is bearer. `mark_fallback` adds the
platforms of those clients to a tradeoff table as its ``falls_back`` column, which
`tokensim.viz.tradeoff_figure` draws as hollow markers and a legend note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from tokensim.model.architecture import Architecture
from tokensim.model.policy import Policy

if TYPE_CHECKING:
    from tokensim.experiment import Experiment


def bearer_fallback(arch: Architecture, policy: Policy) -> list[str]:
    """Platforms (e.g. ``browser``, ``mobile``) of the clients whose tokens are bearer on a route where the
    policy wants a binding, sorted; empty when every route the policy binds keeps the binding or fails."""
    from tokensim.model.routes import route_table

    table = route_table(arch, policy)
    if table.empty:
        return []
    fell = table[(table["wanted"] != "bearer") & (table["effect"] == "bearer")]
    return sorted({str(arch.node(c).platform) for c in fell["client"]})


def mark_fallback(
    table: pd.DataFrame, results: pd.DataFrame, by: Sequence[str], experiment: Experiment | None = None
) -> pd.DataFrame:
    """``table`` (one row per configuration, keyed by the ``by`` columns of ``results``) with a ``falls_back``
    column: the platforms its configuration falls back to bearer on, comma-separated, or ''.

    The model is the sweep's (``experiment``) or the built-in one of that name, the policy is rebuilt from the
    rows' parameter columns; a configuration whose model or policy cannot be known gets ''.
    """
    from tokensim.report.architecture import model_for, policy_from_row

    keys = [c for c in by if c in table.columns and c in results.columns]
    if "model" not in keys or "policy" not in keys:
        return table.assign(falls_back="")
    first = results.drop_duplicates(keys).set_index(keys)
    models: dict[str, Architecture | None] = {}
    found: dict[tuple[str, str], str] = {}
    marks = []
    for _, row in table.iterrows():
        key = tuple(row[k] for k in keys)
        try:
            source = first.loc[key if len(keys) > 1 else key[0]]
        except KeyError:
            marks.append("")
            continue
        source = source.iloc[0] if isinstance(source, pd.DataFrame) else source
        record = {**dict(zip(keys, key)), **source.to_dict()}
        name = str(record["model"])
        if name not in models:
            models[name] = model_for(name, {}, experiment)[0]
        policy = policy_from_row(record)
        arch = models[name]
        if arch is None or policy is None:
            marks.append("")
            continue
        cache = (name, policy.model_dump_json())
        if cache not in found:
            found[cache] = ", ".join(bearer_fallback(arch, policy))
        marks.append(found[cache])
    return table.assign(falls_back=marks)
