"""The search: optuna proposes candidates a generation at a time, tokensim runs them, then refines.

1. The presets named in the file run first, on the same common random numbers as every candidate.
2. Each generation, optuna's sampler (NSGA-II by default) asks for ``population`` points of the
   space; each point's policy runs ``replications`` paired replications; optuna is told the mean
   cost and harm of exactly those replications, so what it learns never depends on refinement.
3. Once the budget is spent, the candidates still contending for the front get more replications
   (noisy objectives; `refine`): a candidate contends unless another, at most as costly, has less harm
   with confidence on their paired differences.

Every step is a function of the seed and of the rows, which are a function of the seed: a search
killed and resumed (its rows come back from the store) asks the same points and ends with the
same front, on every executor.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import JsonValue

from tokensim._version import SEMANTICS, __version__
from tokensim.errors import InputError
from tokensim.experiment.executors import open_executor
from tokensim.experiment.inputs import inputs_hash, manifest_inputs
from tokensim.experiment.plan import build_plan
from tokensim.experiment.spec import ExperimentFile
from tokensim.experiment.store import ResultStore
from tokensim.experiment.validation import resolve
from tokensim.model.loading import read_document, validate_as
from tokensim.search.checks import check_search, renamed
from tokensim.search.evaluate import Evaluator
from tokensim.search.refine import refine
from tokensim.search.result import SearchResult, summarise_search
from tokensim.search.space import Candidate, candidate, distributions, settings_of
from tokensim.search.spec import SearchFile

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import optuna
    from distributed import Client


#: What a missing optional dependency of the `decide` extra says.
DECIDE_EXTRA = "{what} needs the decide extra: pip install 'tokensim[decide]' (optuna, ema_workbench)"


def load_search(path: str | Path) -> tuple[SearchFile, str, str]:
    """A search file validated (units required, as in experiment files), its source name and its text."""
    data, source = read_document(path)
    return validate_as(SearchFile, data, source, units_required=True), source, Path(path).read_text(encoding="utf-8")


def search_hash(spec: SearchFile) -> str:
    """A stable hash of what the search computes: the output folder, the budget, the target and the
    description excluded (a larger budget continues the same search; the target only decides the answer
    among the front; a description is words)."""
    data = spec.model_dump(mode="json", exclude={"out", "budget", "target", "description"})
    # the space's order is the order optuna samples in: part of what the search computes
    payload = json.dumps({"search": data, "space_order": list(spec.space)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def optimize(
    search: SearchFile | str | Path,
    *,
    model: str | None = None,
    out: str | Path | None = None,
    target: float | None = None,
    budget: int | None = None,
    executor: Executor | Client | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> SearchResult:
    """Search the policy space of a search file (or `SearchFile`) for the front of cost against harm.

    ``model``, ``target`` and ``budget`` override the file's. Results go to ``out`` (default: the file's
    ``out``; None and no ``out``: kept in memory only) in the same crash-safe store as a sweep's;
    with ``resume`` a killed search continues where it stopped. ``executor``/``workers`` as for
    `Experiment.run`. Returns the front, the cheapest candidate meeting the target with its
    interval, and the best preset on the same runs (`SearchResult`).
    """
    if importlib.util.find_spec("optuna") is None:  # before any file is read or folder made
        raise InputError.single("optuna", "", DECIDE_EXTRA.format(what="a policy search"))
    if isinstance(search, SearchFile):
        spec, source, text = search, "<python>", json.dumps(search.model_dump(mode="json"), indent=2)
    else:
        spec, source, text = load_search(search)
    updates = {k: v for k, v in (("model", model), ("target", target), ("budget", budget)) if v is not None}
    if updates:
        spec = validate_as(SearchFile, {**spec.model_dump(mode="python"), **updates}, source)
    if spec.model is None:
        raise InputError.single(source, "model", "no model to search on: name one in the file or as MODEL")
    experiment = _experiment(spec)
    try:
        inputs = resolve(experiment, source, units_required=False)
    except InputError as err:
        raise renamed(err, spec) from None
    check_search(spec, source, inputs, units_required=source != "<python>")
    text = _as_run(spec, text)
    plan = replace(build_plan(experiment, source, inputs), experiment_hash=search_hash(spec))
    folder = out if out is not None else spec.out
    store = ResultStore(folder) if folder is not None else None
    with ExitStack() as held:
        if store is not None:
            held.enter_context(store.writing())
            manifest = _manifest(spec, source, plan.experiment_hash, inputs.digests)
            _same_optuna(store, manifest)
            store.initialise(manifest, text, resume=resume)
        backend = open_executor(executor, workers)
        held.callback(backend.close)
        evaluator = Evaluator(plan, backend, store, spec.cost, spec.harm, cap=spec.max_replications)
        if store is not None:
            evaluator.rows = {
                str(r["run_id"]): {str(k): v for k, v in r.items()} for r in store.load().to_dict("records")
            }
        base, presets = inputs.policies[0], _presets(spec, inputs.policies)
        evaluator.ensure(presets, dict.fromkeys((p.name for p in presets), spec.replications))
        trials, settings = _search(spec, source, base, evaluator, progress)
        replications = refine(spec, evaluator, [p.name for p in presets] + list(dict.fromkeys(trials.values())))
    frame = evaluator.frame(replications)
    policies = {p.name: p for p in inputs.policies} | evaluator.policies
    return summarise_search(spec, frame, trials, [p.name for p in presets], settings, policies)


def _experiment(spec: SearchFile) -> ExperimentFile:
    """The sweep a search is made of: its model, its base policy and presets, seed, horizon and costs."""
    policies = [spec.base, *[p for p in spec.presets if p != spec.base]]
    return ExperimentFile.model_validate(
        {
            "name": spec.name,
            "models": [spec.model],
            "policies": policies,
            "replications": spec.replications,
            "seed": spec.seed,
            "horizon": spec.horizon,
            "costs": spec.costs,
        }
    )


def _presets(spec: SearchFile, policies: tuple[Any, ...]) -> list[Any]:
    """The preset policies compared with the answer (the base counts when the file lists it)."""
    names = [spec.base, *[p for p in spec.presets if p != spec.base]]
    return [pol for name, pol in zip(names, policies) if name in spec.presets]


def _manifest(spec: SearchFile, source: str, digest: str, inputs: tuple[Any, ...]) -> dict[str, JsonValue]:
    """What the folder's manifest.json records (as a sweep's, with ``kind: search``)."""
    return {
        "kind": "search",
        "experiment": spec.name,
        "experiment_hash": digest,
        "inputs": manifest_inputs(inputs),
        "inputs_hash": inputs_hash(digest, inputs),
        "source": source,
        "tokensim_version": __version__,
        "semantics": SEMANTICS,
        "units_required": source != "<python>",
        "optuna_version": _optuna_version(),  # its samplers decide which candidates a resume asks for
    }


def _optuna_version() -> str:
    """The installed optuna's version."""
    from importlib.metadata import version

    return version("optuna")


