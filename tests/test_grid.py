"""The grid: task files, results and manifest, resume, locks, Dask clients and worker plug-ins, publishing."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from toy_tasks import comparable, toy_dataset

from radlib import grid
from radlib.analysis import pair_table
from radlib.data import load_dataset
from radlib.experiment import arms_of, cpu_description
from radlib.grid import (
    GridLockedError,
    WorkerPluginError,
    dask_client,
    expected_records,
    publish_records,
    read_task,
    restore_checkpoint,
    run_grid,
    save_checkpoint,
    task_identity,
    task_path,
)
from radlib.samples import MissingSynthesisError, code_version, source_hash


@pytest.fixture
def fast_config(offline_config):
    """SMOTE as the only synthetic arm and a small forest: the grid mechanics, quickly."""
    return offline_config.with_overrides(
        {
            "synthesis.generators": [],
            "classifiers.rf.n_estimators": 30,
            "repetitions": 2,
            "datasets": ["Ahn2021", "HNSCC"],
            "run.n_jobs": 1,
            "specifications.design": "none",  # the default specification alone (the curve's tests set theirs)
        }
    )


def test_grid_writes_tasks_results_and_manifest(fast_config):
    result = run_grid(fast_config, show_progress=False)
    m = result.manifest
    assert m["tasks_total"] == 4 and m["tasks_ok"] == 4 and not m["tasks_failed"]
    assert m["config_hash"] == fast_config.hash and m["records"] == 4 * fast_config["shift"]["folds"] * len(
        arms_of(fast_config)
    )
    assert json.loads(result.manifest_path.read_text())["tasks_ok"] == 4
    assert pd.read_parquet(result.results_path).shape[0] == m["records"]
    for name in ("Ahn2021", "HNSCC"):
        assert task_path(fast_config, load_dataset(name, fast_config), 1).exists()
    assert result.summary() == "4 of 4 tasks done (0 reused), 0 failed, 0 failed arms"


def test_grid_resumes_and_recomputes_corrupt_files(fast_config):
    first = run_grid(fast_config, show_progress=False)
    lost = task_path(fast_config, load_dataset("Ahn2021", fast_config), 1)
    corrupt = task_path(fast_config, load_dataset("HNSCC", fast_config), 0)
    lost.unlink()
    corrupt.write_bytes(corrupt.read_bytes()[:100])  # a half-written file
    hnscc = load_dataset("HNSCC", fast_config)
    assert read_task(corrupt, expected_records(fast_config), task_identity(fast_config, hnscc, 0)) is None
    second = run_grid(fast_config, show_progress=False)
    assert second.manifest["tasks_reused"] == 2 and second.manifest["tasks_ok"] == 4
    runs = json.loads(second.manifest_path.read_text())["runs"]
    assert [run["tasks_computed"] for run in runs] == [4, 2]  # the first run is not forgotten
    assert second.manifest["wall_seconds"] == round(sum(run["wall_seconds"] for run in runs), 1)
    pd.testing.assert_frame_equal(comparable(first.records), comparable(second.records))


def test_a_rerun_that_computes_nothing_keeps_the_history_and_its_wall_time(fast_config):
    first = run_grid(fast_config, show_progress=False)
    assert first.manifest["wall_seconds"] == first.manifest["runs"][0]["wall_seconds"]
    # The CPU that computed the records: its float kernels decide their last bits.
    assert first.manifest["runs"][0]["cpu"] == cpu_description()
    assert {json.loads(text)["cpu"] for text in first.records["versions"]} == {cpu_description()}
    second = run_grid(fast_config, show_progress=False)  # every task reused
    assert second.manifest["tasks_reused"] == 4
    assert second.manifest["runs"] == first.manifest["runs"]
    assert second.manifest["wall_seconds"] == first.manifest["wall_seconds"]
    second_text = second.manifest_path.read_text()
    assert run_grid(fast_config, show_progress=False).manifest_path.read_text() == second_text  # a no-op now


def test_task_file_missing_an_arm_is_recomputed(fast_config):
    config = fast_config.with_overrides({"repetitions": 1})
    dataset = toy_dataset(name="Mine")
    run_grid(config, datasets=[dataset], show_progress=False)
    path = task_path(config, dataset, 0)
    expected, identity = expected_records(config), task_identity(config, dataset, 0)
    assert read_task(path, expected, identity) is not None
    assert read_task(path, [*expected, (0, "cvae")], identity) is None  # a task of fewer arms than the study's
    assert read_task(path, [*expected, (config["shift"]["folds"], "real")], identity) is None  # or of fewer folds
    assert read_task(path.with_name("absent.parquet"), expected, identity) is None


def test_task_file_copied_over_another_is_recomputed_not_reused(fast_config):
    # Issue 21, section 4: repetition 0's file copied over repetition 1's was reused, and the
    # records held repetition 0 twice. A task file is checked against its own name.
    config = fast_config.with_overrides({"repetitions": 2})
    dataset = toy_dataset(name="Mine")
    first = run_grid(config, datasets=[dataset], show_progress=False)
    shutil.copyfile(task_path(config, dataset, 0), task_path(config, dataset, 1))
    again = run_grid(config, datasets=[dataset], show_progress=False)
    assert again.manifest["tasks_reused"] == 1
    assert sorted(again.records["repetition"].unique()) == [0, 1]
    pd.testing.assert_frame_equal(comparable(first.records), comparable(again.records))
    other = toy_dataset(name="Mine", seed=5)  # the same name, other content: another fingerprint
    assert other.fingerprint != dataset.fingerprint
    assert read_task(task_path(config, dataset, 0), expected_records(config), task_identity(config, other, 0)) is None


def test_task_file_with_a_flipped_bit_is_recomputed(fast_config, tmp_path):
    # Issue 21, section 5: a bit flipped in a cached task file reached the records silently. Every
    # single-bit flip (one per 5th byte) is read as "recompute" or as the very same table, never another.
    config = fast_config.with_overrides({"repetitions": 1})
    dataset = toy_dataset(name="Mine")
    run_grid(config, datasets=[dataset], show_progress=False)
    path = task_path(config, dataset, 0)
    expected, identity = expected_records(config), task_identity(config, dataset, 0)
    original, raw = read_task(path, expected, identity), path.read_bytes()
    flipped = tmp_path / path.name
    changed = 0
    for position in range(0, len(raw), 5):
        damaged = bytearray(raw)
        damaged[position] ^= 0x10
        flipped.write_bytes(bytes(damaged))
        frame = read_task(flipped, expected, identity)
        assert frame is None or frame.equals(original), f"a flip at byte {position} changed the records silently"
        changed += frame is None
    assert changed > 0


def test_unavailable_dataset_is_counted(fast_config):
    config = fast_config.with_overrides(
        {
            "datasets": ["Ahn2021", "PI-CAI"],
            "repetitions": 1,
            "data.mirror_dir": str(fast_config.mirror_dir or "/nonexistent"),
        }
    )
    result = run_grid(config, show_progress=False)
    assert "PI-CAI" in result.manifest["datasets_skipped"]


def test_loaded_tables_run_and_a_changed_table_is_not_read_from_the_cache(fast_config):
    config = fast_config.with_overrides({"repetitions": 1})
    first = run_grid(config, datasets=[toy_dataset(seed=1, name="Mine")], show_progress=False)
    assert first.manifest["tasks_ok"] == 1 and first.records["dataset"].unique().tolist() == ["Mine"]
    changed = run_grid(config, datasets=[toy_dataset(seed=2, name="Mine")], show_progress=False)
    assert changed.manifest["tasks_reused"] == 0
    assert first.records["dataset_fingerprint"].iloc[0] != changed.records["dataset_fingerprint"].iloc[0]


def test_two_tables_with_one_name_are_refused(fast_config):
    with pytest.raises(ValueError, match="two datasets share a name"):
        run_grid(fast_config, datasets=[toy_dataset(seed=1), toy_dataset(seed=2)], show_progress=False)


def test_second_run_on_the_same_folder_is_refused(fast_config):
    with grid.run_lock(fast_config.path("processed")):
        with pytest.raises(GridLockedError, match="another radlib run is writing"):
            run_grid(fast_config, show_progress=False)
    run_grid(fast_config.with_overrides({"repetitions": 1, "datasets": ["Ahn2021"]}), show_progress=False)


def test_records_and_manifest_are_published_to_the_results_folder(fast_config):
    config = fast_config.with_overrides({"repetitions": 1})
    result = run_grid(config, datasets=[toy_dataset(name="Mine")], show_progress=False)
    copies = publish_records(result, config)
    tables = config.path("tables")
    assert copies == [tables / "records.parquet", tables / "manifest.json"]
    assert copies[0].read_bytes() == result.results_path.read_bytes()
    assert copies[1].read_bytes() == result.manifest_path.read_bytes()
    assert sorted(p.name for p in tables.iterdir()) == ["manifest.json", "records.parquet"]


# --- Dask ---------------------------------------------------------------------------------


def _planting_plugin(name):
    """A worker plug-in that registers SMOTE under ``name`` in each worker, and only there.

    Defined in a function so that Dask ships the class by value: workers cannot import tests.
    """
    from distributed import WorkerPlugin

    class Planting(WorkerPlugin):
        def __init__(self):
            self.name = f"plant-{name}"

        def setup(self, worker):
            from radlib.generators import register
            from radlib.generators.smote import SMOTEAugmenter

            register(name, SMOTEAugmenter, replace=True)
            os.environ["RADLIB_PLANTED"] = name

    return Planting()


def _broken_plugin():
    from distributed import WorkerPlugin

    class Broken(WorkerPlugin):
        name = "broken"

        def setup(self, worker):
            raise ImportError("no module named 'missing_dependency'")

    return Broken()


@pytest.mark.slow
def test_local_dask_client_has_single_threaded_workers_that_run_the_plugins(fast_config):
    """n_jobs workers of one thread each; a plug-in reaches every worker, and the grid runs on them."""
    config = fast_config.with_overrides({"repetitions": 2, "synthesis.generators": ["planted"]})
    with dask_client(2, worker_plugins=[_planting_plugin("planted")]) as client:
        assert sorted(client.nthreads().values()) == [1, 1]
        assert set(client.run(lambda: os.environ.get("RADLIB_PLANTED")).values()) == {"planted"}
    result = run_grid(
        config,
        datasets=[toy_dataset(name="Mine")],
        n_jobs=2,
        worker_plugins=[_planting_plugin("planted")],
        show_progress=False,
    )
    assert result.manifest["tasks_ok"] == 2 and not result.manifest["tasks_failed"]
    planted = result.records[result.records["arm"] == "planted"]
    assert len(planted) == 2 * config["shift"]["folds"] and (planted["status"] == "ok").all()
    assert client.status == "closed" and client.cluster.status.name == "closed"  # everything closed on exit


@pytest.mark.slow
def test_plugin_failing_on_the_workers_is_a_clear_error():
    with pytest.raises(WorkerPluginError, match="'broken' could not be registered.*missing_dependency"):
        with dask_client(1, worker_plugins=[_broken_plugin()]):
            pass


def _cli(config_args, *extra, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "radlib.cli", "run", *config_args, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def _cli_args(config, tmp_path):
    """Command-line overrides reproducing the fast_config of this module."""
    return [
        "--profile",
        "smoke",
        "--set",
        "synthesis.generators=[]",
        "--set",
        "classifiers.rf.n_estimators=30",
        "--set",
        "repetitions=2",
        "--set",
        "datasets=[Ahn2021, HNSCC]",
        "--set",
        "specifications.design=none",
        "--set",
        f"paths.processed={config.path('processed')}",
        "--set",
        f"paths.raw={tmp_path / 'raw'}",
    ]


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_uninterrupted_table(fast_config, tmp_path):
    reference = run_grid(
        fast_config.with_overrides({"paths.processed": str(tmp_path / "reference")}), show_progress=False
    )
    args = _cli_args(fast_config, tmp_path) + ["--set", "run.n_jobs=1"]
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    process = _cli(args, env=env)
    tasks_dir = task_path(fast_config, load_dataset("Ahn2021", fast_config), 0).parent
    deadline = time.time() + 120
    while time.time() < deadline and not (tasks_dir.exists() and any(tasks_dir.glob("*.parquet"))):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list(tasks_dir.glob("*.parquet")))
    assert 1 <= done_before < 4, "the kill should land mid-grid"
    rerun = run_grid(fast_config, show_progress=False)
    assert rerun.manifest["tasks_reused"] == done_before
    pd.testing.assert_frame_equal(comparable(reference.records), comparable(rerun.records))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dask_cluster(n_workers, worker_env=None, worker_cwd=None):
    """A `dask scheduler` and `dask worker` processes, as the README's recipe starts them; yields
    (the scheduler's address, its process)."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], env=env, **quiet
    )
    worker_command = [bin_dir / "dask", "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
    workers = [
        subprocess.Popen([*worker_command, "--host", "127.0.0.1"], env=worker_env or env, cwd=worker_cwd, **quiet)
        for _ in range(n_workers)
    ]
    try:
        from dask.distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=60)
        yield address, scheduler
    finally:
        for proc in (*workers, scheduler):
            proc.terminate()
        for proc in (*workers, scheduler):
            proc.wait(timeout=30)


