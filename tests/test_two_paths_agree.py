"""Token-only families resolved in closed form agree with the same families run as SimPy processes."""

from __future__ import annotations

import numpy as np
from conftest import one_client_model

import tokensim
from tokensim.sim.engine import Simulation


def run_many(arch, policy, closed_form: bool, reps: int) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {"unauthorized": [], "detections": [], "exposure": [], "attempts": []}
    for r in range(reps):
        sim = Simulation(arch, policy, seed=17, replication=r, horizon=60 * 24.0, closed_form_families=closed_form)
        sim.run()
        fields = sim.outcome_fields()
        out["unauthorized"].append(fields["unauthorized_requests"])
        out["detections"].append(fields["detections"])
        out["attempts"].append(fields["replay_attempts"])
        out["exposure"].append(fields["exposure_hours"])
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def test_closed_form_and_process_paths_agree_with_detection_and_revocation():
    arch = one_client_model(
        instances=300,
        leaks=[{"vector": "log", "rate": "20/year"}],
        delay="5m",
        replay_rate="60/h",
        detection=0.02,
        response="20m",
        revocation="introspection",
        resource={"privileged_fraction": 0.3},
    )
    policy = tokensim.preset("bearer", access_ttl="2h")
    fast = run_many(arch, policy, True, 40)
    slow = run_many(arch, policy, False, 40)
    for key in fast:
        a, b = fast[key], slow[key]
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-9, (key, a.mean(), b.mean(), se)
    assert fast["detections"].sum() > 0 and fast["exposure"].sum() > 0
    # detection cuts exposure short of the tokens' remaining life: both paths see it
    no_detection = one_client_model(
        instances=300,
        leaks=[{"vector": "log", "rate": "20/year"}],
        delay="5m",
        replay_rate="60/h",
        detection=0.0,
        resource={"privileged_fraction": 0.3},
    )
    full = run_many(no_detection, policy, True, 40)
    assert full["exposure"].mean() > 1.1 * fast["exposure"].mean()
