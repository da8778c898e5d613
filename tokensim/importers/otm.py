"""Reading an Open Threat Model (OTM 0.1 and 0.2, JSON or YAML): components, dataflows, assets (docs/import.md).

OTM lists its elements with ids: components name a parent (a trust zone or another component), dataflows
their ``source`` and ``destination`` components, both the ids of the assets they hold or carry. The file is
checked against tokensim's OTM schema first, then every reference is resolved and the component parents
are checked for a cycle (a broken reference or a cycle is an `InputError` naming the element). OTM has
no protocol or authentication fields: by convention tokensim reads dataflow ``attributes`` named like
Threagile's link fields (``protocol``, ``authentication``, ``authorization``, ``ip_filtered``, ``vpn``,
``readonly``), or dataflow tags equal to one of their words. Fields tokensim does not read are reported,
one finding per field. A name or id YAML reads as a number or a boolean (``name: 2024``) is read as text.
"""

from __future__ import annotations

from typing import Any

from tokensim.errors import InputError, Problem
from tokensim.importers import otm_refs, roles, threagile, unmapped
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import CONFIDENTIALITY, DataAsset, Element, Inventory
from tokensim.importers.validation import schema, validate

#: Fields read, per part of the file; any other field present (and not null) is reported as not mapped.
_READ_TOP = {"otmVersion", "project", "components", "dataflows", "assets"}
_READ_PROJECT = {"name", "description"}
_READ_COMPONENT = {"id", "name", "type", "description", "parent", "assets", "tags", "attributes"}
_READ_FLOW = {"id", "name", "source", "destination", "bidirectional", "assets", "tags", "attributes"}
_READ_ASSET = {"id", "name", "risk", "attributes"}
#: The dataflow attributes tokensim reads by convention (Threagile's link fields, with Threagile's values).
LINK_FIELDS = ("protocol", "authentication", "authorization", "ip_filtered", "vpn", "readonly")
#: Dataflow tags that state a flag when the attribute is absent.
_FLAG_TAGS = {"ip-filtered": "ip_filtered", "ip_filtered": "ip_filtered", "vpn": "vpn"}
_FLAG_TAGS |= {"readonly": "readonly", "read-only": "readonly"}
#: OTM versions the schema is written from; another is read as these are, with an ambiguity finding.
VERSIONS = ("0.1.", "0.2.")
#: Why a field is not mapped, beside the reasons every format shares (``unmapped.SHARED``: threats, mitigations).
REASONS = {
    "trustZones": unmapped.ZONES,
    "risk.integrity": unmapped.INTEGRITY,
    "risk.availability": unmapped.AVAILABILITY,
}
#: The model sections ``project.attributes.tokensim`` may state (``tokensim export`` writes them there).
SECTIONS = frozenset({"attacker", "defender", "loss"})
_DOCUMENTATION = frozenset({"description", "owner", "ownerContact", "tags", "id", "comment", "risk.comment"})
_DOCUMENTATION |= {"representations"}


def read(data: Any, source: str) -> Inventory:
    """The inventory of a parsed OTM document, or an `InputError` naming the file and the element."""
    data = otm_refs.texts(data)
    validate(data, "otm", source)
    report = ImportReport(source, "OTM")
    project = data["project"]
    inventory = Inventory(str(project["name"]), str(project.get("description") or ""), report)
    version = str(data["otmVersion"])
    if not version.startswith(VERSIONS):
        report.add(
            "ambiguity", "model", "otmVersion", f"OTM {version}: read as 0.2.0, the version of tokensim's schema"
        )
    _unread_keys(report, "model", data, _READ_TOP)
    _unread_keys(report, "project", project, _READ_PROJECT | {"attributes"})
    stated = _attributes(report, "project", project, ("tokensim",)).get("tokensim") or {}
    inventory.sections = {key: value for key, value in stated.items() if key in SECTIONS}
    for key in sorted(stated.keys() - SECTIONS):
        report.add("unmapped", "project", f"attributes.tokensim.{key}", "not a model section: attacker, defender, loss")
    problems: list[Problem] = []
    zones = otm_refs.ids(data.get("trustZones") or [], "trustZones", problems)
    components = otm_refs.ids(data.get("components") or [], "components", problems)
    for i, asset in enumerate(data.get("assets") or []):
        if otm_refs.first(asset, i, data["assets"]):
            inventory.data_assets[asset["id"]] = _data_asset(asset, report)
    otm_refs.ids(data.get("assets") or [], "assets", problems)
    otm_refs.ids(data.get("dataflows") or [], "dataflows", problems)
    otm_refs.parents(data, zones, components, problems)
    for i, component in enumerate(data.get("components") or []):
        if otm_refs.first(component, i, data["components"]):
            inventory.elements[component["id"]] = _element(i, component, inventory, problems)
    words = _words()
    for i, flow in enumerate(data.get("dataflows") or []):
        _dataflow(i, flow, inventory, zones, words, problems)
    if problems:
        raise InputError(source, problems)
    return inventory