@pytest.mark.slow
def test_dask_scheduler_with_two_workers_gives_the_local_records(fast_config, tmp_path):
    local = run_grid(fast_config.with_overrides({"paths.processed": str(tmp_path / "local")}), show_progress=False)
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    with dask_cluster(2) as (address, _):
        process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, env=env)
        output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    remote = pd.read_parquet(fast_config.path("processed") / "results.parquet")
    pd.testing.assert_frame_equal(comparable(local.records), comparable(remote))
    # Issue 21, section 5: the manifest names the workers (not a meaningless n_jobs); no Dask INFO lines.
    manifest = json.loads((fast_config.path("processed") / "manifest.json").read_text())
    workers = manifest["workers"]
    assert workers["count"] == 2 and workers["threads"] == 2 and len(workers["hosts"]) == 1 and workers["dask"]
    assert workers["versions"]["radlib_source"] == source_hash() and manifest["n_jobs"] is None
    assert workers["cpus"] == [cpu_description()] and manifest["runs"][-1]["cpu"] is None  # the workers computed
    assert "INFO" not in output


@pytest.mark.slow
def test_a_worker_running_other_code_is_refused(fast_config, tmp_path):
    # Issue 21, section 5: a worker with one changed line in radlib computed other records under the
    # same configuration hash, exit 0. The client compares every worker's source hash and packages.
    other = tmp_path / "other"
    shutil.copytree(Path(grid.__file__).parent, other / "radlib", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "radlib" / "quality.py", "a") as module:
        module.write("\n# one changed line\n")
    worker_env = {**os.environ, "RADLIB_OFFLINE": "1", "PYTHONPATH": str(other)}
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    with dask_cluster(1, worker_env=worker_env, worker_cwd=other) as (address, _):
        process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, env=env)
        output, _ = process.communicate(timeout=300)
    assert process.returncode == 5, output
    assert "runs other code than this client (radlib_source" in output and "Traceback" not in output
    assert not list((fast_config.path("processed") / "tasks").glob("*/*.parquet"))


