"""The audit itself: configuration, the grid run, the summaries, tables, figures and verdict it writes."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radlib import analysis, generators, plots, quality, report
from radlib.audit.folder import check_out_folder, claim_out_folder, staged_outputs
from radlib.audit.inputs import (
    MIN_CLASS_ROWS,
    AuditError,
    PluginLoader,
    find_tables,
    load_plugin,
    load_table,
    table_name,
)
from radlib.audit.summaries import rank_agreement, repetition_pairs, summarize_arms, summarize_quantities
from radlib.audit.verdict import render_collection_verdict, render_run, render_verdict, verdict_html
from radlib.config import Config, ConfigError, load_config, project_root
from radlib.data import Dataset
from radlib.experiment import DEFAULT_SPECIFICATION
from radlib.files import write_text_atomically
from radlib.grid import GridResult, WorkerPluginError, run_grid, run_lock, task_path
from radlib.records import COMPOSITE, REAL_ARM, classifiers_in, is_study_arm, valid_mask

__all__ = [
    "AuditResult",
    "AuditFailedError",
    "UNUSED_SETTINGS",
    "check_generators",
    "check_overrides",
    "audit_config",
    "estimate_memory",
    "audit",
]

log = logging.getLogger(__name__)

#: Settings an audit sets itself or does not read: ``--set`` of one of them is refused.
UNUSED_SETTINGS = ("datasets", "paths", "data")
#: Memory of one worker process before it holds any data: Python, NumPy, scikit-learn, torch
#: (measured 2026-12-02 on the 569 x 30 breast-cancer table: the audit's process peaked at 616 MB
#: resident in the smoke profile and 686 MB in the full one).
_WORKER_BASE_BYTES = 600 * 2**20


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


def check_overrides(overrides: Mapping[str, Any] | None) -> None:
    """Raise :class:`ConfigError` for a ``--set`` of a setting the audit does not use (:data:`UNUSED_SETTINGS`)."""
    for key in overrides or {}:
        section = str(key).split(".")[0]
        if section in UNUSED_SETTINGS:
            raise ConfigError(
                f"--set {key}: an audit does not use '{section}' (it reads the tables given by --csv and writes "
                "everything under --out); leave it out"
            )


def estimate_memory(config: Config, datasets: Sequence[Dataset], n_jobs: int) -> int:
    """Bytes an audit needs at its peak, estimated before it starts: ``n_jobs`` workers at once on the largest table.

    Per worker: :data:`_WORKER_BASE_BYTES`; the table and its shifted copy (2 n p floats); each
    arm's training set of the internal rows and ``synthesis.ratio`` times as many synthetic rows
    on the ``features.k`` selected features; and MMD's three kernel matrices of at most
    ``metrics.mmd_max_rows`` rows per side. An estimate of the order of magnitude, not a bound.
    """
    worst = max(datasets, key=lambda d: d.n * d.p)
    k = min(config["features"]["k"], worst.p)
    rows = worst.n * (1 + config["synthesis"]["ratio"])
    arms = 2 + len(config["synthesis"]["generators"]) * len(config["synthesis"]["snapshots"])
    mmd_rows = min(config["metrics"]["mmd_max_rows"], rows)
    floats = 2 * worst.n * worst.p + arms * rows * k + 3 * mmd_rows**2
    return int(n_jobs * (_WORKER_BASE_BYTES + 8 * floats))


def _available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes, or None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_memory(config: Config, datasets: Sequence[Dataset], n_jobs: int) -> None:
    """Raise :class:`AuditError` when :func:`estimate_memory` exceeds the memory this machine has free."""
    needed, available = estimate_memory(config, datasets, n_jobs), _available_memory()
    if available is not None and needed > available:
        raise AuditError(
            f"the audit would need about {needed / 2**30:.1f} GiB of memory ({n_jobs} worker(s), synthesis.ratio "
            f"{config['synthesis']['ratio']:g}, the largest table {max(d.n * d.p for d in datasets):,} values), "
            f"more than the {available / 2**30:.1f} GiB available; lower synthesis.ratio, metrics.mmd_max_rows "
            "or --n-jobs"
        )


def _default_out(tables: Sequence[Path], paths: Sequence[str | Path]) -> Path:
    root = project_root() / "results" / "audit"
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return root / Path(paths[0]).resolve().name
    names = [table_name(t) for t in tables]
    if len(names) == 1:
        return root / names[0]
    digest = hashlib.sha256("\x1f".join(sorted(names)).encode()).hexdigest()[:8]
    return root / f"{names[0]}+{len(names) - 1}-more-{digest}"


def _lacks_user_metrics(path: Path) -> list[str]:
    """The registered user metrics a cached task file has no column for (unreadable: none; the grid recomputes it)."""
    import pyarrow.parquet as pq

    try:
        columns = set(pq.read_schema(path).names)
    except Exception:
        return []
    return [m for m in quality.USER_METRICS if m not in columns]


def _drop_unusable_tasks(config: Config, datasets: Sequence[Dataset]) -> list[Path]:
    """Delete the cached task files that lack a registered user metric, so that the grid recomputes them.

    The configuration hash does not know the user metrics. Every other check of a task file
    (its records are its name's task, unchanged since written, complete) is the grid's
    (:func:`radlib.grid.read_task`). Call under the run lock.
    """
    removed = []
    for dataset in datasets:
        for repetition in range(config["repetitions"]):
            path = task_path(config, dataset, repetition)
            missing = _lacks_user_metrics(path) if path.exists() else []
            if missing:
                log.warning(
                    "cached task file %s will be recomputed: it lacks the registered metric(s) %s",
                    path.name,
                    ", ".join(missing),
                )
                path.unlink()
                removed.append(path)
    return removed


def _uncomputed_metrics(records: pd.DataFrame) -> list[str]:
    """Registered user metrics with no value in any successful synthetic record."""
    synthetic = records[(records["arm"] != REAL_ARM) & (records["status"] == "ok")]
    if not len(synthetic):
        return []
    return [m for m in quality.USER_METRICS if m not in synthetic or not synthetic[m].notna().any()]


def _run(
    config: Config,
    datasets: list[str | Dataset],
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
            specifications=[DEFAULT_SPECIFICATION],  # the study's protocol; the curve is the compendium's
        )
    except WorkerPluginError as exc:
        raise AuditError(str(exc)) from exc


# --- outputs -------------------------------------------------------------------------------


class AuditFailedError(RuntimeError):
    """The audit ran, but no task finished: nothing to report; the output folder keeps its previous outputs."""


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
    problems : list of str
        Outputs that could not be made (``"<output>: <error>"``); the verdict names them.
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
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _guarded(result: AuditResult, label: str, step, default=None):
    """Run one output step; a failure is logged and listed in ``result.problems`` and stops no other step.

    A table whose repetitions all have an undefined AUC, or a figure of degenerate data,
    must not cost the outputs of everything that finished.
    """
    try:
        return step()
    except Exception as exc:
        log.warning("%s could not be made: %s: %s", label, type(exc).__name__, exc)
        log.debug("%s could not be made", label, exc_info=True)
        result.problems.append(f"{label}: {type(exc).__name__}: {exc}")
        return default


def _save(fig, folder: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    try:
        return plots.save_figure(fig, folder, stem)
    finally:
        plt.close(fig)


def _arm_outputs(result: AuditResult, delta_figure: str) -> None:
    """The per-arm tables (``audit_arms``, ``audit_quantities``, ``audit_ranks``) and the ΔAUC figure.

    The figure shows the study's arms (:func:`radlib.records.is_study_arm`); the snapshot arms
    of the fidelity ladder are in ``audit_quantities``.
    """
    config, records = result.config, result.grid.records
    tables = {"arms": result.arms, "quantities": result.quantities, "ranks": result.ranks}
    result.files += _guarded(
        result, "per-arm tables", lambda: report.write_tables(tables, config.path("tables"), "audit"), []
    )
    shown = records[records["arm"].map(is_study_arm)]  # the study's arms; the snapshots are the ladder's
    if (shown["arm"] != REAL_ARM).any():
        result.files += _guarded(
            result,
            f"figure {delta_figure}",
            lambda: _save(
                plots.plot_delta_auc(shown, classifiers_in(records.columns)), config.path("figures"), delta_figure
            ),
            [],
        )


def _repetition_outputs(result: AuditResult, classifier: str, n_boot: int, alpha: float) -> None:
    """Quality vs ΔAUC across one table's repetitions for one classifier: the table and the figure."""
    config = result.config
    pairs = repetition_pairs(result.grid.records, classifier)
    if not analysis.generators_of(pairs):
        return
    correlations = analysis.correlate_quality(
        pairs, (*analysis.METRICS, COMPOSITE), n_boot=n_boot, seed=config.seed("analysis"), alpha=alpha
    )
    result.analyses[classifier] = {"pairs": pairs, "correlations": correlations}
    result.files += report.write_tables(
        {"repetition_correlations": correlations}, config.path("tables"), f"audit_{classifier}"
    )
    result.files += _save(
        plots.plot_quality_vs_delta(pairs, correlations), config.path("figures"), f"quality_vs_delta_{classifier}"
    )


def _single_table_outputs(result: AuditResult, n_boot: int, alpha: float) -> None:
    """One table: the per-arm outputs, and quality vs ΔAUC across repetitions per classifier."""
    _arm_outputs(result, "delta_auc")
    for classifier in classifiers_in(result.grid.records.columns):
        _guarded(
            result,
            f"quality vs ΔAUC across repetitions ({classifier})",
            lambda c=classifier: _repetition_outputs(result, c, n_boot, alpha),
        )


def _analysis_outputs(result: AuditResult, run: tuple, numbers: dict, n_boot: int, alpha: float) -> None:
    """One of notebook 05's analyses (a classifier on all tables or on the sensitivity subset) and its outputs."""
    classifier, subset, names = run
    config, records = result.config, result.grid.records
    with warnings.catch_warnings():  # statsmodels divides by zero for a zero-variance study; handled
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="statsmodels")
        res = analysis.run_analyses(
            records, classifier, datasets=names, n_boot=n_boot, seed=config.seed("analysis"), alpha=alpha
        )
    prefix = report.table_prefix(classifier, subset)
    label = report.analysis_label(classifier, subset)
    tables = config.path("tables")
    result.files += report.write_tables(res, tables, prefix)
    numbers[label] = analysis.summarize(res, alpha=alpha)
    result.analyses[label] = res
    result.files.append(report.update_summary(numbers[label], tables, classifier, subset, result.grid.manifest, names))
    result.files += _save(
        plots.plot_quality_vs_delta(res["pairs"], res["correlations"]),
        config.path("figures"),
        f"05_{prefix}_quality_vs_delta",
    )


