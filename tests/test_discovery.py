"""Scenario discovery (PRIM): the box where a policy fails, against a failing region known by construction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tokensim.analysis.discovery import Condition, discover, value_text, world_table
from tokensim.errors import InputError
from tokensim.experiment import Experiment

#: The DPoP proof window of the known-answer model: 2 minutes, in hours.
WINDOW = 2 / 60
#: Mean age of the logged proof a leak captures: the client calls 3,600 times an hour (1 s apart).
AGE = 1 / 3600


def logged_proofs_model(folder: Path) -> Path:
    """Browsers whose logs leak a request (token and DPoP proof) to a thief with a fixed replay delay.

    The thief holds no key, so under DPoP a replay works only while the captured proof is inside
    its window: a delay d replays when d + age < W, the age of the logged proof being a second on
    average. By construction dpop fails (any harm) exactly when the replay delay is under
    d0 = W - age = 1.98 minutes; the detection probability does not matter.
    """
    model = {
        "name": "logged-proofs",
        "nodes": {
            "app": {
                "kind": "client",
                "platform": "browser",
                "instances": 300,
                "key_storage": "non_extractable",
                "supports": ["bearer", "dpop"],
                "request_rate": "3600/h",
                "log_retention": "2h",
                "leaks": [{"vector": "log", "rate": "20/year"}],
            },
            "api": {"kind": "resource"},
            "idp": {"kind": "issuer"},
        },
        "edges": [["app", "api"]],
        "attacker": {"replay_delay": "1m", "replay_rate": "120/h"},
        "defender": {"detection_probability": 0.001, "response_time": "30m"},
    }
    path = folder / "logged.yaml"
    path.write_text(yaml.safe_dump(model))
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("discovery")
    experiment = Experiment.from_dict(
        {
            "name": "known-region",
            "models": [str(logged_proofs_model(folder))],
            "policies": ["bearer", {"base": "dpop", "set": {"proof_window": WINDOW}}],
            "factors": {
                "attacker.replay_delay.value": {"low": 10 / 3600, "high": 10 / 60, "log": True},
                "defender.detection_probability": {"low": 0.0001, "high": 0.01},
            },
            "design": "lhs",
            "design_options": {"samples": 100},
            "replications": 2,
            "seed": 3,
            "horizon": "30d",
        }
    )
    return experiment.run(out=folder / "results", workers=2, progress=False)


def test_prim_recovers_the_replay_delay_under_which_dpop_fails(sweep: pd.DataFrame) -> None:
    found = discover(sweep, "dpop", above=0.5, threshold=0.95)
    d0 = WINDOW - AGE
    box = found.limits
    assert found.restricted == ["attacker.replay_delay.value"]  # the detection probability plays no part
    assert box.loc["attacker.replay_delay.value", "high_restricted"]
    assert not box.loc["attacker.replay_delay.value", "low_restricted"]
    assert abs(box.loc["attacker.replay_delay.value", "high"] - d0) < 0.1 * d0  # stated tolerance: 10%
    assert found.coverage >= 0.9 and found.density >= 0.95
    quoted = (
        "In 60 of 100 sampled worlds (60%), dpop's blast radius is above 0.5, mostly when replay delay is under 1.97m"
    )
    assert found.text.startswith(quoted)  # docs/decisions.md quotes it
    edge = value_text("attacker.replay_delay.value", box.loc["attacker.replay_delay.value", "high"])
    assert f"when replay delay is under {edge} (coverage" in found.text and edge.endswith("m")


def test_the_worlds_of_interest_are_those_the_closed_form_names(sweep: pd.DataFrame) -> None:
    worlds, interest = world_table(sweep, Condition("dpop", above=0.5))
    delay = worlds["attacker.replay_delay.value"]
    clear = (delay - (WINDOW - AGE)).abs() > 5 / 3600  # away from the edge, where the proof's age decides
    assert ((delay < WINDOW - AGE) == interest)[clear].all()
    assert len(worlds) == 100 and 0 < interest.sum() < 100


def test_a_relative_condition_compares_the_policies_in_each_world() -> None:
    rows = []
    for point in range(40):
        delay = point / 40
        for replication in range(2):
            rows.append(_row(point, replication, "bearer", delay, 100.0))
            rows.append(_row(point, replication, "dpop", delay, 30.0 if delay < 0.25 else 5.0))
    found = discover(pd.DataFrame(rows), "dpop", above=0.1, relative_to="bearer", threshold=0.9)
    assert found.interest.sum() == 10  # 30 > 10% of 100 below 0.25; 5 is not
    assert found.limits.loc["attacker.replay_delay.median", "high"] == pytest.approx(0.25, abs=0.03)
    assert found.text.startswith("In 10 of 40 sampled worlds (25%), dpop's blast radius is above 10% of bearer's")


def test_a_replication_one_policy_lacks_is_left_out_of_every_policy_in_that_world() -> None:
    rows = [_row(0, 0, "bearer", 0.1, 10.0), _row(0, 0, "dpop", 0.1, 1.0), _row(0, 1, "dpop", 0.1, 100.0)]
    rows += [_row(1, 0, "bearer", 0.9, 10.0), _row(1, 0, "dpop", 0.9, 1.0)]
    _, interest = world_table(pd.DataFrame(rows), Condition("dpop", above=0.5, relative_to="bearer"))
    assert not interest.any()  # replication 1 of world 0 has no bearer row: its 100 is not counted


@pytest.mark.parametrize(
    ("edit", "kwargs", "field"),
    [
        (lambda f: f.drop(columns="design_point"), {"above": 1.0}, "design_point"),
        (lambda f: f, {"above": 1.0, "below": 2.0}, "above"),
        (lambda f: f, {}, "above"),
        (lambda f: f, {"above": -1.0}, "above"),
        (lambda f: f, {"above": 1e9}, "above"),
        (lambda f: f, {"above": 1.0, "threshold": 1.5}, "threshold"),
        (lambda f: f.drop(columns="blast_radius"), {"above": 1.0}, "blast_radius"),
    ],
)
def test_bad_input_is_one_message_naming_the_field(edit, kwargs, field) -> None:
    frame = pd.DataFrame([_row(p, 0, pol, p / 10, float(p)) for p in range(10) for pol in ("bearer", "dpop")])
    with pytest.raises(InputError) as err:
        discover(edit(frame), "dpop", **kwargs)
    assert field in str(err.value)
    with pytest.raises(InputError, match="no rows of policy 'mtls'"):
        discover(frame, "mtls", above=1.0)
    with pytest.raises(InputError, match="in every sampled world"):  # nothing to set apart
        discover(frame.assign(blast_radius=frame["blast_radius"] + 1), "dpop", above=0.5)


def test_the_figure_draws_the_trajectory_and_the_chosen_box(sweep: pd.DataFrame) -> None:
    from tokensim.viz import discovery_figure

    found = discover(sweep, "dpop", above=0.5, threshold=0.95)
    fig = discovery_figure(found)
    trajectory, worlds = fig.axes[0], fig.axes[1]
    assert len(trajectory.collections[0].get_offsets()) == len(found.trajectory)
    dots = {c.get_gid(): len(c.get_offsets()) for c in worlds.collections}
    assert dots == {"met": int((~found.interest).sum()), "holds": int(found.interest.sum())}
    (box,) = [p for p in worlds.patches if p.get_gid() == "box"]
    assert box.get_x() + box.get_width() == pytest.approx(found.limits.loc["attacker.replay_delay.value", "high"])


def test_values_read_in_their_units() -> None:
    assert value_text("attacker.replay_delay.median", 0.5) == "30m"
    assert value_text("policy.proof_window", 2 / 60) == "2m"
    assert value_text("nodes.spa.leaks[0].rate", 2 / 24) == "2/day"
    assert value_text("nodes.spa.leaks[0].rate", 0.5 / 24) == "182/year"  # under one a day: per year
    assert value_text("defender.detection_probability", 0.05) == "0.05"


def _row(point: int, replication: int, policy: str, delay: float, blast: float) -> dict[str, object]:
    return {
        "model": "m",
        "design_point": point,
        "replication": replication,
        "policy": policy,
        "attacker.replay_delay.median": delay,
        "blast_radius": blast,
    }
