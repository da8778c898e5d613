"""Reading a CycloneDX BOM (JSON, specVersion 1.5 to 1.7) with services: a SaaSBOM (docs/import.md).

The BOM is validated against CycloneDX's own JSON schema by cyclonedx-python-lib's `JsonStrictValidator`
(one `Problem` per schema error, named by its JSON path), then read with the library's `Bom.from_json`.
Services and the components that run (applications, containers, platforms, devices, firmware) become
elements; libraries, frameworks and files are code inside them. ``dependencies`` (ref depends on
dependsOn: ref calls it) and the services' data flows (``source``, ``destination``) become links; what a
link into a service carries comes from the service: its endpoint schemes (TLS), ``authenticated`` and
``tokensim:*`` properties. Every bom-ref is resolved (a broken one is an `InputError` naming the element),
and every field present that is not read is reported.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, cast, get_args

import networkx as nx
import yaml

from tokensim.errors import InputError, Problem, format_loc
from tokensim.importers import roles
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import Authentication, DataAsset, Element, Inventory, Link, Role
from tokensim.importers.validation import message

#: specVersions read: services' ``trustZone`` and data flows' ``source``/``destination`` came in 1.5.
VERSIONS = ("1.5", "1.6", "1.7")
#: Endpoint schemes that carry TLS, and plain ones; any other scheme leaves a link's encryption unstated.
ENCRYPTED = frozenset({"https", "wss", "grpcs", "ldaps", "ftps", "sftp", "ssh", "mqtts", "amqps", "rediss", "tls"})
PLAIN = frozenset({"http", "ws", "grpc", "ldap", "ftp", "mqtt", "amqp", "redis", "tcp"})
#: Component types that run and exchange requests; every other type (library, framework, file, ...) is code.
ELEMENT_TYPES = ("application", "container", "platform", "device", "firmware")
#: Classification words per confidentiality level, most severe first (assumption: CycloneDX's classification
#: is free text; these are the words teams use for each level, listed in docs/import.md).
LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("strictly-confidential", ("strictly", "secret", "pci", "phi", "payment")),
    ("confidential", ("confidential", "pii", "personal")),
    ("restricted", ("restricted",)),
    ("internal", ("internal",)),
    ("public", ("public",)),
)
#: ``tokensim:`` properties that state the facts of links into the element (Threagile's link fields' words).
LINK_FACTS = ("authentication", "authorization", "ip_filtered", "vpn", "readonly")
_AUTHORIZATION = {"none": None, "technical-user": False, "enduser-identity-propagation": True}
_FLOW_KEYS = ("name", "description", "source", "destination", "governance")  # 1.5 data fields the library refuses
_READ_TOP = set("$schema bomFormat specVersion serialNumber version metadata components services dependencies".split())
_READ_SERVICE = set("bom-ref name group description endpoints authenticated data properties tags".split())
_READ = {"service": _READ_SERVICE, "component": set("type bom-ref name group description properties tags".split())}
_READ_DATA = {"classification", "name", "source", "destination"}
_ZONES = "tokensim has no network zones: a boundary does not stop a replay from outside; allow-lists come from tokensim:ip_filtered"
REASONS = dict.fromkeys(("x-trust-boundary", "trustZone"), _ZONES) | {
    "flow": "the data counts for the service whichever way it flows; links come from source and destination",
    "governance": "who owns the data does not change a token's fate",
    "vulnerabilities": "the BOM's own risk findings: tokensim computes its own",
    "provides": "what an element implements (a standard, a protocol) is not a call",
    "components": "the system's parts are read from the BOM's components and services",
}
_DOCUMENTATION = """description version provider supplier manufacturer authors author publisher licenses copyright
externalReferences releaseNotes signature purl cpe swid hashes scope pedigree evidence omniborId swhid modelCard
cryptoProperties timestamp tools lifecycles manufacture""".split()


@dataclass
class _Entry:
    """One service or component: its place, its validated JSON, the library's object, what links into it carry."""

    kind: str  # "service" or "component"
    ref: str
    where: str
    raw: dict[str, Any]
    obj: Any = None
    element: bool = True
    facts: dict[str, Any] = field(default_factory=dict)


