"""The design-review report: one self-contained HTML file from result rows (see docs/report.md).

    >>> import tempfile
    >>> from pathlib import Path
    >>> import tokensim
    >>> from tokensim.report import build_report
    >>> rows = tokensim.replicate(tokensim.load_model("spa_behind_proxy"), ["bearer", "dpop"], replications=2, horizon="7d")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     build_report(rows, out=Path(folder) / "review.html").name
    'review.html'

A sweep folder works as well: ``build_report("results/policy-ttl-rotation", out="review.html")``.

Also the helpers `tokensim plot` uses: reading results and traces, and drawing the
figure of one kind from result rows.
"""

from tokensim.report.build import build_report
from tokensim.report.figures import KINDS, results_figure
from tokensim.report.inputs import LoadedResults, read_results, read_trace
from tokensim.report.where import apply_where

__all__ = ["KINDS", "LoadedResults", "apply_where", "build_report", "read_results", "read_trace", "results_figure"]
