"""Running planned runs: cut them into tasks, hand them to an executor, store the rows in atomic chunks.

Shared by sweeps (`runner.Experiment`) and policy searches (`tokensim.search`): the rows reach the
`ResultStore` at least every 500 rows or 2 seconds, and on Ctrl-C (or any error) the rows that
finished are stored before the error goes on.
"""

from __future__ import annotations

import time
from contextlib import closing

from tokensim.display import shorten, terminal_text
from tokensim.experiment.executors import TaskExecutor
from tokensim.experiment.plan import Plan, Run
from tokensim.experiment.store import ResultStore
from tokensim.experiment.tasks import Row, make_tasks


def execute(
    plan: Plan,
    runs: list[Run],
    backend: TaskExecutor,
    store: ResultStore | None,
    *,
    progress: bool = True,
    name: str | None = None,
) -> list[Row]:
    """Run ``runs`` of ``plan`` on ``backend`` and store their rows; on Ctrl-C, store what finished and stop.

    ``name`` labels the progress bar (default: the plan's experiment name).
    """
    if not runs:
        return []
    tasks = make_tasks(plan, runs, backend.parallelism)
    from tqdm.auto import tqdm  # loaded when a sweep runs: it imports asyncio (~40 ms on `import tokensim`)

    # a name is text: no control characters on the terminal
    desc = terminal_text(shorten(plan.spec.name if name is None else name, 40))
    bar = tqdm(total=len(runs), unit="run", desc=desc, disable=not progress, smoothing=0.1)
    buffer: list[Row] = []
    done: list[Row] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal buffer, last_flush
        # Take the rows out of the buffer first: a Ctrl-C after the chunk is renamed into
        # place must not make the handler below write the same rows a second time.
        chunk, buffer = buffer, []
        if store is not None:
            store.append(chunk)
        done.extend(chunk)
        last_flush = time.monotonic()

    try:
        with closing(backend.completed(tasks)) as results:  # closing cancels the tasks not yet started
            for chunk in results:
                buffer.extend(chunk)
                bar.update(len(chunk))
                if len(buffer) >= 500 or time.monotonic() - last_flush > 2.0:
                    flush()
        flush()
    except BaseException:
        flush()
        raise
    finally:
        bar.close()
    return done
