"""What the notebooks share: the records they explore, the profile line, clean outputs, git's view of a save.

* :func:`load_records`: the records of a profile's configuration, from the grid's output
  (``data/processed/<profile>/``) or, when that is absent or of another configuration, from the
  committed copy (``results/<profile>/records.parquet``) when its configuration hash matches; the
  grid runs only when asked. Anything missing is one sentence saying what to run
  (:class:`RecordsUnavailableError`), not a traceback.
* :func:`load_chance_table`: the chance tests of the sensitivity subset, likewise from the
  committed copy when it matches.
* :func:`profile_line`: the line that opens every notebook; in the smoke profile it says that the
  numbers check the plumbing and are not results.
* :func:`output_problems`: what a cell's outputs may not hold (an error, stderr, a stray bare
  result); the notebook tests and ``make check-lab`` use it.
* :func:`shown_path`: a written file's path as a notebook prints it (relative to the project root
  where it lies under it, so an output folder elsewhere still prints).
* :func:`settle_injected_cell`: gives papermill's injected parameters cell a fixed id, so an
  executed notebook and its report page are the same bytes on every run.
* :func:`refresh_git_index`: a Jupyter post-save hook (``make lab``) that keeps ``git status``
  clean when Lab saves outputs into a tracked notebook.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pandas as pd

from radlib.config import Config
from radlib.data import datasets_of
from radlib.files import copy_atomically

if TYPE_CHECKING:
    from radlib.grid import GridResult

__all__ = [
    "RecordsUnavailableError",
    "load_records",
    "load_chance_table",
    "profile_line",
    "output_problems",
    "DISPLAY_TYPES",
    "refresh_git_index",
    "settle_injected_cell",
    "shown_path",
]

log = logging.getLogger(__name__)

#: The grid's own output in ``<processed>`` (:func:`radlib.grid.run_grid`).
GRID_RECORDS = "results.parquet"
GRID_MANIFEST = "manifest.json"
#: The profile whose runs check the plumbing only (tiny budgets, a few datasets).
SMOKE_PROFILE = "smoke"
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


class RecordsUnavailableError(FileNotFoundError):
    """No records of the configuration are at hand; the message says what to run.

    In a notebook the message is shown alone, without a traceback (IPython's
    ``_render_traceback_``): it is the whole story.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def shown_path(path: Path, config: Config) -> str:
    """``path`` relative to the project root where it lies under it (how notebooks print what they wrote), else in full."""
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


def _what_to_run(config: Config) -> str:
    return f"run `make grid PROFILE={config.profile}` (or notebook 04 with recompute = True)"


def _stored_hash(records_path: Path, manifest_path: Path) -> str | None:
    """The configuration hash of stored records per their manifest; None when either file is missing."""
    if not (records_path.is_file() and manifest_path.is_file()):
        return None
    try:
        return str(json.loads(manifest_path.read_text())["config_hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordsUnavailableError(f"the manifest {manifest_path} is unreadable ({exc})") from exc


def load_records(config: Config, recompute: bool = False, show_progress: bool = True) -> GridResult:
    """The records of ``config``: the grid's output, else the committed copy; the grid runs only when asked.

    Without ``recompute`` the records are read from ``<processed>/results.parquet`` (what
    :func:`radlib.grid.run_grid` wrote) when its manifest has the configuration's hash, else from
    the committed copy ``<tables>/records.parquet`` (:func:`radlib.grid.publish_records`) when its
    hash matches. Records of another configuration are never used. Prints one line saying which
    records were used.

    Parameters
    ----------
    config : Config
    recompute : bool
        Run the grid (finished tasks are reused, so only missing ones are computed) and publish
        its records to the profile's results folder.
    show_progress : bool
        The grid's progress bar (with ``recompute``).

    Returns
    -------
    GridResult
        The records, their manifest, and the paths they were read from.

    Raises
    ------
    RecordsUnavailableError
        No records of the configuration: the message says what was found and what to run.
    """
    # radlib.grid pulls in the generators (torch): imported here, so the module's quick helpers
    # (settle_injected_cell, which `make` runs after each notebook) stay quick.
    from radlib.grid import PUBLISHED_MANIFEST, PUBLISHED_RECORDS, GridResult, publish_records, run_grid

    if recompute:
        result = run_grid(config, show_progress=show_progress)
        published = publish_records(result, config)
        print(
            f"records: {shown_path(result.results_path, config)}, computed now ({result.summary()}); "
            f"published to {shown_path(published[0].parent, config)}/"
        )
        return result
    processed, tables = config.path("processed"), config.path("tables")
    sources = {
        "the grid's output": (processed / GRID_RECORDS, processed / GRID_MANIFEST),
        "the committed records": (tables / PUBLISHED_RECORDS, tables / PUBLISHED_MANIFEST),
    }
    others = []
    for label, (records_path, manifest_path) in sources.items():
        stored = _stored_hash(records_path, manifest_path)
        if stored is None:
            continue
        if stored != config.hash:
            others.append(f"{label} {shown_path(records_path, config)} are of configuration {stored}")
            continue
        records = pd.read_parquet(records_path)
        hashes = sorted(records["config_hash"].unique()) if "config_hash" in records else []
        if hashes != [config.hash]:
            raise RecordsUnavailableError(
                f"{shown_path(records_path, config)} holds records of configuration(s) {hashes}, "
                f"not {config.hash} as its manifest says; {_what_to_run(config)}"
            )
        skipped = f" ({others[0]})" if others else ""
        print(f"records: {shown_path(records_path, config)}, {label} of configuration {config.hash}{skipped}")
        return GridResult(records, json.loads(manifest_path.read_text()), records_path, manifest_path)
    found = f": {' and '.join(others)}" if others else " yet"
    raise RecordsUnavailableError(
        f"No records of the {config.profile} profile's configuration {config.hash}{found}; "
        f"{_what_to_run(config)} first."
    )


def load_chance_table(config: Config) -> pd.DataFrame:
    """The chance tests of the sensitivity subset (:func:`radlib.analysis.chance_table`), published.

    When the interim cache lacks the table, the committed copy ``<tables>/chance.parquet`` is put
    in its place; :func:`radlib.analysis.chance_table` then uses it only if its configuration hash
    matches and recomputes otherwise (from the raw data). The table in use is published to the
    results folder, next to the records it goes with.
    """
    from radlib.analysis import CHANCE_FILE, chance_table

    cached, committed = config.path("interim") / CHANCE_FILE, config.path("tables") / CHANCE_FILE
    if not cached.exists() and committed.exists():
        copy_atomically(committed, cached)
    table = chance_table(config)
    copy_atomically(cached, committed)
    return table


def profile_line(config: Config) -> str:
    """The line that opens a notebook: the profile and its configuration; for smoke, that it checks the plumbing."""
    line = f"profile {config.profile}, configuration {config.hash}"
    if config.profile != SMOKE_PROFILE:
        return line
    return (
        f"{line}. SMOKE PROFILE: {len(datasets_of(config))} small datasets × {config['repetitions']} repetitions "
        'with tiny training budgets check the plumbing; the numbers are not results (profile = "full" gives them).'
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
