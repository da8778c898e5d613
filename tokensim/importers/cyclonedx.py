"""Reading a CycloneDX BOM (JSON, specVersion 1.5 to 1.7) with services: a SaaSBOM (docs/import.md).

The BOM is validated against CycloneDX's own JSON schema by cyclonedx-python-lib's `JsonStrictValidator`
(one `Problem` per schema error, named by its JSON path), then read with the library's `Bom.from_json`.
Services and the components that run (applications, containers, platforms, devices, firmware) become
elements; libraries, frameworks and files are code inside them. ``dependencies`` (ref depends on
dependsOn: ref calls it) and the services' data flows (``source``, ``destination``) become links
(``cyclonedx_links.py``); what a link into a service carries comes from the service: its endpoint schemes
(TLS), ``authenticated`` and ``tokensim:*`` properties. The role comes from a ``tokensim-role`` property or
tag, else the words of the name, else of the group, never the description. Every bom-ref is resolved (a
broken one is an `InputError` naming the element), and every field present that is not read is reported.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any, cast, get_args

import yaml

from tokensim.errors import InputError, Problem, format_loc
from tokensim.importers import roles, unmapped
from tokensim.importers.cyclonedx_links import Entry, Facts, links
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import HOP_ROLES, Authentication, DataAsset, Element, Inventory, Role
from tokensim.importers.validation import message

if TYPE_CHECKING:
    from cyclonedx.model.component import Component
    from cyclonedx.model.service import Service

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
#: Words that negate the level word after them ("non-public" names no level: it is not public).
_NEGATIONS = frozenset({"non", "not", "no"})
#: Roles a service's name or group may give it: a service is called, so a client's keyword leaves it an API.
SERVICE_ROLES = HOP_ROLES | {"issuer", "broker", "datastore", "api"}
#: ``tokensim:`` properties that state the facts of links into the element (Threagile's link fields' words).
LINK_FACTS = ("authentication", "authorization", "ip_filtered", "vpn", "readonly")
_AUTHORIZATION = {"none": None, "technical-user": False, "enduser-identity-propagation": True}
_FLOW_KEYS = ("name", "description", "source", "destination", "governance")  # 1.5 data fields the library refuses
_READ_TOP = set("$schema bomFormat specVersion serialNumber version metadata components services dependencies".split())
_READ_SERVICE = set("bom-ref name group description endpoints authenticated data properties tags".split())
_READ = {"service": _READ_SERVICE, "component": set("type bom-ref name group description properties tags".split())}
_READ_DATA = {"classification", "name", "source", "destination"}
#: Why a field is not mapped, beside the reasons every format shares (``unmapped.SHARED``: vulnerabilities).
REASONS = dict.fromkeys(("x-trust-boundary", "trustZone"), unmapped.ZONES) | {
    "flow": "the data counts for the service whichever way it flows; links come from source and destination",
    "governance": "who owns the data does not change a token's fate",
    "provides": "what an element implements (a standard, a protocol) is not a call",
    "components": "the system's parts are read from the BOM's components and services",
}
_DOCUMENTATION = """description version provider supplier manufacturer authors author publisher licenses copyright
externalReferences releaseNotes signature purl cpe swid hashes scope pedigree evidence omniborId swhid modelCard
cryptoProperties timestamp tools lifecycles manufacture""".split()


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
    links(data, bom, entries, str(root.get("bom-ref") or ""), inventory, problems)
    for i, dependency in enumerate(data.get("dependencies") or []):
        for key in (k for k in dependency if k not in ("ref", "dependsOn")):
            _unread(inventory.report, f"dependencies[{i}]", key)
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


def _entries(data: dict[str, Any], twin: dict[str, Any], problems: list[Problem]) -> dict[str, Entry]:
    """Every component and service (nested ones too), by bom-ref; a duplicate bom-ref is a problem.

    ``twin`` (the copy the library reads) gets a bom-ref for each entry without one, from its JSON path
    (nothing refers to such an entry; the ref only keys the library's object), and loses the 1.5 data fields.
    """
    entries: dict[str, Entry] = {}

    def walk(kind: str, items: list[Any], twins: list[Any], path: list[object], where: str) -> None:
        key = f"{kind}s"
        for i, (raw, other) in enumerate(zip(items, twins)):
            here, loc = f"{where}.{raw['name']}", [*path, i]
            ref = other["bom-ref"] = str(raw.get("bom-ref") or f"tokensim-import:{format_loc(loc)}")
            if ref in entries:
                why = f"{here}: bom-ref {ref!r} is also {entries[ref].where}'s"
                problems.append(Problem(format_loc([*loc, "bom-ref"]), why))
            entries.setdefault(ref, Entry(kind, ref, here, raw))
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


def _objects(items: list[Any]) -> dict[str, Service | Component]:
    """The library's services and components, nested ones too, by bom-ref."""
    out: dict[str, Service | Component] = {}
    for obj in items:
        out[str(obj.bom_ref.value)] = obj
        out |= _objects([*getattr(obj, "services", ()), *getattr(obj, "components", ())])
    return out


def _element(entry: Entry, inventory: Inventory, problems: list[Problem]) -> Element:
    """A service or running component: its role, the facts of links into it, its data and its stated fields."""
    obj, raw, where, report = entry.model, entry.raw, entry.where, inventory.report
    props = {str(p.name): str(p.value or "") for p in obj.properties}
    tags = [str(tag) for tag in raw.get("tags") or []]  # read from the dict: the library models no service tags
    role, role_from = _role(entry, props, tags, report)
    contradiction = roles.conflict(tags)
    if contradiction is not None:
        problems.append(Problem(f"{where}.tags", contradiction))
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
        report.add("unmapped", where, "tags", unmapped.LABELS)
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


def _role(entry: Entry, props: dict[str, str], tags: list[str], report: ImportReport) -> tuple[str, str]:
    """The role a ``tokensim-role`` property or tag names, else the words of the name, else of the group (never
    the description: prose names what an element talks to as often as what it is)."""
    if roles.OVERRIDE in props:
        return props[roles.OVERRIDE].strip(), f"property {roles.OVERRIDE}: {props[roles.OVERRIDE].strip()}"
    named = roles.override(tags)
    if named is not None:
        return named, f"tag {roles.OVERRIDE}:{named}"
    for part, text in (("name", entry.model.name), ("group", entry.model.group)):
        found = roles.by_keyword(None if text is None else str(text))
        if found is None:
            continue
        if entry.kind == "service" and found[0] not in SERVICE_ROLES:  # a service is called: not a client
            says = f"{found[1]!r} in its {part} names a client ({found[0]}), but a service is called"
            report.add(
                "ambiguity", entry.where, part, f"{says}: taken as an API; a {roles.OVERRIDE} property settles it"
            )
            return "api", f"a service ({says})"
        return found[0], f"{found[1]!r} in its {part}"
    if entry.kind == "service":  # assumption: a service of a SaaSBOM that names no role serves requests
        return "api", "a service (assumed: it serves requests)"
    kind = str(entry.raw["type"])
    if kind in ("device", "firmware"):  # assumption: an IoT device, as Threagile's iot-device (it binds nothing)
        return "legacy", f"type: {kind} (assumed: an IoT device)"
    return "unknown", f"type: {kind}"


def _facts(entry: Entry, props: dict[str, str], report: ImportReport, problems: list[Problem]) -> Facts:
    """What a link into the element carries: protocol and TLS from endpoint schemes, authentication, tokensim:*."""
    obj, where = entry.model, entry.where
    schemes = sorted({str(e).split(":", 1)[0].lower() for e in getattr(obj, "endpoints", ()) if ":" in str(e)})
    encrypted = {s in ENCRYPTED for s in schemes if s in ENCRYPTED | PLAIN}
    protocol = "/".join(schemes) or None
    if len(encrypted) > 1:  # assumption: TLS wins (a plain endpoint beside an https one usually redirects)
        report.add("ambiguity", where, "endpoints", f"TLS and plain endpoints ({protocol}): taken as TLS")
    unknown = [s for s in schemes if s not in ENCRYPTED | PLAIN]
    if unknown:
        what = f"{', '.join(unknown)}: a scheme tokensim knows as neither TLS nor plain (docs/import.md, CycloneDX)"
        report.add("unmapped", where, "endpoints", f"{what}: it states no encryption")
    authenticated = getattr(obj, "authenticated", None)
    stated: dict[str, Any] = {"authentication": None if authenticated is None else "token" if authenticated else "none"}
    for fact in (f for f in LINK_FACTS if f"{roles.STATED}:{f}" in props):
        path, text = f"{where}.properties.{roles.STATED}:{fact}", props[f"{roles.STATED}:{fact}"].strip()
        value = text if fact in ("authentication", "authorization") else yaml.safe_load(text)
        allowed = {"authentication": get_args(Authentication), "authorization": tuple(_AUTHORIZATION)}.get(fact)
        if (allowed is not None and value not in allowed) or (allowed is None and not isinstance(value, bool)):
            problems.append(Problem(path, f"{text!r} is not one of {', '.join(allowed or ('true', 'false'))}"))
        elif fact == "authentication" and authenticated is not None and (value == "none") == authenticated:
            says = f"authenticated: {str(authenticated).lower()}, but {roles.STATED}:authentication: {value}"
            report.add("ambiguity", where, "authenticated", f"{says}: the property decides")
        stated[fact] = value
    return Facts(
        protocol=protocol,
        encrypted=max(encrypted, default=None),
        authentication=stated["authentication"],
        delegated=_AUTHORIZATION.get(str(stated.get("authorization", "none"))),
        filtered=stated.get("ip_filtered") is True or stated.get("vpn") is True,
        readonly=stated.get("readonly"),
    )


def _level(classification: str) -> str | None:
    """The confidentiality level a classification's words name (`LEVELS`), or None; a word after "non",
    "not" or "no" is negated ("non-public" names no level)."""
    words = re.findall(r"[a-z0-9]+", classification.lower())
    said = {word for i, word in enumerate(words) if i == 0 or words[i - 1] not in _NEGATIONS}
    return next((level for level, keys in LEVELS if said & set(keys)), None)


def _unread_top(data: dict[str, Any], root: dict[str, Any], report: ImportReport) -> None:
    """Report the BOM's top-level fields, its metadata and its own component's fields that are not read."""
    parts = (("bom", data, _READ_TOP), ("metadata", data.get("metadata") or {}, {"component"}))
    for where, fields, read_ in (*parts, ("metadata.component", root, {"type", "bom-ref", "name", "description"})):
        for key in (k for k in fields if k not in read_):
            _unread(report, where, key)


def _unread(report: ImportReport, where: str, key: str) -> None:
    """Report a field tokensim does not read (documentation and provenance fields as one kind)."""
    unmapped.unread(report, where, key, reasons=REASONS, documentation=_DOCUMENTATION)
