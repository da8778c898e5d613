"""Reading a Threagile model (YAML): technical assets, communication links, data assets (docs/import.md).

Threagile keys technical assets and data assets by name, each with an ``id``; communication links name
their ``target`` by id, and data assets are referenced by id. The file is checked against tokensim's
Threagile schema first, then every reference is resolved (a broken one is an `InputError` naming the
element). Fields tokensim does not read are reported, one finding per field.
"""

from __future__ import annotations

from typing import Any

from tokensim.errors import InputError, Problem
from tokensim.importers import roles, unmapped
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import DataAsset, Element, Inventory, Link
from tokensim.importers.validation import boolean_keys, string_keys, validate

#: Threagile protocols that carry TLS (or SSH); the rest are plain, except these of unknown transport.
_ENCRYPTED_WORDS = ("https", "wss", "encrypted", "ftps", "sftp", "scp", "ldaps", "ssh")
_UNKNOWN = ("unknown-protocol", "in-process-library-call", "local-file-access", "container-spawning")

#: Fields read, per part of the file; any other field present is reported as not mapped.
_READ_TOP = {"threagile_version", "title", "data_assets", "technical_assets"}
_READ_ASSET = {
    "id",
    "description",
    "type",
    "technology",
    "tags",
    "used_as_client_by_human",
    "out_of_scope",
    "multi_tenant",
    "confidentiality",
    "data_assets_processed",
    "data_assets_stored",
    "communication_links",
}
_READ_LINK = {
    "target",
    "protocol",
    "authentication",
    "authorization",
    "vpn",
    "ip_filtered",
    "readonly",
    "data_assets_sent",
    "data_assets_received",
    "tags",
}
_READ_DATA = {"id", "quantity", "confidentiality"}
#: Why a field is not mapped, where a reason says more than the shared ones (``unmapped.py``).
REASONS = {
    "trust_boundaries": unmapped.ZONES,
    "shared_runtimes": "tokensim has no shared hosts between nodes (hosts: on a client only)",
    "internet": "tokensim places thieves per leak (position), not per element; allow-lists come from links",
    "encryption": "encryption at rest does not change what a stolen token reaches",
    "usage": "business or devops use does not change a token's fate",
}
#: Documentation and layout fields (by name or prefix).
_DOCUMENTATION = (
    "description",
    "justification",
    "diagram_tweak",
    "author",
    "date",
    "management_summary",
    "business_overview",
    "technical_overview",
    "questions",
    "abuse_cases",
    "security_requirements",
    "tags_available",
    "business_criticality",
    "owner",
    "origin",
    "size",
    "machine",
    "redundant",
    "custom_developed_parts",
    "data_formats_accepted",
)


def read(data: Any, source: str) -> Inventory:
    """The inventory of a parsed Threagile model, or an `InputError` naming the file and the element."""
    booleans = boolean_keys(data)
    data = string_keys(data)  # a name YAML reads as a number or a boolean (`2024:`, `On:`) is a name
    validate(data, "threagile", source)
    report = ImportReport(source, "Threagile")
    for where in booleans:  # YAML 1.1 read `On:` as true: the spelling is gone, so say so
        report.add("ambiguity", where, "", "YAML reads this unquoted key (On, Yes, Off, No) as a boolean: quote it")
    inventory = Inventory(str(data.get("title") or "threagile-model"), "", report)
    for key in data:
        if key not in _READ_TOP:
            _unread(report, "model", key)
    for name, asset in (data.get("data_assets") or {}).items():
        inventory.data_assets[asset["id"]] = DataAsset(
            asset["id"], name, asset.get("confidentiality"), asset.get("quantity")
        )
        for key in asset:
            if key not in _READ_DATA:
                _unread(report, f"data_assets.{name}", key)
    assets: dict[str, Any] = data["technical_assets"]
    by_id: dict[str, str] = {}
    problems = []
    for name, asset in assets.items():
        if asset["id"] in by_id:
            problems.append(
                Problem(f"technical_assets.{name}.id", f"id {asset['id']!r} is also {by_id[asset['id']]}'s")
            )
        by_id[asset["id"]] = name
    for name, asset in assets.items():
        inventory.elements[asset["id"]] = _element(name, asset, inventory, problems)
    for name, asset in assets.items():
        for link_name, link in (asset.get("communication_links") or {}).items():
            where = f"technical_assets.{name}.communication_links.{link_name}"
            if link["target"] not in by_id:
                problems.append(Problem(f"{where}.target", f"no technical asset has id {link['target']!r}"))
                continue
            inventory.links.append(link_of(asset["id"], link, where))
            _data_refs(link, ("data_assets_sent", "data_assets_received"), where, inventory, problems)
            target = inventory.elements[link["target"]]
            sent = tuple(link.get("data_assets_sent") or ()) + tuple(link.get("data_assets_received") or ())
            target.data = tuple(dict.fromkeys(target.data + sent))
            for key in link:
                if key not in _READ_LINK:
                    _unread(report, where, key)
            if any(not roles.is_tokensim_tag(tag) for tag in link.get("tags") or ()):
                report.add("unmapped", where, "tags", unmapped.LABELS)
    if problems:
        raise InputError(source, problems)
    return inventory


