"""The policy space as optuna sees it, and a sampled point as the policy it stands for.

A list of choices becomes a categorical distribution over the choices' positions (a choice may
be a list, such as a mechanism preference, which optuna cannot hold); a range ``{low, high}``
becomes a float distribution, on a log scale when ``log`` is set, in hours for durations and per
hour for rates. A candidate is named by a hash of its settings, so the same settings proposed twice
are one candidate, one set of runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokensim.display import plain_value
from tokensim.experiment.spec import Range, range_end
from tokensim.model.policy import Policy
from tokensim.search.spec import SearchFile

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


@dataclass(frozen=True)
class Candidate:
    """One point of the space: its settings (space key to value, as the file writes a value) and its policy."""

    name: str
    settings: dict[str, Any]
    policy: Policy


def distributions(spec: SearchFile) -> dict[str, BaseDistribution]:
    """One optuna distribution per space key."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out: dict[str, BaseDistribution] = {}
    for key, values in spec.space.items():
        if isinstance(values, Range):
            out[key] = FloatDistribution(range_end(values.low), range_end(values.high), log=values.log)
        else:
            out[key] = CategoricalDistribution(list(range(len(values))))
    return out


def settings_of(spec: SearchFile, params: dict[str, Any]) -> dict[str, Any]:
    """The settings an optuna point stands for: a choice's value for a categorical, the number for a range."""
    out: dict[str, Any] = {}
    for key, values in spec.space.items():
        value = params[key]
        out[key] = float(value) if isinstance(values, Range) else values[int(value)]
    return out


def candidate(base: Policy, settings: dict[str, Any], source: str) -> Candidate:
    """The policy of ``settings`` on ``base``, named ``c-`` and a hash of the settings (`InputError` if invalid)."""
    direct = {k: v for k, v in settings.items() if not k.startswith("overrides.")}
    overrides: dict[str, dict[str, Any]] = {client: dict(entry) for client, entry in base.overrides.items()}
    for key, value in settings.items():
        if key.startswith("overrides."):
            _, client, parameter = key.split(".")
            overrides.setdefault(client, {})[parameter] = value
    if overrides:
        direct["overrides"] = overrides
    name = candidate_name(settings)
    policy = base.with_overrides(direct, source=source).model_copy(update={"name": name})
    return Candidate(name, settings, policy)


def candidate_name(settings: dict[str, Any]) -> str:
    """``c-`` and 10 hex digits of a hash of the settings: equal settings, equal name.

    >>> candidate_name({"access_ttl": 0.25, "rotation": True}) == candidate_name({"rotation": True, "access_ttl": 0.25})
    True
    """
    text = json.dumps({k: plain_value(v) for k, v in settings.items()}, sort_keys=True, default=str)
    return "c-" + hashlib.sha256(text.encode()).hexdigest()[:10]
