"""Every notebook in notebooks/ runs top to bottom and shows what its prose promises.

Each notebook is executed with nbclient in a fresh kernel of *this* interpreter (a
kernelspec written for sys.executable into a temporary folder, so a stray `python3`
kernel of another installation can never be picked up), in a temporary working
directory, so a notebook cannot depend on files next to it or leave files behind.
A notebook passes when no cell raises and its outputs hold at least one figure
(image/png), one table (a DataFrame's HTML) and one progress bar (a tqdm.auto
widget). The notebooks are stored without outputs, and use only public API.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: Seconds any one cell may take: the slowest cell takes about 20 s on two shared cores.
CELL_TIMEOUT = 300
#: tqdm.auto's notebook progress bar is an ipywidgets view.
WIDGET = "application/vnd.jupyter.widget-view+json"


def outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernelspec manager whose only `python3` kernel runs this interpreter."""
    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(path=str(folder / "python3"))
    manager = KernelSpecManager(kernel_dirs=[str(folder)])
    argv = manager.get_kernel_spec("python3").argv
    assert Path(argv[0]).resolve() == Path(sys.executable).resolve()
    return manager


def test_there_are_the_six_notebooks_the_guide_names():
    names = [path.name for path in NOTEBOOKS]
    for expected in (
        "01_quickstart.ipynb",
        "02_tradeoffs_across_architectures.ipynb",
        "03_rotation_reuse_revocation.ipynb",
        "04_sensitivity.ipynb",
        "05_incident_case_studies.ipynb",
        "06_robust_decisions.ipynb",
    ):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean_and_uses_only_public_api(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), (
        "store notebooks with outputs cleared"
    )
    assert any(cell.cell_type == "markdown" for cell in nb.cells)
    source = "\n".join(cell.source for cell in code)
    private = re.findall(r"tokensim(?:\.\w+)*\._(?!_)\w+|from tokensim(?:\.\w+)* import [^\n]*\b_(?!_)\w+", source)
    assert not private, f"private names used: {private}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, kernels: KernelSpecManager, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name="python3", kernel_spec_manager=kernels),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},  # the working directory of the kernel
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    produced = outputs(nb)
    assert not [out for out in produced if out.output_type == "error"]
    data = [out.get("data", {}) for out in produced if out.output_type in ("execute_result", "display_data")]
    assert any("image/png" in d for d in data), "no figure was displayed"
    assert any("dataframe" in d.get("text/html", "") or "<table" in d.get("text/html", "") for d in data), "no table"
    assert any(WIDGET in d for d in data), "no tqdm.auto progress bar"
    assert not list(tmp_path.iterdir()), "the notebook left files in its working directory"
