"""Checking an OTM document's ids and references (docs/import.md, OTM), for ``otm.py``.

Every id is unique within its part (trust zones, components, dataflows, assets), every parent names an
existing trust zone or component and no chain of parents comes back to itself, every asset reference
names an asset; a broken one is a `Problem` naming the element. Names, ids and references are text,
whatever YAML reads them as (`texts`).
"""

from __future__ import annotations

from typing import Any

from tokensim.errors import Problem
from tokensim.importers.inventory import Inventory

#: Fields holding a name, an id, a reference to one or tags: text, whatever YAML reads (``name: 2024`` is a name).
_NAMES = frozenset({"id", "name", "type", "trustZone", "component", "source", "destination", "assets", "tags"})
_NAMES |= {"processed", "stored"}


def texts(value: Any, key: str = "", names: bool = True) -> Any:
    """``value`` with every mapping key text, and every name, id, reference and tag (`_NAMES`) text outside
    ``attributes``: YAML reads an unquoted ``2024`` or ``true`` as a number or a boolean, and a name is text."""
    if isinstance(value, dict):
        return {str(_text(k)): texts(v, str(_text(k)), names and k != "attributes") for k, v in value.items()}
    if isinstance(value, list):
        return [texts(item, key, names) for item in value]
    return _text(value) if names and key in _NAMES else value


def _text(value: Any) -> Any:
    """A number or a boolean as YAML writes it (``true``, ``2024``); anything else as it is."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, (int, float)) else value


def first(item: dict[str, Any], index: int, items: list[dict[str, Any]]) -> bool:
    """Whether ``item`` is the first of ``items`` with its id (a duplicate is reported by `ids`)."""
    return all(other["id"] != item["id"] for other in items[:index])


def ids(items: list[dict[str, Any]], part: str, problems: list[Problem]) -> dict[str, int]:
    """Each id of ``part`` and the index of its first element; a repeated id is a problem."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item["id"] in seen:
            first = seen[item["id"]]
            problems.append(
                Problem(f"{part}[{i}].id", f"id {item['id']!r} is also {part}[{first}]'s ({items[first]['name']})")
            )
        else:
            seen[item["id"]] = i
    return seen


def parents(data: Any, zones: dict[str, int], components: dict[str, int], problems: list[Problem]) -> None:
    """Every parent names an existing trust zone or component, and no chain of parents comes back to itself."""
    parent_of: dict[tuple[str, str], tuple[str, str]] = {}
    path_of: dict[tuple[str, str], str] = {}
    for part, kind, known in (("trustZones", "trustZone", zones), ("components", "component", components)):
        for i, item in enumerate(data.get(part) or []):
            parent = item.get("parent")
            if not parent or known.get(item["id"]) != i:
                continue
            target = ("trustZone", parent["trustZone"]) if "trustZone" in parent else ("component", parent["component"])
            where = f"{part}[{i}].parent.{target[0]}"
            if target[1] not in (zones if target[0] == "trustZone" else components):
                noun = "trust zone" if target[0] == "trustZone" else "component"
                problems.append(Problem(where, f"{item['name']}: no {noun} has id {target[1]!r}"))
                continue
            parent_of[(kind, item["id"])] = target
            path_of[(kind, item["id"])] = where
    reported: set[frozenset[tuple[str, str]]] = set()
    for start in parent_of:
        chain = [start]
        while chain[-1] in parent_of and parent_of[chain[-1]] not in chain:
            chain.append(parent_of[chain[-1]])
        if chain[-1] not in parent_of:
            continue
        cycle = chain[chain.index(parent_of[chain[-1]]) :]
        if frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            shown = " > ".join(f"{k} {i}" for k, i in [*cycle, cycle[0]])
            problems.append(
                Problem(path_of[cycle[0]], f"a cycle of parents ({shown}): an element cannot be inside itself")
            )


def asset_refs(refs: Any, path: str, name: str, inventory: Inventory, problems: list[Problem]) -> None:
    """Each asset id in ``refs`` names an OTM asset (else a problem at ``path``, naming element ``name``)."""
    for ref in refs or ():
        if ref is not None and ref not in inventory.data_assets:
            problems.append(Problem(path, f"{name}: no asset has id {ref!r}"))
