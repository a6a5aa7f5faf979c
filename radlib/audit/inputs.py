"""The user's inputs to an audit: table files, read and checked, and plug-ins.

Bad input
---------
Every problem with a table is a :class:`radlib.data.DataError` naming the file and the
problem, raised before any training (see :func:`load_table`); columns that cannot be used
(non-numeric, all missing, constant) are dropped and listed, pyradiomics' ``diagnostics_*``
columns are excluded and listed, ±inf and extreme values become missing and are counted,
repeated rows are dropped and listed, and a numeric column that looks like a patient
identifier is an error unless ``--id`` drops it or ``--keep`` keeps it. A patient ID on more
than one row is an error unless ``--first-row-per-id`` keeps each patient's first row. A
class with fewer than :data:`MIN_CLASS_ROWS` rows is an error. A feature that alone
separates the classes (:data:`SEPARATING_AUC`) is reported as a warning.

Plug-ins
--------
:func:`load_plugin` imports a user module (a ``.py`` file or an importable module name)
that calls :func:`radlib.generators.register` and/or :func:`radlib.quality.register_metric`.
In a parallel run every Dask worker process runs the same plug-in code
(:class:`PluginLoader`, a Dask ``WorkerPlugin``), on a local cluster and on an existing
one alike.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from radlib.data import EXTREME_MAGNITUDE, DataError, Dataset, clean_table, read_table

__all__ = [
    "MIN_CLASS_ROWS",
    "SEPARATING_AUC",
    "DIAGNOSTICS_PREFIX",
    "separating_features",
    "MAX_NAME_BYTES",
    "TABLE_SUFFIXES",
    "AuditError",
    "table_name",
    "find_tables",
    "load_table",
    "describe_dataset",
    "load_plugin",
    "PluginLoader",
]

#: Fewest rows a class may have. With the default external fraction of 0.3 a class of 10
#: puts about 3 patients at the external site and keeps 7 for training; with 5 it would
#: be 1-2 external patients (an AUC that rests on one or two people, and about one
#: repetition in six with no patient of the class at all, an undefined AUC) and 3-4
#: training rows for a generator to learn the class from.
MIN_CLASS_ROWS = 10
#: File name endings read as tables (a folder is searched for these, not recursively).
TABLE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet")
#: Longest dataset name, in UTF-8 bytes, taken from a file name (:func:`table_name`).
MAX_NAME_BYTES = 100
_PLUGIN_PREFIX = "radlib_plugin_"
#: Single-feature AUC (either direction) from which a feature is said to separate the classes
#: alone: a copy of the outcome, or a measurement taken after it, rather than a predictor.
SEPARATING_AUC = 0.99
#: pyradiomics' diagnostic columns (versions, hashes, settings, image and mask statistics):
#: a description of the extraction, not features of the patient; excluded and listed.
DIAGNOSTICS_PREFIX = "diagnostics_"


class AuditError(ValueError):
    """A request ``radlib audit`` cannot run: no tables, clashing names, a broken plug-in."""


# --- tables ------------------------------------------------------------------------------


def table_name(path: str | Path) -> str:
    """The dataset name of a table file: its name without ``.csv``, ``.csv.gz``, ``.gz``, ``.parquet``.

    The name keys the records and enters file names (a task file is
    ``<name>__<fingerprint>__r<repetition>.parquet``), so a name longer than
    :data:`MAX_NAME_BYTES` (UTF-8) is cut and ends with ``~`` and 8 hex digits of SHA-256 of
    the whole name: distinct files keep distinct names, and every file name stays under the
    file system's 255 bytes. The file itself is named in the cleaning report.
    """
    name = Path(path).name
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    else:
        name = Path(path).stem
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name.encode()[: MAX_NAME_BYTES - 9].decode(errors="ignore")  # never half a character
    return f"{head}~{digest}"


def find_tables(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into the list of table files, in the order given.

    A folder contributes its files ending in one of :data:`TABLE_SUFFIXES` (sorted by
    name; sub-folders are not searched). A file is taken whatever its ending.

    Raises
    ------
    DataError
        A path that does not exist, a folder without tables, or no path at all.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            tables = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES))
            if not tables:
                raise DataError(f"folder {path} holds no table (files ending in {', '.join(TABLE_SUFFIXES)})")
            found.extend(tables)
        elif path.exists():
            found.append(path)
        else:
            raise DataError(f"file {path} does not exist")
    if not found:
        raise DataError("no table given")
    names = [table_name(p) for p in found]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise AuditError(
            f"tables must have distinct names (they name the dataset in the records); "
            f"{', '.join(clashes)} occur more than once: "
            + ", ".join(str(p) for p in found if table_name(p) in clashes)
        )
    return found


def load_table(
    path: str | Path,
    target: str,
    id_column: str | Sequence[str] | None = None,
    min_class_rows: int = MIN_CLASS_ROWS,
    positive_class: str | None = None,
    keep: Sequence[str] = (),
    first_row_per_id: bool = False,
) -> Dataset:
    """Read and clean one table for the audit; every problem is a clear :class:`DataError`.

    Reading (:func:`radlib.data.read_table`): an empty file, a header without rows, a
    truncated gzip file, a file that is not text (or not Parquet), duplicate column names.
    Cleaning (:func:`radlib.data.clean_table`, docs/protocol.md, step 1): the target must exist
    (the error lists the columns) and hold exactly two values (0/1, True/False or "0"/"1";
    any other two with ``positive_class``); non-numeric, all-missing and constant feature
    columns are dropped and listed in ``Dataset.report``; ±inf and values beyond
    :data:`radlib.data.EXTREME_MAGNITUDE` become missing (counted); a numeric column that
    looks like a patient identifier is refused unless dropped (``id_column``) or kept
    (``keep``); repeated rows are dropped (listed), so that no patient is both a training
    and an external row; pyradiomics' ``diagnostics_*`` columns are excluded (listed). Then
    each class needs at least ``min_class_rows`` rows (:data:`MIN_CLASS_ROWS`). A value of an
    ID column on more than one row (the same patient twice, with slightly different
    features) is refused, or with ``first_row_per_id`` each ID's first row is kept and the
    others are dropped (listed in ``report["repeated_id_rows"]``). Features that alone
    separate the classes are listed in ``report["separating_features"]`` (a warning).

    Any number of features is accepted: the development pipeline keeps the top
    ``features.k`` by ANOVA F on the internal set, so 20,000 features cost memory for the
    table itself (n x p floats), not more.

    Parameters
    ----------
    path : path
        CSV, gzip-compressed CSV or Parquet file.
    target : str
        The binary outcome column.
    id_column : str or sequence of str, optional
        Patient identifier column(s) to drop. When not given, a column named ``ID`` is
        dropped (the radMLBench convention).
    min_class_rows : int
    positive_class : str, optional
        The target value coded 1 when the target is not 0/1, True/False or "0"/"1".
    keep : sequence of str
        Columns that look like identifiers but are features.
    first_row_per_id : bool
        Keep each ID's first row when an ID occurs on several rows (else refused).

    Returns
    -------
    Dataset
        Named by :func:`table_name`; ``report["source"]`` is the file.
    """
    path = Path(path)
    name = table_name(path)
    frame = read_table(path)
    columns = [str(c) for c in frame.columns]
    ids = [id_column] if isinstance(id_column, str) else list(id_column or ())
    named = [("target", target)] + [("ID", c) for c in ids] + [("kept", c) for c in keep]
    for role, column in named:
        if column not in columns:
            shown = ", ".join(columns[:30]) + (f", ... ({len(columns)} in all)" if len(columns) > 30 else "")
            hint = ""
            if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
                hint = " (a single column: the file may use ';' or tabs as separator; save it comma-separated)"
            raise DataError(f"table {path}: {role} column '{column}' not found; the columns are: {shown}{hint}")
    ids = ids or [c for c in ("ID",) if c in columns]
    # An ID column that is also the target or kept is a clash that clean_table names; not checked for repeats here.
    repeated = _repeated_ids(frame, [c for c in ids if c != target and c not in keep])
    if repeated and not first_row_per_id:
        column, value, rows = repeated[0]
        n_rows = sum(len(r) - 1 for _, _, r in repeated)
        raise DataError(
            f"table {path}: {n_rows} row(s) repeat a patient ID (e.g. {column} {value!r} on rows "
            f"{', '.join(map(str, rows[:5]))}), so the same patient could sit in the training and the simulated "
            "external set; keep one row per patient with --first-row-per-id (each ID's first row, the others "
            "listed), or merge the rows yourself"
        )
    dropped_rows = sorted({(row, r[0]) for _, _, r in repeated for row in r[1:]})
    if dropped_rows:
        frame = frame.drop(index=frame.index[[row - 1 for row, _ in dropped_rows]]).reset_index(drop=True)
    dataset = clean_table(
        frame,
        name,
        target=target,
        id_column=ids,
        source=path,
        positive_class=positive_class,
        keep=keep,
        drop_duplicates=True,
        excluded_prefixes=(DIAGNOSTICS_PREFIX,),
    )
    dataset.report["n_raw"] += len(dropped_rows)
    dataset.report["repeated_id_rows"] = [list(pair) for pair in dropped_rows]
    dataset.report["separating_features"] = separating_features(dataset)
    counts = np.bincount(dataset.y, minlength=2)
    if counts.min() < min_class_rows:
        small = int(np.argmin(counts))
        raise DataError(
            f"table {path}: class {small} of '{target}' has {counts[small]} rows (class {1 - small}: "
            f"{counts[1 - small]}); the audit needs at least {min_class_rows} rows per class, so that the "
            "simulated external site and the training set both hold patients of each class"
        )
    return dataset


def _repeated_ids(frame: pd.DataFrame, ids: Sequence[str]) -> list[tuple[str, object, list[int]]]:
    """(ID column, value, its rows) for every ID value on more than one row; rows are 1-based data rows.

    Missing IDs are not compared.
    """
    found = []
    for column in ids:
        values = frame[column]
        repeated = values[values.notna() & values.duplicated(keep=False)]
        for value, rows in repeated.groupby(repeated, sort=False).groups.items():
            found.append((column, value.item() if hasattr(value, "item") else value, [int(r) + 1 for r in rows]))
    return found


def separating_features(dataset: Dataset, threshold: float = SEPARATING_AUC) -> dict[str, float]:
    """Features whose values alone separate the classes: single-feature AUC >= ``threshold`` either way.

    The AUC of each feature as a score for class 1 (ties count half, missing values left
    out), folded to ``max(AUC, 1 - AUC)``. Such a feature is a copy of the outcome, or
    measured after it: the real-only AUC will be near 1 and no augmentation can help.

    Returns
    -------
    dict
        Feature name -> folded AUC (4 decimals), in the order of the features.
    """
    found = {}
    for j, name in enumerate(dataset.feature_names):
        present = np.isfinite(dataset.X[:, j])
        y = dataset.y[present]
        n_positive = int(y.sum())
        n_negative = len(y) - n_positive
        if not n_positive or not n_negative:
            continue
        ranks = stats.rankdata(dataset.X[present, j])
        auc = (ranks[y == 1].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)
        folded = max(auc, 1 - auc)
        if folded >= threshold:
            found[name] = round(float(folded), 4)
    return found


def _listed(names: Sequence, limit: int = 10) -> str:
    return ", ".join(map(str, names[:limit])) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def describe_dataset(dataset: Dataset) -> str:
    """One paragraph on what cleaning kept, dropped and changed (for the console and the verdict)."""
    rep = dataset.report
    counts = np.bincount(dataset.y, minlength=2)
    positive = f"; positive class (1): {rep['positive_class']}" if rep.get("positive_class") is not None else ""
    lines = [
        f"{dataset.name}: {dataset.n} patients ({counts[0]} of class 0, {counts[1]} of class 1{positive}), "
        f"{dataset.p} of {rep.get('p_raw', dataset.p)} feature columns used"
    ]
    if rep.get("source") and not Path(rep["source"]).name.startswith(dataset.name):
        lines.append(f"  name shortened from the file {Path(rep['source']).name}")
    if rep.get("id_columns"):
        lines.append(f"  ID column(s) dropped: {_listed(rep['id_columns'])}")
    if rep.get("kept_identifier_like"):
        lines.append(
            f"  kept as features (--keep) although they look like identifiers: {_listed(rep['kept_identifier_like'])}"
        )
    for column, auc in rep.get("separating_features", {}).items():
        lines.append(
            f"  warning: {column} alone separates the classes (AUC {auc:.3f}): a copy of the outcome, or measured "
            "after it? The real-only AUC will be near 1 and no synthetic data can improve it"
        )
    repeated_ids = rep.get("repeated_id_rows", [])
    if repeated_ids:
        pairs = [f"{row} (= row {first})" for row, first in repeated_ids]
        lines.append(
            f"  {len(repeated_ids)} rows of a patient ID seen before dropped (--first-row-per-id): {_listed(pairs)}"
        )
    excluded = rep.get("dropped", {}).get("excluded", [])
    if excluded:
        lines.append(
            f"  excluded {len(excluded)} {DIAGNOSTICS_PREFIX}* columns (pyradiomics' versions, settings, image and "
            f"mask statistics; not features): {_listed(excluded)}"
        )
    reasons = {"non_numeric": "non-numeric", "all_missing": "all missing", "constant": "constant"}
    for key, text in reasons.items():
        dropped = rep.get("dropped", {}).get(key, [])
        if dropped:
            lines.append(f"  dropped {len(dropped)} {text}: {_listed(dropped)}")
    repeats = rep.get("duplicate_rows", [])
    if repeats:
        action = "dropped" if rep.get("duplicate_rows_dropped") else "kept"
        pairs = [f"{row} (= row {first})" for row, first in repeats]
        lines.append(f"  {len(repeats)} repeated rows {action}: {_listed(pairs)}")
    if rep.get("infinite_values"):
        lines.append(f"  {rep['infinite_values']} infinite values set to missing")
    if rep.get("extreme_values"):
        lines.append(
            f"  {rep['extreme_values']} values beyond ±{EXTREME_MAGNITUDE:g} set to missing, in "
            f"{_listed(rep['extreme_value_columns'])}"
        )
    if rep.get("missing_values"):
        lines.append(f"  {rep['missing_values']} missing values (imputed with the internal-set median)")
    return "\n".join(lines)


# --- plug-ins ----------------------------------------------------------------------------


def _plugin_spec(spec: str) -> tuple[str, str | None, str | None]:
    """(module name, source or None, file or None) of a plug-in given as a file or a module."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise AuditError(f"plug-in file {path} does not exist")
        stem = "".join(c if c.isalnum() else "_" for c in path.stem)
        return _PLUGIN_PREFIX + stem, path.read_text(), str(path.resolve())
    return spec, None, None