@pytest.mark.slow
def test_a_scheduler_that_dies_mid_run_is_one_sentence_and_the_finished_tasks_are_kept(fast_config, tmp_path):
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    tasks = fast_config.path("processed") / "tasks"
    with dask_cluster(1) as (address, scheduler):
        process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, env=env)
        deadline = time.time() + 120
        while time.time() < deadline and not list(tasks.glob("*/*.parquet")):
            time.sleep(0.05)
        scheduler.kill()
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 4, output
    assert "radlib: error: lost the connection to the Dask scheduler" in output and "Traceback" not in output
    finished = len(list(tasks.glob("*/*.parquet")))
    assert 1 <= finished < 4
    rerun = run_grid(fast_config, show_progress=False)
    assert rerun.manifest["tasks_reused"] == finished
    assert rerun.manifest["runs"][0]["interrupted"] and rerun.manifest["runs"][0]["tasks_computed"] == finished


def test_an_unreachable_scheduler_is_one_sentence_with_its_own_exit_code(fast_config, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.perf_counter()
    process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, "--set", "run.scheduler_timeout=2")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 4, output
    assert f"cannot reach the Dask scheduler at '{address}' within 2 s" in output and "Traceback" not in output
    assert time.perf_counter() - started < 60
    malformed = _cli(_cli_args(fast_config, tmp_path), "--scheduler", "nonsense")
    output, _ = malformed.communicate(timeout=120)
    assert malformed.returncode == 4 and "radlib: error: 'nonsense' is not a Dask scheduler address" in output


