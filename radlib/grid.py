"""The grid: every task of a configuration, in parallel, cached, resumable and locked.

A *task* is one (dataset, repetition); :func:`radlib.experiment.run_task` turns it into
records (one per arm). The grid runs the tasks on Dask: a local cluster of ``n_jobs``
single-threaded worker processes by default, or an existing cluster given by its scheduler
address (:func:`dask_client`); one local job runs in-process. Workers only compute and
return records; the client writes each finished task atomically (:mod:`radlib.files`) to
``<processed>/tasks/<config hash>/`` (:func:`task_path`), so a killed run loses at most the
tasks in flight and a rerun skips what is done. A lock file refuses a second run on the
same output folder (:class:`GridLockedError`). A cached task file is reused only when it is
unchanged since it was written (its content hash), holds its name's task and is complete
(:func:`read_task`). On a cluster, :func:`check_workers` refuses workers that run other code.

:func:`run_grid` writes the consolidated records (``<processed>/results.parquet``) and a
manifest (``<processed>/manifest.json``) with the history of the configuration's runs, kept per
configuration under ``<processed>/runs/`` (:func:`run_history`); a run stopped with Ctrl-C
(SIGINT) writes both for the tasks it finished, its entry in the history marked
``interrupted``, before it stops, so the wall time of a computation spread over several
sessions is on record. A run of a subset of the profile's datasets writes its own folder
(``<processed>/subsets/<label>/``). :func:`publish_records` copies both to the profile's results folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from radlib.config import Config, project_root
from radlib.data import Dataset, datasets_of, load_datasets
from radlib.evaluations import UndefinedCount, count_undefined
from radlib.experiment import (
    DEFAULT_SPECIFICATION,
    VERSIONED_PACKAGES,
    cpu_description,
    evaluate_task,
    package_versions,
)
from radlib.files import (
    ContentHashError,
    copy_atomically,
    read_parquet_verified,
    write_parquet_atomically,
    write_text_atomically,
)
from radlib.quality import FLOOR_PREFIX, METRICS
from radlib.records import TIMING_COLUMNS, is_study_arm
from radlib.samples import (
    MissingSynthesisError,
    TaskSamples,
    arms_of,
    code_version,
    read_samples,
    samples_path,
    source_hash,
    synthesize_task,
    write_samples,
)
from radlib.specifications import specification_configs

__all__ = [
    "GridLockedError",
    "WorkerPluginError",
    "WorkerMismatchError",
    "SchedulerUnreachableError",
    "SchedulerLostError",
    "NoDatasetError",
    "check_workers",
    "worker_environment",
    "GridResult",
    "task_path",
    "read_task",
    "task_identity",
    "TASK_KEYS",
    "expected_records",
    "dask_client",
    "run_lock",
    "run_grid",
    "specification_results",
    "specification_records",
    "publish_specifications",
    "published_specification",
    "save_checkpoint",
    "restore_checkpoint",
    "portable_params",
    "portable_text",
    "publish_records",
    "publish_run",
    "subset_label",
    "run_history",
]

log = logging.getLogger(__name__)

#: Names of the published copies in the profile's results folder (:func:`publish_records`).
PUBLISHED_RECORDS = "records.parquet"
PUBLISHED_MANIFEST = "manifest.json"


class GridLockedError(RuntimeError):
    """Another run holds the lock on the same output folder."""


class WorkerPluginError(RuntimeError):
    """A worker plug-in could not be registered on the Dask workers."""


class WorkerMismatchError(RuntimeError):
    """A Dask worker runs other code or other packages than the client (:func:`check_workers`)."""


class SchedulerUnreachableError(RuntimeError):
    """The Dask scheduler given by its address did not answer, has no worker, or the address is not one."""


class SchedulerLostError(SchedulerUnreachableError):
    """The Dask scheduler went away during the run; the tasks finished before are kept."""


class NoDatasetError(RuntimeError):
    """None of the requested datasets could be loaded: nothing to compute, and the previous records are kept."""


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


#: The record columns that say which task a task file holds, in the order of :func:`task_identity`.
TASK_KEYS = ("dataset", "dataset_fingerprint", "repetition", "config_hash")


def task_identity(config: Config, dataset: Dataset, repetition: int) -> tuple[str, str, int, str]:
    """What a task file's records must say of themselves (:data:`TASK_KEYS`): the task its name is."""
    return (dataset.name, dataset.fingerprint, repetition, config.hash)


