"""The range of every number tokensim reads: one place, one reason per bound.

A number enters from a model, policy, experiment or cost file, a command-line option or
an argument of the Python API. Wherever it enters it is checked by the functions here,
so the same number gets the same message, and nothing that overflows (or that would run
for days) reaches the engine or numpy. The checks raise `ValueError` with the message
alone; the caller adds the file (or option) and the field: pydantic validators do that
for files, `InputError.single` for options and arguments. docs/parameters.md ("Ranges")
lists every bound below with its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

from tokensim.display import quote
from tokensim.model.units import parse_duration

_YEAR = 24.0 * 365  # hours (units.py: a year is 365 days)


@dataclass(frozen=True)
class Bound:
    """The range of one kind of number: its ends, how they read to a user, and why the upper end is there."""

    low: int | float  # ints where the number is a count: compared exactly (2^63 - 1 is not a float)
    high: int | float
    high_text: str  # the upper end as a user writes it: `100y`, `1000/s`, `10,000,000`
    why: str  # said after the upper end in the message: what the limit protects


#: A run's horizon. Assumption: no design review plans further than a century ahead; with
#: every rate at most 1000/s the Poisson means of a run stay below 3.2e12, far from numpy's
#: limit (about 9.2e18), and a run of a small model at this horizon takes a second (tests/test_ranges.py).
HORIZON = Bound(1 / 3_600_000, 100 * _YEAR, "100y", "the longest horizon tokensim simulates")
#: Every other duration (TTLs, retentions, dwells, delays): at least 1 ms (the smallest unit)
#: when it must be positive, at most 1000 years. Assumption: a credential that never
#: expires is written `1000y`, ten times the longest horizon; below 1 ms a renewal rate
#: (1 / TTL, in the integration cost) can overflow to infinity.
DURATION = Bound(1 / 3_600_000, 1000 * _YEAR, "1000y", "ten times the longest horizon: it never ends within a run")
#: Rates (leaks, legitimate requests, the thief's replays), per hour. Assumption: 1000 per
#: second is beyond any client instance or thief the defaults cite (the busiest built-in
#: client makes 600/h); with the horizon bound it keeps every Poisson mean finite.
RATE = Bound(0.0, 3_600_000.0, "1000/s", "faster than any client or thief the defaults cite")
#: Instances (and hosts) of one client population. Assumption: ten million, a large
#: consumer app's active installs; measured: a run of 10^7 instances with rare leaks takes
#: about 5 s and 330 MB; the per-instance arrays of the plan grow with it.
INSTANCES = Bound(1, 10**7, "10,000,000", "the largest client population tokensim simulates")
#: Families one correlated leak (`reach`) compromises at most: reach x instances. Assumption, measured
#: (docs/parameters.md): one event of 40,000 x 0.3 = 12,000 families takes 8 to 10 s of one core when they
#: are resident (each a process; 54 MiB at its peak) and 1.3 s for token-only log families in closed form;
#: the bound keeps one event near a minute and a quarter.
REACH_FAMILIES = Bound(0, 100_000, "100,000", "the families one event runs, each a process")
#: Tenants of a client or broker. Assumption: a million organisations, above the largest
#: SaaS customer bases (the built-in models have up to 700); a run holds one entry per tenant.
TENANTS = Bound(1, 10**6, "1,000,000", "more tenants than any SaaS customer base")
#: Records behind a resource (reported, not simulated). Assumption: 10^12, a hundred times
#: the largest breaches on record (about 10^10 records); stays exact in an int64 and a float.
RECORDS = Bound(0, 10**12, "1,000,000,000,000", "a hundred times the largest breach on record")
#: Sigma of a log-normal delay. Assumption: sigma 10 already spreads the middle 95% of
#: delays over a factor e^39 (about 10^17); up to it, exp(sigma * z) overflows only for a
#: normal draw z above 70, which never comes (sigma 800 overflowed at z = 0.9: issue 11).
SIGMA = Bound(0.0, 10.0, "10", "a log-normal spread wider than any measured delay, and exp(sigma x z) stays finite")
#: Sensitivity of a resource (a weight relative to 1). Assumption: a million; blast radius
#: (sensitivity x requests) then stays finite for every run inside the other bounds.
SENSITIVITY = Bound(0.0, 1e6, "1,000,000", "a weight relative to 1 for an ordinary API")
#: Weight of a privileged request relative to a read at the same resource (MODEL-v2.md section 6).
#: Assumption: a million, the same span as `SENSITIVITY`; blast radius stays finite inside the other bounds.
PRIVILEGED_WEIGHT = Bound(0.0, 1e6, "1,000,000", "a weight relative to 1 for a read")
#: One money figure of a model's `loss:` section (per record, request, tenant, incident; a day rate).
#: Assumption: 10^12, above any single loss on record (NotPetya's about $10^10); losses stay finite floats.
MONEY = Bound(0.0, 1e12, "1,000,000,000,000", "above any single loss on record")
#: Every figure of a cost file (person-days, milliseconds, seconds, hours, weights).
#: Assumption: 10^9, far above every default (the largest is 1000); keeps the composite finite.
COST_FIGURE = Bound(0.0, 1e9, "1,000,000,000", "far above every default figure")
#: Seeds: what a Parquet int64 column stores (seeds are stored as given, so they must fit).
SEED = Bound(0, 2**63 - 1, "2^63 - 1", "seeds are stored as int64")
#: Replications of one variant (and `until.max_replications`, `until.batch`). Assumption:
#: a million paired replications narrow an interval a thousandfold beyond what 1 replication gives.
REPLICATIONS = Bound(1, 10**6, "1,000,000", "the most replications tokensim plans")
#: A replication's number (`simulate(replication=...)`): from 0, below `REPLICATIONS`.
REPLICATION = Bound(0, 10**6 - 1, "999,999", "replications are numbered below the most tokensim plans")
#: Runs of one experiment (model variants x policies x replications, counting `until`'s
#: cap) or one `replicate` call. Assumption, measured: a planned run costs about 250 bytes
#: and a stored row about 2 KB while a sweep runs, so a million runs hold about 2 GB.
RUNS = Bound(1, 10**6, "1,000,000", "a sweep holds every planned run and row in memory")
#: Model variants of an experiment (models x design points). Measured: each holds its
#: own validated model, about 18 KB and 0.8 ms to build, so 10^5 take about 2 GB and 80 s.
VARIANTS = Bound(1, 10**5, "100,000", "each variant holds its own validated model")
#: Expected leaks of one run (rate x instances or hosts x horizon, summed). Measured:
#: 150 to 300 microseconds per leak on a shared 2-core machine, so 10^6 leaks take 3 to 5 minutes.
LEAKS = Bound(0, 10**6, "1,000,000", "3 to 5 minutes of one core per run")
#: Steps of a grid range. A grid is also bounded as a whole (`VARIANTS`); a single factor can fill it.
STEPS = Bound(2, 10**5, "100,000", "each design point becomes a model variant")
#: The relative interval half-width `until` aims at: finite and above zero; no upper end is
#: needed (a wide target stops after the first batch).
REL_CI = Bound(0.0, math.inf, "infinity", "")
#: A search's harm target (`tokensim optimize --target`): finite and above zero, no upper end needed.
TARGET = Bound(0.0, math.inf, "infinity", "")
#: Candidates one policy search evaluates. Assumption: as `VARIANTS`, each holds its own validated policy
#: and its rows; 10^5 candidates of 5 replications are half a million runs, within `RUNS`.
CANDIDATES = Bound(1, 10**5, "100,000", "each candidate holds its own policy and rows")
#: Candidates per generation of a search. Assumption: NSGA-II populations are tens to a few hundred.
POPULATION = Bound(2, 1000, "1000", "NSGA-II populations are tens to a few hundred")
#: The thief's requests in one run, at most (its replay rate x the horizon x the families
#: its leaks may expose): they are summed in 64-bit integers; 2^62 leaves a factor 2 for
#: the Poisson spread around that expectation.
REQUESTS = Bound(0, 2**62, "4.6e18", "a run counts requests in 64-bit integers")
#: Morris levels. Assumption: Morris designs use 4 to 10 levels; 1000 is far beyond them.
LEVELS = Bound(2, 1000, "1000", "far beyond the 4 to 10 levels Morris designs use")
#: Worker processes of a sweep (`-j`, `--dask-local`). Assumption: each worker holds about
#: 100 MB (issue 11 measured 108 MB), so 1024 workers already need about 100 GB.
WORKERS = Bound(1, 1024, "1024", "each worker process holds about 100 MB")


def _shown(value: object) -> str:
    """A value as the messages show it: text quoted (a short prefix, `display.quote`), floats in short form."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if isinstance(value, Integral) else quote(value)


