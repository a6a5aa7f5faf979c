"""The audit itself: configuration, the grid run, the summaries, tables, figures and verdict it writes."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from radlib import analysis, generators, plots, quality, report
from radlib.audit.inputs import (
    MIN_CLASS_ROWS,
    AuditError,
    PluginLoader,
    describe_dataset,
    find_tables,
    load_plugin,
    load_table,
    table_name,
)
from radlib.audit.summaries import rank_agreement, repetition_pairs, summarize_arms, summarize_quantities
from radlib.audit.verdict import render_collection_verdict, render_verdict
from radlib.config import Config, ConfigError, load_config, project_root
from radlib.data import Dataset
from radlib.files import write_text_atomically
from radlib.grid import GridResult, WorkerPluginError, _run_lock, run_grid, task_path
from radlib.records import COMPOSITE, REAL_ARM, classifiers_in

__all__ = ["AuditResult", "check_generators", "audit_config", "audit"]

log = logging.getLogger(__name__)


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
    """run_grid, with the plug-ins installed in every Dask worker when the run is parallel.

    In-process (one local job) the plug-ins are already imported here (:func:`load_plugin`).
    """
    try:
        return run_grid(
            config,
            datasets,
            n_jobs=n_jobs or config["run"]["n_jobs"],
            scheduler=scheduler or config["run"]["scheduler"],
            show_progress=show_progress,
            worker_plugins=[PluginLoader(plugins)] if plugins else (),
        )
    except WorkerPluginError as exc:
        raise AuditError(str(exc)) from exc


# --- outputs -------------------------------------------------------------------------------


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


def _arm_outputs(result: AuditResult, delta_figure: str) -> list[Path]:
    """The per-arm tables (``audit_arms``, ``audit_quantities``, ``audit_ranks``) and the ΔAUC figure."""
    config, records = result.config, result.grid.records
    written = report.write_tables(
        {"arms": result.arms, "quantities": result.quantities, "ranks": result.ranks}, config.path("tables"), "audit"
    )
    if (records["arm"] != REAL_ARM).any():
        figure = plots.plot_delta_auc(records, classifiers_in(records.columns))
        written += _save(figure, config.path("figures"), delta_figure)
    return written


def _single_table_outputs(result: AuditResult, n_boot: int, alpha: float) -> None:
    """One table: the per-arm outputs, and quality vs ΔAUC across repetitions per classifier."""
    config, records = result.config, result.grid.records
    tables, figures = config.path("tables"), config.path("figures")
    seed = config.seed("analysis")
    written = _arm_outputs(result, "delta_auc")
    for classifier in classifiers_in(records.columns):
        pairs = repetition_pairs(records, classifier)
        if not analysis.generators_of(pairs):
            continue
        correlations = analysis.correlate_quality(pairs, (*analysis.METRICS, COMPOSITE), n_boot, seed, alpha)
        result.analyses[classifier] = {"pairs": pairs, "correlations": correlations}
        written += report.write_tables({"repetition_correlations": correlations}, tables, f"audit_{classifier}")
        written += _save(plots.plot_quality_vs_delta(pairs, correlations), figures, f"quality_vs_delta_{classifier}")
    result.files.extend(written)


def _collection_outputs(result: AuditResult, n_boot: int, alpha: float, n_jobs: int) -> dict:
    """Several tables: the per-arm outputs and notebook 05's analyses; returns the key numbers per analysis."""
    config, records, manifest = result.config, result.grid.records, result.grid.manifest
    tables, figures = config.path("tables"), config.path("figures")
    seed = config.seed("analysis")
    written = _arm_outputs(result, "04_delta_auc")
    numbers: dict[str, dict] = {}
    has_generators = bool(analysis.generators_of(records[records["status"] == "ok"]))
    classifiers = classifiers_in(records.columns)
    runs = [(c, "all", None) for c in classifiers] if has_generators else []
    if has_generators and "logreg" in classifiers:
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


# --- the audit ---------------------------------------------------------------------------


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
        As for :func:`radlib.grid.run_grid`.
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
    write_text_atomically(json.dumps({d.name: d.report for d in datasets}, indent=2, default=str) + "\n", data_report)
    verdict_path = out / "verdict.md"
    write_text_atomically("\n\n".join(describe_dataset(d) for d in datasets) + "\n\n" + result.verdict, verdict_path)
    result.files += [data_report, verdict_path]
    result.seconds = time.perf_counter() - started
    return result