def _identity_problem(frame: pd.DataFrame, identity: tuple) -> str | None:
    """Why a task file's records are not the task ``identity``, or None."""
    missing = [key for key in TASK_KEYS if key not in frame]
    if missing:
        return f"its records do not say which task they are (no {', '.join(missing)})"
    held = [tuple(row) for row in frame[list(TASK_KEYS)].drop_duplicates().itertuples(index=False)]
    if held != [identity]:
        shown = "; ".join(f"{d} ({f}) r{r}, configuration {h}" for d, f, r, h in held[:3])
        return f"it holds the records of {shown or 'no task'}, not of its name's task"
    return None


def read_task(path: Path, expected: list[tuple[int, str]], identity: tuple[str, str, int, str]) -> pd.DataFrame | None:
    """Read a finished task; None (logged) when the file must be recomputed.

    It must be there, readable, unchanged since it was written (its content hash,
    :func:`radlib.files.read_parquet_verified`; task files written before the hash was stored
    cannot be checked so), hold the records of the task its name says (a file copied over
    another, or computed for another dataset's content under the same name, is not) and every
    expected record.

    Parameters
    ----------
    path : Path
        The task file (:func:`task_path`).
    expected : list of (int, str)
        The (fold, arm) of every record the task must hold (:func:`expected_records`).
    identity : tuple
        (dataset, content fingerprint, repetition, configuration hash) of the task (:func:`task_identity`).
    """
    if not path.exists():
        return None
    try:
        frame = read_parquet_verified(path)
    except ContentHashError:
        log.warning("cached task file %s will be recomputed: it changed on disk since it was written", path.name)
        return None
    except Exception:  # truncated or corrupt: recompute it
        log.warning("cached task file %s will be recomputed: it cannot be read", path.name)
        return None
    problem = _identity_problem(frame, identity)
    if problem:
        log.warning("cached task file %s will be recomputed: %s", path.name, problem)
        return None
    # Complete when every expected record is there (a plug-in known to the workers only may add snapshot arms).
    if "fold" not in frame or not set(expected) <= set(zip(frame["fold"], frame["arm"])):
        log.warning("cached task file %s will be recomputed: it lacks records", path.name)
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
def _quiet_distributed() -> Iterator[None]:
    """Dask's INFO lines (cluster start, connections, dashboard) kept off the console; warnings pass.

    The client's own errors (a lost scheduler's reconnection traceback) are left to the grid,
    which reports a lost scheduler in one sentence.
    """
    levels = {"distributed": logging.WARNING, "distributed.client": logging.CRITICAL}
    loggers = {name: logging.getLogger(name) for name in levels}
    before = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(levels[name])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(before[name])


