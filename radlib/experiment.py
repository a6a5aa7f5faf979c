"""The study's engine: one task gives the records of DESIGN.md step 7; the grid runs all tasks.

A *task* is one (dataset, repetition): simulate the external site, fit the development
pipeline on the internal set, train every arm (real-only, each generator, SMOTE) with
both classifiers, score them on the external set and measure the synthetic data's quality.

The grid runs the tasks on Dask: a local cluster of ``n_jobs`` single-threaded worker
processes by default, or an existing cluster given by its scheduler address. Workers only
compute and return records; the client writes each finished task atomically (temporary
file + ``os.replace``) to ``<processed>/tasks/<config hash>/``, so a killed run loses at
most the tasks in flight and a rerun skips what is done. A lock file refuses a second run
on the same output folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from radlib import generators
from radlib.classifiers import make_classifier
from radlib.config import Config
from radlib.data import Dataset, datasets_of, load_datasets
from radlib.features import development_pipeline
from radlib.files import write_parquet_atomically, write_text_atomically
from radlib.quality import quality_metrics
from radlib.shift import simulate_external

__all__ = [
    "REAL_ARM",
    "GridResult",
    "GridLockedError",
    "arms_of",
    "synthetic_counts",
    "make_classifier",
    "run_task",
    "run_grid",
    "task_path",
    "read_task",
]

log = logging.getLogger(__name__)

REAL_ARM = "real"
TIMING_COLUMNS = ("fit_seconds", "sample_seconds", "metric_seconds", "classifier_seconds")
VERSIONED_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "imbalanced-learn",
    "torch",
    "ctgan",
    "radMLBench",
    "radlib",
)


class GridLockedError(RuntimeError):
    """Another run holds the lock on the same output folder."""


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the records, and Python's."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def arms_of(config: Config) -> list[str]:
    """The arms of the study: real-only, each configured generator, then SMOTE if enabled."""
    return [REAL_ARM, *config["synthesis"]["generators"], *(["smote"] if config["synthesis"]["smote"] else [])]


def synthetic_counts(y: np.ndarray, ratio: float) -> dict[int, int]:
    """Per-class synthetic sample sizes: ``ratio`` times the internal class counts, rounded."""
    return {label: int(round(ratio * int(np.sum(y == label)))) for label in (0, 1)}


def _external_auc(model, X_external: np.ndarray, y_external: np.ndarray) -> float:
    """ROC-AUC on the external set; NaN when it holds a single class (undefined)."""
    if len(np.unique(y_external)) < 2:
        return float("nan")
    return float(roc_auc_score(y_external, model.predict_proba(X_external)[:, 1]))


def run_task(dataset: Dataset, repetition: int, config: Config) -> pd.DataFrame:
    """Run one (dataset, repetition) and return one record per arm (DESIGN.md step 7).

    Every transform and model is fitted on the internal set (and synthetic data derived
    from it) only; the external set is used for scoring alone.

    Parameters
    ----------
    dataset : Dataset
        A cleaned dataset (:func:`radlib.data.load_dataset`).
    repetition : int
        Repetition index; with the dataset name and ``base_seed`` it fixes every seed.
    config : Config

    Returns
    -------
    DataFrame
        One row per arm with: sizes and class counts of both sets, the five quality
        metrics (NaN for the real-only arm), ``auc_<clf>`` and ``delta_auc_<clf>`` for each
        classifier, ``undefined`` (external set with one class), timings, ``status``
        (``ok`` or ``failed``) and ``error``, seeds, the configuration hash and versions.
    """
    name = dataset.name
    split_seed = config.seed(name, repetition, "split")
    split = simulate_external(dataset.X, config["shift"], split_seed)
    X_internal, y_internal = dataset.X[split.internal_idx], dataset.y[split.internal_idx]
    y_external = dataset.y[split.external_idx]
    pipeline = development_pipeline(config["features"]["k"], dataset.p).fit(X_internal, y_internal)
    Z_internal = pipeline.transform(X_internal)
    Z_external = pipeline.transform(split.X_external_shifted)
    counts = synthetic_counts(y_internal, config["synthesis"]["ratio"])
    undefined = len(np.unique(y_external)) < 2

    base = {
        "dataset": name,
        "dataset_fingerprint": dataset.fingerprint,
        "repetition": repetition,
        "n_internal": len(y_internal),
        "n_external": len(y_external),
        "internal_positives": int(y_internal.sum()),
        "external_positives": int(y_external.sum()),
        "k_selected": Z_internal.shape[1],
        "undefined": undefined,
        "split_seed": split_seed,
        "config_hash": config.hash,
        "versions": json.dumps(package_versions(), sort_keys=True),
    }
    classifiers = config["classifiers"]
    records, real_auc = [], {}
    for arm in arms_of(config):
        arm_seed = config.seed(name, repetition, arm)
        record = {
            **base,
            "arm": arm,
            "arm_seed": arm_seed,
            "n_synthetic": 0,
            "status": "ok",
            "error": "",
            **{column: 0.0 for column in TIMING_COLUMNS},
        }
        X_train, y_train = Z_internal, y_internal
        if arm != REAL_ARM:
            try:
                generator = generators.from_config(arm, config)
                started = time.perf_counter()
                generator.fit(Z_internal, y_internal, seed=arm_seed)
                record["fit_seconds"] = time.perf_counter() - started
                started = time.perf_counter()
                X_synth, y_synth = generator.sample(counts)
                record["sample_seconds"] = time.perf_counter() - started
                started = time.perf_counter()
                record.update(quality_metrics(Z_internal, X_synth, arm_seed, config["metrics"]))
                record["metric_seconds"] = time.perf_counter() - started
            except Exception as exc:  # a failed arm is a record, never a lost task
                record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                log.warning("%s r%d %s failed: %s", name, repetition, arm, record["error"])
                records.append(record)
                continue
            record["n_synthetic"] = len(y_synth)
            X_train, y_train = np.vstack([Z_internal, X_synth]), np.concatenate([y_internal, y_synth])
        started = time.perf_counter()
        for clf_name, params in classifiers.items():
            model = make_classifier(clf_name, params, config.seed(name, repetition, arm, clf_name))
            model.fit(X_train, y_train)
            auc = _external_auc(model, Z_external, y_external)
            record[f"auc_{clf_name}"] = auc
            if arm == REAL_ARM:
                real_auc[clf_name] = auc
            record[f"delta_auc_{clf_name}"] = auc - real_auc[clf_name]
        record["classifier_seconds"] = time.perf_counter() - started
        records.append(record)
    return pd.DataFrame(records)


# --- the grid -----------------------------------------------------------------------------


def task_path(config: Config, dataset: Dataset, repetition: int) -> Path:
    """Where a finished task's records live, keyed by configuration hash, dataset (name and
    content fingerprint) and repetition.
    """
    file_name = f"{dataset.name}__{dataset.fingerprint}__r{repetition:03d}.parquet"
    return config.path("processed") / "tasks" / config.hash / file_name


def read_task(path: Path, expected_arms: list[str]) -> pd.DataFrame | None:
    """Read a finished task; None when the file is missing, unreadable or incomplete."""
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception:  # truncated or corrupt: recompute it
        log.warning("corrupt task file %s; it will be recomputed", path)
        return None
    if sorted(frame["arm"]) != sorted(expected_arms):
        log.warning("incomplete task file %s; it will be recomputed", path)
        return None
    return frame


def _previous_runs(manifest_path: Path, config_hash: str) -> list[dict]:
    """The run history of an earlier manifest of the same configuration (empty otherwise)."""
    try:
        previous = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return []
    return list(previous.get("runs", [])) if previous.get("config_hash") == config_hash else []


@contextmanager
def _run_lock(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".run.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise GridLockedError(
            f"another radlib run is writing to {folder}; wait for it to finish or use another profile/paths"
        ) from exc
    try:
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _task_records(dataset: Dataset, repetition: int, config: Config) -> pd.DataFrame:
    """Worker entry point: run a task with torch and BLAS limited to the configured threads.

    Two workers on two cores, each free to start several BLAS or torch threads, slow
    down badly; one thread per worker is the fast setting here.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = config["synthesis"]["torch_threads"]
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        return run_task(dataset, repetition, config)


