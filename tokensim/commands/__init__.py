"""The commands of `tokensim.cli` beyond run, one module per group.

- routes: ``check`` and ``diagram`` (a model's routes under a policy: table and figure)
- sweeps: ``sweep`` and ``results`` (a sweep folder: running it, reading what it holds)
- figures: ``plot`` and ``report`` (figures and the design-review report from results)
- catalogue: ``models``, ``policies`` and ``schema`` (what is built in)
- advise: ``advise`` (from model files to the report in one command)
- arguments: the model, ``--policy`` and ``--set`` several commands share
- formats: ``--format`` (table for reading, csv/json/markdown for programs) and the terminal's width
- outputs: the checks every command makes of its output paths before any work

Each command is a plain function with typer annotations; `tokensim.cli` registers them
on its app in the order ``tokensim --help`` lists them.
"""
