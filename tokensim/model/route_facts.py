"""The route facts `tokensim check` prints below the route table (docs/model.md section 3).

Three facts an architect asks about before any simulation, read off the route table
(`tokensim.model.routes.route_rows`), so that they say exactly what the table says:

* where DPoP's ``htu`` breaks (a hop that rewrites the URI, or terminates TLS and changes the
  host and scheme without forwarding them: MODEL-v2 section 4);
* issuer gaps: a mechanism the policy asks for that the resource's issuer does not issue
  (MODEL-v2 section 1), and what the policy made of it;
* entry verifiers: the first node on a route that verifies the binding, where a thief coming
  from outside must pass with the key (MODEL-v2 section 3).

`leak_facts` adds, per leak of the model, where its thief's requests enter and which resources a network
allow-list closes to it (MODEL-v2 section 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tokensim.model.architecture import Architecture
from tokensim.model.schema import Client, Issuer, Resource
from tokensim.model.validate import position_of

__all__ = ["leak_facts", "route_facts"]

#: How `tokensim.model.routes.unsupported_reason` names an issuer gap.
_GAP = re.compile(r"issuer (\S+) issues no (.+?) tokens")


def route_facts(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The route facts of a route table's rows (`tokensim.model.routes.route_rows`) as lines of text: one heading
    per fact, then its items (or "none")."""
    if not rows:
        return []
    lines = ["DPoP htu breaks:"]
    htu: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["mechanism"] == "dpop" and row["status"] == "broken" and "htu" in row["reason"]:
            why = next(part for part in row["reason"].split("; ") if "htu" in part)
            htu[(row["hop"], why)] = htu.get((row["hop"], why), 0) + int(row["paths"])
    lines += [f"  at {hop}: {why} ({_routes(n)})" for (hop, why), n in htu.items()] or ["  none"]
    lines.append("issuer gaps (a mechanism asked for that the resource's issuer does not issue):")
    gaps: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        match = _GAP.search(row["reason"])
        if match is not None:
            what = "its requests fail" if row["effect"] == "fails" else "bearer instead"
            key = (match.group(1), match.group(2), what)
            where = f"{row['client']} -> {row['resource']} ({row['tier']})"
            gaps.setdefault(key, [])
            if where not in gaps[key]:
                gaps[key].append(where)
    lines += [
        f"  issuer {issuer} issues no {mech} tokens, {what}: {', '.join(where)}"
        for (issuer, mech, what), where in gaps.items()
    ] or ["  none"]
    lines.append("entry verifiers (where a thief from outside must pass with the key):")
    entry: dict[str, int] = {}
    for row in rows:
        verifier = row["entry_verifier"]
        if isinstance(verifier, str):
            entry[verifier] = entry.get(verifier, 0) + int(row["paths"])
    lines += [f"  {verifier} ({_routes(n)})" for verifier, n in entry.items()] or ["  none: no route is bound"]
    return lines


def _routes(n: int) -> str:
    return f"{n:,} route" + ("" if n == 1 else "s")


def leak_facts(arch: Architecture) -> list[str]:
    """Per leak: where its thief's requests enter (MODEL-v2 section 3) and which resources an allow-list closes.

    ``outside``: through the first hop of the client whose tokens it holds; ``resident``: from the victim's
    host while the dwell lasts, then from outside; ``inside``: from the node's place, reaching the hops after
    it. An allow-listed resource (`network_allow_list`) is closed to a thief from outside.
    """
    lines = ["leaks (where the thief's requests enter; what a network allow-list closes to it):"]
    for name, node in arch.spec.nodes.items():
        for i, leak in enumerate(node.leaks):
            position = position_of(node, leak)
            reached = _reached(arch, name, node)
            listed = [r for r in reached if arch.node(r).network_allow_list]
            first = sorted(arch.graph.successors(name)) if isinstance(node, Client) else []
            if position == "inside":
                entry = (
                    f"inside at {name}, reaching the hops after it ({', '.join(sorted(arch.graph.successors(name)))})"
                )
                closed = "none (it is inside)"
            else:
                hops = ", ".join(first) if first else "each client's first hop"
                entry = f"from outside, through {'the client' + chr(39) + 's first hop: ' if first else ''}{hops}"
                if position == "resident":
                    entry = f"the victim's host while the dwell lasts, then {entry}"
                closed = (
                    ", ".join(listed) + (" (after the dwell)" if position == "resident" else "") if listed else "none"
                )
            lines.append(f"  {name}.leaks[{i}] {leak.vector} ({position}): enters {entry}; allow-list closes: {closed}")
    return lines if len(lines) > 1 else []


def _reached(arch: Architecture, name: str, node: object) -> list[str]:
    """The resources a leak of ``name`` exposes tokens for (its thief aims there)."""
    if isinstance(node, Client):
        return arch.reachable(name)
    if isinstance(node, Issuer):
        return [r for r in arch.resources if arch.issuer_of(r) is node]
    if isinstance(node, Resource):
        return [name]
    return [r for r in arch.resources if any(p.passes.get(name, 0) for (_, res), p in arch.paths.items() if res == r)]
