"""What an import could not map, assumed or had to decide: the import report (docs/import.md, "The report").

Nothing an architecture description says is dropped silently: every element and field the importer
cannot express in a tokensim model is listed as *unmapped*, every value no description holds (instances,
request rates, leak rates) as *assumed* ("assumed, set me"), and every choice between readings as an
*ambiguity*. The report is printed on the terminal and written as comments at the top of the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: The report's sections, in the order they are printed.
Category = Literal["unmapped", "assumed", "ambiguity", "mapped"]
CATEGORIES: tuple[Category, ...] = ("unmapped", "assumed", "ambiguity", "mapped")
HEADINGS: dict[Category, str] = {
    "unmapped": "Not mapped (read, but tokensim has no field for it)",
    "assumed": "Assumed, set me (no architecture description holds these)",
    "ambiguity": "Ambiguities resolved",
    "mapped": "Mapped",
}


@dataclass(frozen=True)
class Finding:
    """One line of the report: where in the source (``element``, ``field``), and what happened to it."""

    category: Category
    element: str
    field: str
    detail: str

    def line(self) -> str:
        """The finding as one line of text: ``element.field: detail``."""
        where = f"{self.element}.{self.field}" if self.field else self.element
        return f"{where}: {self.detail}"


@dataclass
class ImportReport:
    """Every finding of one import, in the order found, with the source file and its format."""

    source: str
    format: str
    findings: list[Finding] = field(default_factory=list)
    _seen: set[Finding] = field(default_factory=set, repr=False)

    def add(self, category: Category, element: str, field_: str, detail: str) -> Finding:
        """Record one finding (a repeated one is kept once) and return it."""
        finding = Finding(category, element, field_, detail)
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)
        return finding

    def remove(self, dropped: list[Finding]) -> None:
        """Withdraw findings (an assumption the source states after all)."""
        gone = set(dropped)
        self.findings = [f for f in self.findings if f not in gone]
        self._seen -= gone

    def of(self, category: Category) -> list[Finding]:
        """The findings of one category, in the order found."""
        return [f for f in self.findings if f.category == category]

    def unmapped_fields(self) -> set[tuple[str, str]]:
        """(element, field) of every unmapped finding: what a test compares with a fixture's known gaps."""
        return {(f.element, f.field) for f in self.of("unmapped")}

    def lines(self) -> list[str]:
        """The report as text lines: a heading per category that has findings, then one line per finding."""
        out = [f"imported {self.source} ({self.format})"]
        for category in CATEGORIES:
            found = self.of(category)
            if found:
                out.append(f"{HEADINGS[category]}: {len(found)}")
                out.extend(f"  - {line}" for line in _grouped(found))
        return out


def _grouped(findings: list[Finding]) -> list[str]:
    """One line per finding; findings of one field with one detail share a line (``field (in a, b): detail``)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        key = (f.field, f.detail) if f.field else (f.element, f.detail)
        groups.setdefault(key, []).append(f)
    lines = []
    for (_, detail), members in groups.items():
        if len(members) == 1:
            lines.append(members[0].line())
        else:
            lines.append(f"{members[0].field} (in {', '.join(m.element for m in members)}): {detail}")
    return lines