def _sensitivity_run(result: AuditResult, finished: list[Dataset], n_jobs: int) -> list[tuple]:
    """The sensitivity-subset analysis to run (logistic regression), if 2 or more finished tables beat chance."""
    chance = analysis.chance_table(result.config, finished, n_jobs=n_jobs)
    subset = analysis.sensitivity_subset(chance)
    if len(subset) >= 2:
        return [("logreg", "sensitivity", subset)]
    log.warning(
        "sensitivity subset has %d table(s) (%s); its analysis needs 2 or more",
        len(subset),
        ", ".join(subset) or "none",
    )
    return []


def _collection_outputs(result: AuditResult, n_boot: int, alpha: float, n_jobs: int) -> dict:
    """Several tables: the per-arm outputs and notebook 05's analyses on the tables that finished.

    Returns the key numbers per analysis. A table without a finished task is left out of
    every analysis (the verdict names it).
    """
    records = result.grid.records
    _arm_outputs(result, "04_delta_auc")
    numbers: dict[str, dict] = {}
    finished = [d for d in result.datasets if d.name in set(records["dataset"])]
    has_generators = bool(analysis.generators_of(records[records["status"] == "ok"]))
    classifiers = classifiers_in(records.columns)
    runs = [(c, "all", None) for c in classifiers] if has_generators else []
    if has_generators and "logreg" in classifiers:
        runs += _guarded(
            result, "sensitivity subset (chance test)", lambda: _sensitivity_run(result, finished, n_jobs), []
        )
    for run in runs:
        label = report.analysis_label(run[0], run[1])
        _guarded(result, f"analyses {label}", lambda r=run: _analysis_outputs(result, r, numbers, n_boot, alpha))
    if numbers:
        problems = report.check_summary_agrees(result.config.path("tables"))
        if problems:
            log.warning("summary.md disagrees with the tables: %s", "; ".join(problems))
    return numbers


