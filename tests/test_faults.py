"""Faults: a generator raising mid-fit, a Dask worker killed mid-task, two runs at once, a disk
write failing half-way.

Already covered in test_grid.py and not repeated here: ``kill -9`` of a whole run then a
rerun (identical records), a truncated task file recomputed, a second run refused in-process.
"""

import io
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy_tasks import comparable, toy_dataset
from waiting import paused_at_gate, wait_for

from radlib import generators
from radlib.analysis import pair_table
from radlib.generators.base import Generator
from radlib.grid import run_grid, task_path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "RADLIB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _toy(name, seed):
    """80 rows, 10 features, the first 3 informative, no missing values."""
    return toy_dataset(name, seed, n=80, p=10, informative=3, missing=0)


@pytest.fixture
def small(offline_config):
    """SMOTE only (plus what a test adds), a small forest, 2 repetitions, in-process."""
    return offline_config.with_overrides(
        {"synthesis.generators": [], "classifiers.rf.n_estimators": 10, "repetitions": 2, "run.n_jobs": 1}
    )


def _table(path, n=80, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    frame = pd.DataFrame(rng.normal(size=(n, 8)).round(5), columns=[f"f{j}" for j in range(8)])
    frame.iloc[:, :3] += y[:, None]
    frame.insert(0, "Target", y)
    frame.to_csv(path, index=False)
    return path


def _audit_command(table, out, plugin, generator, *extra):
    return [
        sys.executable,
        "-m",
        "radlib.cli",
        "audit",
        "--csv",
        str(table),
        "--target",
        "Target",
        "--profile",
        "smoke",
        "--set",
        "repetitions=2",
        "--set",
        "classifiers.rf.n_estimators=10",
        "--generators",
        generator,
        "--plugin",
        str(plugin),
        "--out",
        str(out),
        *extra,
    ]


# --- a generator raising mid-fit ----------------------------------------------------------


class _FailsOnSecondFit(Generator):
    """Fits normally, except that its second fit raises half-way (after some work)."""

    calls = 0

    def _fit(self, X, y, seed):
        type(self).calls += 1
        self.mean_ = {c: X[y == c].mean(axis=0) for c in (0, 1)}  # the work done before the failure
        if type(self).calls == 2:
            raise RuntimeError("loss diverged at epoch 3")
        self.sd_ = {c: X[y == c].std(axis=0) for c in (0, 1)}

    def _sample_class(self, label, n, seed):
        rng = np.random.default_rng(seed)
        return self.mean_[label] + self.sd_[label] * rng.standard_normal((n, len(self.mean_[label])))


def test_generator_raising_mid_fit_is_a_failed_record_and_the_grid_completes(small, monkeypatch):
    monkeypatch.setitem(generators._REGISTRY, "flaky", _FailsOnSecondFit)
    monkeypatch.setattr(_FailsOnSecondFit, "calls", 0)
    config = small.with_overrides({"synthesis.generators": ["flaky"]})
    result = run_grid(config, datasets=[_toy("A", 1), _toy("B", 2)], show_progress=False)

    manifest, records = result.manifest, result.records
    assert manifest["tasks_total"] == 4 and manifest["tasks_ok"] == 4 and manifest["tasks_failed"] == {}
    folds = config["shift"]["folds"]
    assert manifest["arms_failed"] == 1 and manifest["records"] == 4 * folds * 3  # 4 tasks x folds x 3 arms
    failed = records[records["status"] == "failed"]
    assert len(failed) == 1 and failed["arm"].item() == "flaky"
    assert failed["error"].item() == "RuntimeError: loss diverged at epoch 3"
    assert failed[["auc_logreg", "auc_rf", "delta_auc_logreg"]].isna().all(axis=None)
    others = records.drop(index=failed.index)
    assert (others["status"] == "ok").all() and np.isfinite(others["auc_logreg"]).all()
    on_disk = pd.read_parquet(result.results_path)
    assert (on_disk["status"] == "failed").sum() == 1
    assert pair_table(records).attrs["exclusions"]["records_failed"] == 1


# --- a Dask worker killed while it runs a task --------------------------------------------

SLEEPY_PLUGIN = '''
import os, time
import numpy as np
from radlib.generators import Generator, register

class Sleepy(Generator):
    """Leaves a marker <pid>_<seed>.start, sleeps, then samples noisy copies of real rows."""
    def __init__(self, *, marker_dir: str = "", seconds: float = 3.0):
        self.marker_dir, self.seconds = marker_dir, seconds
    def _fit(self, X, y, seed):
        open(os.path.join(self.marker_dir, f"{os.getpid()}_{seed}.start"), "w").close()
        time.sleep(self.seconds)
        self.rows_ = {c: X[y == c] for c in (0, 1)}
    def _sample_class(self, label, n, seed):
        rng = np.random.default_rng(seed)
        rows = self.rows_[label][rng.integers(0, len(self.rows_[label]), n)]
        return rows + 0.3 * rng.standard_normal(rows.shape)

register("sleepy", Sleepy, replace=True)
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_worker_killed_mid_task_is_retried_on_the_other_worker(tmp_path):
    """kill -9 of the worker running a task: the scheduler reruns it elsewhere and the audit completes.

    Workers run without a nanny, so a killed worker is gone for good; the plug-in reaches them
    through the scheduler (radlib.audit.PluginLoader), not through a shared import.
    """
    markers = tmp_path / "markers"
    markers.mkdir()
    plugin = tmp_path / "sleepy_plugin.py"
    plugin.write_text(SLEEPY_PLUGIN)
    table = _table(tmp_path / "cohort.csv")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": ENV, "cwd": tmp_path}
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    workers = [
        subprocess.Popen(
            [
                bin_dir / "dask",
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            **quiet,
        )
        for _ in range(2)
    ]
    run = None
    try:
        from dask.distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        run = subprocess.Popen(
            _audit_command(
                table,
                tmp_path / "out",
                plugin,
                "sleepy",
                "--scheduler",
                address,
                "--set",
                f"synthesis.params.sleepy={{marker_dir: {markers}, seconds: 3}}",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=ENV,
            cwd=ROOT,
        )
        wait_for(lambda: any(markers.glob("*.start")), 120, "a worker to start a task")
        first = sorted(markers.glob("*.start"), key=lambda p: p.stat().st_mtime)[0]
        killed_pid, seed = first.stem.split("_")
        assert int(killed_pid) in {w.pid for w in workers}
        os.kill(int(killed_pid), signal.SIGKILL)
        output, _ = run.communicate(timeout=240)
        assert run.returncode == 0, output
        assert "2 of 2 tasks done (0 reused), 0 failed, 0 failed arms" in output
        retried = [p for p in markers.glob(f"*_{seed}.start") if p.stem.split("_")[0] != killed_pid]
        assert retried, "the killed worker's task was not rerun on another worker"
        records = pd.read_parquet(tmp_path / "out" / "results.parquet")
        assert sorted(records["repetition"].unique()) == [0, 1]
        assert (records["status"] == "ok").all() and (records["arm"] == "sleepy").sum() == 2 * 5  # 2 tasks x 5 folds
    finally:
        for proc in (run, *workers, scheduler):
            if proc is not None and proc.poll() is None:
                proc.kill()
        for proc in (run, *workers, scheduler):
            if proc is not None:
                proc.wait(timeout=30)


# --- two runs started at once on the same output folder -----------------------------------

GATED_PLUGIN = '''
import os, time
from radlib.generators import register
from radlib.generators.smote import SMOTEAugmenter

class Gated(SMOTEAugmenter):
    """SMOTE that announces its first fit, then waits until a release file exists."""
    def __init__(self, *, gate_dir: str = "", **kwargs):
        super().__init__(**kwargs)
        self.gate_dir = gate_dir
    def _fit(self, X, y, seed):
        open(os.path.join(self.gate_dir, "started"), "w").close()
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(self.gate_dir, "release")) and time.time() < deadline:
            time.sleep(0.05)
        super()._fit(X, y, seed)

