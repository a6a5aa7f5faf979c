"""radMLBench datasets: locate, load with radMLBench's own loader, validate and clean.

Where a dataset comes from, in order:

1. the mirror (``data.mirror_dir`` or ``$RADLIB_RADMLBENCH_DIR``), read in place, never written;
2. the project's cache ``paths.raw`` (``data/raw/`` by default);
3. a download by radMLBench into the cache, when ``data.download`` is true.

A dataset found nowhere is *unavailable*, with the reason; stages skip it and report
the count. Cleaning follows docs/protocol.md, step 1, and keeps a report of every dropped column.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
import hashlib
import io
import logging
import os
import re
import shlex
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from radlib.config import Config

logger = logging.getLogger(__name__)

__all__ = [
    "DataError",
    "Dataset",
    "Availability",
    "list_datasets",
    "dataset_metadata",
    "check_name",
    "locate_dataset",
    "read_table",
    "clean_table",
    "identifier_reason",
    "EXTREME_MAGNITUDE",
    "load_dataset",
    "load_datasets",
    "datasets_of",
]

ID_COLUMN = "ID"
TARGET_COLUMN = "Target"


class DataError(ValueError):
    """Input data that cannot be used, with a message naming the problem."""


@dataclass
class Dataset:
    """A cleaned binary-outcome radiomics table.

    Attributes
    ----------
    name : str
    X : numpy.ndarray
        Float feature matrix (n, p); missing values are NaN (imputed later, on the
        internal set only).
    y : numpy.ndarray
        Integer 0/1 labels (n,).
    feature_names : list of str
    metadata : dict
        radMLBench's metadata for the dataset (empty for a user's own table).
    report : dict
        Cleaning report (:func:`clean_table`): ``n``, ``n_raw``, ``p_raw``, ``p_clean``,
        ``id_columns`` (dropped), ``kept_identifier_like``, ``dropped`` (reason -> columns:
        ``non_numeric``, ``all_missing``, ``constant``, ``excluded`` by name prefix),
        ``infinite_values`` and ``extreme_values`` (counts set to missing),
        ``extreme_value_columns``, ``missing_values``, ``duplicate_rows`` ([row, earlier row
        it repeats]), ``duplicate_rows_dropped``, ``positive_class``, ``source`` (file read).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    metadata: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of patients (rows)."""
        return self.X.shape[0]

    @cached_property
    def fingerprint(self) -> str:
        """12 hex digits of SHA-256 over the cleaned features, labels and column names.

        Keys cached results, so a changed table under the same name is never mistaken
        for the one that was run.
        """
        digest = hashlib.sha256()
        for part in (np.ascontiguousarray(self.X, dtype=float), np.ascontiguousarray(self.y, dtype=np.int64)):
            digest.update(part.tobytes())
        digest.update("\x1f".join(self.feature_names).encode())
        return digest.hexdigest()[:12]

    @property
    def p(self) -> int:
        """Number of features (columns)."""
        return self.X.shape[1]


@dataclass
class Availability:
    """Where a dataset can be read from, or why it cannot."""

    name: str
    path: Path | None
    source: str  # "mirror", "cache", "download" or "unavailable"
    reason: str = ""

    @property
    def available(self) -> bool:
        """Whether the dataset can be read: from a file, or by a download."""
        return self.path is not None or self.source == "download"


def _metadata() -> dict:
    import radMLBench

    radMLBench.listDatasets()  # loads radMLBench's bundled metadata.yaml
    return dict(radMLBench.radMLBench.metaData)


def list_datasets() -> list[str]:
    """The 50 dataset names of radMLBench's metadata, sorted."""
    return sorted(_metadata())


def dataset_metadata(name: str) -> dict:
    """RadMLBench's metadata for one dataset (modality, outcome, nInstances, ...)."""
    check_name(name)
    return dict(_metadata()[name])