def above(bound: Bound, value: object) -> str:
    """The message for a number above ``bound`` (``value`` as the user wrote it)."""
    return f"must be at most {bound.high_text} ({bound.why}), got {_shown(value)}"


def whole_number(value: object, bound: Bound, *, below: str = "must be greater than or equal to") -> int:
    """A count as an int inside ``bound``; booleans, fractions and text are not counts.

    An integral float (a grid over a count gives 100.0) is that count. ``below`` is the
    phrase for a number under the lower end.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {value!r} (a boolean is not a number)")
    if isinstance(value, Integral):
        number = int(value)
    elif isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
        number = int(float(value))
    else:
        raise ValueError(f"must be a whole number, got {_shown(value)}")
    if number < bound.low:
        raise ValueError(f"{below} {bound.low:g}, got {_shown(value)}")
    if number > bound.high:
        raise ValueError(above(bound, value))
    return number


def seed(value: object) -> int:
    """A seed: a whole number from 0 to 2^63 - 1 (one message for both ends)."""
    try:
        return whole_number(value, SEED)
    except ValueError:
        raise ValueError(f"must be a whole number from 0 to 2^63 - 1 ({SEED.why}), got {_shown(value)}") from None


def real_number(value: object, bound: Bound, *, positive: bool = False) -> float:
    """A finite float inside ``bound`` (above its lower end if ``positive``); a boolean is not a number."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"must be a number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {_shown(value)}")
    if positive and not number > bound.low:
        raise ValueError(f"must be greater than zero, got {_shown(value)}")
    if number < bound.low:
        raise ValueError(f"must not be negative, got {_shown(value)}")
    if number > bound.high:
        raise ValueError(above(bound, value))
    return number


