"""The report's section for sampled designs (issue 16): "Where the choice fails, and how robust it is".

Built from a real small LHS sweep (the SPA behind a proxy, bearer and dpop, the thief's replay delay
and the DPoP proof window sampled): the section holds the robustness table and the regret figure,
and the box PRIM finds for the recommended policy, its sentence naming the factor and the edge that
`tokensim.analysis.discover` finds on the same rows. A grid sweep's report has no such section; the
cases where no box applies (no failure, failures everywhere, failures spread out) are checked on
frames whose answer is known by construction.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import sweep_folder
from test_report import browser  # noqa: F401  (the fixture)

import tokensim
from tokensim.analysis import robustness
from tokensim.analysis.discovery import Condition, discover, value_text, world_table
from tokensim.labels import factor_label
from tokensim.report import build_report
from tokensim.report.format import number
from tokensim.report.robust import factors_of, failures, robustness_sentences

LHS = """\
name: report-lhs
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  attacker.replay_delay.median: {low: 5m, high: 2d, log: true}
  policy.proof_window: {low: 30s, high: 10m}
design: lhs
design_options: {samples: 24}
replications: 2
seed: 1
horizon: 30d
"""

GRID = """\
name: report-grid-small
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 1h]
replications: 2
seed: 2
horizon: 30d
"""

HEADING = "Where the choice fails, and how robust it is"


@pytest.fixture(scope="module")
def lhs(tmp_path_factory) -> Path:
    return sweep_folder(tmp_path_factory.mktemp("lhs"), LHS)


@pytest.fixture(scope="module")
def lhs_report(lhs) -> Path:
    return build_report(lhs, out=lhs.parent / "lhs.html")


def _text(path: Path) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())).split())


def _section(path: Path) -> str:
    """The HTML of the section (the report has one architecture)."""
    page = path.read_text()
    start = page.index('<section class="robust"')
    return page[start : page.index("</section>", start)]


def test_the_section_holds_the_robustness_table_and_the_regret_figure(lhs, lhs_report):
    rows = tokensim.load_results(lhs)
    text, section = _text(lhs_report), _section(lhs_report)
    assert HEADING in text
    table = robustness(rows)
    for _, row in table.iterrows():  # every policy with its regret, as robustness computes it
        cells = f"{row['policy']} {int(row['worlds'])} {number(row['max_regret'])} {number(row['mean_regret'])}"
        assert cells in _text_of(section)
    least = table.iloc[0]
    assert f"{least['policy']} has the least maximum regret over the {int(least['worlds'])} sampled worlds" in text
    assert 'class="robustness"' in section
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="Regret of each policy', section)


def _text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_sentence_names_the_factor_and_edge_discover_finds_on_the_same_rows(lhs, lhs_report):
    rows = tokensim.load_results(lhs)
    text, section = _text(lhs_report), _section(lhs_report)
    assert "dpop (knee, best compromise)" in text  # the report recommends dpop: its failures are looked for
    assert "Where dpop fails" in text
    found = discover(rows, "dpop", above=0.1, relative_to="bearer", factors=factors_of(rows))
    assert found.restricted  # a real box: this sweep is chosen so that one factor sets the failures apart
    assert " ".join(found.text.split()) in text
    for factor in found.restricted:
        limits = found.limits.loc[factor]
        if limits["low_restricted"] and limits["high_restricted"]:
            edge = f"is between {value_text(factor, limits['low'])} and {value_text(factor, limits['high'])}"
        elif limits["high_restricted"]:
            edge = f"is under {value_text(factor, limits['high'])}"
        else:
            edge = f"is over {value_text(factor, limits['low'])}"
        assert f"{factor_label(factor)} {edge}" in text
        row = re.search(rf"<tr><td>{re.escape(factor_label(factor))}</td>.*?</tr>", section)
        assert row and value_text(factor, limits["low"]) in row.group()
        assert value_text(factor, limits["high"]) in row.group()
        assert re.search(r"(low end|high end|both ends)</td></tr>", row.group())
    unnarrowed = [f for f in found.limits.index if f not in found.restricted]
    for factor in unnarrowed:
        assert re.search(rf"<tr><td>{re.escape(factor_label(factor))}</td>.*?<td>no</td></tr>", section)
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="Scenario discovery for dpop', section)


def test_with_a_target_the_section_gives_the_satisficing_share_and_the_condition_is_the_target(lhs, tmp_path):
    rows = tokensim.load_results(lhs)
    out = build_report(lhs, out=tmp_path / "target.html", target=2000)
    text = _text(out)
    table = robustness(rows, target=2000)
    for _, row in table.iterrows():
        share = f"{row['satisficing_share']:.0%} [{row['satisficing_low']:.0%}, {row['satisficing_high']:.0%}]"
        assert share in _text_of(_section(out))
    _, interest = world_table(rows, Condition("dpop", above=2000), factors_of(rows))
    assert f"In {int(interest.sum())} of {len(interest)} sampled worlds" in text
    assert "dpop's blast radius is above 2,000" in text
    everywhere = build_report(lhs, out=tmp_path / "high.html", target=1e6)
    said = _text(everywhere)
    assert "meets the target (blast radius at most 1,000,000) in every sampled world (24)" in said
    assert "Scenario discovery for" not in everywhere.read_text()  # no failure: no figure


def test_a_grid_sweep_and_rows_without_their_design_get_no_section(lhs, tmp_path):
    grid = sweep_folder(tmp_path, GRID)
    page = build_report(grid, out=tmp_path / "grid.html").read_text()
    assert HEADING not in page and 'class="robust"' not in page and "regret" not in page
    # Rows alone do not say their design was sampled (a grid has design points too): no section.
    bare = build_report(tokensim.load_results(lhs), out=tmp_path / "bare.html").read_text()
    assert HEADING not in bare


def test_the_section_renders_in_headless_chromium(lhs_report, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(lhs_report.resolve().as_uri(), wait_until="load")
    images = page.locator("section.robust img")
    assert images.count() == 2 and errors == []
    for i in range(images.count()):
        img = images.nth(i)
        assert img.evaluate("e => e.complete && e.naturalWidth > 0 && e.naturalHeight > 0"), img.get_attribute("alt")
    page.close()


# -- the cases without a box, on frames whose answer is known --------------------------------------------------


def _worlds(dpop: list[float], factor: str = "attacker.replay_delay.median", values: list[float] | None = None):
    """One world per value of ``dpop`` (bearer's blast radius is 20 in every world), the factor rising with it."""
    values = values or [(p + 1) / len(dpop) for p in range(len(dpop))]
    rows = [
        {"model": "m", "design_point": p, "replication": r, "policy": policy, factor: values[p],
         "blast_radius": value if policy == "dpop" else 20.0}
        for p, value in enumerate(dpop) for r in (0, 1) for policy in ("bearer", "dpop")
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_no_failure_failures_everywhere_and_failures_spread_out_are_said_so():
    never = failures(_worlds([1.0] * 40), "dpop", None, "bearer", [])
    assert never["kind"] == "never" and never["image"] is None
    assert never["text"] == (
        "dpop's blast radius stays at or below 10% of bearer's in every sampled world (40): there is no failure to locate."
    )
    met = failures(_worlds([1.0] * 40), "dpop", 5.0, "bearer", [])
    assert met["text"] == "dpop meets the target (blast radius at most 5) in every sampled world (40)."
    every = failures(_worlds([10.0] * 40), "dpop", None, "bearer", [])
    assert every["kind"] == "everywhere" and "In every one of the 40 sampled worlds" in every["text"]
    nearly = failures(_worlds([1.0 if p % 20 == 10 else 10.0 for p in range(100)]), "dpop", None, "bearer", [])
    assert nearly["kind"] == "everywhere" and "nearly everywhere in the sampled ranges" in nearly["text"]
    spread = failures(_worlds([10.0 if p % 2 else 1.0 for p in range(100)]), "dpop", None, "bearer", [])
    assert spread["kind"] == "spread" and spread["limits"] == []
    assert (
        "In 50 of 100 sampled worlds (50%)" in spread["text"] and "spread across the sampled ranges" in spread["text"]
    )
    baseline = failures(_worlds([1.0] * 40), "bearer", None, "bearer", [])
    assert baseline["kind"] == "note" and "is the baseline itself" in baseline["text"]


def test_a_known_box_is_found_and_its_axes_read_as_durations_and_rates():
    rows = _worlds([10.0 if p < 50 else 1.0 for p in range(100)])
    found = failures(rows, "dpop", None, "bearer", [])
    assert found["kind"] == "box" and found["image"].startswith("data:image/svg+xml;base64,")
    assert "replay delay (median) is under" in found["text"]
    [row] = [r for r in found["limits"] if r["narrowed"] != "no"]
    assert row["factor"] == "replay delay (median)" and row["narrowed"] == "high end"

    from tokensim.viz import discovery_figure

    spans = [10 ** (-2 + 4 * p / 99) for p in range(100)]  # hours (or per hour): four decades, a log axis
    for factor, unit in (("attacker.replay_delay.median", "m"), ("nodes.edge.leaks[0].rate", "/h")):
        frame = _worlds([10.0 if p < 50 else 1.0 for p in range(100)], factor, spans)
        box = discover(frame, "dpop", above=0.1, relative_to="bearer")
        fig = discovery_figure(box)
        fig.draw_without_rendering()
        label = factor_label(factor)
        ticks = [t.get_text() for ax in fig.axes if ax.get_xlabel() == label for t in ax.get_xticklabels()]
        assert ticks and not any("$" in t for t in ticks) and any(t.endswith(unit) for t in ticks), ticks


def test_the_robustness_sentences_name_ties_and_the_most_satisficing_policy():
    table = pd.DataFrame(
        {
            "policy": ["dpop", "mtls", "bearer"],
            "worlds": [10, 10, 10],
            "mean_regret": [5.0, 7.0, 40.0],
            "max_regret": [12.0, 12.0, 90.0],
            "share_best": [0.6, 0.4, 0.1],
            "satisficing_share": [0.7, 0.9, 0.1],
            "satisficing_low": [0.35, 0.55, 0.0],
            "satisficing_high": [0.93, 1.0, 0.45],
        }
    )
    text = robustness_sentences(table, 500.0, 0.95)
    assert text.startswith("dpop and mtls share the least maximum regret over the 10 sampled worlds")
    assert "bearer's worst world is 90 above the best" in text
    assert "mtls meets the target (500) in the most worlds: 9 of 10 (90%, 95% CI 55% to 100%)" in text
    plain = robustness_sentences(table.drop(columns=["satisficing_share"]), None, 0.95)
    assert "dpop is the best policy in the most worlds (60% of them, ties counted)." in plain