def test_a_run_that_finds_no_dataset_fails_and_keeps_the_previous_records(fast_config, tmp_path):
    # Issue 21, section 5: a client without the mirror exited 0 and replaced 440 records by none.
    config = fast_config.with_overrides({"repetitions": 1})
    first = run_grid(config, show_progress=False)
    before = first.results_path.read_bytes(), first.manifest_path.read_bytes()
    args = [*_cli_args(config, tmp_path), "--set", "repetitions=1", "--set", f"data.mirror_dir={tmp_path / 'none'}"]
    process = _cli(args, env={**os.environ, "RADLIB_OFFLINE": "1"})
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert "none of the 2 requested dataset(s) could be loaded" in output and "previous records" in output
    assert (first.results_path.read_bytes(), first.manifest_path.read_bytes()) == before


def test_an_interrupted_run_records_what_it_finished_and_a_rerun_finishes(fast_config, monkeypatch):
    # The second task raises KeyboardInterrupt (as Ctrl-C would, in-process): the first task's records
    # and a manifest whose run is marked interrupted are written; the rerun computes only the rest.
    original, calls = grid._task_records, []

    def interrupted_on_the_second_task(dataset, repetition, *arguments):
        calls.append((dataset.name, repetition))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(dataset, repetition, *arguments)

    monkeypatch.setattr(grid, "_task_records", interrupted_on_the_second_task)
    with pytest.raises(KeyboardInterrupt, match="interrupted after 1 new tasks"):
        run_grid(fast_config, show_progress=False)
    manifest = json.loads((fast_config.path("processed") / "manifest.json").read_text())
    assert manifest["tasks_ok"] == 1 and manifest["runs"][-1]["interrupted"] is True
    assert manifest["runs"][-1]["tasks_computed"] == 1
    monkeypatch.setattr(grid, "_task_records", original)
    result = run_grid(fast_config, show_progress=False)
    assert result.manifest["tasks_ok"] == 4 and result.manifest["tasks_reused"] == 1
    assert [(run["interrupted"], run["tasks_computed"]) for run in result.manifest["runs"]] == [(True, 1), (False, 3)]


