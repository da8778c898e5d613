"""The design-review report: built from real small sweeps, checked for its content, and opened in a real
headless Chromium (Debian's /usr/bin/chromium driven by playwright): no console errors, no network, every
figure rendered, the recommendation visible, a screenshot that is not blank, printing to PDF."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import sweep_folder

import tokensim
from tokensim import InputError
from tokensim.analysis import recommend, tradeoff_table
from tokensim.report import build_report
from tokensim.report.format import number

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

GRID = """\
name: report-grid
description: three policies x two access-token TTLs x rotation on the SPA behind a proxy
models: [spa_behind_proxy]
policies: [bearer, dpop, hybrid]
factors:
  policy.access_ttl: [5m, 1h]
  policy.rotation: [false, true]
design: grid
replications: 3
seed: 5
horizon: 30d
"""

SOBOL = """\
name: report-sobol
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  attacker.replay_rate: {low: 1/h, high: 120/h, log: true}
  nodes.edge.leaks[0].rate: {low: 0.05/year, high: 5/year, log: true}
design: sobol
design_options: {samples: 8}
replications: 3
seed: 3
horizon: 30d
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    return sweep_folder(tmp_path_factory.mktemp("grid"), GRID)


@pytest.fixture(scope="module")
def grid_report(grid, tmp_path_factory) -> Path:
    return build_report(grid, out=tmp_path_factory.mktemp("out") / "report.html")


@pytest.fixture(scope="module")
def sobol(tmp_path_factory) -> Path:
    return sweep_folder(tmp_path_factory.mktemp("sobol"), SOBOL)


