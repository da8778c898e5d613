"""The links of a CycloneDX BOM: its ``dependencies`` and its services' data flows, for ``cyclonedx.py``.

``dependencies`` (ref depends on dependsOn: ref calls it) become links; a service's data flow
(``source``, ``destination``) adds a link only where no route joins its two ends already. What a link
into an element carries (`Facts`) comes from that element. Every reference is resolved: a broken one is
a `Problem` naming the element, a reference outside the BOM is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from tokensim.errors import Problem
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import Authentication, Inventory, Link

if TYPE_CHECKING:
    from cyclonedx.model.component import Component
    from cyclonedx.model.service import Service

#: What the system's own component (metadata.component) lists.
ROOT = "the system's own component (metadata.component) lists its parts: what it is made of, not calls"


@dataclass(frozen=True)
class Facts:
    """What a link into an element carries, from the element's endpoints, ``authenticated`` and properties."""

    protocol: str | None = None
    encrypted: bool | None = None
    authentication: Authentication | None = None
    delegated: bool | None = None
    filtered: bool = False
    readonly: bool | None = None

    def link(self, source: str, target: str, where: str) -> Link:
        """The link from ``source`` into the element (``target``), found at ``where``."""
        facts = (self.protocol, self.encrypted, self.authentication, self.delegated, self.filtered, self.readonly)
        return Link(source, target, where, *facts)


@dataclass
class Entry:
    """One service or component: its place, its validated JSON, the library's object, what links into it carry."""

    kind: str  # "service" or "component"
    ref: str
    where: str
    raw: dict[str, Any]
    obj: Service | Component | None = None  # set once the library has read the BOM
    element: bool = True
    facts: Facts = field(default_factory=Facts)

    @property
    def model(self) -> Service | Component:
        """The library's object of the entry."""
        if self.obj is None:
            raise ValueError(f"{self.where}: read before cyclonedx-python-lib read the BOM")
        return self.obj


def links(
    data: dict[str, Any], bom: Any, entries: dict[str, Entry], root: str, inventory: Inventory, problems: list[Problem]
) -> None:
    """Links from ``dependencies`` (ref calls each dependsOn), then from the services' data flows.

    A data flow names where data comes from and goes to, not the hops between: it adds a link (source to
    the service, the service to destination) only where no route joins the two ends already, either way (a
    response travels back along its request's route; reported as mapped). A link from an element to itself
    is stated as the BOM states it (``build.py`` reports and drops it, as for every format).
    """
    index = {str(d.get("ref")): i for i, d in reversed(list(enumerate(data.get("dependencies") or [])))}
    graph = nx.DiGraph()
    report = inventory.report

    def add(source: str, target: str, where: str, flow: bool = False) -> None:
        if root in (source, target):
            report.add("unmapped", "metadata.component", "data" if flow else "dependencies", ROOT)
        elif not (entries[source].element and entries[target].element):
            return  # code inside an element: reported once per BOM (components.type)
        elif source == target:
            inventory.links.append(entries[target].facts.link(source, target, where))
        elif flow and graph.has_node(source) and graph.has_node(target) and _joined(graph, source, target):
            ends = f"{entries[source].where} and {entries[target].where}"
            why = "a response returns along its request's route"
            report.add("mapped", where, "", f"no link added: a route already joins {ends} ({why})")
        elif not graph.has_edge(source, target):
            graph.add_edge(source, target)
            inventory.links.append(entries[target].facts.link(source, target, where))

    for dependency in bom.dependencies:  # sorted by the library; ``index`` names the entry in the file
        ref = str(dependency.ref.value)
        at = f"dependencies[{index.get(ref, 0)}]"
        if ref not in entries and ref != root:
            problems.append(Problem(f"{at}.ref", f"no component or service has bom-ref {ref!r}"))
            continue
        caller = entries[ref].where if ref in entries else "metadata.component"
        for target in (str(d.ref.value) for d in dependency.dependencies):
            if target not in entries and target != root:
                problems.append(Problem(f"{at}.dependsOn", f"{caller} depends on {target!r}: no such bom-ref"))
            else:
                add(ref, target, f"{caller} dependsOn {entries[target].raw['name'] if target in entries else target}")
    serial = str(data.get("serialNumber") or "")
    for entry in (e for e in entries.values() if e.kind == "service"):
        for i, item in enumerate(entry.raw.get("data") or []):
            for side in ("source", "destination"):
                for j, text in enumerate(item.get(side) or []):
                    where = f"{entry.where}.data[{i}].{side}[{j}]"
                    other = _resolve(str(text), serial, entries, where, report)
                    if other is not None and other not in entries and other != root:
                        problems.append(Problem(where, f"no component or service has bom-ref {other!r}"))
                    elif other is not None:
                        add(*((other, entry.ref) if side == "source" else (entry.ref, other)), where, flow=True)


def _joined(graph: Any, source: str, target: str) -> bool:
    """Whether a route of ``graph`` joins the two ends, either way."""
    return bool(nx.has_path(graph, source, target) or nx.has_path(graph, target, source))


def _resolve(text: str, serial: str, entries: dict[str, Entry], where: str, report: ImportReport) -> str | None:
    """The bom-ref a data flow's source or destination names: a bom-ref, a BOM-Link into this BOM, or a URL
    that a service's endpoint begins, up to a path boundary (`begins`), the longest such endpoint deciding (a
    URL outside the BOM, or a BOM-Link to another BOM, is reported). A name that is none of these is returned
    as it is: the caller reports it as an unknown bom-ref."""
    if text.startswith("urn:cdx:"):
        bom_id, _, ref = text.removeprefix("urn:cdx:").partition("#")
        if bom_id.split("/")[0] == serial.removeprefix("urn:uuid:") and ref:
            return ref
        report.add("unmapped", where, "", f"{text}: a BOM-Link to another BOM: no element of this one")
        return None
    if text not in entries and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
        begun = [
            (len(str(endpoint)), entry.ref)
            for entry in entries.values()
            for endpoint in getattr(entry.obj, "endpoints", ())
            if begins(text, str(endpoint))
        ]
        if begun:
            return max(begun, key=lambda match: match[0])[1]
        report.add("unmapped", where, "", f"{text}: no service of the BOM has this endpoint: outside the description")
        return None
    return text


def begins(url: str, endpoint: str) -> bool:
    """Whether ``url`` is ``endpoint`` or a URL below it, at a path boundary (``/``, ``?``, ``#``).

    >>> begins("https://a.example/v2/x", "https://a.example/v2"), begins("https://a.example/v20", "https://a.example/v2")
    (True, False)
    """
    rest = url.removeprefix(endpoint)
    return url.startswith(endpoint) and (not rest or endpoint.endswith("/") or rest[0] in "/?#")