def test_a_run_killed_outright_is_in_the_next_manifests_history(fast_config, monkeypatch):
    # Simulate kill -9 after the first task: the task file and the run-in-progress entry are on disk
    # (written after every task), no manifest. The next run's history starts with the killed run.
    original, calls = grid._task_records, []

    def killed_on_the_second_task(dataset, repetition, *arguments):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("killed")  # not caught by the grid, like a kill: no manifest is written
        return original(dataset, repetition, *arguments)

    monkeypatch.setattr(grid, "_task_records", killed_on_the_second_task)
    with pytest.raises(SystemExit):
        run_grid(fast_config, show_progress=False)
    processed = fast_config.path("processed")
    assert not (processed / "manifest.json").exists()
    in_progress = processed / grid.RUNS_FOLDER / f"{fast_config.hash}.in_progress.json"
    assert [run["tasks_computed"] for run in json.loads(in_progress.read_text())["runs"]] == [1]
    monkeypatch.setattr(grid, "_task_records", original)
    result = run_grid(fast_config, show_progress=False)
    assert [(run["interrupted"], run["tasks_computed"]) for run in result.manifest["runs"]] == [(True, 1), (False, 3)]
    assert not in_progress.exists()


def test_a_run_of_another_configuration_into_the_folder_keeps_the_first_ones_history(fast_config):
    # Issue 21, section 4: a run of another configuration replaced the manifest, and a later reuse of
    # the first configuration's records reported the reuse alone ("0.4 s over 1 computing run").
    config = fast_config.with_overrides({"repetitions": 1})
    first = run_grid(config, show_progress=False)
    other = config.with_overrides({"shift.severity": 0.2})
    run_grid(other, show_progress=False)
    again = run_grid(config, show_progress=False)
    assert again.manifest["tasks_reused"] == 2
    assert again.manifest["runs"] == first.manifest["runs"] and again.manifest["runs"][0]["tasks_computed"] == 2
    history = json.loads((config.path("processed") / grid.RUNS_FOLDER / f"{config.hash}.json").read_text())
    assert history["runs"] == first.manifest["runs"]


def test_an_earlier_engines_history_is_carried_over(fast_config):
    # A folder of engine v3's first runs keeps its history in manifest.json and run_in_progress.json.
    config = fast_config.with_overrides({"repetitions": 1})
    processed = config.path("processed")
    processed.mkdir(parents=True)
    finished = {"finished": "2026-12-02T20:00:00+00:00", "wall_seconds": 60.0, "tasks_computed": 1}
    killed = {"finished": "2026-12-02T21:00:00+00:00", "wall_seconds": 30.0, "tasks_computed": 0}
    (processed / "manifest.json").write_text(json.dumps({"config_hash": config.hash, "runs": [finished]}))
    (processed / grid.RUN_IN_PROGRESS).write_text(json.dumps({"config_hash": config.hash, "runs": [killed]}))
    result = run_grid(config, show_progress=False)
    assert result.manifest["runs"][:2] == [finished, killed] and len(result.manifest["runs"]) == 3
    assert result.manifest["wall_seconds"] == round(90.0 + result.manifest["runs"][2]["wall_seconds"], 1)
    assert not (processed / grid.RUN_IN_PROGRESS).exists()


