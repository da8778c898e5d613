"""Experiments: parameter sweeps over models, policies and factors, crash-safe and reproducible."""

from tokensim.experiment.runner import Experiment, load_results

__all__ = ["Experiment", "load_results"]
