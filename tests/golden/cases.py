"""The golden regression set: which runs are recorded, and how a record is written down.

Issue 10 (the engine and runner restructured) promised that no number a user sees
changes. Before the first change, `record.py` ran every case below and wrote the
results to this folder; `tests/test_golden.py` runs them again and compares the
canonical text byte for byte. A change that is *meant* to move numbers (a new
semantics) re-records with ``python tests/golden/record.py`` and says so in its
commit message and note.

Cases: every built-in and incident model x every preset and four policy variants
that reach the branches the presets leave alone (rotation races, reuse detection,
per-resource audiences, nonces, failing on unsupported clients or lost binding),
over several seeds and replications; traced runs (the trace as a digest, with
its row count per event); the process path for token-only families (the
cross-check of the closed form); and a small sweep folder.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import tokensim
from tokensim.builtin import builtin_models
from tokensim.model.policy import PRESETS

HORIZON = "180d"
TRACE_HORIZON = "90d"
#: Shorter horizons where a model's runs are slow (hundreds of tenant families per compromise),
#: longer ones where leaks are rare (so that the golden runs have leaks to compare).
RARE = {
    "partner_network": "1095d",
    "saas_broker": "1095d",
    "service_mesh": "1095d",
    "incidents/internet_archive_2024": "1095d",
    "workload_direct": "730d",
    "incidents/cloudflare_2023": "730d",
}
HORIZON_OF = {
    **RARE,
    "incidents/salesloft_drift_2025": "20d",
    "incidents/circleci_2023": "45d",
    "incidents/heroku_travis_2022": "45d",
    "incidents/okta_har_2023": "60d",
}
TRACE_HORIZON_OF = {
    **RARE,
    "incidents/salesloft_drift_2025": "20d",
    "incidents/circleci_2023": "45d",
    "incidents/heroku_travis_2022": "45d",
}
SEEDS_AND_REPLICATIONS: tuple[tuple[int, int], ...] = ((1, 0), (1, 1), (1, 2), (20261201, 0), (20261201, 3))
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "bearer_rotating_5m": (
        "bearer",
        {"access_ttl": "5m", "refresh_ttl": "7d", "rotation": True, "reuse_detection": True, "reuse_grace": "0s"},
    ),
    "dpop_per_resource_nonce": ("dpop", {"audience": "per_resource", "nonce": True, "access_ttl": "15m"}),
    "hybrid_fail": (
        "hybrid",
        {"on_unsupported": "fail", "on_binding_loss": "fail", "rotation": True, "reuse_grace": "2m"},
    ),
    "mtls_jti_8h": ("mtls", {"jti_tracking": True, "access_ttl": "8h", "refresh_ttl": "1d"}),
}
#: Fields that are not numbers of the run (the package version moves with releases).
UNCOMPARED = ("tokensim_version",)

SWEEP_EXPERIMENT = """\
name: golden-sweep
models: [spa_behind_proxy, mobile_gateway]
policies: [bearer, dpop, {base: hybrid, name: hybrid_rot, set: {rotation: true}}]
factors:
  policy.access_ttl: [5m, 1h]
design: grid
replications: 3
seed: 11
horizon: 60d
"""


def models() -> list[str]:
    """Every built-in model name, incidents included."""
    return list(builtin_models())


def policies() -> list[tokensim.Policy]:
    """The presets, then the variants under their own names."""
    out = [tokensim.preset(name) for name in PRESETS]
    for label, (base, overrides) in VARIANTS.items():
        out.append(tokensim.preset(base, **overrides).model_copy(update={"name": label}))
    return out


def canonical(value: Any) -> str:
    """One line of JSON whose floats round-trip exactly (repr); NaN written as NaN."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True, default=_plain)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def record_text(record: dict[str, Any]) -> str:
    """A run's outcome record, key order kept, without the uncompared fields."""
    return canonical({k: v for k, v in record.items() if k not in UNCOMPARED})


def trace_summary(rows: list[Any]) -> dict[str, Any]:
    """A trace as its row count per event and a digest of every row, in order."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for row in rows:
        values = tuple(row)
        digest.update(canonical(values).encode())
        digest.update(b"\n")
        counts[values[1]] = counts.get(values[1], 0) + 1
    return {"rows": len(rows), "events": dict(sorted(counts.items())), "sha256": digest.hexdigest()}


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def process_path_record(
    arch: tokensim.Architecture, policy: tokensim.Policy, seed: int, replication: int, horizon: str
) -> dict[str, Any]:
    """The blast-radius fields of a run whose token-only families all run as SimPy processes.

    This is the engine's cross-check path (the closed form is an optimisation of it);
    it is not reachable from `tokensim.simulate`, so the engine is driven directly.
    """
    from tokensim.model.units import parse_duration
    from tokensim.sim.engine import Simulation

    sim = Simulation(
        arch, policy, seed=seed, replication=replication, horizon=parse_duration(horizon), closed_form_families=False
    )
    sim.run()
    return dict(sim.outcome_fields())