def _same_optuna(store: ResultStore, manifest: dict[str, JsonValue]) -> None:
    """Refuse to resume a search stored under another optuna: its sampler may ask other candidates."""
    existing = store.manifest() or {}
    written = existing.get("optuna_version")
    if existing.get("kind") == "search" and written is not None and written != manifest["optuna_version"]:
        why = (
            f"holds a search run with optuna {written}; optuna {manifest['optuna_version']} is installed, whose "
            "sampler may ask other candidates; install that version to resume, or search into a new --out folder"
        )
        raise InputError.single(str(store.root), "manifest.json", why)


def _as_run(spec: SearchFile, text: str) -> str:
    """What the folder keeps of the search: the file as written, then the search as run (MODEL, --target and
    --budget applied), so that the folder says what its runs are."""
    import yaml

    ran = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    quoted = "".join(f"# {line}\n" for line in text.splitlines())
    return f"# The search file as written:\n{quoted}# The search as run:\n{ran}"


def _search(
    spec: SearchFile, source: str, base: Any, evaluator: Evaluator, progress: bool
) -> tuple[dict[int, str], dict[str, dict[str, Any]]]:
    """Ask and tell, a generation at a time, until the budget is spent (one progress bar over candidates).

    Returns trial number -> candidate name, and each candidate's settings.
    """
    from tqdm.auto import tqdm

    bar = held = tqdm(total=spec.budget, unit="candidate", desc=spec.name[:40], disable=not progress)
    trials: dict[int, str] = {}
    settings_by_name: dict[str, dict[str, Any]] = {}
    space = distributions(spec)
    with _quiet_optuna(), held:
        study = _study(spec)
        while len(trials) < spec.budget:
            asked = [study.ask(space) for _ in range(min(spec.population, spec.budget - len(trials)))]
            found: list[Candidate] = []
            for trial in asked:
                settings = settings_of(spec, trial.params)
                found.append(candidate(base, settings, f"{source}: space"))
                settings_by_name[found[-1].name] = settings
            unique = list({c.name: c.policy for c in found}.values())
            evaluator.ensure(unique, dict.fromkeys((p.name for p in unique), spec.replications))
            for trial, point in zip(asked, found):
                score = evaluator.score(point.name, spec.replications)
                study.tell(trial, [score.cost, score.harm])
                trials[trial.number] = point.name
            bar.update(len(asked))
    return trials, settings_by_name


def _study(spec: SearchFile) -> optuna.Study:
    """A two-objective study (cost, harm: both minimised) with the file's sampler, seeded."""
    try:
        import optuna
    except ImportError:
        raise InputError.single("optuna", "", DECIDE_EXTRA.format(what="a policy search")) from None

    sampler: optuna.samplers.BaseSampler
    seed = int(np.random.SeedSequence(spec.seed).generate_state(1)[0])  # optuna takes 32 bits; tokensim's seed, 63
    if spec.sampler == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(population_size=spec.population, seed=seed)
    elif spec.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.population, constant_liar=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    return optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """optuna logs every trial and warns of experimental options: silenced here, and restored after."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="optuna")
            yield
    finally:
        logger.setLevel(level)
