"""A results folder written before issue 13 (semantics 2: no `incidents`, `records_exposed` or `loss` column)
still loads, verifies, reports and plots; what it lacks is a note, never an error or a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import sweep_folder

import tokensim
from tokensim.report import build_report

EXPERIMENT = """\
name: older-folder
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [15m, 1h]
replications: 2
seed: 4
horizon: 20d
"""

ADDED = ("incidents", "records_exposed", "loss")


@pytest.fixture(scope="module")
def older(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as tokensim wrote it under semantics 2: the manifest says so and the chunks lack the new columns."""
    folder = sweep_folder(tmp_path_factory.mktemp("older"), EXPERIMENT)
    for part in sorted((folder / "runs").glob("*.parquet")):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns([c for c in ADDED if c in table.column_names]), part)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["semantics"] = 2
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def tokensim_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokensim", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_an_older_folder_loads_without_the_new_columns(older: Path) -> None:
    rows = tokensim.load_results(older)
    assert len(rows) == 2 * 2 * 2
    assert not set(ADDED) & set(rows.columns)
    assert rows["blast_radius"].notna().all()


def test_results_notes_the_older_semantics_and_finds_no_problem(older: Path) -> None:
    done = tokensim_cli("results", older)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: simulated under version-2 semantics; this tokensim simulates version 3" in done.stdout
    assert "records_exposed" in done.stdout and "Traceback" not in done.stderr


def test_an_older_folder_reports_and_plots(older: Path, tmp_path: Path) -> None:
    report = build_report(older, out=tmp_path / "review.html")
    assert "How harm is weighed" in report.read_text()
    done = tokensim_cli("plot", older, "--kind", "tradeoff", "--out", tmp_path / "t.png")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.png").stat().st_size > 0


def test_resuming_an_older_folder_is_refused_and_loses_nothing(older: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in (older / "runs").iterdir())
    done = tokensim_cli("sweep", older / "experiment.yaml", "--out", older, "--resume")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "version-2 semantics" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in (older / "runs").iterdir()) == before