def _local_cluster(n_jobs: int):
    """A quiet local cluster whose worker processes ignore SIGINT.

    Ctrl-C reaches the whole foreground process group: the client handles it (records what
    finished, closes the cluster), and workers that took it too would print their tracebacks.
    An ignored SIGINT is inherited by the spawned processes, and Python keeps it ignored.
    """
    import signal
    import threading

    from dask.distributed import LocalCluster

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        return LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def dask_client(
    n_jobs: int, scheduler: str | None = None, worker_plugins: Sequence = (), timeout: float = 10
) -> Iterator:
    """A Dask client on a new local cluster or on an existing scheduler; everything closed on exit.

    The local cluster is quiet: no INFO lines, its dashboard on a free port (a port 8787 held
    by another cluster gives no warning).

    Parameters
    ----------
    n_jobs : int
        Worker processes of the local cluster, one thread each; ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) to connect to instead.
    worker_plugins : sequence of distributed.WorkerPlugin
        Registered on the scheduler before the client is handed out, so that every worker,
        connected now or joining later, runs them (e.g. :class:`radlib.audit.PluginLoader`).
    timeout : float
        Seconds to wait for the scheduler (``run.scheduler_timeout``).

    Yields
    ------
    distributed.Client

    Raises
    ------
    SchedulerUnreachableError
        ``scheduler`` did not answer within ``timeout`` seconds, or is not an address.
    WorkerPluginError
        A plug-in failed to register (its ``setup`` raised on a worker).
    """
    from dask.distributed import Client

    cluster = None
    with _quiet_distributed():
        if scheduler is None:
            cluster = _local_cluster(n_jobs)
        try:
            try:
                client = Client(cluster if cluster is not None else scheduler, timeout=timeout)
            except (ValueError, TypeError) as exc:
                raise SchedulerUnreachableError(
                    f"{scheduler!r} is not a Dask scheduler address; give one like tcp://host:8786"
                ) from exc
            except OSError as exc:
                raise SchedulerUnreachableError(
                    f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s (run.scheduler_timeout): "
                    f"{type(exc).__name__}; check the address (tcp://host:8786) and that `dask scheduler` runs there"
                ) from exc
            with client:
                for plugin in worker_plugins:
                    try:
                        client.register_plugin(plugin)
                    except Exception as exc:
                        raise WorkerPluginError(
                            f"worker plug-in {getattr(plugin, 'name', type(plugin).__name__)!r} could not be "
                            f"registered on the Dask workers: {type(exc).__name__}: {exc}"
                        ) from exc
                try:
                    yield client
                except KeyboardInterrupt:  # Ctrl-C reaches the workers too: their shutdown tracebacks are noise
                    logging.getLogger("distributed").setLevel(logging.CRITICAL)
                    raise
        finally:
            if cluster is not None:
                cluster.close()


#: The versions a worker must share with the client: Python, the packages that shape the records
#: (local build labels such as torch's ``+cpu`` aside) and radlib's source hash.
_COMPARED_VERSIONS = ("python", *VERSIONED_PACKAGES, "radlib_source")


def worker_environment() -> dict:
    """What a process computes with: its host, threads and :func:`radlib.experiment.package_versions`.

    Run on each Dask worker by :func:`check_workers`.
    """
    import socket

    import dask

    return {"host": socket.gethostname(), "dask": dask.__version__, **package_versions()}


def _comparable(versions: dict) -> dict:
    return {key: str(versions.get(key, "absent")).split("+")[0] for key in _COMPARED_VERSIONS}


def check_workers(client) -> dict:
    """Refuse workers whose code or packages differ from the client's; describe the workers for the manifest.

    Each worker's radlib source hash (:func:`radlib.samples.source_hash`), Python and package
    versions (:data:`radlib.experiment.VERSIONED_PACKAGES`) must equal the client's: a worker with
    one edited line in radlib computes other records under the same configuration hash.

    Returns
    -------
    dict
        ``count``, ``threads`` (total), ``hosts`` and their ``cpus`` (sorted), ``dask`` version and ``versions``
        (the workers', equal to the client's).

    Raises
    ------
    WorkerMismatchError
        A worker differs (the message names it and the first differing entries).
    """
    environments = client.run(worker_environment)
    here = _comparable(worker_environment())
    for address, environment in sorted(environments.items()):
        there = _comparable(environment)
        differing = [
            f"{key} {there[key]} there, {here[key]} here" for key in _COMPARED_VERSIONS if there[key] != here[key]
        ]
        if differing:
            raise WorkerMismatchError(
                f"Dask worker {address} ({environment.get('host')}) runs other code than this client "
                f"({'; '.join(differing[:3])}); install the same radlib commit and requirements.lock on every node"
            )
    threads = client.nthreads()
    first = next(iter(environments.values()))
    return {
        "count": len(environments),
        "threads": int(sum(threads.values())),
        "hosts": sorted({environment["host"] for environment in environments.values()}),
        "cpus": sorted({environment["cpu"] for environment in environments.values()}),
        "dask": first["dask"],
        "versions": {key: first.get(key) for key in _COMPARED_VERSIONS},
    }


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
    workers: dict,
    timeout: float = 10,
) -> dict[tuple[str, int], str]:
    """Run the pending tasks, calling ``on_done`` for each finished one; returns the failures' errors.

    Each pending task is (dataset, repetition, its specifications' configurations, its stored
    samples' file or None to synthesize). One local job runs in-process (no Dask); otherwise on
    :func:`dask_client`, after :func:`check_workers` (its description goes into ``workers``).
    A task's Dask key holds everything that determines its records (the configurations' hashes,
    the dataset's name and content fingerprint, the repetition), so two runs sharing a scheduler
    never share a computation they should not; each future is released once its records are
    stored, so a lost worker never makes Dask recompute a finished task.
    """
    failures: dict[tuple[str, int], str] = {}
    if not pending:
        return failures
    if scheduler is None and n_jobs == 1:
        workers.update(count=1, threads=1, hosts=[worker_environment()["host"]], dask=None, in_process=True)
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

    with dask_client(n_jobs, scheduler, worker_plugins, timeout) as client:
        if scheduler is not None:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError as exc:
                raise SchedulerUnreachableError(
                    f"the Dask scheduler at {scheduler!r} has no worker after {timeout:g} s (run.scheduler_timeout); "
                    f"start `dask worker {scheduler}` on the nodes"
                ) from exc
        workers.update(check_workers(client))
        futures = {}
        for dataset, repetition, configs, samples_file in pending:
            hashes = "-".join(sorted(c.hash for c in configs.values()))
            future = client.submit(
                _task_records,
                dataset,
                repetition,
                configs,
                samples_file,
                pure=False,
                key=f"task-{hashes}-{dataset.name}-{dataset.fingerprint}-r{repetition}",
            )
            futures[future] = (dataset.name, repetition)
        for future in as_completed(list(futures)):
            name, repetition = futures.pop(future)
            try:
                on_done(name, repetition, future.result())
            except Exception as exc:
                if "scheduler-connection-lost" in str(exc):  # every task in flight is lost with it
                    raise SchedulerLostError(
                        f"lost the connection to the Dask scheduler {scheduler or '(local cluster)'}; the finished "
                        "tasks are kept: restart the scheduler and its workers and rerun the same command"
                    ) from exc
                failures[(name, repetition)] = f"{type(exc).__name__}: {exc}"
                log.error("task %s r%d failed: %s", name, repetition, exc)
            finally:
                future.release()  # stored: the cluster may forget it
            progress.update()
    return failures


