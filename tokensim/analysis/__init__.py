"""Analysis of result DataFrames (pandas in, pandas out).

- intervals: means with Student t intervals by any grouping, paired differences on common random numbers,
  averages over a sampled design per replication
- configurations: which columns identify a configuration, and short labels for them
- pareto: the tradeoff table, its Pareto front and knee
- recommend: the cheapest configuration under a blast-radius target, with its evidence
- sensitivity: Sobol indices and Morris screening of Sobol / Morris sweeps, through SALib

See docs/analysis.md.
"""

from tokensim.analysis.configurations import config_labels, configuration_columns
from tokensim.analysis.intervals import design_average, interval_table, mean_ci, paired_differences, summarise
from tokensim.analysis.pareto import knee_point, pareto_front, tradeoff_table
from tokensim.analysis.recommend import Recommendation, recommend
from tokensim.analysis.sensitivity import morris_screening, sensitivity, sobol_indices

__all__ = [
    "Recommendation",
    "config_labels",
    "configuration_columns",
    "design_average",
    "interval_table",
    "knee_point",
    "mean_ci",
    "morris_screening",
    "paired_differences",
    "pareto_front",
    "recommend",
    "sensitivity",
    "sobol_indices",
    "summarise",
    "tradeoff_table",
]
