"""Figures from tokensim DataFrames and models (matplotlib object API; each function returns a Figure).

    >>> import tokensim
    >>> from tokensim.viz import architecture_figure, save_figure
    >>> fig = architecture_figure("spa_behind_proxy", "dpop")
    >>> type(fig).__name__
    'Figure'

Nothing here touches pyplot or global matplotlib state: the style (`tokensim.viz.style`)
is applied per figure, so the figures work the same in a notebook, a script or a server.
"""

from tokensim.labels import factor_label
from tokensim.viz.architecture import architecture_figure
from tokensim.viz.attribution import attribution_figure
from tokensim.viz.discovery import discovery_figure
from tokensim.viz.exposure import exposure_figure
from tokensim.viz.io import save_figure
from tokensim.viz.loss import loss_exceedance_figure
from tokensim.viz.regret import regret_figure
from tokensim.viz.sensitivity import sensitivity_figure
from tokensim.viz.timeline import timeline_figure
from tokensim.viz.tradeoff import tradeoff_figure
from tokensim.viz.ttl import ttl_figure

__all__ = [
    "architecture_figure",
    "attribution_figure",
    "discovery_figure",
    "exposure_figure",
    "factor_label",
    "loss_exceedance_figure",
    "regret_figure",
    "save_figure",
    "sensitivity_figure",
    "timeline_figure",
    "tradeoff_figure",
    "ttl_figure",
]