def test_a_subset_of_the_profiles_datasets_is_named_and_never_the_profiles_records(fast_config):
    # Issue 21, section 4: `radlib run --datasets A` wrote the profile's results.parquet, which the
    # notebooks then read as the whole profile.
    config = fast_config.with_overrides({"repetitions": 1})
    whole = run_grid(config, show_progress=False)
    profile_records = whole.results_path.read_bytes()
    part = run_grid(config, datasets=["Ahn2021"], show_progress=False)
    processed = config.path("processed")
    assert part.results_path == processed / grid.SUBSETS_FOLDER / "Ahn2021" / "results.parquet"
    assert part.manifest_path.parent == part.results_path.parent
    assert part.manifest["subset"] == {"label": "Ahn2021", "datasets": ["Ahn2021"], "profile_datasets": 2}
    assert set(part.records["dataset"]) == {"Ahn2021"} and part.manifest["tasks_reused"] == 1
    assert (processed / "results.parquet").read_bytes() == profile_records
    assert json.loads((processed / "manifest.json").read_text())["subset"] is None
    assert whole.manifest["subset"] is None


# --- Engine v3: stored samples, specifications, checkpoints ----------------------------------


def _curve(config):
    return config.with_overrides(
        {
            "specifications.design": "curve",
            "specifications.ratios": [1.0, 2.0],
            "specifications.severities": [0.1],
            "specifications.factorial_classifiers": ["logreg"],
            "specifications.one_factor_classifiers": ["hgb"],
        }
    )


def test_evaluate_fits_nothing_and_its_default_equals_the_runs_records(fast_config, monkeypatch):
    config = _curve(fast_config.with_overrides({"repetitions": 1}))
    run = run_grid(config, show_progress=False)
    assert sorted(run.manifest["specifications"]) == [
        "default",
        "hgb_r1_s0.1",
        "hgb_r2_s0.1",
        "logreg_r1_s0.1",
        "logreg_r2_s0.1",
    ]
    # The default specification's records are written once, as the configuration's results.parquet.
    processed = config.path("processed")
    assert run.manifest["specifications"]["default"]["file"] == "results.parquet"
    assert not (processed / "specifications" / "default").exists()
    pd.testing.assert_frame_equal(grid.specification_records(config)["default"], run.records)
    published = grid.publish_specifications(config)
    assert grid.published_specification(config, "default") in published and len(published) == 5
    # Published without provenance text, timings and floors; the study's pair table is the same from it.
    published_default = pd.read_parquet(grid.published_specification(config, "default"))
    left_out = {"versions", "fit_seconds", "classifier_seconds", "floor_wasserstein", "floor_detection_auc"}
    assert left_out.isdisjoint(published_default.columns) and left_out <= set(run.records.columns)
    from_cache, from_published = (pair_table(records, "logreg") for records in (run.records, published_default))
    pd.testing.assert_frame_equal(
        from_published, from_cache.drop(columns=[c for c in from_cache if c.startswith("floor_")]), check_like=True
    )
    samples = sorted((config.path("processed") / "samples" / config.synthesis_hash).glob("*.parquet"))
    assert len(samples) == 2
    fits = []
    monkeypatch.setattr(grid, "synthesize_task", lambda *args: fits.append(args) or pytest.fail("refitted"))
    evaluated = run_grid(config, show_progress=False, specifications=["default", "hgb_r2_s0.1"], synthesize=False)
    assert fits == []
    ignored = ["versions", "fit_seconds", "sample_seconds", "metric_seconds", "classifier_seconds"]
    pd.testing.assert_frame_equal(evaluated.records.drop(columns=ignored), run.records.drop(columns=ignored))
    hgb = pd.read_parquet(config.path("processed") / "specifications" / "hgb_r2_s0.1" / "results.parquet")
    assert set(hgb["arm"]) == {"real", "smote"} and hgb["auc_hgb"].notna().all()
    assert (hgb["n_synthetic"][hgb["arm"] == "smote"] == 2 * hgb["n_internal"][hgb["arm"] == "smote"]).all()


