"""Analysis of result DataFrames (pandas in, pandas out).

- intervals: means with Student t intervals by any grouping, paired differences on common random numbers,
  averages over a sampled design per replication
- configurations: which columns identify a configuration, and short labels for them
- pareto: the tradeoff table, its Pareto front and knee
- recommend: the cheapest configuration under a blast-radius target, with its evidence
- robustness: each policy's regret per sampled world, minimax regret and satisficing share across worlds
- loss: the annual loss in money per configuration, its exceedance curve; loss_avoided: expected annual
  loss avoided against a baseline policy, and the return on the cost of switching
- discovery: scenario discovery, the boxes of the uncertain factors where a policy fails (PRIM)
- sensitivity: Sobol indices and Morris screening of Sobol / Morris sweeps, through SALib

See docs/analysis.md.
"""

from tokensim.analysis.configurations import config_labels, configuration_columns
from tokensim.analysis.discovery import Discovery, discover
from tokensim.analysis.intervals import design_average, interval_table, mean_ci, paired_differences, summarise
from tokensim.analysis.loss import LossNote, annual_loss, expected_annual_loss, loss_exceedance, loss_thresholds
from tokensim.analysis.loss_avoided import loss_avoided, return_on_cost
from tokensim.analysis.pareto import knee_point, pareto_front, tradeoff_table
from tokensim.analysis.recommend import Recommendation, recommend
from tokensim.analysis.robustness import recommend_robust, regret, robustness
from tokensim.analysis.sensitivity import morris_screening, sensitivity, sobol_indices

__all__ = [
    "Discovery",
    "LossNote",
    "Recommendation",
    "annual_loss",
    "config_labels",
    "configuration_columns",
    "design_average",
    "discover",
    "expected_annual_loss",
    "interval_table",
    "knee_point",
    "loss_avoided",
    "loss_exceedance",
    "loss_thresholds",
    "mean_ci",
    "morris_screening",
    "paired_differences",
    "pareto_front",
    "recommend",
    "recommend_robust",
    "regret",
    "return_on_cost",
    "robustness",
    "sensitivity",
    "sobol_indices",
    "summarise",
    "tradeoff_table",
]
