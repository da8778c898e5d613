"""The design-review report: one self-contained HTML file from result rows (see docs/report.md).

    >>> from tokensim.report import build_report
    >>> build_report("results/policy-ttl-rotation", out="review.html")   # doctest: +SKIP

Also the helpers `tokensim plot` uses: reading results and traces, and drawing the
figure of one kind from result rows.
"""

from tokensim.report.build import build_report
from tokensim.report.figures import KINDS, apply_where, results_figure
from tokensim.report.inputs import LoadedResults, read_results, read_trace

__all__ = ["KINDS", "LoadedResults", "apply_where", "build_report", "read_results", "read_trace", "results_figure"]
