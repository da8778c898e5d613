"""tokensim: discrete-event simulation of token theft across system architectures.

Load an architecture, pick token policies (bearer, DPoP, mTLS, hybrid), and
measure what a thief achieves (blast radius) against what the policy costs
(integration cost). See README.md and docs/.
"""

from tokensim._version import __version__
from tokensim.api import replicate, simulate
from tokensim.errors import InputError
from tokensim.experiment import Experiment, load_results, verify_results
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.cost import CostModel
from tokensim.model.policy import PRESETS, Policy, load_policy, preset
from tokensim.model.routes import route_table
from tokensim.outcome import Outcome

__all__ = [
    "PRESETS",
    "Architecture",
    "CostModel",
    "Experiment",
    "InputError",
    "Outcome",
    "Policy",
    "__version__",
    "load_model",
    "load_policy",
    "load_results",
    "preset",
    "replicate",
    "route_table",
    "simulate",
    "verify_results",
]