def _no_task_message(grid: GridResult, out: Path) -> str:
    failed = grid.manifest["tasks_failed"]
    shown = "; ".join(f"{task}: {error}" for task, error in list(failed.items())[:3])
    more = f"; ... ({len(failed)} in all)" if len(failed) > 3 else ""
    return (
        f"no task finished ({len(failed)} of {grid.manifest['tasks_total']} failed: {shown}{more}); "
        f"no output was replaced: {out} keeps its previous outputs (the run is in its history, runs/)"
    )


def _anything_valid(records: pd.DataFrame) -> bool:
    """Whether the records hold a valid evaluation (:func:`radlib.records.valid_mask`) of a synthetic arm.

    Without a synthetic arm in the records (no generator, no SMOTE), a valid real-only evaluation counts.
    """
    valid = np.logical_or.reduce([valid_mask(records, c).to_numpy() for c in classifiers_in(records.columns)])
    synthetic = (records["arm"] != REAL_ARM).to_numpy()
    return bool(valid[synthetic].any()) if synthetic.any() else bool(valid.any())


def _nothing_valid_message(records: pd.DataFrame, out: Path) -> str:
    failed = int((records["status"] != "ok").sum())
    undefined = int(((records["status"] == "ok") & records["undefined"].astype(bool)).sum())
    first_error = next((e for e in records.loc[records["status"] != "ok", "error"] if e), "")
    shown = f"; the first error: {first_error.splitlines()[0]}" if first_error else ""
    return (
        f"nothing valid was computed: no arm with synthetic rows has a defined external AUC; of {len(records)} records, {failed} failed and {undefined} have an undefined "
        f"external AUC (a site with a single class){shown}; no output was replaced: {out} keeps its previous outputs (the run is in its history, runs/)"
    )


