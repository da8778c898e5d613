"""tokensim: discrete-event simulation of token theft across system architectures.

Load an architecture, pick token policies (bearer, DPoP, mTLS, hybrid), and
measure what a thief achieves (blast radius) against what the policy costs
(integration cost). See README.md and docs/.
"""

from tokensim.api import replicate, simulate
from tokensim.errors import InputError
from tokensim.experiment import Experiment, load_results
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.policy import PRESETS, Policy, load_policy, preset
from tokensim.model.routes import route_table
from tokensim.sim.cost import CostModel
from tokensim.sim.outcome import Outcome

__version__ = "0.1.0"

__all__ = [
    "Architecture", "CostModel", "Experiment", "InputError", "Outcome", "PRESETS", "Policy", "__version__",
    "load_model", "load_policy", "load_results", "preset", "replicate", "route_table", "simulate",
]
