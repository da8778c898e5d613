"""The package version, in one place: pyproject.toml reads it from here (setuptools' dynamic version)."""

__version__ = "0.1.0"

#: The version of the model semantics the engine simulates (docs/model.md): version 2 (MODEL-v2.md)
#: changed what a leak exposes and what a thief does, so rows simulated under version 1 cannot be mixed
#: with new ones; a results folder records it and a resume refuses a folder of another semantics.
#: Version 3 (issue 13): privileged requests weigh `privileged_weight`, records saturate per tenant, and
#: the closed-form path resolves every queue per family (incidents), which moves its draws.
SEMANTICS = 3