def _install(module_name: str, source: str | None, filename: str | None) -> types.ModuleType:
    """Import a plug-in in this process, once (a second call with the same source is a no-op)."""
    if source is None:
        return importlib.import_module(module_name)
    loaded = sys.modules.get(module_name)
    if loaded is not None and getattr(loaded, "__radlib_plugin_source__", None) == source:
        return loaded
    module = types.ModuleType(module_name)
    module.__file__ = filename
    setattr(module, "__radlib_plugin_source__", source)  # noqa: B010 - a module attribute of radlib's own
    sys.modules[module_name] = module
    try:
        exec(compile(source, filename or module_name, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_plugin(spec: str) -> types.ModuleType:
    """Import a plug-in that registers generators and/or metrics.

    Parameters
    ----------
    spec : str
        A path to a ``.py`` file (imported as module ``radlib_plugin_<stem>``), or the
        dotted name of an importable module (installed, or on ``PYTHONPATH``).

    Returns
    -------
    module

    Raises
    ------
    AuditError
        The file does not exist, the module cannot be found, or importing it raised
        (the message carries the error).
    """
    name, source, filename = _plugin_spec(spec)
    try:
        return _install(name, source, filename)
    except ModuleNotFoundError as exc:
        if source is None and exc.name == name.split(".")[0]:
            raise AuditError(
                f"plug-in module '{spec}' not found; give the path of a .py file, or make the "
                "module importable (install it, or add its folder to PYTHONPATH)"
            ) from exc
        raise AuditError(f"plug-in {spec} failed to load: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise AuditError(f"plug-in {spec} failed to load: {type(exc).__name__}: {exc}") from exc


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask[distributed] is a dependency
    _WorkerPlugin = object  # type: ignore[misc,assignment]


class PluginLoader(_WorkerPlugin):
    """A Dask worker plug-in that imports the audit's plug-ins in every worker process.

    Registered on the scheduler (``client.register_plugin``), it runs in every worker that
    is connected now or joins later (a restarted or replacement worker too). A ``.py``
    plug-in travels as its source text, so workers need no shared file system; a module
    plug-in is imported by name and must be importable on the workers.
    """

    name = "radlib-plugins"

    def __init__(self, specs: Sequence[str]):
        self.plugins = [_plugin_spec(spec) for spec in specs]

    def setup(self, worker=None) -> None:
        """Import the plug-ins in the worker (Dask calls this once per worker)."""
        for module_name, source, filename in self.plugins:
            _install(module_name, source, filename)