def _write_outputs(
    config: Config,
    datasets: list[Dataset],
    grid: GridResult,
    n_boot: int,
    alpha: float,
    n_jobs: int,
) -> AuditResult:
    """Every output after training, each step guarded: the summaries, tables, figures, verdict and data report."""
    records = grid.records
    empty = pd.DataFrame()
    result = AuditResult(config.path("processed"), config, datasets, grid, empty, empty, empty)
    result.arms = _guarded(result, "per-arm summary", lambda: summarize_arms(records, alpha), empty)
    result.quantities = _guarded(result, "quantity summary", lambda: summarize_quantities(records, alpha), empty)
    result.ranks = _guarded(result, "quality ranking", lambda: rank_agreement(result.arms), empty)
    if len(datasets) == 1:
        _single_table_outputs(result, n_boot, alpha)
        render = partial(render_verdict, result.arms, result.ranks, datasets[0], config, alpha, records)
    else:
        numbers = _collection_outputs(result, n_boot, alpha, n_jobs)
        render = partial(render_collection_verdict, numbers, result.analyses, result.arms, datasets, config, alpha)
    verdict = _guarded(result, "verdict", render, "")
    missing = _uncomputed_metrics(records)
    if missing:
        log.warning(
            "registered metric(s) %s missing from the records: the Dask workers did not have them; "
            "register them in a plug-in (plugins=[...], --plugin) or run with n_jobs=1",
            ", ".join(missing),
        )
        verdict += (
            f"\nNot computed: the metric(s) {', '.join(missing)} were registered in this process only, "
            "not in the Dask workers; pass the module as a plug-in, or run with n_jobs=1.\n"
        )
    out = config.path("processed")
    data_report = out / "data_report.json"
    write_text_atomically(json.dumps({d.name: d.report for d in datasets}, indent=2, default=str) + "\n", data_report)
    result.verdict = verdict + render_run(grid, datasets, result.problems)
    verdict_path, html_path = out / "verdict.md", out / "verdict.html"
    write_text_atomically(result.verdict, verdict_path)
    figures = [path for path in result.files if path.suffix == ".png"]
    write_text_atomically(
        verdict_html(result.verdict, figures, f"radlib audit: {', '.join(d.name for d in datasets)}"), html_path
    )
    result.files += [data_report, verdict_path, html_path]
    return result


# --- the audit ---------------------------------------------------------------------------