def test_publishing_with_a_specification_missing_writes_nothing(fast_config):
    config = _curve(fast_config.with_overrides({"repetitions": 1}))
    run = run_grid(config, show_progress=False, specifications=["default", "hgb_r2_s0.1"])
    # The run evaluated two of the five specifications: the curve cannot be published, and nothing is.
    with pytest.raises(FileNotFoundError, match="no records of specification 'logreg_r1_s0.1'"):
        grid.publish_run(run, config)
    assert not config.path("tables").exists()


def test_evaluate_without_stored_samples_names_the_command_that_makes_them(fast_config):
    with pytest.raises(MissingSynthesisError, match=r"no stored samples of synthesis .* `radlib run --profile smoke`"):
        run_grid(fast_config, show_progress=False, synthesize=False)


def test_a_checkpoint_restores_every_task_and_the_rerun_computes_nothing(fast_config, tmp_path):
    config = _curve(fast_config.with_overrides({"repetitions": 1}))
    one = run_grid(config, datasets=["Ahn2021"], show_progress=False)
    assert one.manifest["tasks_ok"] == 1
    saved = save_checkpoint(config, tmp_path / "checkpoint")
    assert {p.relative_to(tmp_path / "checkpoint").as_posix() for p in saved} >= {
        "default/part-000.parquet",
        f"runs/{config.hash}.json",  # the run history (a subset's manifest is its own, not the profile's)
    }
    # A second save adds a part with the new task only.
    run_grid(config, show_progress=False)
    saved = save_checkpoint(config, tmp_path / "checkpoint")
    part = pd.read_parquet(tmp_path / "checkpoint" / "logreg_r2_s0.1" / "part-001.parquet")
    assert set(part["dataset"]) == {"HNSCC"}
    shutil.rmtree(config.path("processed"))
    assert restore_checkpoint(config, tmp_path / "checkpoint") == 2 * 5
    first = pd.read_parquet(tmp_path / "checkpoint" / "default" / "part-000.parquet")
    again = run_grid(config, show_progress=False)
    assert again.manifest["tasks_reused"] == 2
    pd.testing.assert_frame_equal(again.records[again.records["dataset"] == "Ahn2021"].reset_index(drop=True), first)


def test_the_manifest_names_the_commit_and_no_absolute_path(fast_config, monkeypatch):
    # The mirror as the variable sets it (CI exports it; a shell without it has the profile's relative default).
    monkeypatch.setenv("RADLIB_RADMLBENCH_DIR", str(fast_config.mirror_dir))
    config = fast_config.with_overrides({"repetitions": 1, "data.mirror_dir": str(fast_config.mirror_dir)})
    result = run_grid(config, show_progress=False)
    text = result.manifest_path.read_text()
    assert str(fast_config.mirror_dir) not in text and "$RADLIB_RADMLBENCH_DIR" in text
    skipped = run_grid(config.with_overrides({"datasets": ["Ahn2021", "Zhang2024A"]}), show_progress=False)
    message = skipped.manifest["datasets_skipped"]["Zhang2024A"]
    assert "$RADLIB_RADMLBENCH_DIR" in message and str(config.root) not in skipped.manifest_path.read_text()
    assert result.manifest["runs"][-1]["commit"] == code_version() and result.manifest["commits"] == [code_version()]
    assert json.loads(result.records["versions"].iloc[0])["radlib_commit"] == code_version()


@pytest.mark.slow
def test_ctrl_c_on_a_local_dask_cluster_is_one_message_without_worker_tracebacks(fast_config, tmp_path):
    # Issue 21, section 3: Ctrl-C with Dask printed a 30-line worker traceback before the clean message.
    args = _cli_args(fast_config, tmp_path) + ["--set", "run.n_jobs=2"]
    process = _cli(args, env={**os.environ, "RADLIB_OFFLINE": "1"}, start_new_session=True)
    tasks = fast_config.path("processed") / "tasks"
    deadline = time.time() + 180
    while time.time() < deadline and not list(tasks.glob("*/*.parquet")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group, workers included
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "radlib: interrupted:" in output and "Traceback" not in output and "ERROR" not in output


@pytest.mark.slow
def test_each_future_is_released_once_its_task_is_stored(fast_config, monkeypatch):
    # Issue 21, section 5: the client held every future until the run ended, so a lost worker made Dask
    # rebuild finished tasks (12 executions for 8 tasks). When a task is stored, the scheduler must hold
    # no earlier stored task any more.
    from dask.distributed import LocalCluster, get_client

    stored, held_at_store = [], []
    original = grid.write_parquet_atomically

    def spying(frame, path, *args, **kwargs):
        if "__" in Path(path).stem:  # a task file: dataset__fingerprint__rNNN
            keys = get_client().run_on_scheduler(lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks])
            dataset, fingerprint, repetition = Path(path).stem.split("__")
            held_at_store.append(keys)
            stored.append(f"-{dataset}-{fingerprint}-r{int(repetition.removeprefix('r'))}")
        return original(frame, path, *args, **kwargs)

    monkeypatch.setattr(grid, "write_parquet_atomically", spying)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        run_grid(fast_config, scheduler=cluster.scheduler_address, show_progress=False)
    assert len(stored) == 4
    # Every key names its dataset's content fingerprint (two tables of one name never share a computation).
    assert all(any(key.endswith(marker) for marker in stored) for keys in held_at_store for key in keys)
    for position, keys in enumerate(held_at_store):
        earlier = stored[:position]
        assert not [key for key in keys for marker in earlier if key.endswith(marker)], (position, keys)