#: The history of each configuration's computing runs, one file per configuration hash:
#: ``<folder>/runs/<hash>.json``, so that a run of another configuration into the same folder (which
#: replaces ``manifest.json``) or a killed run never loses it. A run in progress keeps its entry in
#: ``<hash>.in_progress.json``, rewritten after every finished task, so a run killed outright (kill -9,
#: the end of a working session) still has its wall time on record.
RUNS_FOLDER = "runs"
#: Where engines before the per-configuration history kept a killed run's entry (read, never written).
RUN_IN_PROGRESS = "run_in_progress.json"


def _runs_of(path: Path, config_hash: str) -> list[dict]:
    """The ``runs`` entries of a history, manifest or progress record of the same configuration (empty otherwise)."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return list(stored.get("runs", [])) if stored.get("config_hash") == config_hash else []


def _history_files(folder: Path, config_hash: str) -> tuple[Path, Path]:
    """(the finished runs' history, the progress record) of a configuration in ``folder``."""
    runs = folder / RUNS_FOLDER
    return runs / f"{config_hash}.json", runs / f"{config_hash}.in_progress.json"


def run_history(folder: Path, config_hash: str) -> list[dict]:
    """Every computing run of a configuration recorded in ``folder``, killed ones included, oldest first.

    Reads the configuration's history file and progress record; a progress entry whose run is
    already in the history (a kill between writing the one and deleting the other) counts once,
    by its ``run_id``. A folder written before them (engine v3's first runs) has its history in
    ``manifest.json`` and ``run_in_progress.json`` (:func:`_migrate_legacy_history`).
    """
    history, progress = _history_files(folder, config_hash)
    if history.exists() or progress.exists():
        finished = _runs_of(history, config_hash)
        known = {run["run_id"] for run in finished if "run_id" in run}
        return finished + [run for run in _runs_of(progress, config_hash) if run.get("run_id") not in known]
    return _runs_of(folder / "manifest.json", config_hash) + _runs_of(folder / RUN_IN_PROGRESS, config_hash)


def _migrate_legacy_history(folder: Path) -> None:
    """Move an earlier engine's history (``manifest.json``, ``run_in_progress.json``) into ``runs/``.

    Done at the start of any run into ``folder``, whatever its configuration, so a run of another
    configuration, which replaces ``manifest.json``, never loses the earlier one's history. A
    legacy manifest's runs seed a configuration without a history file; a legacy progress record's
    entries join its configuration's history unless already there.
    """
    for legacy in ("manifest.json", RUN_IN_PROGRESS):
        try:
            stored = json.loads((folder / legacy).read_text())
        except (OSError, ValueError):
            continue
        config_hash, legacy_runs = stored.get("config_hash"), list(stored.get("runs", []))
        if not config_hash or not legacy_runs:
            continue
        history, _ = _history_files(folder, config_hash)
        if legacy == "manifest.json" and history.exists():
            continue
        known = _runs_of(history, config_hash)
        runs = known + [run for run in legacy_runs if run not in known]
        if runs != known:
            write_text_atomically(json.dumps({"config_hash": config_hash, "runs": runs}, indent=2), history)
    (folder / RUN_IN_PROGRESS).unlink(missing_ok=True)  # its entries are in their configuration's history now


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
    if not wanted:
        raise NoDatasetError("no dataset was requested; nothing was computed and the previous records are kept")
    given = [d for d in wanted if isinstance(d, Dataset)]
    names = [d for d in wanted if not isinstance(d, Dataset)]
    n_jobs = n_jobs or config["run"]["n_jobs"]
    scheduler = scheduler or config["run"]["scheduler"]
    configs = specification_configs(config, specifications if specifications or synthesize else [DEFAULT_SPECIFICATION])
    processed = config.path("processed")
    # An evaluation from stored samples writes its own folder, so it may run beside a synthesis.
    folder = processed if synthesize else processed / "specifications"
    # A subset of the profile's datasets is named as such: its records and manifest go to their own
    # folder, never to the profile's, so no notebook reads them as the whole profile.
    subset = subset_label(config, names) if datasets is not None and not given else None
    base = processed if subset is None else processed / SUBSETS_FOLDER / subset
    out = base / folder.relative_to(processed)
    expected = {name: expected_records(spec) for name, spec in configs.items()}
    with run_lock(folder):
        loaded, skipped = load_datasets(config, names)
        loaded = given + loaded
        for reason in skipped.values():
            log.warning("dataset skipped: %s", reason)
        if not loaded:
            reasons = sorted(skipped.values())
            raise NoDatasetError(
                f"none of the {len(wanted)} requested dataset(s) could be loaded"
                + (f" (first: {reasons[0]})" if reasons else "")
                + f"; nothing was computed and the previous records in {out} are kept"
            )
        tasks = [(d, r) for d in loaded for r in range(config["repetitions"])]
        by_name = {d.name: d for d in loaded}
        if len(by_name) < len(loaded):
            raise ValueError("two datasets share a name; names key the records, so they must be unique")
        frames: dict[str, dict[tuple[str, int], pd.DataFrame]] = {name: {} for name in configs}
        pending = []
        missing_samples = []
        for dataset, repetition in tasks:
            found = {
                name: read_task(
                    task_path(spec, dataset, repetition), expected[name], task_identity(spec, dataset, repetition)
                )
                for name, spec in configs.items()
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

        manifest_path = out / "manifest.json"
        history_path, progress_path = _history_files(folder, config.hash)
        # An earlier engine's history and killed runs' entries join the history files first.
        _migrate_legacy_history(folder)
        previous_runs = run_history(folder, config.hash)
        if previous_runs:
            write_text_atomically(
                json.dumps({"config_hash": config.hash, "runs": previous_runs}, indent=2), history_path
            )
        progress_path.unlink(missing_ok=True)
        run_id = uuid.uuid4().hex[:12]
        workers: dict = {}
        client_source = source_hash()  # the code this run started with: every stored task must be its

        def this_run(interrupted: bool) -> dict:
            return {
                "run_id": run_id,
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "wall_seconds": round(time.perf_counter() - started, 1),
                "interrupted": interrupted,
                "tasks_computed": computed[0],
                "tasks_reused": reused,
                "commit": code_version(),
                "cpu": cpu_description() if scheduler is None else None,
                "specifications": len(configs),
                "synthesized": synthesize,
                "n_jobs": n_jobs if scheduler is None else None,
                "scheduler": scheduler,
                "datasets": len(loaded),
                "subset": subset,
                "workers": workers.get("count"),
            }

        def store(name: str, repetition: int, result: tuple) -> None:
            samples, records = result
            dataset = by_name[name]
            computed_with = {json.loads(frame["versions"].iloc[0]).get("radlib_source") for frame in records.values()}
            if computed_with != {client_source}:  # a worker that joined after check_workers
                raise WorkerMismatchError(
                    f"task {name} r{repetition} was computed by radlib source {', '.join(map(str, computed_with))}, "
                    f"not this client's {client_source}; its records are not stored"
                )
            if samples is not None:
                write_samples(samples, samples_path(config, dataset, repetition))
            for spec_name, frame in records.items():
                write_parquet_atomically(
                    frame, task_path(configs[spec_name], dataset, repetition), content_hash_stored=True
                )
                frames[spec_name][(name, repetition)] = frame
            computed[0] += 1
            progress_record = {"config_hash": config.hash, "runs": [this_run(interrupted=True)]}
            write_text_atomically(json.dumps(progress_record, default=str), progress_path)

        interrupted, lost_scheduler = False, None
        with tqdm(
            total=len(tasks), initial=reused, desc=f"grid {config.profile}", unit="task", disable=not show_progress
        ) as progress:
            try:
                failures = _execute(
                    pending,
                    n_jobs,
                    scheduler,
                    worker_plugins,
                    store,
                    progress,
                    workers,
                    config["run"]["scheduler_timeout"],
                )
            except KeyboardInterrupt:  # Ctrl-C or SIGINT: record what this run finished, then stop
                interrupted, failures = True, {}
            except SchedulerLostError as exc:  # a lost scheduler: likewise, then say so
                interrupted, failures, lost_scheduler = True, {}, exc

        # Each specification's records once: a synthesis run's default specification is the
        # configuration's own records (results.parquet), every other under specifications/<name>/.
        def consolidated_path(name: str) -> Path:
            if synthesize and name == DEFAULT_SPECIFICATION:
                return base / "results.parquet"
            return specification_results(config, name, base)

        consolidated = {}
        for name in configs:
            ordered = [frames[name][key] for key in sorted(frames[name])]
            consolidated[name] = pd.concat(ordered, ignore_index=True) if ordered else pd.DataFrame()
            write_parquet_atomically(consolidated[name], consolidated_path(name))
        main_name = DEFAULT_SPECIFICATION if DEFAULT_SPECIFICATION in configs else next(iter(configs))
        records = consolidated[main_name]
        results_path = consolidated_path(main_name)
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
                    "file": str(consolidated_path(name).relative_to(base)),
                }
                for name, spec in configs.items()
            },
            "subset": None
            if subset is None
            else {"label": subset, "datasets": sorted(map(str, names)), "profile_datasets": len(datasets_of(config))},
            "n_jobs": n_jobs if scheduler is None else None,
            "scheduler": scheduler,
            "workers": workers or None,
        }
        # The history of the runs that computed this configuration's records: a rerun that only
        # read the cache computed nothing and is not one of them (unless there is no history to
        # keep), so rerunning a finished grid (`make all`) keeps the history and wall_seconds, what
        # the records cost: the history's sum.
        run = {**this_run(interrupted), "tasks_failed": len(failures)}
        did_compute = interrupted or run["tasks_computed"] > 0 or bool(failures)
        runs = [*previous_runs, run] if did_compute or not previous_runs else previous_runs
        if runs != previous_runs:
            history = {"config_hash": config.hash, "runs": runs}
            write_text_atomically(json.dumps(history, indent=2, default=str), history_path)
        progress_path.unlink(missing_ok=True)  # its entry is in the history now
        manifest["runs"] = runs
        manifest["wall_seconds"] = round(sum(entry["wall_seconds"] for entry in runs), 1)
        write_text_atomically(json.dumps(manifest, indent=2, default=str), manifest_path)
    if lost_scheduler is not None:
        raise lost_scheduler
    if interrupted:  # the manifest keeps the run's wall time and tasks; a rerun computes only the rest
        raise KeyboardInterrupt(f"grid interrupted after {computed[0]} new tasks; rerun to finish")
    return GridResult(records, manifest, results_path, manifest_path)