def _element(index: int, component: dict[str, Any], inventory: Inventory, problems: list[Problem]) -> Element:
    """An OTM component: its role from a tokensim-role tag, else from the words of its type, else of its name; the
    tokensim fields it states (``tokensim:FIELD=VALUE`` tags, the mapping ``attributes.tokensim``) as `Element.explicit`."""
    name, kind = str(component["name"]), str(component["type"])
    where, path = f"components.{name}", f"components[{index}]"
    tags = [str(t) for t in component.get("tags") or () if t is not None]
    named = roles.override(tags)
    contradiction = roles.conflict(tags)
    if contradiction is not None:
        problems.append(Problem(f"{path}.tags", f"{name}: {contradiction}"))
    if named is not None:
        if named not in roles.ROLES:
            problems.append(
                Problem(f"{path}.tags", f"{name}: unknown tokensim role {named!r}; roles: {', '.join(roles.ROLES)}")
            )
        role, role_from = named, f"tag {roles.OVERRIDE}:{named}"
    else:
        role, role_from = _role(kind, name, where, inventory.report)
    assets = component.get("assets") or {}
    for key in ("processed", "stored"):
        otm_refs.asset_refs(assets.get(key), f"{path}.assets.{key}", name, inventory, problems)
    if not all(roles.is_tokensim_tag(t) for t in tags):
        inventory.report.add("unmapped", where, "tags", unmapped.LABELS)
    if "component" in (component.get("parent") or {}):
        inventory.report.add(
            "unmapped", where, "parent", "nested in another component: tokensim has no nesting, each is its own element"
        )
    _unread_keys(inventory.report, where, component, _READ_COMPONENT)
    _unread_keys(inventory.report, where, assets, {"processed", "stored"}, prefix="assets.")
    explicit = roles.stated_fields(tags)
    for key, value in (_attributes(inventory.report, where, component, ("tokensim",)).get("tokensim") or {}).items():
        if key in explicit and explicit[key] != value:
            inventory.report.add(
                "ambiguity",
                where,
                f"attributes.tokensim.{key}",
                f"also a tag {roles.STATED}:{key}: the attribute decides",
            )
        explicit[key] = value
    return Element(
        id=component["id"],
        name=name,
        where=where,
        role=role,  # type: ignore[arg-type]
        role_from=role_from,
        description=str(component.get("description") or ""),
        data=tuple(a for key in ("processed", "stored") for a in assets.get(key) or () if a is not None),
        explicit=explicit,
    )


def _role(kind: str, name: str, where: str, report: ImportReport) -> tuple[str, str]:
    """The role the words of a component's type name, else those of its name (an ambiguity: a name is prose)."""
    by_type = roles.by_keyword(kind)
    if by_type is not None:
        return by_type[0], f"type: {kind}"
    by_name = roles.by_keyword(name)
    if by_name is None:
        return "unknown", f"type: {kind} (no keyword of docs/import.md, Roles)"
    report.add(
        "ambiguity",
        where,
        "name",
        f"role from its name: {by_name[1]!r} ({by_name[0]}; its type {kind} names none); "
        f"a {roles.OVERRIDE} tag settles it",
    )
    return by_name[0], f"name: {name}"


def _dataflow(
    index: int,
    flow: dict[str, Any],
    inventory: Inventory,
    zones: dict[str, int],
    words: dict[str, frozenset[str]],
    problems: list[Problem],
) -> None:
    """A dataflow: a link from its source to its destination component, with the attributes tokensim reads."""
    name, path = str(flow["name"]), f"dataflows[{index}]"
    where = f"dataflows.{name}"
    broken = False
    for end in ("source", "destination"):
        ref = flow[end]
        if ref not in inventory.elements:
            zone = " (a trust zone: a dataflow runs between components)" if ref in zones else ""
            problems.append(Problem(f"{path}.{end}", f"{name}: no component has id {ref!r}{zone}"))
            broken = True
    otm_refs.asset_refs(flow.get("assets"), f"{path}.assets", name, inventory, problems)
    report = inventory.report
    if broken:
        return
    fields = _link_fields(flow, where, words, report)
    inventory.links.append(threagile.link_of(flow["source"], {"target": flow["destination"], **fields}, where))
    _not_a_route(flow, fields, where, inventory)
    if flow.get("bidirectional"):
        report.add(
            "ambiguity",
            where,
            "bidirectional",
            "both ways: one link from source to destination (requests go "
            "from the caller to the API; the reply travels the same link)",
        )
    target = inventory.elements[flow["destination"]]
    carried = tuple(a for a in flow.get("assets") or () if a is not None)
    target.data = tuple(dict.fromkeys(target.data + carried))
    _unread_keys(report, where, flow, _READ_FLOW)
    _attributes(report, where, flow, LINK_FIELDS)


