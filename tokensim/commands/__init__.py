"""The commands of `tokensim.cli` beyond run, check and diagram, one module per group.

- sweeps: ``sweep`` and ``results`` (a sweep folder: running it, reading what it holds)
- figures: ``plot`` and ``report`` (figures and the design-review report from results)
- catalogue: ``models``, ``policies`` and ``schema`` (what is built in)
- outputs: the checks every command makes of its output paths before any work

Each command is a plain function with typer annotations; `tokensim.cli` registers them
on its app in the order ``tokensim --help`` lists them.
"""