#: Where a run of a subset of the profile's datasets writes its records and manifest: ``<processed>/subsets/<label>/``.
SUBSETS_FOLDER = "subsets"


def subset_label(config: Config, names: Sequence[str]) -> str | None:
    """The folder name of a run of ``names``, or None when they are the profile's datasets.

    >>> from radlib.config import load_config
    >>> subset_label(load_config("smoke"), ["Ahn2021"])
    'Ahn2021'
    >>> subset_label(load_config("smoke"), ["Ahn2021", "HNSCC"]).startswith("Ahn2021+1-more-")
    True
    """
    wanted = sorted(set(map(str, names)))
    if set(wanted) == set(datasets_of(config)):
        return None
    if len(wanted) == 1:
        return wanted[0]
    digest = hashlib.sha256("\x1f".join(wanted).encode()).hexdigest()[:8]
    return f"{wanted[0]}+{len(wanted) - 1}-more-{digest}"


def specification_results(config: Config, name: str, base: Path | None = None) -> Path:
    """Where the consolidated records of a specification are written: ``<base>/specifications/<name>/``.

    ``base`` is the processed folder (default), or a subset's folder in it (:data:`SUBSETS_FOLDER`).
    """
    return (base or config.path("processed")) / "specifications" / name / "results.parquet"


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


