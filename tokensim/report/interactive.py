"""The report's interactive view per architecture, made with Altair: select a configuration, see it and its harm.

Left, blast radius against integration cost (mean and interval per configuration; the Pareto
front ringed, the chosen configuration starred); right, the selected configuration's settings
and verdict, and its policy's harm by cause (`tokensim.analysis.attribution`). Clicking a
point selects it. The charts run offline in the single HTML file: the Vega, Vega-Lite and
vega-embed code is inlined once (`vl_convert.javascript_bundle`), and vl-convert draws each
view as a static SVG for print, where scripts do not run.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from tokensim.analysis.text import interval, number
from tokensim.display import plain_value

METRIC, COST = "blast_radius", "integration_cost"
#: Causes shown per policy; the rest are summed as "other causes" (a legible stack; assumption).
TOP_CAUSES = 6


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _points(table: pd.DataFrame, chosen: str, words: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for _, row in table.iterrows():
        out.append(
            {
                "label": str(row["label"]),
                "policy": str(row["policy"]),
                "blast": plain_value(row[f"{METRIC}_mean"]),
                "blast_low": _finite(max(0.0, float(row[f"{METRIC}_low"]))),
                "blast_high": _finite(float(row[f"{METRIC}_high"])),
                "cost": plain_value(row[f"{COST}_mean"]),
                "front": "Pareto front" if bool(row["pareto"]) else "dominated",
                "chosen": row["label"] == chosen,
                "verdict": words.get(str(row["label"]), ""),
                "falls_back": str(row.get("falls_back", "") or ""),
            }
        )
    return out


def _settings(table: pd.DataFrame, words: dict[str, str]) -> list[dict[str, Any]]:
    """Long rows (label, order, line) of each configuration's settings, for the panel beside the tradeoff."""
    columns = list(table.columns[: table.columns.get_loc("label")])
    out: list[dict[str, Any]] = []
    for _, row in table.iterrows():
        lines = [f"{c}: {row[c]}" for c in columns]
        blast = interval(row[f"{METRIC}_mean"], row[f"{METRIC}_low"], row[f"{METRIC}_high"], row["n"], clip=True)
        lines.append(f"blast radius: {blast}")
        lines.append(f"integration cost: {number(row[f'{COST}_mean'])}")
        if words.get(str(row["label"])):
            lines.append(f"verdict: {words[str(row['label'])]}")
        out.extend({"label": str(row["label"]), "order": i, "line": line} for i, line in enumerate(lines))
    return out


def _causes(attribution: pd.DataFrame, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Each shown configuration's harm by cause, its largest `TOP_CAUSES` and the rest summed."""
    if attribution.empty:
        return []
    from tokensim.analysis.attribution import by_cause

    out: list[dict[str, Any]] = []
    for policy, part in by_cause(attribution).groupby("policy", sort=False):
        label = labels.get(str(policy))
        if label is None:
            continue
        part = part.reset_index(drop=True)
        top, rest = part.iloc[:TOP_CAUSES], part.iloc[TOP_CAUSES:]
        for _, r in top.iterrows():
            out.append(
                {
                    "label": label,
                    "cause": f"{r['vector']} on {r['node']}: {r['how']}",
                    "share": plain_value(r["share"]),
                    "blast": plain_value(r[METRIC]),
                }
            )
        if len(rest):
            out.append(
                {
                    "label": label,
                    "cause": "other causes",
                    "share": plain_value(rest["share"].sum()),
                    "blast": plain_value(rest[METRIC].sum()),
                }
            )
    return out


def _data(values: list[dict[str, Any]]) -> Any:
    """Inline data for a chart (the values travel in the spec: the page loads nothing)."""
    import altair as alt

    return alt.Data(values=values)  # type: ignore[no-untyped-call]


def view_spec(
    table: pd.DataFrame, chosen: str, words: dict[str, str], attribution: pd.DataFrame, shown: dict[str, str]
) -> dict[str, Any]:
    """The Vega-Lite spec of one architecture's view (``shown``: policy -> the label its attribution is of)."""
    import altair as alt

    pick = alt.selection_point(name="pick", fields=["label"], value=[{"label": chosen}], empty=False, on="click")
    points = _data(_points(table, chosen, words))
    base = alt.Chart(points)
    x = alt.X("cost:Q", title="integration cost (mean)")
    y = alt.Y("blast:Q", title="blast radius (mean, interval)")
    bars = base.mark_rule(opacity=0.5).encode(x=x, y="blast_low:Q", y2="blast_high:Q", color=alt.Color("policy:N"))
    dots = (
        base.mark_point(size=110, filled=True)
        .encode(
            x=x,
            y=y,
            color=alt.Color("policy:N", legend=alt.Legend(orient="bottom", columns=3)),
            shape=alt.Shape("front:N", legend=alt.Legend(title=None, orient="bottom")),
            strokeWidth=alt.condition(pick, alt.value(3), alt.value(0)),
            stroke=alt.value("black"),
            tooltip=["label:N", "blast:Q", "cost:Q", "verdict:N"],
            description="label:N",
        )
        .add_params(pick)
    )
    star = (
        base.transform_filter("datum.chosen")
        .mark_point(shape="diamond", size=320, filled=False, color="black")
        .encode(x=x, y=y)
    )
    tradeoff = (bars + dots + star).properties(
        width=360, height=260, title="Click a configuration (hollow: falls back to bearer on some clients)"
    )
    settings = (
        alt.Chart(_data(_settings(table, words)))
        .transform_filter(pick)
        .mark_text(align="left", baseline="top", fontSize=12, limit=330)
        .encode(x=alt.value(4), y=alt.Y("order:O", axis=None), text="line:N")
        .properties(width=340, height=130, title="Selected configuration")
    )
    causes = (
        alt.Chart(_data(_causes(attribution, shown)))
        .transform_filter(pick)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", axis=alt.Axis(format="%"), title="share of its blast radius", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("cause:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            tooltip=["cause:N", alt.Tooltip("share:Q", format=".0%"), "blast:Q"],
        )
        .properties(width=340, height=110, title="Its harm by cause (the policy's shown configuration)")
    )
    chart = alt.hconcat(tradeoff, alt.vconcat(settings, causes)).resolve_scale(color="independent")
    spec: dict[str, Any] = chart.to_dict()
    return spec


def static_svg(spec: dict[str, Any]) -> str:
    """The view as SVG (its initial selection), for print."""
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(spec)
    return svg


def bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (``window.vegaEmbed``), inlined once per report."""
    import vl_convert

    code: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]  # its snippet is optional
    return code.replace("</script", "<\\/script")


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as a JSON literal safe inside a <script> element."""
    return json.dumps(spec).replace("</", "<\\/")