@dataclass
class GridResult:
    """What a grid run produced."""

    records: pd.DataFrame
    manifest: dict
    results_path: Path
    manifest_path: Path


def _execute(
    pending: list[tuple[Dataset, int]], config: Config, n_jobs: int, scheduler: str | None, on_done, progress
) -> dict[tuple[str, int], str]:
    """Run tasks on Dask (local cluster or ``scheduler``), in-process for one local job."""
    failures: dict[tuple[str, int], str] = {}
    if not pending:
        return failures
    if scheduler is None and n_jobs == 1:
        for dataset, repetition in pending:
            try:
                on_done(dataset.name, repetition, _task_records(dataset, repetition, config))
            except Exception as exc:
                failures[(dataset.name, repetition)] = f"{type(exc).__name__}: {exc}"
                log.error("task %s r%d failed: %s\n%s", dataset.name, repetition, exc, traceback.format_exc())
            progress.update()
        return failures

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = {}
        for dataset, repetition in pending:
            future = client.submit(
                _task_records,
                dataset,
                repetition,
                config,
                pure=False,
                key=f"task-{config.hash}-{dataset.name}-{repetition}",
            )
            futures[future] = (dataset.name, repetition)
        for future in as_completed(futures):
            name, repetition = futures[future]
            try:
                on_done(name, repetition, future.result())
            except Exception as exc:
                failures[(name, repetition)] = f"{type(exc).__name__}: {exc}"
                log.error("task %s r%d failed: %s", name, repetition, exc)
            progress.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return failures


