"""``tokensim check`` and ``tokensim diagram``: a model's routes under a policy, as a table and as a figure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokensim.commands.arguments import ModelArg, SetOpt, policies_of
from tokensim.commands.formats import FormatOpt, TableFormat, data, message, terminal_width, wrapped
from tokensim.commands.outputs import echo, regular_output, require_suffix
from tokensim.display import terminal_text
from tokensim.errors import InputError, did_you_mean


def check(
    model: ModelArg,
    policy: Annotated[str, typer.Option("--policy", "-p", help="The policy whose mechanisms are checked.")] = "hybrid",
    set_: SetOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Print every client -> resource route, per tier: bound, downgraded or broken, and the hop that causes it.

    ``verifier`` is the first node that verifies the binding (a thief from outside must pass it with the key).
    Below the table, the route facts: where DPoP's htu breaks, issuer gaps, and the entry verifiers; then
    per leak, where its thief's requests enter and which resources a network allow-list closes to it.

    Beyond a few hundred routes (`tokensim.model.routes.TABLE_ROWS`), one line per client, resource, tier
    and outcome, with its number of paths and the first of them.
    """
    from tokensim.model.architecture import load_model
    from tokensim.model.route_facts import leak_facts, route_facts
    from tokensim.model.routes import TABLE_ROWS, route_rows

    arch = load_model(model)
    pol = policies_of([policy], set_)[0]
    # records, not a DataFrame: `check` starts without pandas (docs/benchmarks.md, start-up)
    table = [{**row, "verifier": row["entry_verifier"]} for row in route_rows(arch, pol)]
    total = sum(int(row["paths"]) for row in table)
    summarised = total > len(table)
    if summarised:
        message(
            f"model {arch.name}, policy {pol.name}: {total:,} routes, more than {TABLE_ROWS} to list: "
            f"summarised in {len(table)} lines, one per client, resource, tier and outcome, with its number of paths",
            fmt,
        )
    else:
        message(f"model {arch.name}, policy {pol.name}: {len(table)} routes", fmt)
    cols = ["client", "resource", "tier", "mechanism", "status", "effect", "hop", "verifier"]
    cols += ["paths"] if summarised else []
    if fmt is not TableFormat.table:  # the routes as data (each with its path and why); the facts to stderr
        import pandas as pd

        columns = list(dict.fromkeys([*cols, "paths", "path", "reason"]))
        data(pd.DataFrame([{c: row[c] for c in columns} for row in table], columns=columns), fmt)
        for line in [*route_facts(table), *leak_facts(arch)]:
            message(line, fmt)
        return
    if not table:
        return
    # escaped before the widths: columns stay aligned
    shown = [{c: terminal_text("-" if row[c] is None else str(row[c])) for c in cols} for row in table]
    if summarised:
        for cells, row in zip(shown, table):
            cells["paths"] = f"{row['paths']:,}"
    width = terminal_width()
    widths = {c: max(len(c), *(len(cells[c]) for cells in shown)) for c in cols}
    columns_fit = sum(widths.values()) + 2 * len(cols) <= width
    if columns_fit:
        echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for cells, full in zip(shown, table):  # a route per line, its path and why below it
        if columns_fit:
            echo("  ".join(cells[c].ljust(widths[c]) for c in cols).rstrip())
        else:  # a narrow terminal: each route as wrapped prose, every column named
            paths = f", {cells['paths']} paths" if summarised else ""
            echo(
                wrapped(
                    f"{cells['client']} -> {cells['resource']}, {cells['tier']}: {cells['mechanism']} "
                    f"{cells['status']}{paths}"
                )
            )
            echo(wrapped(", ".join(f"{c} {cells[c]}" for c in _ROUTE_DETAIL), "    ", width))
        first = f"the first of {full['paths']:,}: " if int(full["paths"]) > 1 else ""
        echo(wrapped(f"{first}{full['path']}: {full['reason']}", "    ", width))
    echo("")
    for line in [*route_facts(table), *leak_facts(arch)]:
        indent = line[: len(line) - len(line.lstrip())]
        echo(wrapped(terminal_text(line.lstrip()), indent, width))


#: The route table's columns named on a route's second line on a narrow terminal.
_ROUTE_DETAIL = ("effect", "hop", "verifier")


def diagram(
    model: ModelArg,
    out: Annotated[Path, typer.Option("--out", help="The figure file: .png, .svg or .pdf.")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="The policy whose routes are coloured.")] = "hybrid",
    set_: SetOpt = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Draw only one tier: low_risk or privileged.")] = None,
) -> None:
    """Draw a model's architecture with each route coloured bound, downgraded or broken under a policy."""
    from tokensim.model.architecture import load_model
    from tokensim.model.routes import TIERS
    from tokensim.viz import architecture_figure, save_figure
    from tokensim.viz.io import FORMATS

    require_suffix(out, tuple(FORMATS), "a figure")
    regular_output(out, "--out")
    if tier is not None and tier not in TIERS:
        raise InputError.single(
            "--tier", tier, f"unknown tier{did_you_mean(tier, TIERS)}; use one of {', '.join(TIERS)}"
        )
    arch = load_model(model)
    pol = policies_of([policy], set_)[0]
    save_figure(architecture_figure(arch, pol, tier=tier), out)
    echo(f"wrote {out}")
