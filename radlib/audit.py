"""Audit your own radiomics table(s) with the study's protocol: ``radlib audit``.

One table (CSV, gzip-compressed CSV or Parquet) runs the same grid as a radMLBench
dataset (repetitions, simulated external site with acquisition shift, every generator,
SMOTE, both classifiers) through :func:`radlib.experiment.run_grid`, and gets

* its records, manifest and task cache (the folder given by ``--out``);
* a per-arm summary of ΔAUC and of every quality metric with 95% t-intervals over the
  repetitions (:func:`summarize_arms`, :func:`summarize_quantities`);
* whether the quality metrics ranked the generators in the order of their ΔAUC
  (:func:`rank_agreement`) and the rank correlations across repetitions;
* the figures that make sense for one dataset (ΔAUC per arm; quality vs ΔAUC across
  repetitions) and a short plain-language verdict (:func:`render_verdict`).

Several tables (a folder, or a list) run as one grid and get the full set of analyses of
notebook 05 (:func:`radlib.analysis.run_analyses` for each classifier and for the
sensitivity subset, :func:`radlib.report.write_tables`, ``summary.md``, the key figure), as
for radMLBench.

Confidence intervals
--------------------
Per arm, the 95% interval of a mean over the valid repetitions is the t-interval
``mean ± t(0.975, n - 1) · sd / sqrt(n)`` (``sd`` with ``ddof=1``): the repetitions are
independent re-draws of the external site and of every seed, and ΔAUC is a difference of
AUCs, roughly symmetric. With 2 repetitions ``t = 12.7``: the interval is honest and wide.
A bootstrap over so few repetitions would be narrower than it should be.

Bad input
---------
Every problem with a table is a :class:`radlib.data.DataError` naming the file and the
problem, raised before any training (see :func:`load_table`); columns that cannot be used
(non-numeric, all missing, constant) are dropped and listed, and ±inf values become
missing and are counted. A class with fewer than :data:`MIN_CLASS_ROWS` rows is an error.

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
import json
import logging
import math
import sys
import time
import types
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from radlib import analysis, generators, plots, quality, report
from radlib.config import Config, ConfigError, load_config, project_root
from radlib.data import DataError, Dataset, clean_table, read_table
from radlib.experiment import REAL_ARM, GridResult, run_grid, task_path

__all__ = [
    "MIN_CLASS_ROWS",
    "TABLE_SUFFIXES",
    "AuditError",
    "AuditResult",
    "PluginLoader",
    "find_tables",
    "table_name",
    "load_table",
    "describe_dataset",
    "load_plugin",
    "check_generators",
    "audit_config",
    "summarize_arms",
    "summarize_quantities",
    "rank_agreement",
    "repetition_pairs",
    "render_verdict",
    "render_collection_verdict",
    "audit",
]

log = logging.getLogger(__name__)

#: Fewest rows a class may have. With the default external fraction of 0.3 a class of 10
#: puts about 3 patients at the external site and keeps 7 for training; with 5 it would
#: be 1-2 external patients (an AUC that rests on one or two people, and about one
#: repetition in six with no patient of the class at all, an undefined AUC) and 3-4
#: training rows for a generator to learn the class from.
MIN_CLASS_ROWS = 10
#: File name endings read as tables (a folder is searched for these, not recursively).
TABLE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet")
_PLUGIN_PREFIX = "radlib_plugin_"


class AuditError(ValueError):
    """A request ``radlib audit`` cannot run: no tables, clashing names, a broken plug-in."""


# --- tables ------------------------------------------------------------------------------


def table_name(path: str | Path) -> str:
    """The dataset name of a table file: its name without ``.csv``, ``.csv.gz``, ``.gz``, ``.parquet``."""
    name = Path(path).name
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


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
    path: str | Path, target: str, id_column: str | None = None, min_class_rows: int = MIN_CLASS_ROWS
) -> Dataset:
    """Read and clean one table for the audit; every problem is a clear :class:`DataError`.

    Reading (:func:`radlib.data.read_table`): an empty file, a header without rows, a
    truncated gzip file, a file that is not text (or not Parquet), duplicate column names.
    Cleaning (:func:`radlib.data.clean_table`, DESIGN.md step 1): the target must exist
    (the error lists the columns) and hold exactly two values (0/1, True/False or "0"/"1");
    non-numeric, all-missing and constant feature columns are dropped and listed in
    ``Dataset.report``; ±inf become missing (counted). Then each class needs at least
    ``min_class_rows`` rows (:data:`MIN_CLASS_ROWS`).

    Any number of features is accepted: the development pipeline keeps the top
    ``features.k`` by ANOVA F on the internal set, so 20,000 features cost memory for the
    table itself (n x p floats), not more.

    Parameters
    ----------
    path : path
        CSV, gzip-compressed CSV or Parquet file.
    target : str
        The binary outcome column.
    id_column : str, optional
        A patient identifier column to drop. When not given, a column named ``ID`` is
        dropped (the radMLBench convention); a non-numeric identifier is dropped anyway,
        but a numeric one not named here would be used as a feature.
    min_class_rows : int

    Returns
    -------
    Dataset
        Named by :func:`table_name`; ``report["source"]`` is the file.
    """
    path = Path(path)
    name = table_name(path)
    frame = read_table(path)
    columns = [str(c) for c in frame.columns]
    for role, column in (("target", target), ("ID", id_column)):
        if column is not None and column not in columns:
            shown = ", ".join(columns[:30]) + (f", ... ({len(columns)} in all)" if len(columns) > 30 else "")
            hint = ""
            if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
                hint = " (a single column: the file may use ';' or tabs as separator; save it comma-separated)"
            raise DataError(f"table {path}: {role} column '{column}' not found; the columns are: {shown}{hint}")
    dataset = clean_table(frame, name, target=target, id_column=id_column or "ID", source=path)
    counts = np.bincount(dataset.y, minlength=2)
    if counts.min() < min_class_rows:
        small = int(np.argmin(counts))
        raise DataError(
            f"table {path}: class {small} of '{target}' has {counts[small]} rows (class {1 - small}: "
            f"{counts[1 - small]}); the audit needs at least {min_class_rows} rows per class, so that the "
            "simulated external site and the training set both hold patients of each class"
        )
    return dataset


def describe_dataset(dataset: Dataset) -> str:
    """One paragraph on what cleaning kept and dropped (for the console and the verdict)."""
    rep = dataset.report
    counts = np.bincount(dataset.y, minlength=2)
    lines = [
        f"{dataset.name}: {dataset.n} patients ({counts[0]} of class 0, {counts[1]} of class 1), "
        f"{dataset.p} of {rep.get('p_raw', dataset.p)} feature columns used"
    ]
    reasons = {"non_numeric": "non-numeric", "all_missing": "all missing", "constant": "constant"}
    for key, text in reasons.items():
        dropped = rep.get("dropped", {}).get(key, [])
        if dropped:
            shown = ", ".join(dropped[:10]) + (f", ... ({len(dropped)} in all)" if len(dropped) > 10 else "")
            lines.append(f"  dropped {len(dropped)} {text}: {shown}")
    if rep.get("infinite_values"):
        lines.append(f"  {rep['infinite_values']} infinite values set to missing")
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
    module.__radlib_plugin_source__ = source
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
    _WorkerPlugin = object


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


# --- configuration -----------------------------------------------------------------------


def check_generators(names: Iterable[str]) -> list[str]:
    """Raise :class:`ConfigError` for a generator name the registry does not know.

    ``smote`` is accepted here (it is the SMOTE arm, see :func:`audit_config`).
    """
    names = list(names)
    known = generators.available()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown generator(s) {', '.join(map(repr, unknown))}; available: {', '.join(known)} "
            "(a plug-in can register more: --plugin)"
        )
    return names


def audit_config(
    profile: str = "full",
    overrides: Mapping[str, Any] | None = None,
    out: str | Path = ".",
    generator_names: Sequence[str] | None = None,
    dataset_names: Sequence[str] = (),
) -> Config:
    """The configuration of an audit: a profile, the user's overrides, then the audit's own paths.

    Every output path (``paths.processed``, ``interim``, ``tables``, ``figures``, ``build``)
    goes under ``out``, so an audit never mixes with the radMLBench runs. ``datasets`` is
    set to the table names (it enters the configuration hash and the manifest).
    ``generator_names`` replaces ``synthesis.generators``; ``smote`` among them switches
    the SMOTE arm on (it is always on when the profile says so).
    """
    config = load_config(profile, overrides)
    out = Path(out).resolve()
    settings: dict[str, Any] = {
        "paths.processed": str(out),
        "paths.interim": str(out / "interim"),
        "paths.tables": str(out / "tables"),
        "paths.figures": str(out / "figures"),
        "paths.build": str(out / "build"),
        "datasets": sorted(dataset_names) or config["datasets"],
    }
    if generator_names is not None:
        check_generators(generator_names)
        settings["synthesis.generators"] = [g for g in dict.fromkeys(generator_names) if g != "smote"]
        if "smote" in generator_names:
            settings["synthesis.smote"] = True
    config = config.with_overrides(settings)
    check_generators(config["synthesis"]["generators"])
    return config


def _default_out(tables: Sequence[Path], paths: Sequence[str | Path]) -> Path:
    root = project_root() / "results" / "audit"
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return root / Path(paths[0]).resolve().name
    names = [table_name(t) for t in tables]
    if len(names) == 1:
        return root / names[0]
    digest = hashlib.sha256("\x1f".join(sorted(names)).encode()).hexdigest()[:8]
    return root / f"{names[0]}+{len(names) - 1}-more-{digest}"


def _drop_stale_tasks(config: Config, datasets: Sequence[Dataset]) -> list[Path]:
    """Delete cached task files that lack a registered user metric, so they are recomputed.

    The configuration hash does not know the user metrics, so a task computed before a
    metric was registered would otherwise be reused without it. Done under the run lock.
    """
    import pyarrow.parquet as pq

    from radlib.experiment import _run_lock

    if not quality.USER_METRICS:
        return []
    removed = []
    with _run_lock(config.path("processed")):
        for dataset in datasets:
            for repetition in range(config["repetitions"]):
                path = task_path(config, dataset, repetition)
                if not path.exists():
                    continue
                try:
                    columns = set(pq.read_schema(path).names)
                except Exception:  # unreadable: run_grid recomputes it anyway
                    continue
                if not set(quality.USER_METRICS) <= columns:
                    path.unlink()
                    removed.append(path)
    if removed:
        log.warning("%d cached task file(s) lacked a registered metric and will be recomputed", len(removed))
    return removed


def _uncomputed_metrics(records: pd.DataFrame) -> list[str]:
    """Registered user metrics with no value in any successful synthetic record."""
    synthetic = records[(records["arm"] != REAL_ARM) & (records["status"] == "ok")]
    if not len(synthetic):
        return []
    return [m for m in quality.USER_METRICS if m not in synthetic or not synthetic[m].notna().any()]


def _run(
    config: Config,
    datasets: list[Dataset],
    n_jobs: int | None,
    scheduler: str | None,
    plugins: Sequence[str],
    show_progress: bool,
) -> GridResult:
    """run_grid, with the plug-ins installed in every Dask worker when the run is parallel."""
    n_jobs = n_jobs or config["run"]["n_jobs"]
    scheduler = scheduler or config["run"]["scheduler"]
    if not plugins or (scheduler is None and n_jobs == 1):  # in-process: the plug-ins are imported here
        return run_grid(config, datasets, n_jobs=n_jobs, scheduler=scheduler, show_progress=show_progress)
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:  # our own local cluster, so that the plug-in can be registered before the run
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        scheduler = cluster.scheduler_address
    try:
        with Client(scheduler, timeout=60) as client:
            try:
                client.register_plugin(PluginLoader(plugins), name=PluginLoader.name)
            except Exception as exc:
                raise AuditError(
                    f"the plug-ins could not be loaded on the Dask workers: {type(exc).__name__}: {exc}"
                ) from exc
        return run_grid(config, datasets, n_jobs=n_jobs, scheduler=scheduler, show_progress=show_progress)
    finally:
        if cluster is not None:
            cluster.close()


# --- summaries ---------------------------------------------------------------------------


def _classifiers(records: pd.DataFrame) -> list[str]:
    return [c for c in analysis.CLASSIFIERS if f"auc_{c}" in records.columns]


def _t_interval(mean: float, sd: float, n: int, alpha: float) -> tuple[float, float]:
    if n < 2 or not np.isfinite(sd):
        return np.nan, np.nan
    half = stats.t.isf(alpha / 2, n - 1) * sd / math.sqrt(n)
    return float(mean - half), float(mean + half)


def _valid(records: pd.DataFrame, classifier: str) -> pd.Series:
    """The records :func:`radlib.analysis.pair_table` averages: ok, defined, finite AUC and ΔAUC."""
    auc = records[f"auc_{classifier}"].astype(float)
    delta = records[f"delta_auc_{classifier}"].astype(float)
    return (records["status"] == "ok") & ~records["undefined"].astype(bool) & np.isfinite(auc) & np.isfinite(delta)


def _metric_columns(records: pd.DataFrame) -> list[str]:
    return [m for m in quality.registered_metrics() if m in records.columns]


def summarize_quantities(records: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean, SD and 95% t-interval over the valid repetitions of every quantity, per arm.

    Parameters
    ----------
    records : DataFrame
        Records of :func:`radlib.experiment.run_grid`.
    alpha : float

    Returns
    -------
    DataFrame
        Long format, one row per (dataset, classifier, arm, quantity): ``n`` (valid
        repetitions), ``mean``, ``sd``, ``ci_low``, ``ci_high`` (t-interval), ``n_positive``.
        Quantities: ``delta_auc``, ``auc``, ``auc_real`` and every quality metric in the
        records (the five and the registered user metrics). Real-only rows are left out.
    """
    rows = []
    metrics = _metric_columns(records)
    for classifier in _classifiers(records):
        valid = records[_valid(records, classifier) & (records["arm"] != REAL_ARM)].copy()
        valid["delta_auc"] = valid[f"delta_auc_{classifier}"]
        valid["auc"] = valid[f"auc_{classifier}"]
        valid["auc_real"] = valid["auc"] - valid["delta_auc"]
        for (dataset, arm), group in valid.groupby(["dataset", "arm"], sort=True):
            for quantity in ("delta_auc", "auc", "auc_real", *metrics):
                values = group[quantity].to_numpy(float)
                values = values[np.isfinite(values)]
                n = len(values)
                mean = float(values.mean()) if n else np.nan
                sd = float(values.std(ddof=1)) if n > 1 else np.nan
                low, high = _t_interval(mean, sd, n, alpha)
                rows.append(
                    {
                        "dataset": dataset,
                        "classifier": classifier,
                        "arm": arm,
                        "quantity": quantity,
                        "n": n,
                        "mean": mean,
                        "sd": sd,
                        "ci_low": low,
                        "ci_high": high,
                        "n_positive": int((values > 0).sum()),
                    }
                )
    return pd.DataFrame(
        rows, columns=["dataset", "classifier", "arm", "quantity", "n", "mean", "sd", "ci_low", "ci_high", "n_positive"]
    )


