"""Executed notebooks as files: clean outputs, a fixed id for papermill's cell, git's view of a save.

The build and git tooling of the notebooks, apart from what the notebooks themselves call
(:mod:`radlib.notebook`), so that ``make`` runs it after each notebook without importing the
study's code.

* :func:`output_problems`: what a cell's outputs may not hold (an error, stderr, a stray bare
  result); the notebook tests and ``make check-lab`` use it.
* :func:`settle_executed_notebook` (``make``, after papermill): :func:`settle_injected_cell` gives
  papermill's injected parameters cell a fixed id, :func:`drop_widget_state` removes the
  ipywidgets state of progress bars and :func:`coalesce_streams` joins the pieces of a cell's
  printed text, so an executed notebook and its report page are the same bytes on every run.
* :func:`refresh_git_index`: a Jupyter post-save hook (``make lab``) that keeps ``git status``
  clean when Lab saves outputs into a tracked notebook.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat

__all__ = [
    "DISPLAY_TYPES",
    "output_problems",
    "refresh_git_index",
    "settle_injected_cell",
    "drop_widget_state",
    "coalesce_streams",
    "settle_executed_notebook",
    "INJECTED_TAG",
]

log = logging.getLogger(__name__)

#: Output types an expression result is meant to show (a table, a figure, text, a widget);
#: a result with none of them (``PosixPath(...)``, ``[<matplotlib...>]``) is stray.
DISPLAY_TYPES = frozenset(
    {
        "text/html",
        "text/markdown",
        "text/latex",
        "image/png",
        "image/jpeg",
        "image/svg+xml",
        "application/pdf",
        "application/vnd.jupyter.widget-view+json",
    }
)


def _first_line(text: str | list[str]) -> str:
    text = "".join(text) if isinstance(text, list) else text
    return next((line for line in text.splitlines() if line.strip()), "")[:160]


def output_problems(outputs: Iterable[Mapping]) -> list[str]:
    """What a cell's outputs (nbformat output dicts) show that a clean run may not.

    An error, any text on stderr (warnings, logging, progress bars that found no widget), and an
    expression result that is not meant as a display: one without any of :data:`DISPLAY_TYPES`
    (only ``text/plain``), such as a stray ``PosixPath(...)``.

    Returns
    -------
    list of str
        One line per problem; empty when the outputs are clean.
    """
    problems = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "error":
            problems.append(f"error {output.get('ename')}: {output.get('evalue')}")
        elif kind == "stream" and output.get("name") == "stderr":
            problems.append(f"stderr: {_first_line(output.get('text', ''))}")
        elif kind == "execute_result" and not DISPLAY_TYPES & set(output.get("data", {})):
            problems.append(f"bare result: {_first_line(output.get('data', {}).get('text/plain', ''))}")
    return problems


def _git(args: list[str], folder: Path) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


def refresh_git_index(os_path: str, **_: object) -> None:
    """Jupyter post-save hook: after a save, let git compare a tracked notebook by content again.

    The notebooks reach git through the nbstripout filter, so a save that only adds outputs
    changes nothing git stores. ``git status`` still lists the file as modified: it trusts a
    changed file size without running the filter (a known limit of git's clean filters;
    ``git diff`` is empty). Re-recording the stored blob (``git update-index --cacheinfo``,
    the same blob, so nothing is staged) clears the size git remembers, and the next
    ``git status`` compares the filtered content. A file outside a repository, untracked, or in
    a merge is left alone; a failure is logged, never raised (a raised error fails the save).

    Parameters
    ----------
    os_path : str
        The saved file (Jupyter passes ``os_path``, ``model`` and ``contents_manager``).
    """
    path = Path(os_path)
    if path.suffix != ".ipynb":
        return
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], path.parent).strip())
        relative = path.resolve().relative_to(top.resolve()).as_posix()
        listed = _git(["ls-files", "--stage", "--", relative], top).splitlines()
        if len(listed) != 1:  # untracked, or the stages of a merge
            return
        mode, blob, _stage = listed[0].split("\t")[0].split()
        _git(["update-index", "--cacheinfo", f"{mode},{blob},{relative}"], top)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        log.warning("could not refresh git's index for %s: %s", path, getattr(exc, "stderr", exc))


INJECTED_TAG = "injected-parameters"


def settle_injected_cell(path: str | Path) -> None:
    """Give the cell papermill injected (tagged ``injected-parameters``) that tag as its id.

    Papermill gives the cell it adds a random id, which the HTML report carries; with a fixed
    id, rerunning ``make figures`` on the same records writes the same report pages (and
    ``git status`` stays clean). A notebook without an injected cell is left untouched.

    Parameters
    ----------
    path : path
        An executed notebook, rewritten in place.
    """
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    injected = [cell for cell in notebook.cells if INJECTED_TAG in cell.get("metadata", {}).get("tags", [])]
    if not injected or all(cell.get("id") == INJECTED_TAG for cell in injected):
        return
    for cell in injected:
        cell["id"] = INJECTED_TAG
    nbformat.write(notebook, path)


#: The output type of an ipywidgets view (a progress bar): its state is the kernel's, not the study's.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_widget_state(notebook: nbformat.NotebookNode) -> bool:
    """Remove the ipywidgets state from ``notebook``: the notebook's ``widgets`` metadata and every widget output.

    A progress bar is the kernel's live state: its model ids change on every run and its text
    (tqdm's) holds the elapsed time, so neither belongs in a page that must be the same bytes on
    every run; the cell's other outputs stay.

    Returns
    -------
    bool
        Whether anything was removed.
    """
    changed = notebook.metadata.pop("widgets", None) is not None
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        kept = [output for output in outputs if WIDGET_VIEW not in output.get("data", {})]
        if len(kept) != len(outputs):
            cell["outputs"] = kept
            changed = True
    return changed


def coalesce_streams(notebook: nbformat.NotebookNode) -> bool:
    """Join consecutive stream outputs of one cell on the same stream (stdout, stderr) into one output.

    How a cell's printed text is cut into stream messages depends on when the kernel flushes
    (a busy machine sends two ``print`` lines as two messages, an idle one as one); a report
    page shows each message as its own block. Joined, the page is the same on every machine.

    Returns
    -------
    bool
        Whether anything was joined.
    """
    changed = False
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        joined: list = []
        for output in outputs:
            previous = joined[-1] if joined else None
            if (
                previous is not None
                and output.get("output_type") == "stream"
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] = "".join(previous["text"]) + "".join(output["text"])
                changed = True
            else:
                joined.append(output)
        if len(joined) != len(outputs):
            cell["outputs"] = joined
    return changed


def settle_executed_notebook(path: str | Path) -> None:
    """Make an executed notebook (``path``, rewritten in place) the same bytes on every run of the same records.

    Papermill's injected cell gets a fixed id (:func:`settle_injected_cell`), the ipywidgets
    state goes (:func:`drop_widget_state`) and a cell's printed text is one output per stream
    (:func:`coalesce_streams`). The Makefile runs this after each notebook.
    """
    settle_injected_cell(path)
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    dropped = drop_widget_state(notebook)
    if coalesce_streams(notebook) or dropped:
        nbformat.write(notebook, path)
