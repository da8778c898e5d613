"""Factor columns of a results frame sort by the value they stand for, not as text (issue 14).

A sweep over ``policy.access_ttl: [8h, 5m, 1h, 15m]`` must list ``5m, 15m, 1h, 8h`` in a
``sort_values``, a ``groupby`` and every table built from it, both from `Experiment.run`
and from the stored folder, while each cell still reads as the file wrote it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from tokensim.experiment import Experiment, load_results
from tokensim.experiment.factor_columns import magnitude, ordered_labels, typed_factors


def test_labels_order_by_the_hours_or_rate_they_stand_for() -> None:
    assert ordered_labels(["8h", "15m", "1h", "5m", "1d"]) == ["5m", "15m", "1h", "8h", "1d"]
    assert ordered_labels(["3/day", "1/h", "30/h"]) == ["3/day", "1/h", "30/h"]
    assert ordered_labels(["fallback", "fail"]) is None  # text stays text
    assert magnitude("90s") == 90 / 3600


def test_only_unit_valued_factor_columns_change() -> None:
    frame = pd.DataFrame(
        {
            "policy": ["dpop", "bearer"],  # a record field: never a factor, even if it looked like one
            "policy.access_ttl": ["1h", "5m"],
            "policy.on_binding_loss": ["fail", "fallback"],
            "nodes.spa.leaks[0].rate": [0.5, 2.0],  # a sampled design's numbers are numbers already
        }
    )
    typed = typed_factors(frame)
    assert isinstance(typed["policy.access_ttl"].dtype, pd.CategoricalDtype)
    assert list(typed["policy.access_ttl"].cat.categories) == ["5m", "1h"]
    assert typed["policy.on_binding_loss"].equals(frame["policy.on_binding_loss"])
    assert typed["nodes.spa.leaks[0].rate"].dtype == float
    assert typed["policy"].equals(frame["policy"])


def test_a_sweep_and_its_stored_folder_sort_ttls_by_duration(tmp_path: Path) -> None:
    spec = {
        "name": "ttl-order",
        "models": ["spa_behind_proxy"],
        "policies": ["bearer"],
        "factors": {"policy.access_ttl": ["8h", "5m", "1h", "15m"]},
        "replications": 2,
        "seed": 3,
        "horizon": "7d",
    }
    file = tmp_path / "ttl.yaml"
    file.write_text(yaml.safe_dump(spec))
    ran = Experiment.from_yaml(file).run(tmp_path / "out", workers=1)
    loaded = load_results(tmp_path / "out")
    for frame in (ran, loaded):
        ttl = frame["policy.access_ttl"]
        assert list(frame.sort_values("policy.access_ttl")["policy.access_ttl"].unique()) == ["5m", "15m", "1h", "8h"]
        assert list(frame.groupby("policy.access_ttl", observed=True).size().index) == ["5m", "15m", "1h", "8h"]
        assert (ttl == "15m").sum() == 2  # each cell still reads as the file wrote it
        assert sorted(ttl.astype(str).unique()) == ["15m", "1h", "5m", "8h"]


def test_a_partial_folder_has_the_categories_of_the_finished_one() -> None:
    partial = pd.DataFrame({"policy.access_ttl": ["1h", "5m"]})
    typed = typed_factors(partial, {"policy.access_ttl": ["8h", "5m", "1h", "15m"]})
    assert list(typed["policy.access_ttl"].cat.categories) == ["5m", "15m", "1h", "8h"]  # 8h and 15m: not yet run
    finished = typed_factors(pd.DataFrame({"policy.access_ttl": ["15m", "8h"]}), {"policy.access_ttl": ["5m", "1h"]})
    assert list(finished["policy.access_ttl"].cat.categories) == ["5m", "15m", "1h", "8h"]  # a value not declared joins
    both = pd.concat(
        [
            typed,
            typed_factors(
                pd.DataFrame({"policy.access_ttl": ["8h"]}), {"policy.access_ttl": ["8h", "5m", "1h", "15m"]}
            ),
        ]
    )
    assert isinstance(both["policy.access_ttl"].dtype, pd.CategoricalDtype)  # same categories: concat keeps the dtype