def duration_in(hours: float, written: object, bound: Bound, *, positive: bool) -> float:
    """A parsed duration (hours) checked against ``bound``; ``written`` is what the user wrote."""
    if not math.isfinite(hours):
        raise ValueError(f"must be a finite number, got {_shown(written)}")
    if positive and not hours > 0:
        raise ValueError(f"must be greater than zero, got {_shown(written)}")
    if hours < 0:
        raise ValueError(f"must not be negative, got {_shown(written)}")
    if positive and hours < bound.low:
        raise ValueError(f"must be at least 1ms (the smallest unit), got {_shown(written)}")
    if hours > bound.high:
        raise ValueError(above(bound, written))
    return hours


def horizon_hours(value: object) -> float:
    """A horizon in hours from `90d`-style text or a number of hours (the one check for files, options, arguments)."""
    return duration_in(parse_duration(value), value, HORIZON, positive=True)


def rate_in(per_hour: float, written: object) -> float:
    """A parsed rate (per hour) checked against `RATE`; ``written`` is what the user wrote."""
    if not math.isfinite(per_hour):
        raise ValueError(f"must be a finite number, got {_shown(written)}")
    if per_hour < 0:
        raise ValueError(f"must not be negative, got {_shown(written)}")
    if per_hour > RATE.high:
        raise ValueError(above(RATE, written))
    return per_hour


def replications(value: object) -> int:
    """A number of replications (`-n`, `replicate`, experiment files say it alike)."""
    return whole_number(value, REPLICATIONS, below="must be at least")


def replication(value: object) -> int:
    """A replication's number (`simulate(replication=...)`)."""
    return whole_number(value, REPLICATION, below="must be at least")


def runs(replications: int, policies: int) -> int:
    """The runs of ``replications`` paired replications of ``policies`` policies, at most `RUNS`."""
    total = replications * policies
    if total > RUNS.high:
        raise ValueError(
            f"{replications:,} replications x {policies:,} policies = {total:,} runs,"
            f" at most {RUNS.high_text} ({RUNS.why})"
        )
    return total


def workers(value: object) -> int:
    """A number of worker processes (`-j`, `--dask-local`)."""
    return whole_number(value, WORKERS, below="must be at least")