def _element(name: str, asset: dict[str, Any], inventory: Inventory, problems: list[Problem]) -> Element:
    where = f"technical_assets.{name}"
    technology = asset.get("technology", "unknown-technology")
    role, role_from = roles.THREAGILE.get(technology, "unknown"), f"technology: {technology}"
    if asset.get("type") == "datastore":
        role, role_from = "datastore", "type: datastore"
    named = roles.override(asset.get("tags") or ())
    contradiction = roles.conflict(asset.get("tags") or ())
    if contradiction is not None:
        problems.append(Problem(f"{where}.tags", contradiction))
    if named is not None:
        if named not in roles.ROLES:
            problems.append(
                Problem(f"{where}.tags", f"unknown tokensim role {named!r}; roles: {', '.join(roles.ROLES)}")
            )
        role, role_from = named, f"tag {roles.OVERRIDE}:{named}"
    _data_refs(asset, ("data_assets_processed", "data_assets_stored"), where, inventory, problems)
    if not all(roles.is_tokensim_tag(tag) for tag in asset.get("tags") or ()):
        inventory.report.add("unmapped", where, "tags", unmapped.LABELS)
    for key in asset:
        if key not in _READ_ASSET:
            _unread(inventory.report, where, key)
    return Element(
        id=asset["id"],
        name=name,
        where=where,
        role=role,  # type: ignore[arg-type]
        role_from=role_from,
        description=str(asset.get("description") or ""),
        data=tuple(asset.get("data_assets_processed") or ()) + tuple(asset.get("data_assets_stored") or ()),
        human=asset.get("used_as_client_by_human"),
        multi_tenant=bool(asset.get("multi_tenant", False)),
        out_of_scope=bool(asset.get("out_of_scope", False)),
        confidentiality=asset.get("confidentiality"),
        explicit=roles.stated_fields(asset.get("tags") or ()),
    )


def link_of(source: str, link: dict[str, Any], where: str) -> Link:
    """A Threagile communication link (or an OTM dataflow's link fields, read the same way) as a `Link`."""
    protocol = link.get("protocol")
    encrypted = None if protocol in (None, *_UNKNOWN) else any(w in protocol for w in _ENCRYPTED_WORDS)
    authorization = link.get("authorization")
    delegated = {"enduser-identity-propagation": True, "technical-user": False}.get(authorization or "")
    return Link(
        source=source,
        target=link["target"],
        where=where,
        protocol=protocol,
        encrypted=encrypted,
        authentication=link.get("authentication"),
        delegated=delegated,
        filtered=bool(link.get("ip_filtered") or link.get("vpn")),
        readonly=link.get("readonly"),
    )


def _data_refs(
    holder: dict[str, Any], keys: tuple[str, ...], where: str, inventory: Inventory, problems: list[Problem]
) -> None:
    for key in keys:
        for ref in holder.get(key) or ():
            if ref not in inventory.data_assets:
                problems.append(Problem(f"{where}.{key}", f"no data asset has id {ref!r}"))


def _unread(report: ImportReport, where: str, key: str) -> None:
    """Report a field tokensim does not read."""
    unmapped.unread(report, where, key, reasons=REASONS, documentation=(), documentation_prefixes=_DOCUMENTATION)