def read(data: Any, source: str) -> Inventory:
    """The inventory of a parsed CycloneDX BOM, or an `InputError` naming the file and the element."""
    from cyclonedx.model.bom import Bom

    _validate(data, source)
    if not data.get("services"):
        raise InputError.single(source, "services", "the BOM lists no services: tokensim reads a SaaSBOM's services")
    problems: list[Problem] = []
    twin = copy.deepcopy(data)  # what the library reads: every entry with a bom-ref, no 1.5 data fields
    entries = _entries(data, twin, problems)
    if problems:  # a duplicate bom-ref: no reference can be resolved
        raise InputError(source, problems)
    root = (data.get("metadata") or {}).get("component") or {}
    name, report = str(root.get("name") or data["services"][0]["name"]), ImportReport(source, "CycloneDX")
    inventory = Inventory(name, str(root.get("description") or ""), report)
    # cyclonedx-python-lib models a service's ``data`` as CycloneDX 1.4's (flow, classification) pairs, sorted and
    # merged: its DataClassification refuses 1.5's name, source, destination and governance, and its Service has no
    # trustZone (commented out in cyclonedx.model.service). Those are read from the validated dict (``data``).
    try:
        bom = Bom.from_json(twin)  # type: ignore[attr-defined]  # py_serializable adds from_json, untyped
    except (ValueError, TypeError, KeyError) as error:
        raise InputError.single(source, "", f"cyclonedx-python-lib could not read the BOM: {error}") from error
    objects = _objects([*bom.services, *bom.components])
    _unread_top(data, root, inventory.report)
    code = []
    for entry in entries.values():
        entry.obj = objects[entry.ref]
        if entry.kind == "component" and entry.raw["type"] not in ELEMENT_TYPES:
            entry.element = False
            code.append(f"{entry.raw['name']} ({entry.raw['type']})")
        else:
            inventory.elements[entry.ref] = _element(entry, inventory, problems)
    if code:
        inventory.report.add("unmapped", "components", "type", f"{', '.join(code)}: code inside an element, not one")
    _links(data, bom, entries, str(root.get("bom-ref") or ""), inventory, problems)
    if problems:
        raise InputError(source, problems)
    return inventory


