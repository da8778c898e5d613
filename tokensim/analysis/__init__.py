"""Analysis of result DataFrames: intervals and paired differences (pandas in, pandas out)."""

from tokensim.analysis.intervals import mean_ci, paired_differences, summarise

__all__ = ["mean_ci", "paired_differences", "summarise"]
