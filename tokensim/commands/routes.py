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
    from tokensim.model.routes import TABLE_ROWS, route_table

    arch = load_model(model)
    pol = policies_of([policy], set_)[0]
    table = route_table(arch, pol)
    total = int(table["paths"].sum()) if not table.empty else 0
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
    table = table.assign(verifier=table["entry_verifier"]) if not table.empty else table
    if fmt is not TableFormat.table:  # the routes as data (each with its path and why); the facts to stderr
        data(table.reindex(columns=[*cols, "paths", "path", "reason"]).loc[:, lambda t: ~t.columns.duplicated()], fmt)
        for line in [*route_facts(table), *leak_facts(arch)] if not table.empty else leak_facts(arch):
            message(line, fmt)
        return
    if table.empty:
        return
    shown = table[cols].fillna("-").astype(str).map(terminal_text)  # escaped before the widths: columns stay aligned
    if summarised:
        shown["paths"] = [f"{n:,}" for n in table["paths"]]
    width = terminal_width()
    widths = {c: max(len(c), shown[c].str.len().max()) for c in cols}
    columns_fit = sum(widths.values()) + 2 * len(cols) <= width
    if columns_fit:
        echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for (_, row), (_, full) in zip(shown.iterrows(), table.iterrows()):  # a route per line, its path and why below it
        if columns_fit:
            echo("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
        else:  # a narrow terminal: each route as wrapped prose, every column named
            paths = f", {row['paths']} paths" if summarised else ""
            echo(
                wrapped(
                    f"{row['client']} -> {row['resource']}, {row['tier']}: {row['mechanism']} {row['status']}{paths}"
                )
            )
            echo(wrapped(", ".join(f"{c} {row[c]}" for c in _ROUTE_DETAIL), "    ", width))
        first = f"the first of {full['paths']:,}: " if full["paths"] > 1 else ""
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
