"""Experiments: parameter sweeps over models, policies and factors, crash-safe and reproducible."""

from tokensim.experiment.cluster import connect_dask, local_dask_cluster
from tokensim.experiment.runner import Experiment
from tokensim.experiment.store import load_results
from tokensim.experiment.verify import FolderCheck, verify_results

__all__ = ["Experiment", "FolderCheck", "connect_dask", "load_results", "local_dask_cluster", "verify_results"]