def check_name(name: str) -> str:
    """Raise :class:`DataError` for a name radMLBench does not know, suggesting close names."""
    names = list_datasets()
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if not close:
        close = [n for n in names if n.lower().startswith(name.lower()[:3])][:3]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise DataError(f"unknown radMLBench dataset '{name}'.{hint} `radlib datasets` lists all {len(names)}.")


def datasets_of(config: Config) -> list[str]:
    """The dataset names a configuration asks for, validated."""
    wanted = config["datasets"]
    names = list_datasets() if wanted == "all" else list(wanted)
    for name in names:
        check_name(str(name))
    return names


def locate_dataset(name: str, config: Config) -> Availability:
    """Find a dataset in the mirror or the cache, or say whether it can be downloaded."""
    check_name(name)
    file_name = f"{name}.gz"
    looked = []
    mirror = config.mirror_dir
    if mirror is not None:
        if (mirror / file_name).is_file():
            return Availability(name, mirror / file_name, "mirror")
        looked.append(f"mirror {mirror}" + ("" if mirror.is_dir() else " (folder does not exist)"))
    cache = config.path("raw")
    if (cache / file_name).is_file():
        return Availability(name, cache / file_name, "cache")
    looked.append(f"cache {cache}")
    if config["data"]["download"]:
        return Availability(name, None, "download", "not found locally; radMLBench will download it")
    return Availability(name, None, "unavailable", f"not in {' or '.join(looked)}; downloads are off (offline)")


def _duplicates(names) -> list[str]:
    """Names that occur more than once, in order of their first repeat."""
    seen, repeated = set(), []
    for name in map(str, names):
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def _csv_header(path: Path, gzipped: bool) -> list[str]:
    """The raw header row of a CSV file (before pandas renames repeated names to ``x.1``)."""
    opener = gzip.open if gzipped else open
    with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
        return next(csv.reader(fh), [])


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a radiomics table (CSV, gzip-compressed CSV or Parquet), naming the file on failure.

    Raises
    ------
    DataError
        Missing, empty, truncated or corrupt file, a spreadsheet workbook (Excel,
        OpenDocument: save the sheet as CSV), a file that is not a text table (or,
        for ``.parquet``, not a Parquet file), or duplicate column names: pandas would
        silently rename a repeated CSV header ``x`` to ``x.1``, so the raw header is checked.
    """
    import pyarrow
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise DataError(f"file {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"file {path} is empty")
    with open(path, "rb") as fh:
        start = fh.read(8)
    if path.suffix.lower() in _SPREADSHEET_SUFFIXES or start.startswith(_SPREADSHEET_MAGIC):
        raise DataError(
            f"file {path} is a spreadsheet workbook (Excel or OpenDocument), not a table file; save the sheet "
            "as CSV (File > Save As > CSV) and give that file"
        )
    try:
        if path.suffix == ".parquet":
            repeated = _duplicates(pq.read_schema(path).names)
            if repeated:
                raise DataError(f"file {path}: duplicate column names {repeated}")
            return pd.read_parquet(path)
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        frame = pd.read_csv(path, compression="gzip" if gzipped else None)
        repeated = _duplicates(_csv_header(path, gzipped))
        if repeated:
            raise DataError(f"file {path}: duplicate column names {repeated}")
        return frame
    except pyarrow.ArrowException as exc:
        raise DataError(
            f"file {path} is not a readable Parquet file (truncated, corrupt or another format: {exc})"
        ) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"file {path} is truncated or corrupt ({type(exc).__name__}: {exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"file {path} is not a text table (cannot decode: {exc.reason})") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"file {path} has no columns (empty table)") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"file {path} could not be parsed as CSV: {exc}") from exc


#: Spreadsheet workbooks: their file endings, and how their files start (a zip archive, or OLE2 for .xls).
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
_TARGET_SPELLINGS = {"0": 0, "1": 1, "false": 0, "true": 1}
#: Largest magnitude a feature value may have. A float64 holds up to 1.8e308, so the squares
#: the pipeline takes (variances, the covariances of the site PCA) overflow from |x| ~ 1.3e154;
#: 1e100 leaves room for sums over any number of rows. No measured radiomics feature comes
#: near it (a raw pyradiomics energy reaches ~1e12): such a value is an entry or export error,
#: set to missing and counted, like ±inf.
EXTREME_MAGNITUDE = 1e100
#: Names (lower case, separators removed) of an integer column read as a patient identifier: a
#: patient, subject or case number, a record, accession or DICOM UID (``PatientNo``, ``case_id``,
#: ``MRN``, ``Accession``, ``StudyInstanceUID``). The whole name must match, so pyradiomics' float
#: feature ``original_glcm_Id`` (inverse difference) is not one.
_IDENTIFIER_NAME = re.compile(
    r"(patient|subject|case|pat|subj)(id|identifier|no|nr|num|number|uid)?"
    r"|(medical|hospital)?(record|exam|study|series|sop|image|visit|hospital)(instance)?(id|identifier|no|nr|num|number|uid)"
    r"|id|identifier|uid|mrn|pid|accession(id|no|nr|num|number)?"
)
#: A pyradiomics feature name (``<image type>_<class>_<feature>``): a measurement, never an
#: identifier, whatever its values (``original_shape_VoxelVolume`` is an integer, distinct in every row).
_RADIOMICS_FEATURE = re.compile(r"(^|_)(shape|shape2d|firstorder|glcm|glrlm|glszm|gldm|ngtdm)_", re.IGNORECASE)
#: Largest integer a float64 holds exactly: beyond it every float is a whole number.
_EXACT_INTEGERS = 2.0**53
#: Share of distinct values from which a column counts as (nearly) distinct in every row.
_NEARLY_UNIQUE = 0.95


def _as_binary(value) -> int | None:
    """0 or 1 for an accepted spelling of a binary label, else None."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer, float, np.floating)) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        return _TARGET_SPELLINGS.get(value.strip().lower())
    return None