def _validate(data: Any, source: str) -> None:
    """CycloneDX's JSON schema of the BOM's specVersion, through cyclonedx-python-lib (which validates text)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    version = data.get("specVersion")
    if version not in VERSIONS:
        why = f"tokensim reads specVersion {', '.join(VERSIONS)} (service trust zones and data flows came in 1.5)"
        raise InputError.single(source, "specVersion", f"CycloneDX {version!r} is not read: {why}")
    validator = JsonStrictValidator(SchemaVersion.from_version(version))
    errors = validator.validate_str(json.dumps(data, default=str), all_errors=True) or ()
    found = sorted((e.data for e in errors), key=lambda e: [str(p) for p in e.absolute_path])
    if found:
        raise InputError(source, [Problem(format_loc(list(e.absolute_path)), message(e)) for e in found])


def _entries(data: dict[str, Any], twin: dict[str, Any], problems: list[Problem]) -> dict[str, _Entry]:
    """Every component and service (nested ones too), by bom-ref; a duplicate bom-ref is a problem.

    ``twin`` (the copy the library reads) gets a bom-ref for each entry without one, from its JSON path
    (nothing refers to such an entry; the ref only keys the library's object), and loses the 1.5 data fields.
    """
    entries: dict[str, _Entry] = {}

    def walk(kind: str, items: list[Any], twins: list[Any], path: list[object], where: str) -> None:
        key = f"{kind}s"
        for i, (raw, other) in enumerate(zip(items, twins)):
            here, loc = f"{where}.{raw['name']}", [*path, i]
            ref = other["bom-ref"] = str(raw.get("bom-ref") or f"tokensim-import:{format_loc(loc)}")
            if ref in entries:
                why = f"{here}: bom-ref {ref!r} is also {entries[ref].where}'s"
                problems.append(Problem(format_loc([*loc, "bom-ref"]), why))
            entries.setdefault(ref, _Entry(kind, ref, here, raw))
            for item in other.get("data") or [] if kind == "service" else []:
                for flow_key in _FLOW_KEYS:
                    item.pop(flow_key, None)
            walk(kind, raw.get(key) or [], other.get(key) or [], [*loc, key], f"{here}.{key}")

    walk("component", data.get("components") or [], twin.get("components") or [], ["components"], "components")
    walk("service", data["services"], twin["services"], ["services"], "services")
    root = (data.get("metadata") or {}).get("component") or {}
    if root.get("bom-ref") in entries:
        where = entries[root["bom-ref"]].where
        problems.append(Problem("metadata.component.bom-ref", f"bom-ref {root['bom-ref']!r} is also {where}'s"))
    return entries


def _objects(items: list[Any]) -> dict[str, Any]:
    """The library's services and components, nested ones too, by bom-ref."""
    out: dict[str, Any] = {}
    for obj in items:
        out[str(obj.bom_ref.value)] = obj
        out |= _objects([*getattr(obj, "services", ()), *getattr(obj, "components", ())])
    return out


def _element(entry: _Entry, inventory: Inventory, problems: list[Problem]) -> Element:
    """A service or running component: its role, the facts of links into it, its data and its stated fields."""
    obj, raw, where, report = entry.obj, entry.raw, entry.where, inventory.report
    props = {str(p.name): str(p.value or "") for p in obj.properties}
    tags = raw.get("tags") or []  # read from the dict: the library models no service tags
    role, role_from = _role(entry, props, tags)
    if role not in roles.ROLES:
        problems.append(Problem(f"{where}.properties", f"unknown role {role!r}; roles: {', '.join(roles.ROLES)}"))
    explicit = roles.stated_fields(tags)
    for key, value in props.items():
        name = key.removeprefix(f"{roles.STATED}:")
        if name != key and name not in LINK_FACTS:
            explicit[name] = yaml.safe_load(value) if value.strip() else ""
        elif name == key and key != roles.OVERRIDE:
            report.add("unmapped", where, f"properties.{key}", "no tokensim field (a tokensim:FIELD property sets one)")
    if any(not roles.is_tokensim_tag(tag) for tag in tags):
        report.add("unmapped", where, "tags", "labels only: no tokensim field (tokensim-role:ROLE names the role)")
    entry.facts = _facts(entry, props, report, problems)
    data = []
    for i, item in enumerate(raw.get("data") or [] if entry.kind == "service" else []):
        asset_id, level, here = f"{entry.ref}#data[{i}]", _level(str(item["classification"])), f"{where}.data[{i}]"
        if level is None:
            report.add("unmapped", here, "classification", f"{item['classification']!r} names no confidentiality level")
        name = str(item.get("name") or f"{raw['name']} data {i + 1}")
        inventory.data_assets[asset_id] = DataAsset(asset_id, name, level)
        data.append(asset_id)
        for key in item:
            if key not in _READ_DATA:
                _unread(report, here, key)
    for key in raw:
        if key not in _READ[entry.kind] and key != f"{entry.kind}s":
            _unread(report, where, key)
    description = str(obj.description or "")
    return Element(
        entry.ref, str(obj.name), where, cast(Role, role), role_from, description, tuple(data), explicit=explicit
    )


def _role(entry: _Entry, props: dict[str, str], tags: list[str]) -> tuple[str, str]:
    """The role a ``tokensim-role`` property or tag names, else the words of the name, group and description."""
    if roles.OVERRIDE in props:
        return props[roles.OVERRIDE].strip(), f"property {roles.OVERRIDE}: {props[roles.OVERRIDE].strip()}"
    named = roles.override(tags)
    if named is not None:
        return named, f"tag {roles.OVERRIDE}:{named}"
    found = roles.by_keyword(entry.obj.name, entry.obj.group, entry.obj.description)
    if found is not None:
        return found[0], f"{found[1]!r} in its name, group or description"
    if entry.kind == "service":  # assumption: a service of a SaaSBOM that names no role serves requests
        return "api", "a service (assumed: it serves requests)"
    kind = str(entry.raw["type"])
    if kind in ("device", "firmware"):  # assumption: an IoT device, as Threagile's iot-device (it binds nothing)
        return "legacy", f"type: {kind} (assumed: an IoT device)"
    return "unknown", f"type: {kind}"


def _facts(entry: _Entry, props: dict[str, str], report: ImportReport, problems: list[Problem]) -> dict[str, Any]:
    """What a link into the element carries: protocol and TLS from endpoint schemes, authentication, tokensim:*."""
    obj, where = entry.obj, entry.where
    schemes = sorted({str(e).split(":", 1)[0].lower() for e in getattr(obj, "endpoints", ()) if ":" in str(e)})
    encrypted = {s in ENCRYPTED for s in schemes if s in ENCRYPTED | PLAIN}
    facts: dict[str, Any] = {"protocol": "/".join(schemes) or None, "encrypted": max(encrypted, default=None)}
    if len(encrypted) > 1:  # assumption: TLS wins (a plain endpoint beside an https one usually redirects)
        report.add("ambiguity", where, "endpoints", f"TLS and plain endpoints ({facts['protocol']}): taken as TLS")
    authenticated = getattr(obj, "authenticated", None)
    facts["authentication"] = None if authenticated is None else ("token" if authenticated else "none")
    for fact in (f for f in LINK_FACTS if f"{roles.STATED}:{f}" in props):
        path, text = f"{where}.properties.{roles.STATED}:{fact}", props[f"{roles.STATED}:{fact}"].strip()
        value = text if fact in ("authentication", "authorization") else yaml.safe_load(text)
        allowed = {"authentication": get_args(Authentication), "authorization": tuple(_AUTHORIZATION)}.get(fact)
        if (allowed is not None and value not in allowed) or (allowed is None and not isinstance(value, bool)):
            problems.append(Problem(path, f"{text!r} is not one of {', '.join(allowed or ('true', 'false'))}"))
        elif fact == "authentication" and authenticated is not None and (value == "none") == authenticated:
            says = f"authenticated: {str(authenticated).lower()}, but {roles.STATED}:authentication: {value}"
            report.add("ambiguity", where, "authenticated", f"{says}: the property decides")
        facts[fact] = value
    facts["delegated"] = _AUTHORIZATION.get(str(facts.pop("authorization", "none")))
    facts["filtered"] = bool(facts.pop("ip_filtered", False)) | bool(facts.pop("vpn", False))
    return facts


def _level(classification: str) -> str | None:
    """The confidentiality level a classification's words name (`LEVELS`), or None."""
    words = classification.lower().replace("_", " ")
    return next(
        (level for level, keys in LEVELS if re.search(rf"(?<![a-z0-9])({'|'.join(keys)})(?![a-z0-9])", words)), None
    )


def _links(
    data: dict[str, Any], bom: Any, entries: dict[str, _Entry], root: str, inventory: Inventory, problems: list[Problem]
) -> None:
    """Links from ``dependencies`` (ref calls each dependsOn), then from the services' data flows.

    A data flow names where data comes from and goes to, not the hops between: it adds a link (source to
    the service, the service to destination) only where no dependency joins the two ends already, either
    way (a response travels back along its request's route).
    """
    index = {str(d.get("ref")): i for i, d in reversed(list(enumerate(data.get("dependencies") or [])))}
    graph = nx.DiGraph()

    def add(source: str, target: str, where: str, flow: bool = False) -> None:
        if root in (source, target):
            what = "the system's own component (metadata.component) lists its parts: what it is made of, not calls"
            inventory.report.add("unmapped", "metadata.component", "dependencies" if not flow else "data", what)
        elif entries[source].element and entries[target].element and source != target:
            joined = flow and graph.has_node(source) and graph.has_node(target)
            joined = joined and (nx.has_path(graph, source, target) or nx.has_path(graph, target, source))
            if not (joined or graph.has_edge(source, target)):
                graph.add_edge(source, target)
                inventory.links.append(Link(source, target, where, **entries[target].facts))

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
    for entry in (e for e in entries.values() if e.kind == "service"):
        for i, item in enumerate(entry.raw.get("data") or []):
            for side in ("source", "destination"):
                for j, text in enumerate(item.get(side) or []):
                    where = f"{entry.where}.data[{i}].{side}[{j}]"
                    other = _resolve(str(text), str(data.get("serialNumber") or ""), entries, where, inventory.report)
                    if other is not None and other not in entries and other != root:
                        problems.append(Problem(where, f"no component or service has bom-ref {other!r}"))
                    elif other is not None:
                        add(*((other, entry.ref) if side == "source" else (entry.ref, other)), where, flow=True)
    for i, dependency in enumerate(data.get("dependencies") or []):
        for key in (k for k in dependency if k not in ("ref", "dependsOn")):
            _unread(inventory.report, f"dependencies[{i}]", key)


def _resolve(text: str, serial: str, entries: dict[str, _Entry], where: str, report: ImportReport) -> str | None:
    """The bom-ref a data flow's source or destination names: a bom-ref, a BOM-Link into this BOM, or a URL
    that a service's endpoint begins (a URL outside the BOM, or a BOM-Link to another BOM, is reported).
    A name that is none of these is returned as it is: the caller reports it as an unknown bom-ref."""
    if text.startswith("urn:cdx:"):
        bom_id, _, ref = text.removeprefix("urn:cdx:").partition("#")
        if bom_id.split("/")[0] == serial.removeprefix("urn:uuid:") and ref:
            return ref
        report.add("unmapped", where, "", f"{text}: a BOM-Link to another BOM: no element of this one")
        return None
    if text not in entries and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
        for entry in entries.values():
            if any(text.startswith(str(e)) for e in getattr(entry.obj, "endpoints", ())):
                return entry.ref
        report.add("unmapped", where, "", f"{text}: no service of the BOM has this endpoint: outside the description")
        return None
    return text


def _unread_top(data: dict[str, Any], root: dict[str, Any], report: ImportReport) -> None:
    """Report the BOM's top-level fields, its metadata and its own component's fields that are not read."""
    parts = (("bom", data, _READ_TOP), ("metadata", data.get("metadata") or {}, {"component"}))
    for where, fields, read_ in (*parts, ("metadata.component", root, {"type", "bom-ref", "name", "description"})):
        for key in (k for k in fields if k not in read_):
            _unread(report, where, key)


def _unread(report: ImportReport, where: str, key: str) -> None:
    """Report a field tokensim does not read (documentation and provenance fields as one kind)."""
    if key in _DOCUMENTATION:
        report.add("unmapped", where, key, "documentation or provenance: not part of a simulation")
    else:
        report.add("unmapped", where, key, REASONS.get(key, "no tokensim field for it"))
