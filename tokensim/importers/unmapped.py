"""Why a field is not mapped: the reasons every reader gives, in one place (docs/import.md, "The report").

A reader reports each field it reads but cannot express (`unread`): documentation and layout fields
as one kind, the fields every format shares (trust zones, integrity and availability ratings, the
format's own risk findings) with one reason each, worded once here.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

from tokensim.importers.findings import ImportReport

ZONES = (
    "tokensim has no network zones: a boundary does not stop a replay from outside; "
    "IP-filtered and VPN links do (network_allow_list)"
)
INTEGRITY = "harm counts what a thief reads and does (sensitivity), not integrity ratings"
AVAILABILITY = "availability loss is a policy cost, not an element rating"
RISKS = "the format's own risk findings: tokensim computes its own"
DOCUMENTATION = "documentation or layout: not part of a simulation"
LABELS = "labels only: no tokensim field (tokensim-role:ROLE and tokensim:FIELD=VALUE tags are read)"
NO_FIELD = "no tokensim field for it"

#: Reasons for fields several formats share, by field name.
SHARED: dict[str, str] = {
    "integrity": INTEGRITY,
    "availability": AVAILABILITY,
    "threats": RISKS,
    "mitigations": "the model's own mitigations: tokensim compares policies instead",
    "risk_tracking": RISKS,
    "individual_risk_categories": RISKS,
    "vulnerabilities": RISKS,
}


def unread(
    report: ImportReport,
    where: str,
    key: str,
    *,
    reasons: Mapping[str, str],
    documentation: Container[str],
    documentation_prefixes: tuple[str, ...] = (),
) -> None:
    """Report field ``key`` of element ``where``: the format's own reason, a shared one, documentation, or none."""
    if key in reasons:
        report.add("unmapped", where, key, reasons[key])
    elif key in SHARED:
        report.add("unmapped", where, key, SHARED[key])
    elif key in documentation or key.startswith(documentation_prefixes or ("\0",)):
        report.add("unmapped", where, key, DOCUMENTATION)
    else:
        report.add("unmapped", where, key, NO_FIELD)
