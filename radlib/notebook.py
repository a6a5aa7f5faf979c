"""What the notebooks share: the records they explore, where they write, the lines they print.

* :func:`load_records`: the records of a profile's configuration, from the grid's output
  (``data/processed/<profile>/``) or, when that is absent or of another configuration, from the
  committed copy (``results/<profile>/records.parquet``) when its configuration hash matches; the
  grid runs only when asked, and publishes only when asked. Anything missing is one sentence
  saying what to run (:class:`RecordsUnavailableError`), not a traceback. The line it prints
  says the configuration and the counts, never the file or the machine, so a report page is the
  same whichever copy of the same records it read.
* :func:`load_chance_table`: the chance tests of the sensitivity subset, likewise from the
  committed copy when it matches.
* :func:`profile_line`: the line that opens every notebook; in the smoke profile it says that the
  numbers check the plumbing and are not results.
* :func:`source_line`: where the raw datasets come from, without this machine's paths.
* :func:`skipped_line`: the datasets a run skipped, in one sentence without paths.
* :func:`shown_path`: a written file's path as a notebook prints it (relative to the project root
  where it lies under it, so an output folder elsewhere still prints).

Where a notebook writes is :func:`radlib.outputs.output_folders` (published or scratch); the
build and git tooling of executed notebooks is :mod:`radlib.notebook_files`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from radlib.chance import chance_table
from radlib.config import Config
from radlib.data import datasets_of
from radlib.files import copy_atomically
from radlib.grid import GridResult, publish_run, run_grid
from radlib.outputs import (
    CHANCE_FILE,
    GRID_MANIFEST,
    GRID_RECORDS,
    PUBLISHED_MANIFEST,
    PUBLISHED_RECORDS,
    check_publishable,
)

__all__ = [
    "RecordsUnavailableError",
    "load_records",
    "load_chance_table",
    "records_line",
    "skipped_line",
    "profile_line",
    "source_line",
    "shown_path",
]

#: The profile whose runs check the plumbing only (tiny budgets, a few datasets).
SMOKE_PROFILE = "smoke"
#: The grid's logger, whose per-dataset "dataset skipped" warnings :func:`load_records` folds into one line.
_GRID_LOGGER = "radlib.grid"


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


#: Settings engine v3 added, with the values under which the default specification computes engine v2's
#: records (a v2 manifest lacks them): the stored sample's size does not change the ratio-1 draw, the
#: catalog's extra classifiers are not evaluated, and the predictors are extra columns.
V3_ADDITIONS = {
    "synthesis.max_ratio": None,
    "classifiers.logreg_strong": None,
    "classifiers.hgb": None,
    "evaluation.classifiers": ["logreg", "rf"],
    "evaluation.external_metrics": None,
    "evaluation.predictor_classifiers": None,
}


def _flat(params: Mapping, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, Mapping) and key not in ("params",) and not prefix.startswith("classifiers."):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def computes_same_records(stored_config: Mapping, config: Config) -> bool:
    """Whether a manifest's configuration (an earlier engine's) and ``config`` compute the same default records.

    True when every protocol setting of the stored configuration has the same value now and every
    setting it lacks is one of :data:`V3_ADDITIONS` at a value that keeps the records (``None``: any).
    """
    stored = _flat({k: v for k, v in stored_config.items() if k in config.protocol})
    current = _flat(config.protocol)
    if any(current.get(key, object()) != value for key, value in stored.items()):
        return False
    for key in set(current) - set(stored):
        if key not in V3_ADDITIONS or V3_ADDITIONS[key] not in (None, current[key]):
            return False
    return True


def records_line(records: pd.DataFrame, manifest: Mapping) -> str:
    """The line that says which records a notebook uses: configuration, records, tasks, evaluations.

    The same for the grid's output and the committed copy of the same records: it names no file.

    >>> records_line(pd.DataFrame({"arm": ["real"] * 3}), {"config_hash": "abc", "tasks_ok": 2, "tasks_total": 2,
    ...                                                    "external_folds": 6})
    'records: configuration abc, 3 records (2 of 2 tasks, 6 external evaluations)'
    """
    return (
        f"records: configuration {manifest['config_hash']}, {len(records)} records "
        f"({manifest['tasks_ok']} of {manifest['tasks_total']} tasks, {manifest['external_folds']} external evaluations)"
    )


def skipped_line(manifest: Mapping) -> str:
    """The datasets the run skipped, by name, in one sentence (their reasons, with local paths, are notebook 01's).

    >>> skipped_line({"datasets_requested": 4, "datasets_skipped": {"B": "no file", "A": "no file"}})
    '2 of 4 datasets skipped, not available here: A, B (notebook 01 lists why)'
    >>> skipped_line({"datasets_requested": 4, "datasets_skipped": {}})
    'no dataset skipped (4 requested)'
    """
    skipped = sorted(manifest.get("datasets_skipped") or {})
    requested = manifest.get("datasets_requested")
    if not skipped:
        return f"no dataset skipped ({requested} requested)"
    return (
        f"{len(skipped)} of {requested} datasets skipped, not available here: {', '.join(skipped)} "
        "(notebook 01 lists why)"
    )


class _DropSkippedDatasets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("dataset skipped")


@contextmanager
def _skipped_datasets_in_one_line() -> Iterator[None]:
    """The grid's "dataset skipped" warnings held back: :func:`skipped_line` says them once, from the manifest."""
    logger, held_back = logging.getLogger(_GRID_LOGGER), _DropSkippedDatasets()
    logger.addFilter(held_back)
    try:
        yield
    finally:
        logger.removeFilter(held_back)


def load_records(
    config: Config, *, recompute: bool = False, publish: bool = False, show_progress: bool = True
) -> GridResult:
    """The records of ``config``: the grid's output, else the committed copy; the grid runs only when asked.

    Without ``recompute`` the records are read from ``<processed>/results.parquet`` (what
    :func:`radlib.grid.run_grid` wrote) when its manifest has the configuration's hash, else from
    the committed copy ``<tables>/records.parquet`` (:func:`radlib.grid.publish_records`) when its
    hash matches. Records of another configuration are never used. Prints :func:`records_line`.

    Parameters
    ----------
    config : Config
    recompute : bool
        Run the grid (finished tasks are reused, so only missing ones are computed).
    publish : bool
        With ``recompute``: copy the records to the profile's results folder (the committed
        study; :func:`radlib.outputs.check_publishable` first), and every other specification's
        records (:func:`radlib.grid.publish_specifications`).
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
    if recompute:
        if publish:
            check_publishable(config)
        with _skipped_datasets_in_one_line():
            result = run_grid(config, show_progress=show_progress)
        if publish:
            publish_run(result, config)
        print(records_line(result.records, result.manifest))
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
        manifest = json.loads(manifest_path.read_text())
        if stored != config.hash and not computes_same_records(manifest.get("config", {}), config):
            others.append(f"{label} {shown_path(records_path, config)} are of configuration {stored}")
            continue
        records = pd.read_parquet(records_path)
        hashes = sorted(records["config_hash"].unique()) if "config_hash" in records else []
        if hashes != [stored]:
            raise RecordsUnavailableError(
                f"{shown_path(records_path, config)} holds records of configuration(s) {hashes}, "
                f"not {stored} as its manifest says; {_what_to_run(config)}"
            )
        if stored != config.hash:
            print(
                f"records of configuration {stored} (an earlier engine), whose settings configuration "
                f"{config.hash} keeps: the same default records"
            )
        print(records_line(records, manifest))
        return GridResult(records, manifest, records_path, manifest_path)
    found = f": {' and '.join(others)}" if others else " yet"
    raise RecordsUnavailableError(
        f"No records of the {config.profile} profile's configuration {config.hash}{found}; "
        f"{_what_to_run(config)} first."
    )


def load_chance_table(config: Config, *, publish: bool = False) -> pd.DataFrame:
    """The chance tests of the sensitivity subset (:func:`radlib.chance.chance_table`).

    When the interim cache lacks the table, the committed copy ``<tables>/chance.parquet`` is put
    in its place; :func:`radlib.chance.chance_table` then uses it only if its chance key
    (:func:`radlib.chance.chance_key`) matches and recomputes otherwise (from the raw data). With ``publish`` the table in use is
    published to the results folder, next to the records it goes with.
    """
    cached, committed = config.path("interim") / CHANCE_FILE, config.path("tables") / CHANCE_FILE
    if not cached.exists() and committed.exists():
        copy_atomically(committed, cached)
    table = chance_table(config)
    if publish:
        check_publishable(config)
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


def source_line(config: Config) -> str:
    """Where the raw datasets are read from, in words: the mirror, the cache, a download; no path of this machine.

    The mirror's folder is this machine's (``data.mirror_dir`` or ``$RADLIB_RADMLBENCH_DIR``), so a
    report page names the setting, not the folder.
    """
    places = ["a local radMLBench mirror (data.mirror_dir)"] if config.mirror_dir is not None else []
    places.append(f"the cache {config['paths']['raw']}/")
    download = "downloads on" if config["data"]["download"] else "downloads off"
    return f"raw data: {', then '.join(places)}; {download}"
