"""The grid: every task of a configuration, in parallel, cached, resumable and locked.

A *task* is one (dataset, repetition); :func:`radlib.experiment.run_task` turns it into
records (one per arm). The grid runs the tasks on Dask: a local cluster of ``n_jobs``
single-threaded worker processes by default, or an existing cluster given by its scheduler
address (:func:`dask_client`); one local job runs in-process. Workers only compute and
return records; the client writes each finished task atomically (:mod:`radlib.files`) to
``<processed>/tasks/<config hash>/`` (:func:`task_path`), so a killed run loses at most the
tasks in flight and a rerun skips what is done. A lock file refuses a second run on the
same output folder (:class:`GridLockedError`).

:func:`run_grid` writes the consolidated records (``<processed>/results.parquet``) and a
manifest (``<processed>/manifest.json``) with the history of the configuration's runs; a run
stopped with Ctrl-C (SIGINT) writes both for the tasks it finished, its entry in the history
marked ``interrupted``, before it stops, so the wall time of a computation spread over several
sessions is on record. :func:`publish_records` copies both to the profile's results folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from radlib.config import Config, project_root
from radlib.data import Dataset, datasets_of, load_datasets
from radlib.evaluations import UndefinedCount, count_undefined
from radlib.experiment import DEFAULT_SPECIFICATION, evaluate_task, package_versions
from radlib.files import copy_atomically, write_parquet_atomically, write_text_atomically
from radlib.records import is_study_arm
from radlib.samples import (
    MissingSynthesisError,
    TaskSamples,
    arms_of,
    code_version,
    read_samples,
    samples_path,
    synthesize_task,
    write_samples,
)
from radlib.specifications import specification_configs

__all__ = [
    "GridLockedError",
    "WorkerPluginError",
    "GridResult",
    "task_path",
    "read_task",
    "expected_records",
    "dask_client",
    "run_lock",
    "run_grid",
    "specification_results",
    "specification_records",
    "publish_specifications",
    "save_checkpoint",
    "restore_checkpoint",
    "portable_params",
    "portable_text",
    "publish_records",
]

log = logging.getLogger(__name__)

#: Names of the published copies in the profile's results folder (:func:`publish_records`).
PUBLISHED_RECORDS = "records.parquet"
PUBLISHED_MANIFEST = "manifest.json"


class GridLockedError(RuntimeError):
    """Another run holds the lock on the same output folder."""


class WorkerPluginError(RuntimeError):
    """A worker plug-in could not be registered on the Dask workers."""


@dataclass
class GridResult:
    """What a grid run produced."""

    records: pd.DataFrame
    manifest: dict
    results_path: Path
    manifest_path: Path

    def summary(self) -> str:
        """The run in a line: tasks done of all, reused, failed, and failed arms."""
        m = self.manifest
        return (
            f"{m['tasks_ok']} of {m['tasks_total']} tasks done ({m['tasks_reused']} reused), "
            f"{len(m['tasks_failed'])} failed, {m['arms_failed']} failed arms"
        )


def task_path(config: Config, dataset: Dataset, repetition: int) -> Path:
    """Where a finished task's records live, keyed by configuration hash, dataset (name and
    content fingerprint) and repetition.
    """
    file_name = f"{dataset.name}__{dataset.fingerprint}__r{repetition:03d}.parquet"
    return config.path("processed") / "tasks" / config.hash / file_name


def expected_records(config: Config) -> list[tuple[int, str]]:
    """The (fold, arm) of every record a finished task of ``config`` holds."""
    return [(fold, arm) for fold in range(config["shift"]["folds"]) for arm in arms_of(config)]


def read_task(path: Path, expected: list[tuple[int, str]]) -> pd.DataFrame | None:
    """Read a finished task; None when the file is missing, unreadable or incomplete.

    Parameters
    ----------
    path : Path
        The task file (:func:`task_path`).
    expected : list of (int, str)
        The (fold, arm) of every record the task must hold (:func:`expected_records`).
    """
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception:  # truncated or corrupt: recompute it
        log.warning("corrupt task file %s; it will be recomputed", path)
        return None
    # Complete when every expected record is there (a plug-in known to the workers only may add snapshot arms).
    if "fold" not in frame or not set(expected) <= set(zip(frame["fold"], frame["arm"])):
        log.warning("incomplete task file %s; it will be recomputed", path)
        return None
    return frame


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if missing); GridLockedError if another run holds it.

    The lock is an ``flock`` on ``<folder>/.run.lock``: the operating system releases it when
    the holder dies, so a killed run never leaves a stale lock. :func:`run_grid` holds it on
    its ``processed`` folder from reading the task cache to writing the manifest; a caller
    that writes more outputs into the folder (``radlib audit``) holds it around all of them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".run.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise GridLockedError(
            f"another radlib run is writing to {folder}; wait for it to finish, or write to another folder"
        ) from exc
    try:
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def dask_client(n_jobs: int, scheduler: str | None = None, worker_plugins: Sequence = ()) -> Iterator:
    """A Dask client on a new local cluster or on an existing scheduler; everything closed on exit.

    Parameters
    ----------
    n_jobs : int
        Worker processes of the local cluster, one thread each; ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) to connect to instead.
    worker_plugins : sequence of distributed.WorkerPlugin
        Registered on the scheduler before the client is handed out, so that every worker,
        connected now or joining later, runs them (e.g. :class:`radlib.audit.PluginLoader`).

    Yields
    ------
    distributed.Client

    Raises
    ------
    WorkerPluginError
        A plug-in failed to register (its ``setup`` raised on a worker).
    """
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
    try:
        with Client(cluster if cluster is not None else scheduler, timeout=60) as client:
            for plugin in worker_plugins:
                try:
                    client.register_plugin(plugin)
                except Exception as exc:
                    raise WorkerPluginError(
                        f"worker plug-in {getattr(plugin, 'name', type(plugin).__name__)!r} could not be "
                        f"registered on the Dask workers: {type(exc).__name__}: {exc}"
                    ) from exc
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _task_records(
    dataset: Dataset, repetition: int, configs: dict[str, Config], samples_file: Path | None
) -> tuple[TaskSamples | None, dict[str, pd.DataFrame]]:
    """Worker entry point: synthesize the task unless its stored samples are given, then evaluate each specification.

    Torch and BLAS are limited to the configured threads: two workers on two cores, each free
    to start several BLAS or torch threads, slow down badly; one thread per worker is the fast
    setting here. Returns the new samples (None when they were given) and the records per
    specification.
    """
    import torch
    from threadpoolctl import threadpool_limits

    config = next(iter(configs.values()))
    threads = config["synthesis"]["torch_threads"]
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        if samples_file is None:
            synthesized = synthesize_task(dataset, repetition, config)
            return synthesized, evaluate_task(dataset, repetition, configs, synthesized)
        return None, evaluate_task(dataset, repetition, configs, read_samples(samples_file))


def _execute(
    pending: list[tuple[Dataset, int, dict[str, Config], Path | None]],
    n_jobs: int,
    scheduler: str | None,
    worker_plugins: Sequence,
    on_done: Callable[[str, int, tuple], None],
    progress,
) -> dict[tuple[str, int], str]:
    """Run the pending tasks, calling ``on_done`` for each finished one; returns the failures' errors.

    Each pending task is (dataset, repetition, its specifications' configurations, its stored
    samples' file or None to synthesize). One local job runs in-process (no Dask); otherwise on
    :func:`dask_client`.
    """
    failures: dict[tuple[str, int], str] = {}
    if not pending:
        return failures
    if scheduler is None and n_jobs == 1:
        for dataset, repetition, configs, samples_file in pending:
            try:
                on_done(dataset.name, repetition, _task_records(dataset, repetition, configs, samples_file))
            except Exception as exc:
                failures[(dataset.name, repetition)] = f"{type(exc).__name__}: {exc}"
                log.error("task %s r%d failed: %s", dataset.name, repetition, exc)
                log.debug("%s", traceback.format_exc())  # the manifest keeps the message; the trace is for debugging
            progress.update()
        return failures

    from dask.distributed import as_completed

    with dask_client(n_jobs, scheduler, worker_plugins) as client:
        futures = {}
        for dataset, repetition, configs, samples_file in pending:
            future = client.submit(
                _task_records,
                dataset,
                repetition,
                configs,
                samples_file,
                pure=False,
                key=f"task-{'-'.join(sorted(c.hash for c in configs.values()))[:60]}-{dataset.name}-{repetition}",
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
    return failures


#: A run in progress keeps its entry of the history here, rewritten after every finished task, so a
#: run killed outright (kill -9, the end of a working session) still has its wall time on record.
RUN_IN_PROGRESS = "run_in_progress.json"


def _runs_of(path: Path, config_hash: str) -> list[dict]:
    """The ``runs`` entries of a manifest or progress record of the same configuration (empty otherwise).

    The manifest holds the history of the runs that finished or were interrupted; the progress
    record, the runs killed before they wrote a manifest.
    """
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return list(stored.get("runs", [])) if stored.get("config_hash") == config_hash else []


def portable_params(config: Config) -> dict:
    """The configuration's parameters with no absolute path of this machine (for committed manifests).

    The mirror folder is written as the environment variable that set it, or relative to the
    project root, or by its name alone.
    """
    params = json.loads(json.dumps(config.params, default=str))
    mirror = params["data"]["mirror_dir"]
    if mirror and os.environ.get("RADLIB_RADMLBENCH_DIR") == mirror:
        params["data"]["mirror_dir"] = "$RADLIB_RADMLBENCH_DIR"
    elif mirror and Path(mirror).is_absolute():
        path = Path(mirror)
        params["data"]["mirror_dir"] = (
            str(path.relative_to(project_root())) if path.is_relative_to(project_root()) else f"<{path.name}>"
        )
    return params


def portable_text(text: str, config: Config) -> str:
    """``text`` with this machine's absolute paths replaced: the mirror by the variable that set it (or
    its project-relative path), the project root by ``.``.
    """
    mirror = config.mirror_dir
    if mirror is not None:
        text = text.replace(str(mirror), portable_params(config)["data"]["mirror_dir"])
    return text.replace(str(config.root), ".")


def _commits_of(frames: list[pd.DataFrame]) -> list[str]:
    """The code commits that computed the given task files (their records' ``versions``)."""
    commits = set()
    for frame in frames:
        if len(frame) and "versions" in frame:
            commits.add(json.loads(frame["versions"].iloc[0]).get("radlib_commit", "unknown (engine v2)"))
    return sorted(commits)


def run_grid(
    config: Config,
    datasets: list[str | Dataset] | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    show_progress: bool = True,
    worker_plugins: Sequence = (),
    specifications: list[str] | None = None,
    synthesize: bool = True,
) -> GridResult:
    """Run every (dataset, repetition) task of a configuration, skipping finished ones.

    A task synthesizes its samples (:func:`radlib.samples.synthesize_task`), stores them under
    ``<processed>/samples/<synthesis hash>/`` and evaluates every requested specification
    from them; with ``synthesize=False`` (``radlib evaluate``) it reads the stored samples and
    fits nothing.

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
    worker_plugins : sequence of distributed.WorkerPlugin
        Registered on the Dask workers of a parallel run (:func:`dask_client`); an
        in-process run (one local job) does not use them.
    specifications : list of str, optional
        The specifications to evaluate (:mod:`radlib.specifications`). Default: with
        ``synthesize``, every specification of the profile; without, the default alone.
    synthesize : bool
        Synthesize the samples a task lacks (``radlib run``). False: evaluate from the stored
        samples only; a task without them raises :class:`MissingSynthesisError` before anything runs.

    Returns
    -------
    GridResult
        The default specification's consolidated records (``<processed>/results.parquet``;
        with ``synthesize=False``, the first specification's, under
        ``<processed>/specifications/``) and the manifest: configuration and hashes,
        versions, counts of tasks done, failed and skipped datasets, undefined AUCs, failed
        arms, the commits that computed the task files, wall time, ``specifications`` (per
        name: configuration hash, records, file) and ``runs``: the history of this
        configuration's runs (wall time, tasks computed and reused, commit, ``interrupted``).
        Every other specification's records are in ``<processed>/specifications/<name>/results.parquet``.

    Raises
    ------
    KeyboardInterrupt
        After writing the records and the manifest of what finished, when the run was interrupted.
    GridLockedError
        Another run is writing to the same folder.
    MissingSynthesisError
        ``synthesize=False`` and a task's samples are not stored.
    WorkerPluginError
        A worker plug-in failed to register.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    wanted = datasets if datasets is not None else datasets_of(config)
    given = [d for d in wanted if isinstance(d, Dataset)]
    names = [d for d in wanted if not isinstance(d, Dataset)]
    n_jobs = n_jobs or config["run"]["n_jobs"]
    scheduler = scheduler or config["run"]["scheduler"]
    configs = specification_configs(config, specifications if specifications or synthesize else [DEFAULT_SPECIFICATION])
    processed = config.path("processed")
    # An evaluation from stored samples writes its own folder, so it may run beside a synthesis.
    folder = processed if synthesize else processed / "specifications"
    expected = {name: expected_records(spec) for name, spec in configs.items()}
    with run_lock(folder):
        loaded, skipped = load_datasets(config, names)
        loaded = given + loaded
        for reason in skipped.values():
            log.warning("dataset skipped: %s", reason)
        tasks = [(d, r) for d in loaded for r in range(config["repetitions"])]
        by_name = {d.name: d for d in loaded}
        if len(by_name) < len(loaded):
            raise ValueError("two datasets share a name; names key the records, so they must be unique")
        frames: dict[str, dict[tuple[str, int], pd.DataFrame]] = {name: {} for name in configs}
        pending = []
        missing_samples = []
        for dataset, repetition in tasks:
            found = {
                name: read_task(task_path(spec, dataset, repetition), expected[name]) for name, spec in configs.items()
            }
            if all(frame is not None for frame in found.values()):
                for name, frame in found.items():
                    frames[name][(dataset.name, repetition)] = frame
                continue
            stored = samples_path(config, dataset, repetition)
            if not synthesize and not stored.exists():
                missing_samples.append(f"{dataset.name} r{repetition}")
            pending.append((dataset, repetition, configs, stored if stored.exists() else None))
        if missing_samples:
            raise MissingSynthesisError(
                f"no stored samples of synthesis {config.synthesis_hash} for {len(missing_samples)} task(s) "
                f"({', '.join(missing_samples[:3])}{', ...' if len(missing_samples) > 3 else ''}) under "
                f"{processed / 'samples'}; make them with `radlib run --profile {config.profile}` (the same --set options)"
            )
        reused = len(tasks) - len(pending)
        computed = [0]

        progress_path = folder / RUN_IN_PROGRESS
        manifest_path = folder / "manifest.json"
        killed_runs = _runs_of(progress_path, config.hash)
        previous_runs = _runs_of(manifest_path, config.hash) + killed_runs

        def this_run(interrupted: bool) -> dict:
            return {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "wall_seconds": round(time.perf_counter() - started, 1),
                "interrupted": interrupted,
                "tasks_computed": computed[0],
                "tasks_reused": reused,
                "commit": code_version(),
                "specifications": len(configs),
                "synthesized": synthesize,
                "n_jobs": n_jobs,
                "scheduler": scheduler,
            }

        def store(name: str, repetition: int, result: tuple) -> None:
            samples, records = result
            dataset = by_name[name]
            if samples is not None:
                write_samples(samples, samples_path(config, dataset, repetition))
            for spec_name, frame in records.items():
                write_parquet_atomically(frame, task_path(configs[spec_name], dataset, repetition))
                frames[spec_name][(name, repetition)] = frame
            computed[0] += 1
            progress_record = {"config_hash": config.hash, "runs": [*killed_runs, this_run(interrupted=True)]}
            write_text_atomically(json.dumps(progress_record, default=str), progress_path)

        interrupted = False
        with tqdm(
            total=len(tasks), initial=reused, desc=f"grid {config.profile}", unit="task", disable=not show_progress
        ) as progress:
            try:
                failures = _execute(pending, n_jobs, scheduler, worker_plugins, store, progress)
            except KeyboardInterrupt:  # Ctrl-C or SIGINT: record what this run finished, then stop
                interrupted, failures = True, {}

        consolidated = {}
        for name in configs:
            ordered = [frames[name][key] for key in sorted(frames[name])]
            consolidated[name] = pd.concat(ordered, ignore_index=True) if ordered else pd.DataFrame()
            write_parquet_atomically(consolidated[name], specification_results(config, name))
        main_name = DEFAULT_SPECIFICATION if DEFAULT_SPECIFICATION in configs else next(iter(configs))
        records = consolidated[main_name]
        results_path = (
            processed / "results.parquet"
            if synthesize and main_name == DEFAULT_SPECIFICATION
            else specification_results(config, main_name)
        )
        if results_path != specification_results(config, main_name):
            write_parquet_atomically(records, results_path)
        commits = _commits_of(list(frames[main_name].values()))
        undefined = count_undefined(records) if len(records) else UndefinedCount(0, 0)
        manifest = {
            "profile": config.profile,
            "config_hash": config.hash,
            "synthesis_hash": config.synthesis_hash,
            "config": portable_params(config),
            "versions": package_versions(),
            "commits": commits,
            "spans_commits": len(commits) > 1,
            "datasets_requested": len(wanted),
            "datasets_skipped": {name: portable_text(reason, config) for name, reason in skipped.items()},
            "tasks_total": len(tasks),
            "tasks_ok": len(frames[main_name]),
            "tasks_reused": reused,
            "tasks_failed": {f"{n} r{r}": portable_text(error, config) for (n, r), error in sorted(failures.items())},
            "records": len(records),
            "arms_failed": int((records["status"] == "failed").sum()) if len(records) else 0,
            "external_folds": undefined.total,
            "undefined_external_folds": undefined.undefined,
            "specifications": {
                name: {
                    "config_hash": spec.hash,
                    "records": len(consolidated[name]),
                    "tasks_ok": len(frames[name]),
                    "file": str(specification_results(config, name).relative_to(processed)),
                }
                for name, spec in configs.items()
            },
            "n_jobs": n_jobs,
            "scheduler": scheduler,
        }
        # The history of the runs that computed this configuration's records: a rerun that only
        # read the cache computed nothing and is not one of them (unless there is no history to
        # keep), so rerunning a finished grid (`make all`) keeps the history and wall_seconds, what
        # the records cost: the history's sum.
        run = {**this_run(interrupted), "tasks_failed": len(failures)}
        did_compute = interrupted or run["tasks_computed"] > 0 or bool(failures)
        runs = [*previous_runs, run] if did_compute or not previous_runs else previous_runs
        manifest["runs"] = runs
        manifest["wall_seconds"] = round(sum(entry["wall_seconds"] for entry in runs), 1)
        write_text_atomically(json.dumps(manifest, indent=2, default=str), manifest_path)
        progress_path.unlink(missing_ok=True)  # its entry is in the manifest now
    if interrupted:  # the manifest keeps the run's wall time and tasks; a rerun computes only the rest
        raise KeyboardInterrupt(f"grid interrupted after {computed[0]} new tasks; rerun to finish")
    return GridResult(records, manifest, results_path, manifest_path)


def specification_results(config: Config, name: str) -> Path:
    """Where the consolidated records of a specification are written: ``<processed>/specifications/<name>/``."""
    return config.path("processed") / "specifications" / name / "results.parquet"


def publish_records(result: GridResult, config: Config) -> list[Path]:
    """Copy a run's records and manifest to the profile's results folder (``config.path("tables")``).

    Readers of the repository see them there without running anything. Each copy is atomic
    (:func:`radlib.files.copy_atomically`): a reader never finds half a file.

    Parameters
    ----------
    result : GridResult
        What :func:`run_grid` returned.
    config : Config
        The configuration of the run.

    Returns
    -------
    list of Path
        The copies: ``records.parquet`` and ``manifest.json``.
    """
    tables = config.path("tables")
    copies = [tables / PUBLISHED_RECORDS, tables / PUBLISHED_MANIFEST]
    for source, copy in zip((result.results_path, result.manifest_path), copies, strict=True):
        copy_atomically(source, copy)
    return copies


def _checkpointed(folder: Path) -> set[tuple[str, str, int]]:
    """The (dataset, fingerprint, repetition) of the tasks a specification's checkpoint parts hold."""
    tasks: set[tuple[str, str, int]] = set()
    for part in sorted(folder.glob("part-*.parquet")):
        keys = pd.read_parquet(part, columns=["dataset", "dataset_fingerprint", "repetition"]).drop_duplicates()
        tasks.update((d, f, int(r)) for d, f, r in keys.itertuples(index=False))
    return tasks


def save_checkpoint(config: Config, folder: Path) -> list[Path]:
    """Keep the finished task files of a running or stopped grid in a committable folder.

    The processed folder (task cache, stored samples) does not outlive a working session; a
    checkpoint holds each specification's finished tasks as Parquet parts
    (``<folder>/<specification>/part-NNN.parquet``, zstd) and the run history
    (``run_in_progress.json`` or the manifest), so a later session restores them
    (:func:`restore_checkpoint`) and the grid computes only the rest. Each save adds a part with
    the tasks no earlier part holds, so the committed history grows by the new tasks only. The
    stored samples are not kept (about 1 GiB for the full profile).

    Returns
    -------
    list of Path
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in specification_configs(config).items():
        spec_folder = folder / name
        done = _checkpointed(spec_folder)
        files = sorted((config.path("processed") / "tasks" / spec.hash).glob("*.parquet"))
        frames = []
        for path in files:
            dataset, fingerprint, repetition = path.stem.split("__")
            if (dataset, fingerprint, int(repetition.removeprefix("r"))) in done:
                continue
            frame = read_task(path, expected_records(spec))
            if frame is not None:
                frames.append(frame)
        if frames:
            path = spec_folder / f"part-{len(list(spec_folder.glob('part-*.parquet'))):03d}.parquet"
            write_parquet_atomically(pd.concat(frames, ignore_index=True), path, compression="zstd")
            written.append(path)
    for history in (RUN_IN_PROGRESS, "manifest.json"):
        if (config.path("processed") / history).exists():
            copy_atomically(config.path("processed") / history, folder / history)
            written.append(folder / history)
    return written


def restore_checkpoint(config: Config, folder: Path) -> int:
    """Write a checkpoint's tasks back into the task cache (:func:`save_checkpoint`); returns the task files written.

    A task file already in the cache is left as it is; the run history goes back beside it when
    the processed folder has none.
    """
    processed, written = config.path("processed"), 0
    for name, spec in specification_configs(config).items():
        for part in sorted((folder / name).glob("part-*.parquet")):
            for (dataset, fingerprint, repetition), frame in pd.read_parquet(part).groupby(
                ["dataset", "dataset_fingerprint", "repetition"], sort=True
            ):
                target = processed / "tasks" / spec.hash / f"{dataset}__{fingerprint}__r{int(repetition):03d}.parquet"
                if not target.exists():
                    write_parquet_atomically(frame.reset_index(drop=True), target)
                    written += 1
    for history in (RUN_IN_PROGRESS, "manifest.json"):
        if (folder / history).exists() and not (processed / history).exists():
            copy_atomically(folder / history, processed / history)
    return written


#: Columns of a specification's published records: what its analyses read (the rest stays in the cache).
PUBLISHED_SPECIFICATION_DROP = ("versions", "error", "predictor_error", "synthesis_hash")


def specification_records(config: Config) -> dict[str, pd.DataFrame]:
    """Every specification's records of ``config``: the grid's output, else the published copy.

    The grid's ``<processed>/specifications/<name>/results.parquet`` when it holds the
    specification's configuration, else ``<tables>/specifications/<name>.parquet``
    (:func:`publish_specifications`), so a fresh clone rebuilds the figures without fitting.

    Raises
    ------
    FileNotFoundError
        A specification has neither; the message names the command that computes it.
    """
    found = {}
    for name, spec in specification_configs(config).items():
        for path in (specification_results(config, name), config.path("tables") / "specifications" / f"{name}.parquet"):
            if path.exists():
                frame = pd.read_parquet(path)
                if len(frame) and set(frame["config_hash"]) == {spec.hash}:
                    found[name] = frame
                    break
        else:
            raise FileNotFoundError(
                f"no records of specification {name!r} (configuration {spec.hash}) in {config.path('processed')} "
                f"or {config.path('tables')}; compute them with `radlib run --profile {config.profile}`"
            )
    return found


def publish_specifications(config: Config) -> list[Path]:
    """Copy every specification's records, study arms only and without per-record provenance text,
    to ``<tables>/specifications/<name>.parquet`` (zstd): what the analyses of notebooks 08 and 09
    read, small enough to commit; the manifest keeps the versions and commits.
    """
    written = []
    for name in specification_configs(config):
        records = pd.read_parquet(specification_results(config, name))
        study = records[records["arm"].map(is_study_arm)].drop(
            columns=list(PUBLISHED_SPECIFICATION_DROP), errors="ignore"
        )
        path = config.path("tables") / "specifications" / f"{name}.parquet"
        write_parquet_atomically(study.reset_index(drop=True), path, compression="zstd")
        written.append(path)
    return written