def audit(
    paths: Sequence[str | Path],
    target: str,
    id_column: str | Sequence[str] | None = None,
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
    positive_class: str | None = None,
    keep: Sequence[str] = (),
    first_row_per_id: bool = False,
) -> AuditResult:
    """Run the study's protocol on one or several of your own tables.

    Order of work: plug-ins, configuration and generator names, the output folder, then
    every table is read and checked (all errors come before any training); then, holding
    the output folder's lock (:func:`radlib.grid.run_lock`) until the last file is written,
    the grid runs (cached and resumable, like ``radlib run``) and the summaries, figures
    and verdict are written into a staging folder that replaces the previous outputs as a
    set (:mod:`radlib.audit.folder`). Every step after training is guarded: a step that
    fails is named in the verdict and the others are written.

    Parameters
    ----------
    paths : sequence of path
        Table files (CSV, ``.csv.gz``, Parquet) and/or folders of such files.
    target : str
        The binary outcome column (same name in every table).
    id_column : str or sequence of str, optional
        Patient identifier column(s) to drop (default: ``ID`` if present).
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
        Fewest rows per class (:data:`MIN_CLASS_ROWS`), at least 1.
    n_boot : int
        Bootstrap resamples of the analyses.
    alpha : float
        1 - confidence level of every interval.
    show_progress : bool
    positive_class : str, optional
        The target value coded 1, for a target that is not 0/1, True/False or "0"/"1".
    keep : sequence of str
        Numeric columns that look like patient identifiers but are features.
    first_row_per_id : bool
        An ID on several rows: keep its first row (the others are dropped and listed)
        instead of refusing the table.

    Returns
    -------
    AuditResult

    Raises
    ------
    DataError
        A table that cannot be used (the message names the file and the problem).
    ConfigError
        A bad profile, override or generator name, or an override of a setting the audit
        does not use (:data:`UNUSED_SETTINGS`).
    AuditError
        ``n_jobs`` below 1, more memory than the machine has free (:func:`estimate_memory`),
        a broken plug-in, no tables, tables with the same name, ``min_class_rows`` below 1,
        an output folder that is a file, an empty ``out``, or an output folder an audit may not
        write into (:func:`radlib.audit.folder.check_out_folder`: the project, a folder git
        tracks files in, the input's folder, a folder of files no audit wrote).
    GridLockedError
        Another run is writing to the same output folder.
    AuditFailedError
        No task finished; the output folder keeps its previous outputs.
    """
    started = time.perf_counter()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if min_class_rows < 1:
        raise AuditError(
            f"--min-class-rows must be at least 1, got {min_class_rows}: each class needs patients "
            "for training and for the simulated external site"
        )
    if n_jobs is not None and n_jobs < 1:
        raise AuditError(f"--n-jobs must be at least 1, got {n_jobs}")
    for spec in plugins:
        load_plugin(spec)
    check_overrides(overrides)
    load_config(profile, overrides)  # profile and override errors first, before any file is read
    if generator_names is not None:
        check_generators(generator_names)
    if out is not None and not str(out).strip():
        raise AuditError(
            "--out is empty (an unset variable?); give the output folder, or leave --out out for the default "
            "results/audit/<table name>"
        )
    table_paths = find_tables(paths)
    out = Path(out).resolve() if out is not None else _default_out(table_paths, paths)
    check_out_folder(out, table_paths)
    datasets = [
        load_table(p, target, id_column, min_class_rows, positive_class, keep, first_row_per_id) for p in table_paths
    ]
    config = audit_config(profile, overrides, out, generator_names, [d.name for d in datasets])
    _check_memory(config, datasets, 1 if scheduler else (n_jobs or config["run"]["n_jobs"]))
    claim_out_folder(out)
    with run_lock(out), staged_outputs(out) as staging:
        staged = config.with_overrides(
            {
                "paths.processed": str(staging),
                "paths.tables": str(staging / "tables"),
                "paths.figures": str(staging / "figures"),
            }
        )
        _drop_unusable_tasks(staged, datasets)
        grid = _run(staged, list[str | Dataset](datasets), n_jobs, scheduler, plugins, show_progress)
        if not len(grid.records):
            raise AuditFailedError(_no_task_message(grid, out))
        if not _anything_valid(grid.records):
            raise AuditFailedError(_nothing_valid_message(grid.records, out))
        grid.manifest["config"] = config.params  # the paths of the output folder, not of the staging one
        write_text_atomically(json.dumps(grid.manifest, indent=2, default=str), grid.manifest_path)
        result = _write_outputs(staged, datasets, grid, n_boot, alpha, n_jobs or config["run"]["n_jobs"])
    result.out, result.config = out, config
    result.grid = GridResult(grid.records, grid.manifest, out / grid.results_path.name, out / grid.manifest_path.name)
    result.files = [out / path.relative_to(staging) for path in result.files]
    result.seconds = time.perf_counter() - started
    return result