register("gated", Gated, replace=True)
'''


@pytest.mark.slow
def test_second_run_on_the_same_folder_is_refused_while_the_first_completes(tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    plugin = tmp_path / "gated_plugin.py"
    plugin.write_text(GATED_PLUGIN)
    table = _table(tmp_path / "cohort.csv")
    out = tmp_path / "out"
    command = _audit_command(
        table, out, plugin, "gated", "--n-jobs", "1", "--set", f"synthesis.params.gated={{gate_dir: {gate}}}"
    )
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    with paused_at_gate(first, gate, "the first run's task", timeout=120, marker="started") as output:
        second = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)
        assert second.returncode == 3, second.stderr
        assert f"radlib: error: another radlib run is writing to {out}" in second.stderr
    assert first.returncode == 0, output["stderr"]
    assert "2 of 2 tasks done (0 reused), 0 failed" in output["stdout"]
    records = pd.read_parquet(out / "results.parquet")
    # 2 repetitions x 5 site-folds x (real, gated, smote)
    assert (records["status"] == "ok").all() and len(records) == 2 * 5 * 3


SLOW_MANIFEST_RUN = """
import os, sys, time
import radlib.grid as grid
from radlib.cli import main

_write = grid.write_text_atomically


def slow_write(text, path):
    if os.path.basename(path) == "manifest.json":
        open(os.path.join(GATE, "writing"), "w").close()
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(GATE, "release")) and time.time() < deadline:
            time.sleep(0.05)
    return _write(text, path)


grid.write_text_atomically = slow_write
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_radlib_run_holds_the_lock_until_its_last_write(mirror_config, tmp_path):
    """Two real ``radlib run`` processes; the first writes its manifest deliberately slowly: the second is refused."""
    gate = tmp_path / "gate"
    gate.mkdir()
    paths = [f"paths.{name}={mirror_config.path(name)}" for name in mirror_config["paths"]]
    settings = [
        "repetitions=1",
        "shift.folds=1",
        "synthesis.snapshots=[1.0]",
        "synthesis.generators=[]",
        "classifiers.rf.n_estimators=10",
        "run.n_jobs=1",
        *paths,
    ]
    args = ["run", "--profile", "smoke", *[a for s in settings for a in ("--set", s)], "--datasets", "Ahn2021"]
    slow = [sys.executable, "-c", SLOW_MANIFEST_RUN.replace("GATE", repr(str(gate))), *args]
    first = subprocess.Popen(slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    with paused_at_gate(first, gate, "the first run's manifest") as output:
        second = subprocess.run(
            [sys.executable, "-m", "radlib.cli", *args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=180
        )
        assert second.returncode == 3, second.stderr
        processed = mirror_config.path("processed")
        assert f"radlib: error: another radlib run is writing to {processed}" in second.stderr
        assert "Traceback" not in second.stderr
    assert first.returncode == 0, output["stderr"]
    assert output["stdout"].startswith("1 of 1 tasks done (0 reused), 0 failed")


# --- a disk write failing half-way --------------------------------------------------------


def _half_writing_to_parquet(fail_when, original):
    """A DataFrame.to_parquet that writes half of the file and raises ENOSPC where ``fail_when(path)``."""

    def to_parquet(self, path, *args, **kwargs):
        if not fail_when(Path(path)):
            return original(self, path, *args, **kwargs)
        buffer = io.BytesIO()
        original(self, buffer, *args, **kwargs)
        data = buffer.getvalue()
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    return to_parquet


def test_disk_write_failing_half_way_never_leaves_a_finished_looking_task(small, tmp_path, monkeypatch):
    datasets = [_toy("A", 1), _toy("B", 2)]
    reference = run_grid(
        small.with_overrides({"paths.processed": str(tmp_path / "reference")}), datasets=datasets, show_progress=False
    )
    original = pd.DataFrame.to_parquet
    victim = task_path(small, datasets[0], 1)
    tasks_dir = victim.parent

    # 1. The write of one task file fails half-way: that task is reported failed, the rest finish.
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _half_writing_to_parquet(lambda p: victim.name in p.name, original))
    broken = run_grid(small, datasets=datasets, show_progress=False)
    assert list(broken.manifest["tasks_failed"]) == ["A r1"]
    assert (
        "OSError" in broken.manifest["tasks_failed"]["A r1"]
        and "No space left" in broken.manifest["tasks_failed"]["A r1"]
    )
    assert broken.manifest["tasks_ok"] == 3 and len(broken.records) == 3 * small["shift"]["folds"] * 2
    assert not victim.exists()  # the half file never got the finished task's name
    assert not list(tasks_dir.glob("*.partial"))  # and was removed
    assert sorted(p.name for p in tasks_dir.iterdir()) == sorted(
        task_path(small, d, r).name for d in datasets for r in (0, 1) if (d.name, r) != ("A", 1)
    )

    # A half-written temporary file left behind (as by kill -9 between write and rename) is ignored.
    stray = tasks_dir / f".{victim.name}.99999.partial"
    buffer = io.BytesIO()
    original(reference.records.iloc[:2], buffer)
    stray.write_bytes(buffer.getvalue()[:200])

    # 2. With the disk healthy again a rerun completes the missing task, reusing the three good
    #    ones, and gives the uninterrupted run's records.
    monkeypatch.setattr(pd.DataFrame, "to_parquet", original)
    rerun = run_grid(small, datasets=datasets, show_progress=False)
    assert (
        rerun.manifest["tasks_ok"] == 4 and rerun.manifest["tasks_reused"] == 3 and not rerun.manifest["tasks_failed"]
    )
    pd.testing.assert_frame_equal(comparable(rerun.records), comparable(reference.records))

    # 3. The consolidated results file fails half-way: the previous one stays whole and readable,
    #    and the next run writes it again from the task files.
    monkeypatch.setattr(
        pd.DataFrame, "to_parquet", _half_writing_to_parquet(lambda p: "results.parquet" in p.name, original)
    )
    before = pd.read_parquet(rerun.results_path)
    with pytest.raises(OSError, match="No space left"):
        run_grid(small, datasets=datasets, show_progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(rerun.results_path), before)
    assert not [p for p in rerun.results_path.parent.iterdir() if p.name.endswith(".partial")]
    monkeypatch.setattr(pd.DataFrame, "to_parquet", original)
    last = run_grid(small, datasets=datasets, show_progress=False)
    assert last.manifest["tasks_reused"] == 4
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(last.results_path)), comparable(reference.records))