def _not_a_route(flow: dict[str, Any], fields: dict[str, Any], where: str, inventory: Inventory) -> None:
    """Report the link fields of a token request (into an issuer) or a data store query: no route carries them.

    As ``build.py`` reads such a link, only the authentication of a token request counts (for its caller)."""
    ends = [inventory.elements[flow[end]] for end in ("source", "destination")]
    if not any(end.role in ("issuer", "datastore") for end in ends):
        return
    request = ends[1].role == "issuer"
    dropped = [key for key in fields if not (request and key == "authentication")]
    if dropped:
        what = "a token request" if request else "a data store query"
        read = "; its authentication is read for the caller" if request else ""
        stated = "attributes" if any(key in (flow.get("attributes") or {}) for key in dropped) else "tags"
        detail = f"{what}, not a route: its link fields are not mapped ({', '.join(dropped)}){read}"
        inventory.report.add("unmapped", where, stated, detail)


def _link_fields(
    flow: dict[str, Any], where: str, words: dict[str, frozenset[str]], report: ImportReport
) -> dict[str, Any]:
    """Threagile's link fields from the dataflow's attributes, else from tags equal to one of their words."""
    attributes = flow.get("attributes") or {}
    fields: dict[str, Any] = {k: attributes[k] for k in LINK_FIELDS if attributes.get(k) is not None}
    for flag in ("ip_filtered", "vpn", "readonly"):
        if isinstance(fields.get(flag), str):
            fields[flag] = fields[flag] == "true"
    if "protocol" in fields:
        fields["protocol"] = str(fields["protocol"]).lower()
    tags = [str(t) for t in flow.get("tags") or () if t is not None]
    unread = []
    for tag in tags:
        key: str | None = _FLAG_TAGS.get(tag.lower()) or next((k for k, w in words.items() if tag.lower() in w), None)
        if key is None:
            unread.append(tag)
        elif key in attributes:
            report.add("ambiguity", where, "tags", f"tag {tag} beside attributes.{key}: the attribute decides")
        elif key in fields:
            report.add("ambiguity", where, "tags", f"tags name several {key} values: the first, {fields[key]}")
        else:
            fields[key] = True if key in _FLAG_TAGS.values() else tag.lower()
    if unread:
        report.add(
            "unmapped",
            where,
            "tags",
            "labels only: no tokensim field (a tag such as https, token or ip-filtered states a link field)",
        )
    protocol = fields.get("protocol")
    if protocol is not None and protocol not in words["protocol"]:
        report.add(
            "unmapped",
            where,
            "attributes.protocol",
            f"{protocol} is none of Threagile's protocols (docs/import.md): whether it is encrypted is unknown",
        )
        del fields["protocol"]
    return fields


def _words() -> dict[str, frozenset[str]]:
    """The values of each link field, from tokensim's Threagile schema (one vocabulary for both formats)."""
    links = schema("threagile")["properties"]["technical_assets"]["additionalProperties"]["properties"]
    link = links["communication_links"]["additionalProperties"]["properties"]
    return {key: frozenset(link[key]["enum"]) - {"none"} for key in ("protocol", "authentication", "authorization")}


def _data_asset(asset: dict[str, Any], report: ImportReport) -> DataAsset:
    """An OTM asset: its confidentiality level from the 0-100 rating, its quantity from attributes.quantity."""
    where = f"assets.{asset['name']}"
    risk = asset["risk"]
    for key in risk:
        if key != "confidentiality":
            _unread(report, where, f"risk.{key}")
    _unread_keys(report, where, asset, _READ_ASSET)
    attributes = _attributes(report, where, asset, ("quantity",))
    return DataAsset(
        asset["id"], str(asset["name"]), confidentiality_level(risk["confidentiality"]), attributes.get("quantity")
    )


def confidentiality_level(rating: float) -> str:
    """Threagile's confidentiality level of an OTM rating from 0 to 100, by fifths.

    Assumption (documented in docs/import.md): OTM rates confidentiality from 0 to 100 (IriusRisk's scale)
    without naming levels; each fifth is one level, below 20 public, below 40 internal, below 60
    restricted, below 80 confidential, else strictly-confidential.
    """
    return CONFIDENTIALITY[min(int(rating // 20), len(CONFIDENTIALITY) - 1)]


def _attributes(report: ImportReport, where: str, holder: dict[str, Any], read: tuple[str, ...]) -> dict[str, Any]:
    """The element's attributes; each key not in ``read`` is reported as not mapped (one finding per key)."""
    attributes: dict[str, Any] = holder.get("attributes") or {}
    for key, value in attributes.items():
        if key not in read and value is not None:
            _unread(report, where, f"attributes.{key}")
    return attributes


def _unread_keys(report: ImportReport, where: str, holder: dict[str, Any], read: set[str], prefix: str = "") -> None:
    """Report each field of ``holder`` tokensim does not read (a null field states nothing, as OTM's own example)."""
    for key, value in holder.items():
        if key not in read and value is not None:
            _unread(report, where, f"{prefix}{key}")


def _unread(report: ImportReport, where: str, key: str) -> None:
    """Report a field tokensim does not read (documentation and layout fields as one kind)."""
    unmapped.unread(report, where, key, reasons=REASONS, documentation=_DOCUMENTATION)
