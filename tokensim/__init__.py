"""tokensim: discrete-event simulation of token theft across system architectures.

Load an architecture, pick token policies (bearer, DPoP, mTLS, hybrid), and
measure what a thief achieves (blast radius) against what the policy costs
(integration cost). See README.md and docs/.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tokensim._version import __version__

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and editors
    from tokensim import analysis, report, viz
    from tokensim.api import replicate, simulate
    from tokensim.errors import InputError
    from tokensim.experiment import Experiment, load_results, verify_results
    from tokensim.importers import import_model
    from tokensim.model.architecture import Architecture, load_model
    from tokensim.model.cost import CostModel
    from tokensim.model.policy import PRESETS, Policy, load_policy, preset
    from tokensim.model.routes import route_table
    from tokensim.outcome import Outcome
    from tokensim.search import SearchFile, SearchResult, optimize

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that `import tokensim`
#: and the command line (`tokensim --help`) do not pay for pandas, SciPy and networkx up front.
_LAZY: dict[str, str] = {
    "replicate": "tokensim.api",
    "simulate": "tokensim.api",
    "InputError": "tokensim.errors",
    "Experiment": "tokensim.experiment",
    "load_results": "tokensim.experiment",
    "verify_results": "tokensim.experiment",
    "import_model": "tokensim.importers",
    "Architecture": "tokensim.model.architecture",
    "load_model": "tokensim.model.architecture",
    "CostModel": "tokensim.model.cost",
    "PRESETS": "tokensim.model.policy",
    "Policy": "tokensim.model.policy",
    "load_policy": "tokensim.model.policy",
    "preset": "tokensim.model.policy",
    "route_table": "tokensim.model.routes",
    "Outcome": "tokensim.outcome",
    "SearchFile": "tokensim.search",
    "SearchResult": "tokensim.search",
    "optimize": "tokensim.search",
}
#: Subpackages reached as attributes (`tokensim.analysis.summarise` after `import tokensim`), imported on first use.
_SUBPACKAGES = ("analysis", "report", "viz")


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (module attribute access, PEP 562)."""
    if name in _SUBPACKAGES:
        package = import_module(f"tokensim.{name}")
        globals()[name] = package
        return package
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokensim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, *_SUBPACKAGES])


__all__ = [
    "PRESETS",
    "Architecture",
    "CostModel",
    "Experiment",
    "InputError",
    "Outcome",
    "Policy",
    "SearchFile",
    "SearchResult",
    "__version__",
    "analysis",
    "import_model",
    "load_model",
    "load_policy",
    "load_results",
    "optimize",
    "preset",
    "replicate",
    "report",
    "route_table",
    "simulate",
    "verify_results",
    "viz",
]
