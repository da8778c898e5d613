"""Factors: dotted paths into a model or policy (`policy.access_ttl`, `nodes.edge.leaks[0].rate`)."""

from __future__ import annotations

import copy
import re
from typing import Any

from tokensim.errors import did_you_mean
from tokensim.model.policy import PARAMETERS

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MODEL_ROOTS = ("nodes", "attacker", "defender", "edges", "name", "description")


def parse_path(path: str) -> list[str | int]:
    """Split `nodes.edge.leaks[0].rate` into ['nodes', 'edge', 'leaks', 0, 'rate']."""
    parts: list[str | int] = []
    pos = 0
    for match in _PART.finditer(path):
        if match.start() != pos and path[pos : match.start()] != ".":
            raise ValueError(f"cannot read path {path!r}")
        parts.append(int(match[2]) if match[2] is not None else match[1])
        pos = match.end()
    if not parts or pos != len(path):
        raise ValueError(f"cannot read path {path!r}")
    return parts


def path_problem(path: str, model: dict[str, Any]) -> str | None:
    """Why a factor path does not name a setting of this model or of the policy (None if it does)."""
    try:
        parts = parse_path(path)
    except ValueError as err:
        return str(err)
    if parts[0] == "policy":
        if len(parts) != 2 or parts[1] not in PARAMETERS or parts[1] == "name":
            named = ".".join(map(str, parts[1:]))
            allowed = [p for p in PARAMETERS if p != "name"]
            return f"unknown policy parameter {named!r}{did_you_mean(named, allowed)}; allowed: {', '.join(allowed)}"
        return None
    if parts[0] not in ("nodes", "attacker", "defender"):
        return f"a factor path starts with policy, nodes, attacker or defender, not {parts[0]!r}"
    node: Any = model
    walked: list[str | int] = []
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return f"{'.'.join(map(str, walked)) or 'model'} has no item [{part}]"
        elif not isinstance(node, dict) or part not in node:
            where = ".".join(map(str, walked)) or "the model"
            have = ", ".join(map(str, node)) if isinstance(node, dict) else "no fields"
            hint = did_you_mean(part, map(str, node)) if isinstance(node, dict) else ""
            return f"{where} has no {part!r}{hint} (it has: {have})"
        node = node[part]
        walked.append(part)
    if isinstance(node, (dict, list)):
        return "the path names a group of settings; name one value (e.g. ...rate)"
    return None


def set_path(data: dict[str, Any], parts: list[str | int], value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the value at ``parts`` replaced."""
    out = copy.deepcopy(data)
    node: Any = out
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return out