def _same_label(value, spelled: str) -> bool:
    """Whether a target value is the label spelt ``spelled`` (as text, or as the same number)."""
    if str(value).strip() == spelled.strip():
        return True
    try:
        return not isinstance(value, str) and float(value) == float(spelled)
    except (TypeError, ValueError):
        return False


def _binary_target(values: pd.Series, name: str, positive_class: str | None = None) -> np.ndarray:
    """Map a target column to 0/1.

    Without ``positive_class``: 0/1 numbers, booleans and the strings '0'/'1'. Any other
    two values (``M``/``B``, ``1``/``2``, ``-1``/``1``) need ``positive_class``, the value
    coded 1: which of two labels is the outcome cannot be guessed.
    """
    if values.isna().any():
        raise DataError(f"dataset {name}: target has {int(values.isna().sum())} missing values")
    observed = list(pd.unique(values))
    shown = sorted(map(str, observed))[:10]
    if len(observed) > 2:
        raise DataError(f"dataset {name}: target must be binary (two values); found {len(observed)} values {shown}")
    if positive_class is None:
        mapping = {v: _as_binary(v) for v in observed}
        if any(code is None for code in mapping.values()):
            raise DataError(
                f"dataset {name}: target values {shown} are not 0/1, True/False or '0'/'1'; say which value is the "
                f"positive class (coded 1) with --positive-class VALUE (positive_class= in Python), "
                f"e.g. --positive-class {shown[-1]}"
            )
        y = values.map(mapping).to_numpy(dtype=np.int64)
    else:
        positive = [v for v in observed if _same_label(v, str(positive_class))]
        if len(positive) != 1:
            problem = "is not a value of" if not positive else "matches more than one value of"
            raise DataError(
                f"dataset {name}: positive class '{positive_class}' {problem} the target; its values are {shown}"
            )
        y = (values == positive[0]).to_numpy(dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise DataError(f"dataset {name}: target has a single class ({observed[0]}); a binary outcome needs both")
    return y


def identifier_reason(column: str, values: np.ndarray) -> str | None:
    """Why a numeric column looks like a patient identifier rather than a feature, or None.

    An identifier holds whole numbers (below 2^53, where a float64 still tells them apart)
    and is either named like one (:data:`_IDENTIFIER_NAME`, the whole name, any case:
    ``PatientNo``, ``case_id``, ``MRN``, ``Accession``, ``StudyInstanceUID``) or, whatever its
    name, a numbering: nearly distinct in every row (95 % of the values) and either in file
    order (increasing or decreasing) or dense (its range at most twice its count of values,
    as ``1..n`` shuffled); or repeated in blocks of consecutive rows (a patient's rows one
    after another). A pyradiomics feature (``original_shape_VoxelVolume``) is never one; an
    integer measurement that is neither ordered, dense nor in blocks is a feature.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.abs(finite).max() >= _EXACT_INTEGERS or not np.all(finite == np.round(finite)):
        return None
    if _IDENTIFIER_NAME.fullmatch(re.sub(r"[^a-z0-9]", "", column.lower())):
        return "named like an identifier, integer values"
    if _RADIOMICS_FEATURE.search(column) or finite.size < 3:
        return None
    distinct = np.unique(finite).size
    if distinct >= _NEARLY_UNIQUE * finite.size:
        steps = np.diff(finite)
        if np.all(steps > 0) or np.all(steps < 0):
            return "a different integer in every row, numbered in file order"
        if finite.max() - finite.min() + 1 <= 2 * distinct:
            return "a different integer in every row, a dense numbering"
        return None
    runs = 1 + int(np.count_nonzero(np.diff(finite)))
    if runs == distinct and 4 * distinct >= finite.size:
        return "repeated in blocks of consecutive rows, as a patient's rows are"
    return None


def _duplicate_rows(frame: pd.DataFrame) -> list[list[int]]:
    """[row, earlier row it repeats] for every exactly repeated row (1-based data row numbers)."""
    repeated = frame.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return []
    group = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup().to_numpy()
    first: dict[int, int] = {}
    pairs = []
    for row, key in enumerate(group):
        if key in first:
            pairs.append([row + 1, first[key] + 1])
        else:
            first[key] = row
    return pairs


def _column_list(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def clean_table(
    frame: pd.DataFrame,
    name: str,
    target: str = TARGET_COLUMN,
    id_column: str | Sequence[str] | None = ID_COLUMN,
    metadata: dict | None = None,
    source: str | os.PathLike = "",
    *,
    positive_class: str | None = None,
    keep: Sequence[str] = (),
    drop_duplicates: bool = False,
    excluded_prefixes: Sequence[str] = (),
) -> Dataset:
    """Clean a table following docs/protocol.md, step 1.

    Drops the ID column(s); maps the target to 0/1 (bool and "0"/"1" accepted, other two
    values with ``positive_class``); drops and reports non-numeric, all-missing and constant
    feature columns; turns ±inf and values beyond :data:`EXTREME_MAGNITUDE` into missing
    values (counted, with their columns); counts exactly repeated rows (same features and
    target once the ID is dropped) and, with ``drop_duplicates``, drops the repeats, so that
    no patient can be both a training and an external row.

    Parameters
    ----------
    frame : DataFrame
    name : str
    target : str
    id_column : str or sequence of str, optional
        Identifier column(s) to drop (absent ones are ignored).
    metadata : dict, optional
    source : str or path
    positive_class : str, optional
        The target value coded 1, for a target that is not 0/1, True/False or '0'/'1'.
    keep : sequence of str
        Numeric columns that look like identifiers (:func:`identifier_reason`) but are features.
    drop_duplicates : bool
        Drop repeated rows (the first copy stays); they are counted either way.
    excluded_prefixes : sequence of str
        Columns whose name starts with one of these are not features: dropped and listed
        (``report["dropped"]["excluded"]``), e.g. pyradiomics' ``diagnostics_`` columns.

    Raises
    ------
    DataError
        No rows, duplicate column names, target column missing or not binary, an ID
        column that is the target, a numeric column that looks like an identifier (and is
        neither dropped nor kept), or no usable feature left.
    """
    if frame.shape[0] == 0:
        raise DataError(f"dataset {name}: the table has a header but no rows")
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"dataset {name}: duplicate column names {duplicated}")
    if target not in frame.columns:
        raise DataError(
            f"dataset {name}: target column '{target}' not found; columns are {list(frame.columns)[:20]}"
            + (" ..." if frame.shape[1] > 20 else "")
        )
    ids = [id_column] if isinstance(id_column, str) else list(id_column or ())
    if target in ids:
        raise DataError(
            f"dataset {name}: '{target}' is both the target and an ID column to drop; --id names a patient "
            "identifier, --target the outcome"
        )
    if target in keep or set(keep) & set(ids):
        clash = target if target in keep else sorted(set(keep) & set(ids))[0]
        raise DataError(f"dataset {name}: column '{clash}' cannot be kept as a feature: it is the target or an ID")
    y = _binary_target(frame[target], name, positive_class)
    ids = [c for c in ids if c in frame.columns]
    prefixes = tuple(excluded_prefixes)
    excluded = [c for c in frame.columns if prefixes and c != target and c not in ids and str(c).startswith(prefixes)]
    repeats = _duplicate_rows(frame.drop(columns=[*ids, *excluded]))
    features = frame.drop(columns=[target, *ids, *excluded])
    dropped: dict[str, list[str]] = {
        "non_numeric": [],
        "all_missing": [],
        "constant": [],
        "excluded": [str(c) for c in excluded],
    }
    numeric = {}
    for column in features.columns:
        series = features[column]
        if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
            converted = pd.to_numeric(series, errors="coerce") if series.dtype != bool else series.astype(float)
            if series.dtype != bool and converted.notna().sum() < series.notna().sum():
                dropped["non_numeric"].append(str(column))
                continue
            series = converted
        numeric[str(column)] = series.astype(float).to_numpy()
    names = list(numeric)
    X = np.column_stack(list(numeric.values())) if numeric else np.empty((len(y), 0))
    infinite = np.isinf(X)
    extreme = np.isfinite(X) & (np.abs(X) > EXTREME_MAGNITUDE)
    X[infinite | extreme] = np.nan
    reasons = {c: identifier_reason(c, X[:, j]) for j, c in enumerate(names)}
    suspects = {c: reason for c, reason in reasons.items() if reason and c not in keep}
    if suspects:
        listed = " ".join(map(shlex.quote, suspects))
        raise DataError(
            f"dataset {name}: {_column_list(list(suspects))} look(s) like a patient identifier ("
            + "; ".join(f"{c}: {reason}" for c, reason in suspects.items())
            + ") and would be used as a feature, which lets the model read the patients' order or identity. "
            f"Drop it with --id {listed}, or use it as a feature with --keep {listed}"
        )
    if drop_duplicates and repeats:
        unique = np.setdiff1d(np.arange(len(y)), [row - 1 for row, _ in repeats])
        X, y = X[unique], y[unique]
    keep_columns = []
    for j, column in enumerate(names):
        col = X[:, j]
        finite = col[~np.isnan(col)]
        if finite.size == 0:
            dropped["all_missing"].append(column)
        elif np.all(finite == finite[0]):
            dropped["constant"].append(column)
        else:
            keep_columns.append(j)
    if not keep_columns:
        raise DataError(
            f"dataset {name}: no usable feature left after cleaning "
            f"({', '.join(f'{len(v)} {k}' for k, v in dropped.items())})"
        )
    report = {
        "n": int(len(y)),
        "n_raw": int(frame.shape[0]),
        "p_raw": int(features.shape[1]) + len(excluded),
        "p_clean": len(keep_columns),
        "id_columns": ids,
        "kept_identifier_like": [c for c in keep if reasons.get(c)],
        "dropped": dropped,
        "n_dropped": sum(len(v) for v in dropped.values()),
        "infinite_values": int(infinite.sum()),
        "extreme_values": int(extreme.sum()),
        "extreme_value_columns": [c for c, hit in zip(names, np.asarray(extreme.any(axis=0)).tolist()) if hit],
        "missing_values": int(np.isnan(X[:, keep_columns]).sum()),
        "duplicate_rows": repeats,
        "duplicate_rows_dropped": bool(drop_duplicates and repeats),
        "positive_class": None if positive_class is None else str(positive_class),
        "source": str(source),
    }
    return Dataset(name, X[:, keep_columns], y, [names[j] for j in keep_columns], dict(metadata or {}), report)


def load_dataset(name: str, config: Config) -> Dataset:
    """Load and clean one radMLBench dataset through radMLBench's loader.

    Raises
    ------
    DataError
        Unknown name, dataset unavailable, corrupt file, or unusable content.
    """
    import radMLBench

    where = locate_dataset(name, config)
    if where.source == "unavailable":
        raise DataError(f"dataset {name} is unavailable: {where.reason}")
    cache_dir = where.path.parent if where.path is not None else config.path("raw")
    if where.source == "download":
        logger.info("dataset %s: downloading it with radMLBench into %s", name, cache_dir)
    # radMLBench prints its download messages (with the absolute path of the cache) to stdout; they would reach
    # the notebooks' published pages. The logging line above says it instead.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            frame = radMLBench.loadData(name, local_cache_dir=str(cache_dir))
    except (
        EOFError,
        gzip.BadGzipFile,
        zlib.error,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as exc:
        raise DataError(
            f"dataset {name}: file {where.path} is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    except Exception as exc:  # network errors from radMLBench's download
        if where.source == "download":
            detail = str(exc).split(" (Caused by")[0][:160]
            raise DataError(f"dataset {name} is unavailable: download failed ({type(exc).__name__}: {detail})") from exc
        raise
    source = where.path if where.path is not None else cache_dir / f"{name}.gz"
    return clean_table(frame, name, metadata=dataset_metadata(name), source=source)


def load_datasets(config: Config, names: list[str] | None = None) -> tuple[list[Dataset], dict[str, str]]:
    """Load every dataset of a configuration; unavailable or unusable ones are returned with reasons.

    Returns
    -------
    datasets : list of Dataset
    skipped : dict
        Dataset name -> reason it was skipped. Nothing is dropped silently.
    """
    loaded, skipped = [], {}
    for name in names if names is not None else datasets_of(config):
        try:
            loaded.append(load_dataset(name, config))
        except DataError as exc:
            skipped[name] = str(exc)
    return loaded, skipped


def overview_table(config: Config, names: list[str] | None = None) -> pd.DataFrame:
    """One row per dataset: size before and after cleaning, class balance, modality, availability."""
    rows = []
    datasets, skipped = load_datasets(config, names)
    by_name = {d.name: d for d in datasets}
    for name in names if names is not None else datasets_of(config):
        meta = dataset_metadata(name)
        row = {
            "dataset": name,
            "modality": meta.get("modality"),
            "pathology": meta.get("pathology"),
            "outcome": meta.get("outcome"),
            "n_metadata": meta.get("nInstances"),
            "p_metadata": meta.get("nFeatures"),
        }
        if name in by_name:
            d = by_name[name]
            row.update(
                available=True,
                source=d.report["source"],
                reason="",
                n=d.n,
                p_raw=d.report["p_raw"],
                p_clean=d.p,
                n_dropped=d.report["n_dropped"],
                missing_values=d.report["missing_values"],
                positive_fraction=float(d.y.mean()),
            )
        else:
            row.update(
                available=False,
                source="",
                reason=skipped[name],
                n=np.nan,
                p_raw=np.nan,
                p_clean=np.nan,
                n_dropped=np.nan,
                missing_values=np.nan,
                positive_fraction=np.nan,
            )
        rows.append(row)
    return pd.DataFrame(rows)