def _decision(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no CI (fewer than 2 valid repetitions)"
    if low > 0:
        return "improved"
    if high < 0:
        return "worsened"
    return "no clear change"


def summarize_arms(records: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (classifier, dataset, arm): ΔAUC with its 95% t-interval, AUCs and mean quality.

    Built on :func:`radlib.analysis.pair_table` (the study's pairs: means over the valid
    repetitions) with the composite quality score of :func:`radlib.analysis.add_composite`
    (z-scores over the generator pairs of the records given: for one table, over its
    generators). Registered user metrics are added as their mean over the same records.

    Returns
    -------
    DataFrame
        ``classifier``, ``dataset``, ``arm``, ``n_records``, ``n_valid``, ``n_undefined``,
        ``n_failed``, ``delta_auc``, ``delta_auc_ci_low``, ``delta_auc_ci_high``,
        ``n_improved`` (repetitions with ΔAUC > 0), ``decision`` (``improved``: the CI lies
        above 0; ``worsened``: below; else ``no clear change``), ``auc``, ``auc_real``, the
        quality metrics and ``composite`` (NaN for SMOTE when there is no generator).
    """
    frames = []
    user = [m for m in _metric_columns(records) if m not in quality.METRICS]
    for classifier in _classifiers(records):
        pairs = analysis.pair_table(records, classifier)
        if not len(pairs):
            continue
        pairs = analysis.add_composite(pairs) if analysis.generators_of(pairs) else pairs.assign(composite=np.nan)
        valid = records[_valid(records, classifier) & (records["arm"] != REAL_ARM)]
        grouped = valid.groupby(["dataset", "arm"])
        extra = pd.DataFrame({"n_improved": grouped[f"delta_auc_{classifier}"].apply(lambda v: int((v > 0).sum()))})
        for metric in user:
            extra[metric] = grouped[metric].mean()
        pairs = pairs.merge(extra.reset_index(), on=["dataset", "arm"], how="left")
        ci = [
            _t_interval(m, math.sqrt(v) if np.isfinite(v) else np.nan, int(n), alpha)
            for m, v, n in zip(pairs["delta_auc"], pairs["delta_auc_var"], pairs["n_valid"])
        ]
        pairs["delta_auc_ci_low"] = [c[0] for c in ci]
        pairs["delta_auc_ci_high"] = [c[1] for c in ci]
        pairs["decision"] = [_decision(lo, hi) for lo, hi in ci]
        pairs.insert(0, "classifier", classifier)
        frames.append(pairs)
    columns = [
        "classifier",
        "dataset",
        "arm",
        "n_records",
        "n_valid",
        "n_undefined",
        "n_failed",
        "delta_auc",
        "delta_auc_ci_low",
        "delta_auc_ci_high",
        "n_improved",
        "decision",
        "auc",
        "auc_real",
        *analysis.METRICS,
        *user,
        analysis.COMPOSITE,
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _score(table: pd.DataFrame, metric: str) -> pd.Series:
    """Quality score, higher = closer to real, for built-in, composite and user metrics."""
    if metric in analysis.METRICS or metric == analysis.COMPOSITE:
        return analysis.orient_quality(table, metric)
    return -(table[metric].astype(float) - quality.registered_metrics()[metric].ideal).abs()


def _order(names: Sequence[str], values: np.ndarray) -> str:
    ok = np.isfinite(values)
    ranked = sorted(zip(np.asarray(names)[ok], values[ok]), key=lambda item: (-item[1], item[0]))
    return " > ".join(name for name, _ in ranked)


def rank_agreement(arms: pd.DataFrame) -> pd.DataFrame:
    """Did each quality score rank a table's generators in the order of their ΔAUC?

    Per (classifier, dataset, score) over the generator arms (SMOTE and real-only left
    out, as in the study): Spearman ρ between the quality score (higher = closer to real;
    :func:`radlib.analysis.orient_quality`, and ``-|value - ideal|`` for a user metric)
    and the mean ΔAUC, the generator each ranks first, and both orders. ρ needs 3
    generators or more and is descriptive (with 3 it can only be ±1 or ±0.5).

    Parameters
    ----------
    arms : DataFrame
        :func:`summarize_arms`.

    Returns
    -------
    DataFrame
        ``classifier``, ``dataset``, ``metric``, ``n_generators``, ``rho``,
        ``best_by_quality``, ``best_by_delta``, ``same_best``, ``quality_order``,
        ``delta_order`` (best first).
    """
    rows = []
    user = [m for m in arms.columns if m in quality.USER_METRICS]
    for (classifier, dataset), group in arms.groupby(["classifier", "dataset"], sort=False):
        gen = group[group["arm"].isin(analysis.generators_of(group))]
        gen = gen[np.isfinite(gen["delta_auc"].astype(float))]
        delta = gen["delta_auc"].to_numpy(float)
        for metric in (*analysis.METRICS, analysis.COMPOSITE, *user):
            score = _score(gen, metric).to_numpy(float) if len(gen) else np.array([])
            ok = np.isfinite(score)
            rho = np.nan
            if ok.sum() >= 3 and np.unique(score[ok]).size > 1 and np.unique(delta[ok]).size > 1:
                rho = float(stats.spearmanr(score[ok], delta[ok]).statistic)
            names = gen["arm"].to_numpy()
            best_q = _order(names, score).split(" > ")[0] if ok.any() else ""
            best_d = _order(names, delta).split(" > ")[0] if len(delta) else ""
            rows.append(
                {
                    "classifier": classifier,
                    "dataset": dataset,
                    "metric": metric,
                    "n_generators": int(ok.sum()),
                    "rho": rho,
                    "best_by_quality": best_q,
                    "best_by_delta": best_d,
                    "same_best": bool(best_q and best_q == best_d),
                    "quality_order": _order(names, score),
                    "delta_order": _order(names, delta),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "classifier",
            "dataset",
            "metric",
            "n_generators",
            "rho",
            "best_by_quality",
            "best_by_delta",
            "same_best",
            "quality_order",
            "delta_order",
        ],
    )


def repetition_pairs(records: pd.DataFrame, classifier: str) -> pd.DataFrame:
    """One "pair" per (dataset, repetition, arm): the records in the shape of a pair table.

    :func:`radlib.analysis.pair_table` with each repetition as its own "dataset"
    (``<dataset> r<repetition>``), plus the composite (z-scores over all generator records).
    The repetitions of one table share its real-only baseline within a repetition, as
    datasets share theirs in the study, so the study's functions (cluster bootstrap over
    "datasets", pooled vs within generator) apply unchanged: quality vs ΔAUC *across
    repetitions*.
    """
    relabelled = records.assign(dataset=records["dataset"] + " r" + records["repetition"].astype(str))
    pairs = analysis.pair_table(relabelled, classifier)
    return analysis.add_composite(pairs) if analysis.generators_of(pairs) else pairs


# --- verdicts ----------------------------------------------------------------------------


def _signed(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:+.{digits}f}"


def _ci(low: float, high: float, digits: int = 3) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "[no CI]"
    return f"[{_signed(low, digits)}, {_signed(high, digits)}]"


_CLASSIFIER_TEXT = {"logreg": "logistic regression", "rf": "random forest"}


def render_verdict(
    arms: pd.DataFrame, ranks: pd.DataFrame, dataset: Dataset, config: Config, alpha: float = 0.05
) -> str:
    """The plain-language verdict of a one-table audit, with its numbers.

    Per classifier: the real-only external AUC; each arm's mean ΔAUC with its 95%
    t-interval and the call (improved / worsened / no clear change: whether the interval
    excludes 0); which generators improved the external AUC; and whether the quality
    metrics ranked the generators like their ΔAUC (the composite's best generator vs the
    best-ΔAUC generator, Spearman ρ over the generators, and how many of the single
    metrics pick the best-ΔAUC generator).
    """
    level = int(round(100 * (1 - alpha)))
    reps = config["repetitions"]
    gens = list(config["synthesis"]["generators"])
    lines = [
        f"Verdict for {dataset.name} ({dataset.n} patients, {dataset.p} features; profile {config.profile}, "
        f"{reps} repetition{'s' if reps != 1 else ''}, generators {', '.join(gens) or 'none'}"
        f"{' + SMOTE' if config['synthesis']['smote'] else ''}; configuration {config.hash})"
    ]
    lines.append(
        "ΔAUC = external AUC with synthetic training rows added − external AUC of real-only training, "
        f"mean over the valid repetitions [{level}% t-interval]."
    )
    for classifier in _classifiers_in(arms):
        table = arms[(arms["classifier"] == classifier) & (arms["dataset"] == dataset.name)]
        if not len(table):
            lines.append(f"\n{_CLASSIFIER_TEXT.get(classifier, classifier)}: no valid repetition.")
            continue
        real = float(table["auc_real"].mean())
        lines.append(
            f"\n{_CLASSIFIER_TEXT.get(classifier, classifier).capitalize()}: real-only external AUC {real:.3f}."
        )
        width = max(len(a) for a in table["arm"])
        for row in table.sort_values("delta_auc", ascending=False).itertuples():
            failed = f", {row.n_failed} failed" if row.n_failed else ""
            lines.append(
                f"  {row.arm:<{width}}  ΔAUC {_signed(row.delta_auc)} "
                f"{_ci(row.delta_auc_ci_low, row.delta_auc_ci_high)}  {row.decision} "
                f"({row.n_improved} of {row.n_valid} repetitions up{failed})"
            )
        improved = table[table["decision"] == "improved"]
        generator_rows = table[table["arm"].isin(analysis.generators_of(table))]
        if len(generator_rows):
            up = improved[improved["arm"].isin(generator_rows["arm"])]
            if len(up):
                lines.append(
                    "  Improved the external AUC: "
                    + ", ".join(
                        f"{r.arm} by {_signed(r.delta_auc)} {_ci(r.delta_auc_ci_low, r.delta_auc_ci_high)}"
                        for r in up.itertuples()
                    )
                    + "."
                )
            else:
                best = generator_rows.loc[generator_rows["delta_auc"].idxmax()]
                lines.append(
                    f"  No generator improved the external AUC with {level}% confidence "
                    f"(largest mean gain: {best['arm']}, {_signed(best['delta_auc'])})."
                )
        lines.extend(_ranking_lines(ranks, classifier, dataset.name))
    failed_arms = arms.groupby("arm")["n_failed"].max()
    if (failed_arms > 0).any():
        lines.append(
            "\nFailed arms (see the 'error' column of the records): "
            + ", ".join(f"{arm} ({n} repetitions)" for arm, n in failed_arms[failed_arms > 0].items())
        )
    if reps < 5:
        lines.append(
            f"\nWith {reps} repetitions the intervals are wide; use more (--set repetitions=10) "
            "before drawing conclusions."
        )
    return "\n".join(lines) + "\n"


def _classifiers_in(table: pd.DataFrame) -> list[str]:
    present = set(table["classifier"]) if len(table) else set()
    return [c for c in analysis.CLASSIFIERS if c in present]


def _ranking_lines(ranks: pd.DataFrame, classifier: str, dataset: str) -> list[str]:
    own = ranks[(ranks["classifier"] == classifier) & (ranks["dataset"] == dataset)].set_index("metric")
    if not len(own) or analysis.COMPOSITE not in own.index or own.loc[analysis.COMPOSITE, "n_generators"] < 2:
        return ["  Quality ranking: needs 2 or more generators with valid repetitions."]
    comp = own.loc[analysis.COMPOSITE]
    n = int(comp["n_generators"])
    rho = comp["rho"]
    if np.isfinite(rho):
        same = "the same order" if rho == 1 else "the reverse order" if rho == -1 else "a partly different order"
        corr = f"Spearman ρ(composite quality, ΔAUC) over the {n} generators = {rho:+.2f}: {same}"
    else:
        corr = f"ρ not computed ({n} generators, or ties)"
    picks = "the best-ΔAUC generator" if comp["same_best"] else f"not the best-ΔAUC generator ({comp['best_by_delta']})"
    singles = own.drop(index=analysis.COMPOSITE)
    n_right = int(singles["same_best"].sum())
    lines = [
        f"  Did quality predict the gain? Best composite quality: {comp['best_by_quality']}, {picks}; {corr}.",
        f"    quality order: {comp['quality_order']};  ΔAUC order: {comp['delta_order']}.",
        f"    {n_right} of {len(singles)} single metrics ranked the best-ΔAUC generator first "
        f"({', '.join(singles.index[singles['same_best']]) or 'none'}).",
    ]
    return lines


def render_collection_verdict(
    numbers: Mapping[str, Mapping[str, Any]],
    results: Mapping[str, Mapping[str, pd.DataFrame]],
    arms: pd.DataFrame,
    datasets: Sequence[Dataset],
    config: Config,
    alpha: float = 0.05,
) -> str:
    """The plain-language verdict of a several-table audit (the study on the user's collection)."""
    level = int(round(100 * (1 - alpha)))
    lines = [
        f"Verdict for {len(datasets)} tables ({', '.join(d.name for d in datasets)}); profile {config.profile}, "
        f"{config['repetitions']} repetitions, generators {', '.join(config['synthesis']['generators']) or 'none'}; "
        f"configuration {config.hash}"
    ]
    for label, n in numbers.items():
        res = results[label]
        lines.append(
            f"\n{label}: {n['n_pairs']} table-generator pairs; undefined external AUC in "
            f"{n['tasks_undefined']} of {n['tasks_total']} table x repetition tasks."
        )
        for row in res["meta_generators"].itertuples():
            lines.append(
                f"  {row.generator}: pooled ΔAUC {_signed(row.estimate)} {_ci(row.ci_low, row.ci_high)} "
                f"(random-effects over {row.k} tables) - {_decision(row.ci_low, row.ci_high)}"
            )
        within = (
            f"within generators {_signed(n['within_rho_min'], 2)} to {_signed(n['within_rho_max'], 2)} "
            f"({n['n_within_significant']} of {n['n_within_tests']} with q < {alpha})"
            if n["n_within_tests"]
            else "within generators: too few tables (3 or more per generator)"
        )
        lines.append(
            f"  Quality vs ΔAUC, Spearman ρ over the five metrics: pooled over generators "
            f"{_signed(n['pooled_rho_min'], 2)} to {_signed(n['pooled_rho_max'], 2)} "
            f"({n['n_pooled_significant']} of 5 with q < {alpha}); {within}."
        )
        lines.append(
            f"  Choosing per table the generator of best composite quality: mean ΔAUC "
            f"{_signed(n['selection_mean_delta'])} {_ci(n['selection_ci_low'], n['selection_ci_high'])} "
            f"({level}% t-interval over tables); it picked the best-ΔAUC generator in "
            f"{n['n_selected_equals_oracle']} of {n['selection_n_datasets']} tables "
            f"(oracle mean {_signed(n['oracle_mean_delta'])}, SMOTE {_signed(n['smote_mean_delta'])})."
        )
    if not numbers:
        lines.append("\nNo generator arm with valid repetitions: the analyses of quality vs ΔAUC need generators.")
    improved = arms[(arms["decision"] == "improved") & (arms["classifier"] == "logreg")]
    lines.append(
        "\nPer table (logistic regression), arms whose ΔAUC interval lies above 0: "
        + ("; ".join(f"{r.dataset}: {r.arm} {_signed(r.delta_auc)}" for r in improved.itertuples()) or "none")
        + "."
    )
    return "\n".join(lines) + "\n"


# --- the audit ---------------------------------------------------------------------------


@dataclass
class AuditResult:
    """What :func:`audit` produced.

    Attributes
    ----------
    out : Path
        The output folder.
    config : Config
    datasets : list of Dataset
    grid : GridResult
        Records, manifest and their paths.
    arms : DataFrame
        :func:`summarize_arms`.
    quantities : DataFrame
        :func:`summarize_quantities`.
    ranks : DataFrame
        :func:`rank_agreement`.
    analyses : dict
        Several tables: analysis label -> :func:`radlib.analysis.run_analyses` output; one
        table: classifier -> the correlations across repetitions.
    verdict : str
    files : list of Path
        Tables, figures and text files written (the records and manifest are in ``grid``).
    seconds : float
        Wall time of the whole audit.
    """

    out: Path
    config: Config
    datasets: list[Dataset]
    grid: GridResult
    arms: pd.DataFrame
    quantities: pd.DataFrame
    ranks: pd.DataFrame
    analyses: dict = field(default_factory=dict)
    verdict: str = ""
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def _save(fig, folder: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    try:
        return plots.save_figure(fig, folder, stem)
    finally:
        plt.close(fig)


def _single_table_outputs(result: AuditResult, n_boot: int, alpha: float) -> None:
    config, records = result.config, result.grid.records
    tables, figures = config.path("tables"), config.path("figures")
    seed = config.seed("analysis")
    written = report.write_tables(
        {"arms": result.arms, "quantities": result.quantities, "ranks": result.ranks}, tables, "audit"
    )
    classifiers = _classifiers(records)
    if (records["arm"] != REAL_ARM).any():
        written += _save(plots.plot_delta_auc(records, classifiers), figures, "delta_auc")
    for classifier in classifiers:
        pairs = repetition_pairs(records, classifier)
        if not analysis.generators_of(pairs):
            continue
        correlations = analysis.correlate_quality(pairs, (*analysis.METRICS, analysis.COMPOSITE), n_boot, seed, alpha)
        result.analyses[classifier] = {"pairs": pairs, "correlations": correlations}
        written += report.write_tables({"repetition_correlations": correlations}, tables, f"audit_{classifier}")
        written += _save(plots.plot_quality_vs_delta(pairs, correlations), figures, f"quality_vs_delta_{classifier}")
    result.files.extend(written)


def _collection_outputs(result: AuditResult, n_boot: int, alpha: float, n_jobs: int) -> dict:
    config, records, manifest = result.config, result.grid.records, result.grid.manifest
    tables, figures = config.path("tables"), config.path("figures")
    seed = config.seed("analysis")
    written = report.write_tables(
        {"arms": result.arms, "quantities": result.quantities, "ranks": result.ranks}, tables, "audit"
    )
    if (records["arm"] != REAL_ARM).any():
        written += _save(plots.plot_delta_auc(records, _classifiers(records)), figures, "04_delta_auc")
    numbers: dict[str, dict] = {}
    has_generators = bool(analysis.generators_of(records[records["status"] == "ok"]))
    runs = [(c, "all", None) for c in _classifiers(records)] if has_generators else []
    if has_generators and "logreg" in _classifiers(records):
        chance = analysis.chance_table(config, result.datasets, n_jobs=n_jobs)
        subset = analysis.sensitivity_subset(chance)
        if len(subset) >= 2:
            runs.append(("logreg", "sensitivity", subset))
        else:
            log.warning(
                "sensitivity subset has %d table(s) (%s); its analysis needs 2 or more",
                len(subset),
                ", ".join(subset) or "none",
            )
    for classifier, subset, names in runs:
        with warnings.catch_warnings():  # statsmodels divides by zero for a zero-variance study; handled
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="statsmodels")
            res = analysis.run_analyses(records, classifier, datasets=names, n_boot=n_boot, seed=seed, alpha=alpha)
        prefix = report.table_prefix(classifier, subset)
        label = report.analysis_label(classifier, subset)
        written += report.write_tables(res, tables, prefix)
        numbers[label] = analysis.summarize(res, alpha)
        result.analyses[label] = res
        written.append(report.update_summary(numbers[label], tables, classifier, subset, manifest, names))
        written += _save(
            plots.plot_quality_vs_delta(res["pairs"], res["correlations"]), figures, f"05_{prefix}_quality_vs_delta"
        )
    if runs:
        problems = report.check_summary_agrees(tables)
        if problems:
            log.warning("summary.md disagrees with the tables: %s", "; ".join(problems))
    result.files.extend(written)
    return numbers


def audit(
    paths: Sequence[str | Path],
    target: str,
    id_column: str | None = None,
    profile: str = "full",
    overrides: Mapping[str, Any] | None = None,
    generator_names: Sequence[str] | None = None,
    out: str | Path | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    plugins: Sequence[str] = (),
    min_class_rows: int = MIN_CLASS_ROWS,
    n_boot: int = 2000,
    alpha: float = 0.05,
    show_progress: bool = True,
) -> AuditResult:
    """Run the study's protocol on one or several of your own tables.

    Order of work: plug-ins, configuration and generator names, then every table is read
    and checked (all errors come before any training), then the grid runs (cached and
    resumable, like ``radlib run``), then the summaries, figures and verdict are written.

    Parameters
    ----------
    paths : sequence of path
        Table files (CSV, ``.csv.gz``, Parquet) and/or folders of such files.
    target : str
        The binary outcome column (same name in every table).
    id_column : str, optional
        A patient identifier column to drop (default: ``ID`` if present).
    profile : str
        ``smoke``, ``quick``, ``full`` or a YAML file (default ``full``: 10 repetitions,
        the three generators).
    overrides : mapping, optional
        Dotted configuration keys, as ``--set`` (``{"repetitions": 5}``).
    generator_names : sequence of str, optional
        Replace the profile's generators (registered names; ``smote`` switches SMOTE on).
    out : path, optional
        Output folder; default ``results/audit/<table name>/`` (several tables: the folder
        name, or the first table's name) under the project root.
    n_jobs, scheduler :
        As for :func:`radlib.experiment.run_grid`.
    plugins : sequence of str
        Plug-ins to import first (:func:`load_plugin`); installed in the Dask workers too.
    min_class_rows : int
        Fewest rows per class (:data:`MIN_CLASS_ROWS`).
    n_boot : int
        Bootstrap resamples of the analyses.
    alpha : float
        1 - confidence level of every interval.
    show_progress : bool

    Returns
    -------
    AuditResult

    Raises
    ------
    DataError
        A table that cannot be used (the message names the file and the problem).
    ConfigError
        A bad profile, override or generator name.
    AuditError
        A broken plug-in, no tables, or tables with the same name.
    GridLockedError
        Another run is writing to the same output folder.
    """
    started = time.perf_counter()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for spec in plugins:
        load_plugin(spec)
    load_config(profile, overrides)  # profile and override errors first, before any file is read
    if generator_names is not None:
        check_generators(generator_names)
    table_paths = find_tables(paths)
    out = Path(out).resolve() if out is not None else _default_out(table_paths, paths)
    datasets = [load_table(p, target, id_column, min_class_rows) for p in table_paths]
    config = audit_config(profile, overrides, out, generator_names, [d.name for d in datasets])
    _drop_stale_tasks(config, datasets)
    grid = _run(config, datasets, n_jobs, scheduler, plugins, show_progress)
    records = grid.records
    if not len(records):
        raise AuditError(f"no task finished; see {grid.manifest_path} (tasks_failed)")
    missing = _uncomputed_metrics(records)
    if missing:
        log.warning(
            "registered metric(s) %s missing from the records: the Dask workers did not have them; "
            "register them in a plug-in (plugins=[...], --plugin) or run with n_jobs=1",
            ", ".join(missing),
        )
    arms = summarize_arms(records, alpha)
    result = AuditResult(out, config, datasets, grid, arms, summarize_quantities(records, alpha), rank_agreement(arms))
    if len(datasets) == 1:
        _single_table_outputs(result, n_boot, alpha)
        result.verdict = render_verdict(arms, result.ranks, datasets[0], config, alpha)
    else:
        numbers = _collection_outputs(result, n_boot, alpha, n_jobs or config["run"]["n_jobs"])
        result.verdict = render_collection_verdict(numbers, result.analyses, arms, datasets, config, alpha)
    if missing:
        result.verdict += (
            f"\nNot computed: the metric(s) {', '.join(missing)} were registered in this process only, "
            "not in the Dask workers; pass the module as a plug-in, or run with n_jobs=1.\n"
        )
    data_report = out / "data_report.json"
    data_report.write_text(json.dumps({d.name: d.report for d in datasets}, indent=2, default=str) + "\n")
    verdict_path = out / "verdict.md"
    verdict_path.write_text("\n\n".join(describe_dataset(d) for d in datasets) + "\n\n" + result.verdict)
    result.files += [data_report, verdict_path]
    result.seconds = time.perf_counter() - started
    return result