@pytest.fixture(scope="module")
def sobol_report(sobol) -> Path:
    return build_report(sobol, out=sobol.parent / "sobol.html")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through playwright; a missing browser fails the suite (CI installs it), never skips."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the report tests open the report in a real headless Chromium; "
            "install Debian's package (apt-get install -y chromium; .ci/run does this)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _text(path: Path) -> str:
    """The report's text with tags dropped and entities decoded (what a reader sees)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


def _default_recommendation(rows: pd.DataFrame):
    """The documented default without a target: the knee of the front, and the next point along the front.

    The runner-up is worked out here from the tradeoff table (the next safer front point, else the
    next cheaper one); the sentence is the one the report's code writes.
    """
    from tokensim.report.sections import knee_summary

    table = tradeoff_table(rows)
    knee = table[table["knee"]].iloc[0]
    front = table[table["pareto"]].sort_values(["integration_cost_mean", "blast_radius_mean"])
    differs = (front["integration_cost_mean"] != knee["integration_cost_mean"]) | (
        front["blast_radius_mean"] != knee["blast_radius_mean"]
    )
    safer = front[differs & (front["integration_cost_mean"] >= knee["integration_cost_mean"])]
    cheaper = front[differs & (front["integration_cost_mean"] < knee["integration_cost_mean"])]
    runner = safer.iloc[0] if len(safer) else (cheaper.iloc[-1] if len(cheaper) else None)
    return knee, runner, knee_summary(table)["text"]


# -- in a real browser ------------------------------------------------------------------------------------


def test_report_renders_in_headless_chromium_without_network_or_errors(grid_report, grid, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, requests, failed = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    blocked = []
    page.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: (blocked.append(route.request.url), route.abort()))
    page.goto(grid_report.resolve().as_uri(), wait_until="load")

    assert errors == [] and failed == [] and blocked == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.wait_for_selector("div.interactive[data-ready=true]")  # the interactive view drew, offline
    page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")  # what a reader unfolds
    images = page.locator("img:not(.print-only)")
    assert images.count() >= 5  # the distinct route tables' diagrams (bearer, dpop, hybrid), TTL, exposure
    for i in range(images.count()):
        img = images.nth(i)
        assert img.evaluate("e => e.complete && e.naturalWidth > 0 && e.naturalHeight > 0"), img.get_attribute("alt")
        box = img.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
    for i in range(page.locator("svg").count()):
        box = page.locator("svg").nth(i).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0

    knee, _, expected = _default_recommendation(tokensim.load_results(grid))
    shown = page.locator(".recommendation-text").first
    assert shown.is_visible()
    assert knee["label"] in shown.inner_text() and "(knee, best compromise)" in shown.inner_text()
    why = page.locator(".recommendation details p").first
    assert why.is_visible() and why.inner_text().strip() == expected

    from PIL import Image

    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    assert len(shot.getcolors(maxcolors=1 << 20)) > 200  # text, figures and colours, not a blank page
    figure = Image.open(io.BytesIO(images.nth(images.count() - 1).screenshot())).convert("RGB")
    assert len(figure.getcolors(maxcolors=1 << 20)) > 20
    page.close()


def test_report_prints_to_pdf_with_whole_figures_and_a_page_per_section(grid_report, browser):
    page = browser.new_page()
    page.goto(grid_report.resolve().as_uri(), wait_until="load")
    page.emulate_media(media="print")
    breaks = page.eval_on_selector_all("section.page", "els => els.map(e => getComputedStyle(e).breakBefore)")
    assert breaks and set(breaks) == {"page"}
    avoid = page.eval_on_selector_all("figure", "els => els.map(e => getComputedStyle(e).breakInside)")
    assert avoid and set(avoid) == {"avoid"}
    # A figure fits on one A4 page (297 mm less margins, at 96 px per inch), so it is never cut.
    printable = (297 - 2 * 14) / 25.4 * 96
    heights = page.eval_on_selector_all("figure", "els => els.map(e => e.getBoundingClientRect().height)")
    assert max(heights) < printable
    # Nothing is wider than an A4 page's printable width (210 mm less margins): no table or figure cut at the edge.
    page.set_viewport_size({"width": int((210 - 2 * 12) / 25.4 * 96), "height": 1000})
    overflowing = page.evaluate("""() => [...document.querySelectorAll('table, figure, pre, dl')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(e => e.className)""")
    assert overflowing == []
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 3 <= pages <= 8  # the first screen, the model's section, provenance: page breaks between them
    page.close()


# -- what the report says ------------------------------------------------------------------------------------


def test_report_states_question_models_routes_tradeoff_and_default_recommendation(grid_report, grid):
    text = _text(grid_report)
    rows = tokensim.load_results(grid)
    knee, runner, expected = _default_recommendation(rows)
    # the experiment states no question: its description is the report's question
    assert "three policies x two access-token TTLs x rotation on the SPA behind a proxy" in text.split("Findings")[0]
    assert "Browser single-page app behind a TLS-terminating reverse proxy" in text
    assert expected in text and f"{knee['label']} is the knee of the Pareto front, the best compromise" in text
    assert runner is not None and f"The runner-up along the front, {runner['label']}, costs" in text
    assert "Best compromise (knee)" in " ".join(text.split()) and f"{knee['label']} (knee, best compromise)" in text
    # No target was given: the report says so, claims none, and shows how to give one.
    assert "No target was given, so no configuration is claimed to meet one." in text
    assert "tokensim report RESULTS --target X" in text
    assert (
        "keeps blast radius under" not in text and "Recommended" not in text and "Safest (target not met)" not in text
    )
    for label in tradeoff_table(rows)["label"]:
        assert label in text  # every configuration in the tradeoff table
    assert "orders verifies the dpop binding" in text  # the route analysis under dpop and hybrid
    assert "Blast radius against access-token TTL" in text  # TTL varies
    assert "Exposure by rotation and revocation" in text  # rotation varies
    assert (
        f"access_ttl={knee['label'].split('access_ttl=')[1].split(',')[0]}" in text
    )  # exposure drawn at the knee's TTL
    assert "Paired differences against bearer" in text and "Sensitivity" not in text
    html_text = grid_report.read_text()
    # scripts are inline (the interactive views' bundle), nothing is fetched
    assert not re.search(r"<script[^>]*\bsrc=", html_text) and "<link" not in html_text
    assert not re.search(r"(src|href)=\"https?:", html_text)


def test_report_provenance_names_version_seeds_and_hashes(grid_report, grid):
    text = _text(grid_report)
    rows = tokensim.load_results(grid)
    manifest = tokensim.experiment.store.ResultStore(grid).manifest()
    assert manifest["experiment_hash"] in text and "report-grid" in text
    for config in rows["config_hash"].unique():
        assert config in text
    assert f"tokensim {tokensim.__version__}" in text
    assert "Seeds 5" in " ".join(text.split())
    assert "3 replications of each configuration" in text
    assert "policy.access_ttl: [5m, 1h]" in text  # the experiment file itself


def test_explicit_target_and_baseline_on_rows_from_python(tmp_path):
    rows = tokensim.replicate("service_mesh", ["bearer", "mtls", "hybrid"], replications=3, seed=2, horizon="30d")
    target = float(rows["blast_radius"].max()) + 1.0
    out = build_report(rows, out=tmp_path / "mesh.html", target=target, baseline="mtls", title="Mesh review")
    text = _text(out)
    assert recommend(rows, target).text in text
    assert f"the target {number(target)} was given" in text and "No target was given" not in text
    assert "Mesh review" in text and "Paired differences against mtls" in text
    assert "does not forward the client certificate" in text  # the hop that breaks mTLS, from the route table
    assert "broken" in text and "downgraded" in text
    assert "the built-in model of that name" in text and "do not match" not in text  # hashes verified


def test_target_nobody_meets_is_said_plainly(tmp_path):
    rows = tokensim.replicate("spa_behind_proxy", ["bearer", "dpop"], replications=3, seed=1, horizon="30d")
    rows = rows.assign(blast_radius=rows["blast_radius"] + 100.0)
    out = build_report(rows, out=tmp_path / "unmet.html", target=1.0)
    text = _text(out)
    assert "No configuration keeps blast radius under 1" in text and "Safest (target not met)" in text


def test_model_that_does_not_match_the_runs_is_flagged(tmp_path):
    spec = tokensim.load_model("spa_behind_proxy").spec.model_dump(mode="python")
    spec["nodes"]["spa"]["instances"] = 7  # same name, another model: the rows' hashes cannot match the built-in
    rows = tokensim.replicate(tokensim.Architecture.from_dict(spec), ["bearer"], replications=2, seed=1, horizon="10d")
    text = _text(build_report(rows, out=tmp_path / "other.html"))
    assert "do not match the built-in model of that name" in text


def test_sobol_sweep_gets_sensitivity_and_design_averaged_configurations(sobol_report):
    text = _text(sobol_report)
    assert "Sensitivity" in text and "log(1 + blast radius)" in text
    assert "attacker.replay_rate" in text and "nodes.edge.leaks[0].rate" in text and "ST" in text
    assert (
        "sampled factors are averaged over" in text
        and "3 replications of each configuration at each of 32 design points" in text
    )
    assert "each replication averaged over the design's points first" in text
    flat = " ".join(text.split())
    assert "average over its 32 design points" in flat and "leaves out the error of sampling the factors" in flat
    assert "are left out" not in text  # a complete sweep: no replication left out
    assert "Blast radius against access-token TTL" not in text


def test_sampled_design_intervals_are_over_replications_not_design_points(sobol):
    # A sampled design's points run replication r on the same random streams: 32 points x 3
    # replications are 3 independent values per policy, not 96.
    from tokensim.analysis import design_average, mean_ci
    from tokensim.report.figures import tradeoff_tables

    exp = tokensim.Experiment.from_folder(sobol)
    rows = tokensim.load_results(sobol)
    table = tradeoff_tables(rows, exp)
    assert set(table["n"]) == {3}
    averaged = design_average(rows, ["blast_radius"])
    assert set(averaged["design_points"]) == {32} and len(averaged) == 2 * 3
    for policy, part in rows.groupby("policy"):
        per_rep = part.groupby("replication")["blast_radius"].mean()
        _mean, low, high = mean_ci(per_rep)
        got = table[table["policy"] == policy].iloc[0]
        assert got["blast_radius_mean"] == pytest.approx(part["blast_radius"].mean())
        assert (got["blast_radius_low"], got["blast_radius_high"]) == pytest.approx((low, high))
        assert high > low  # the replications differ: a real interval, not a single value


def test_rows_with_a_spoiled_column_are_refused_naming_file_and_column(tmp_path):
    from tokensim.report import read_results

    rows = tokensim.replicate("service_mesh", ["bearer", "mtls"], replications=2, seed=1, horizon="5d")
    out = tmp_path / "r.html"
    with pytest.raises(InputError, match=r"^results: replication: expected numbers, found 'r1'"):
        build_report(rows.assign(replication="r1"), out=out)
    with pytest.raises(InputError, match=r"^results: blast_radius: has no values: every one of the 4 rows is empty"):
        build_report(rows.assign(blast_radius=float("nan")), out=out)
    spoiled = rows.astype({"horizon_hours": object, "seed": object})
    spoiled.loc[3, "horizon_hours"] = "5 days"
    spoiled.to_csv(tmp_path / "horizon.csv", index=False)
    with pytest.raises(
        InputError, match=r"horizon\.csv: horizon_hours: expected numbers, found '5 days' \(data row 4\)"
    ):
        read_results(tmp_path / "horizon.csv")
    spoiled = rows.astype({"seed": float})
    spoiled.loc[0, "seed"] = 1.5
    spoiled.to_csv(tmp_path / "seed.csv", index=False)
    with pytest.raises(InputError, match=r"seed\.csv: seed: expected whole numbers, found 1\.5"):
        build_report(tmp_path / "seed.csv", out=out)
    assert not out.exists()


def test_corrupt_manifest_is_an_input_error_naming_it(grid, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(grid, folder)
    for text in ("{not json", "[1, 2]"):
        (folder / "manifest.json").write_text(text)
        with pytest.raises(InputError, match=r"copy/manifest\.json: corrupt manifest"):
            build_report(folder, out=tmp_path / "r.html")


def test_bad_input_is_an_input_error(grid, tmp_path):
    with pytest.raises(InputError, match="HTML"):
        build_report(grid, out=tmp_path / "report.pdf")
    with pytest.raises(InputError, match="unknown baseline policy 'nope'"):
        build_report(grid, out=tmp_path / "r.html", baseline="nope")
    with pytest.raises(InputError, match="positive"):
        build_report(grid, out=tmp_path / "r.html", target=-1)
    with pytest.raises(InputError, match="no such file or folder"):
        build_report(tmp_path / "missing", out=tmp_path / "r.html")
    with pytest.raises(InputError, match="blast_radius"):
        build_report(pd.DataFrame({"model": ["m"], "policy": ["bearer"]}), out=tmp_path / "r.html")
    with pytest.raises(InputError, match="does not exist"):
        build_report(grid, out=tmp_path / "no" / "r.html")


def test_report_says_which_harm_weights_produced_the_blast_radius(grid_report):
    """Issue 13: the reader sees the weights the blast radius rests on, as the model file sets them."""
    import yaml

    text = " ".join(_text(grid_report).split())
    assert "How harm is weighed" in text
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "models" / "spa_behind_proxy.yaml").read_text())
    orders = spec["nodes"]["orders"]
    expected = f"orders {orders['sensitivity']:g} {orders['privileged_fraction']:g} {orders['privileged_weight']:g} - -"
    assert expected in text, expected