def publish_run(result: GridResult, config: Config) -> list[Path]:
    """Publish a run: its records and manifest (:func:`publish_records`) and, when it evaluated a
    specification curve, every specification's records (:func:`publish_specifications`).

    What ``radlib run --publish`` and the notebooks' ``publish`` do after a grid. The callers decide
    what may be published: the configuration's folders (:func:`radlib.outputs.check_publishable`);
    ``radlib run --publish`` also refuses a subset, a subset of the specifications and a run with failed
    tasks, while the notebooks publish such records with their failures listed in the manifest. Every
    specification's records are found before anything is written, so a missing one leaves the
    published folder as it was.
    """
    curve = len(result.manifest.get("specifications", {})) > 1
    # The specifications first: they are all read before one is written, so nothing is published when one is missing.
    written = publish_specifications(config) if curve else []
    return publish_records(result, config) + written


def _checkpointed(folder: Path) -> set[tuple[str, str, int]]:
    """The (dataset, fingerprint, repetition) of the tasks a specification's checkpoint parts hold."""
    tasks: set[tuple[str, str, int]] = set()
    for part in sorted(folder.glob("part-*.parquet")):
        keys = pd.read_parquet(part, columns=["dataset", "dataset_fingerprint", "repetition"]).drop_duplicates()
        tasks.update((d, f, int(r)) for d, f, r in keys.itertuples(index=False))
    return tasks


