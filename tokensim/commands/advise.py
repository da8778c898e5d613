"""``tokensim advise MODEL [MODEL...]``: from model files to the design-review report in one command.

It runs a default experiment (`default_experiment`: the five presets, access-token TTLs of 5
minutes and 1 hour, refresh-token rotation off and on) with sequential stopping, so that
replications are added until each configuration's blast-radius interval is tight enough,
prints an estimate of the time it takes before it starts and a progress bar while it runs,
stores the runs in a crash-safe folder (``--resume`` continues it), and writes the report.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tokensim.commands.figures import Verdicts
from tokensim.commands.outputs import echo, folder_name, regular_output, require_suffix, writable_folder
from tokensim.errors import InputError

#: The presets every review compares (docs/guide.md): bearer as the baseline, the hybrids, full binding.
POLICIES: tuple[str, ...] = ("bearer", "hybrid", "hybrid_jit", "dpop", "mtls")
#: Access-token TTLs: 5 minutes (short-lived tokens) and 1 hour (the presets' default; RFC 6749 examples) as the
#: two settings an architect weighs first (assumption: the choice most reviews start from; sweep more with an
#: experiment file).
ACCESS_TTLS: tuple[str, ...] = ("5m", "1h")
#: Sequential stopping: replications in batches of 10 until the 95% interval of blast radius is within 10% of its
#: mean, at most 200 (assumption: tight enough to tell a 20% reduction apart; docs/guide.md section 7).
FIRST_REPLICATIONS, BATCH, REL_CI, MAX_REPLICATIONS = 10, 10, 0.10, 200


def default_experiment(
    models: list[str], *, horizon: str, seed: int, replications: int, max_replications: int, rel_ci: float
) -> dict[str, Any]:
    """The experiment `advise` runs, as an experiment file would say it."""
    names = ", ".join(Path(m).stem if m.endswith((".yaml", ".yml", ".json")) else m for m in models)
    return {
        "name": f"advise {names}",
        "description": "tokensim advise: the five presets x access-token TTL x refresh-token rotation",
        "question": f"Which token policy should {names} use, with which access-token TTL and rotation?",
        "models": [str(Path(m).resolve()) if Path(m).suffix in (".yaml", ".yml", ".json") else m for m in models],
        "policies": list(POLICIES),
        "factors": {"policy.access_ttl": list(ACCESS_TTLS), "policy.rotation": [False, True]},
        "design": "grid",
        "replications": replications,
        "seed": seed,
        "horizon": horizon,
        "until": {
            "metric": "blast_radius",
            "rel_ci": rel_ci,
            "max_replications": max_replications,
            "batch": BATCH,
        },
    }


#: Wall time of a sweep's runs over the sum of single timed runs: the pool's start-up, each round of
#: sequential stopping and the stores (assumption, from this machine: `advise workload_direct` ran 4,000
#: runs in 27 s on 2 workers where the timed runs said 20 s).
OVERHEAD = 1.4


def _estimate(exp: Any, workers: int) -> str:
    """The time the first replications take, from one timed run of each policy per model (their mean)."""
    from tokensim.api import simulate

    timings = []
    for variant in exp.plan.variants[:: max(1, len(exp.plan.variants) // max(1, len(exp.spec.models)))]:
        for policy in POLICIES:
            start = time.perf_counter()
            simulate(variant.arch, policy, seed=exp.spec.seed, horizon=exp.spec.horizon)
            timings.append(time.perf_counter() - start)
    per_run = OVERHEAD * sum(timings) / len(timings)
    runs = len(exp.runs())
    first = per_run * runs / workers
    most = first * exp.spec.until.max_replications / exp.spec.replications
    return (
        f"{runs} runs first ({exp.spec.replications} replications of {runs // exp.spec.replications} configurations), "
        f"about {_duration(first)} on {workers} worker{'s' if workers != 1 else ''}; replications are added "
        f"where an interval is wider than {exp.spec.until.rel_ci:.0%} of its mean, up to "
        f"{exp.spec.until.max_replications} (at most about {_duration(most)}); then the report"
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 5400:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def advise(
    models: Annotated[list[str], typer.Argument(help="Model files or built-in model names (tokensim models).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the runs (default: results/advise-NAMES).")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="The report file (default: OUT/report.html).")] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Blast radius to stay under (500), or share of bearer's to remove (90%%)."),
    ] = None,
    horizon: Annotated[str, typer.Option("--horizon", help="Simulated time per run.")] = "365d",
    seed: Annotated[int, typer.Option("--seed", help="The seed of every run.")] = 0,
    max_replications: Annotated[
        int, typer.Option("--max-replications", help="Sequential stopping's limit per configuration.")
    ] = MAX_REPLICATIONS,
    rel_ci: Annotated[
        float, typer.Option("--rel-ci", help="Stop when the 95% interval is within this share of the mean.")
    ] = REL_CI,
    jobs: Annotated[int | None, typer.Option("-j", "--jobs", help="Worker processes (default: all cores).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a folder an earlier advise left.")] = False,
) -> None:
    """From model files to the design-review report: the presets x TTL x rotation, run until the intervals are tight."""
    import os

    from tokensim.api import checked
    from tokensim.experiment import Experiment
    from tokensim.model import limits
    from tokensim.report import build_report

    if jobs is not None:
        checked("-j", "jobs", limits.workers, jobs)
    spec = default_experiment(
        models,
        horizon=horizon,
        seed=seed,
        replications=min(FIRST_REPLICATIONS, max(2, max_replications)),
        max_replications=max_replications,
        rel_ci=rel_ci,
    )
    exp = Experiment.from_dict(spec, source="tokensim advise")
    folder = out or Path("results") / folder_name(spec["name"].replace(" ", "-").replace(",", ""))
    page = report or folder / "report.html"
    require_suffix(page, (".html", ".htm"), "the report")
    writable_folder(folder)
    regular_output(page, "--report")
    workers = jobs or os.cpu_count() or 1
    echo(f"advise: {_estimate(exp, workers)}", err=True)
    frame = exp.run(folder, workers=jobs, resume=resume)
    echo(f"wrote {folder} ({len(frame)} runs)", err=True)
    verdicts = Verdicts()
    try:
        path = build_report(
            folder,
            out=page,
            target=target,
            command="tokensim advise " + " ".join(models),
            verdicts=verdicts,
        )
    except InputError:
        raise
    echo(f"wrote {path} (the report)")
    echo(verdicts.text())