def run_grid(
    config: Config,
    datasets: list[str | Dataset] | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    show_progress: bool = True,
) -> GridResult:
    """Run every (dataset, repetition) task of a configuration, skipping finished ones.

    Parameters
    ----------
    config : Config
    datasets : list of str or Dataset, optional
        radMLBench names to load, or already loaded tables (e.g. a user's own, see
        :func:`radlib.data.clean_table`); default: the profile's datasets.
    n_jobs : int, optional
        Local worker processes (default ``run.n_jobs``); ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing Dask scheduler (default ``run.scheduler``).
    show_progress : bool
        Show a tqdm progress bar with an ETA.

    Returns
    -------
    GridResult
        The consolidated records (also written to ``<processed>/results.parquet``) and the
        manifest (``<processed>/manifest.json``): configuration and hash, versions, counts of
        tasks done, failed and skipped datasets, undefined AUCs, failed arms, wall time, and
        ``runs``: the history of this configuration's runs (wall time, tasks computed and reused).
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    wanted = datasets if datasets is not None else datasets_of(config)
    given = [d for d in wanted if isinstance(d, Dataset)]
    names = [d for d in wanted if not isinstance(d, Dataset)]
    n_jobs = n_jobs or config["run"]["n_jobs"]
    scheduler = scheduler or config["run"]["scheduler"]
    processed = config.path("processed")
    expected_arms = arms_of(config)
    with _run_lock(processed):
        loaded, skipped = load_datasets(config, names)
        loaded = given + loaded
        for reason in skipped.values():
            log.warning("dataset skipped: %s", reason)
        tasks = [(d, r) for d in loaded for r in range(config["repetitions"])]
        by_name = {d.name: d for d in loaded}
        if len(by_name) < len(loaded):
            raise ValueError("two datasets share a name; names key the records, so they must be unique")
        frames = {}
        pending = []
        for dataset, repetition in tasks:
            frame = read_task(task_path(config, dataset, repetition), expected_arms)
            if frame is None:
                pending.append((dataset, repetition))
            else:
                frames[(dataset.name, repetition)] = frame
        reused = len(frames)

        def store(name: str, repetition: int, frame: pd.DataFrame) -> None:
            write_parquet_atomically(frame, task_path(config, by_name[name], repetition))
            frames[(name, repetition)] = frame

        with tqdm(
            total=len(tasks), initial=reused, desc=f"grid {config.profile}", unit="task", disable=not show_progress
        ) as progress:
            failures = _execute(pending, config, n_jobs, scheduler, store, progress)

        ordered = [frames[key] for key in sorted(frames)]
        records = pd.concat(ordered, ignore_index=True) if ordered else pd.DataFrame()
        results_path = processed / "results.parquet"
        write_parquet_atomically(records, results_path)
        manifest = {
            "profile": config.profile,
            "config_hash": config.hash,
            "config": config.params,
            "versions": package_versions(),
            "datasets_requested": len(wanted),
            "datasets_skipped": skipped,
            "tasks_total": len(tasks),
            "tasks_ok": len(frames),
            "tasks_reused": reused,
            "tasks_failed": {f"{n} r{r}": error for (n, r), error in sorted(failures.items())},
            "records": len(records),
            "arms_failed": int((records["status"] == "failed").sum()) if len(records) else 0,
            "undefined_auc_tasks": int(records.groupby(["dataset", "repetition"])["undefined"].first().sum())
            if len(records)
            else 0,
            "n_jobs": n_jobs,
            "scheduler": scheduler,
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
        manifest_path = processed / "manifest.json"
        # Keep the history of this configuration's runs: a rerun that only reads the cache must
        # not hide how long the run that computed the tasks took.
        manifest["runs"] = _previous_runs(manifest_path, config.hash) + [
            {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "wall_seconds": manifest["wall_seconds"],
                "tasks_computed": len(pending) - len(failures),
                "tasks_reused": reused,
                "tasks_failed": len(failures),
                "n_jobs": n_jobs,
                "scheduler": scheduler,
            }
        ]
        write_text_atomically(json.dumps(manifest, indent=2, default=str), manifest_path)
    return GridResult(records, manifest, results_path, manifest_path)