def _history_names(folder: Path) -> list[str]:
    """The run-history files a checkpoint keeps, relative to ``folder``: ``runs/*.json`` and an earlier engine's."""
    return [
        RUN_IN_PROGRESS,
        "manifest.json",
        *(f"{RUNS_FOLDER}/{p.name}" for p in (folder / RUNS_FOLDER).glob("*.json")),
    ]


def save_checkpoint(config: Config, folder: Path) -> list[Path]:
    """Keep the finished task files of a running or stopped grid in a committable folder.

    The processed folder (task cache, stored samples) does not outlive a working session; a
    checkpoint holds each specification's finished tasks as Parquet parts
    (``<folder>/<specification>/part-NNN.parquet``, zstd) and the run history
    (``runs/``, and an earlier engine's ``run_in_progress.json`` or manifest), so a later session restores them
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
            dataset, fingerprint, repetition_text = path.stem.split("__")
            repetition = int(repetition_text.removeprefix("r"))
            if (dataset, fingerprint, repetition) in done:
                continue
            frame = read_task(path, expected_records(spec), (dataset, fingerprint, repetition, spec.hash))
            if frame is not None:
                frames.append(frame)
        if frames:
            path = spec_folder / f"part-{len(list(spec_folder.glob('part-*.parquet'))):03d}.parquet"
            write_parquet_atomically(pd.concat(frames, ignore_index=True), path, compression="zstd")
            written.append(path)
    processed = config.path("processed")
    for history in set(_history_names(processed)) | set(_history_names(folder)):
        if (processed / history).exists():
            copy_atomically(processed / history, folder / history)
            written.append(folder / history)
        elif (folder / history).exists():  # gone from the run (a finished run's progress record): gone here too
            (folder / history).unlink()
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
                    write_parquet_atomically(frame.reset_index(drop=True), target, content_hash_stored=True)
                    written += 1
    for history in _history_names(folder):
        if (folder / history).exists() and not (processed / history).exists():
            copy_atomically(folder / history, processed / history)
    return written


#: Columns left out of a specification's published records, which hold what notebooks 08 and 09 read: the
#: provenance text, the timings and the task's sampling floors (the default specification's are in the
#: published ``records.parquet``; every column stays in the cache). 45 specifications of the full study
#: with them took 42 MiB, without them 25 MiB.
PUBLISHED_SPECIFICATION_DROP = (
    "versions",
    "error",
    "predictor_error",
    "synthesis_hash",
    *TIMING_COLUMNS,
    *(f"{FLOOR_PREFIX}{metric}" for metric in METRICS),
)


def published_specification(config: Config, name: str) -> Path:
    """Where :func:`publish_specifications` writes a specification's records: ``<tables>/specifications/<name>.parquet``."""
    return config.path("tables") / "specifications" / f"{name}.parquet"


