"""Policy search: the Pareto front of integration cost against harm over a declared policy space.

`optimize` runs a search file (`SearchFile`: the space, the target, the budget) with optuna's
NSGA-II, TPE or random sampler, every candidate on the same common random numbers, the rows in
the same crash-safe store as a sweep's; `SearchResult` holds the front, the cheapest candidate
meeting the target with its interval, and the best preset. See docs/decisions.md.
"""

from tokensim.search.result import SearchResult
from tokensim.search.runner import load_search, optimize
from tokensim.search.spec import SearchFile

__all__ = ["SearchFile", "SearchResult", "load_search", "optimize"]