def test_a_kill_between_the_history_and_the_progress_record_counts_the_run_once(fast_config):
    config = fast_config.with_overrides({"repetitions": 1})
    first = run_grid(config, show_progress=False)
    history, progress = grid._history_files(config.path("processed"), config.hash)
    # As if killed after writing the history, before deleting the progress record: the same run in both.
    progress.write_text(json.dumps({"config_hash": config.hash, "runs": [first.manifest["runs"][0]]}))
    assert grid.run_history(config.path("processed"), config.hash) == first.manifest["runs"]
    assert run_grid(config, show_progress=False).manifest["runs"] == first.manifest["runs"]


def test_a_legacy_manifest_of_one_configuration_survives_a_run_of_another(fast_config):
    # The earlier engine kept A's history only in manifest.json, which B's run replaces.
    a = fast_config.with_overrides({"repetitions": 1})
    b = a.with_overrides({"shift.severity": 0.2})
    processed = a.path("processed")
    processed.mkdir(parents=True)
    legacy = {"finished": "2026-12-02T20:00:00+00:00", "wall_seconds": 60.0, "tasks_computed": 2}
    (processed / "manifest.json").write_text(json.dumps({"config_hash": a.hash, "runs": [legacy]}))
    run_grid(b, show_progress=False)
    assert run_grid(a, show_progress=False).manifest["runs"][0] == legacy


def test_a_checkpoint_keeps_no_history_file_the_run_has_removed(fast_config, tmp_path):
    # A save while a run is going copies its progress record; once the run finished, the next save
    # must drop it, or a restore counts the run twice.
    config = fast_config.with_overrides({"repetitions": 1})
    run_grid(config, show_progress=False)
    checkpoint = tmp_path / "checkpoint"
    _, progress = grid._history_files(config.path("processed"), config.hash)
    stale = {"run_id": "gone", "finished": "x", "wall_seconds": 5.0, "tasks_computed": 1}
    progress.write_text(json.dumps({"config_hash": config.hash, "runs": [stale]}))
    save_checkpoint(config, checkpoint)
    progress.unlink()
    save_checkpoint(config, checkpoint)
    assert not (checkpoint / grid.RUNS_FOLDER / progress.name).exists()
    shutil.rmtree(config.path("processed"))
    restore_checkpoint(config, checkpoint)
    assert "gone" not in [run.get("run_id") for run in grid.run_history(config.path("processed"), config.hash)]


def test_the_complete_default_records_win_over_a_partial_copy(fast_config):
    config = _curve(fast_config.with_overrides({"repetitions": 1}))
    run = run_grid(config, show_progress=False)
    partial = grid.specification_results(config, "default")  # as an interrupted `radlib evaluate` leaves it
    partial.parent.mkdir(parents=True, exist_ok=True)
    run.records[run.records["dataset"] == "Ahn2021"].to_parquet(partial)
    pd.testing.assert_frame_equal(grid.specification_records(config)["default"], run.records)


def test_no_dataset_requested_is_a_clear_error(fast_config):
    with pytest.raises(grid.NoDatasetError, match="no dataset was requested"):
        run_grid(fast_config, datasets=[], show_progress=False)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_one_sentence_with_exit_code_4(fast_config, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, "--set", "run.scheduler_timeout=3")
        output, _ = process.communicate(timeout=120)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
    assert process.returncode == 4, output
    assert f"the Dask scheduler at '{address}' has no worker after 3 s" in output and "Traceback" not in output