def _computed_specification_files(config: Config, name: str) -> list[Path]:
    """Where the grid writes a specification's consolidated records: an evaluation's file, and for the
    default specification the synthesis run's ``results.parquet``.
    """
    files = [specification_results(config, name)]
    if name == DEFAULT_SPECIFICATION:
        files.append(config.path("processed") / "results.parquet")
    return files


def specification_records(config: Config) -> dict[str, pd.DataFrame]:
    """Every specification's records of ``config``: the grid's output, else the published copy.

    The grid's ``<processed>/specifications/<name>/results.parquet`` (the default
    specification's: ``<processed>/results.parquet``) when it holds the specification's
    configuration, else ``<tables>/specifications/<name>.parquet``
    (:func:`publish_specifications`), so a fresh clone rebuilds the figures without fitting.

    Raises
    ------
    FileNotFoundError
        A specification has neither; the message names the command that computes it.
    """
    found = {}
    for name, spec in specification_configs(config).items():
        found[name] = _records_in(
            [*_computed_specification_files(config, name), published_specification(config, name)], config, name, spec
        )
    return found


def _records_in(paths: Sequence[Path], config: Config, name: str, spec: Config) -> pd.DataFrame:
    """The records of the specification's configuration in ``paths`` that cover the most tasks (the first
    of equals); FileNotFoundError if none holds them.

    An interrupted run leaves a partial file of the right configuration: a complete one elsewhere wins.
    """
    found = []
    for path in paths:
        if path.exists():
            frame = pd.read_parquet(path)
            if len(frame) and set(frame["config_hash"]) == {spec.hash}:
                found.append(frame)
    if found:
        return max(found, key=lambda frame: len(frame[["dataset", "repetition"]].drop_duplicates()))
    raise FileNotFoundError(
        f"no records of specification {name!r} (configuration {spec.hash}) in {config.path('processed')} "
        f"or {config.path('tables')}; compute them with `radlib run --profile {config.profile}`"
    )


def publish_specifications(config: Config) -> list[Path]:
    """Copy every specification's records, study arms only and without per-record provenance text,
    to ``<tables>/specifications/<name>.parquet`` (zstd): what the analyses of notebooks 08 and 09
    read, small enough to commit; the manifest keeps the versions and commits.

    Every specification's records are read before the first is written, so a missing one raises
    FileNotFoundError with nothing written.
    """
    found = {}
    for name, spec in specification_configs(config).items():
        records = _records_in(_computed_specification_files(config, name), config, name, spec)
        found[name] = records[records["arm"].map(is_study_arm)].drop(
            columns=list(PUBLISHED_SPECIFICATION_DROP), errors="ignore"
        )
    written = []
    for name, study in found.items():
        path = published_specification(config, name)
        write_parquet_atomically(study.reset_index(drop=True), path, compression="zstd", compression_level=19)
        written.append(path)
    return written
