"""Sampling the delay distributions of model files (values in hours)."""

from __future__ import annotations

import math

import numpy as np

from tokensim.model.schema import Exponential, Fixed, LogNormal, Uniform


def sample(dist: Fixed | LogNormal | Exponential | Uniform, rng: np.random.Generator) -> float:
    """One draw, in hours. Always consumes exactly one uniform-based draw (common random numbers)."""
    if isinstance(dist, Fixed):
        rng.random()  # keep the stream aligned whatever the distribution
        return dist.value
    if isinstance(dist, LogNormal):
        return float(dist.median * math.exp(dist.sigma * rng.standard_normal()))
    if isinstance(dist, Exponential):
        return float(rng.exponential(dist.mean))
    return float(rng.uniform(dist.low, dist.high))


def sample_many(dist: Fixed | LogNormal | Exponential | Uniform, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws at once, in hours."""
    if isinstance(dist, Fixed):
        rng.random(n)
        return np.full(n, dist.value)
    if isinstance(dist, LogNormal):
        return dist.median * np.exp(dist.sigma * rng.standard_normal(n))
    if isinstance(dist, Exponential):
        return rng.exponential(dist.mean, n)
    return rng.uniform(dist.low, dist.high, n)
