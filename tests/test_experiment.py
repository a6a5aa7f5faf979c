"""One task and the grid: records, leakage, undefined AUCs, failures, resume, locks, Dask."""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radlib import experiment, generators
from radlib.data import Dataset, load_dataset
from radlib.experiment import (
    REAL_ARM,
    TIMING_COLUMNS,
    GridLockedError,
    arms_of,
    read_task,
    run_grid,
    run_task,
    synthetic_counts,
    task_path,
)
from radlib.generators.base import Generator

ROOT = Path(__file__).resolve().parents[1]


def _toy_dataset(n=160, p=40, seed=0, name="Toy"):
    """Two classes with shifted means on the first 5 features, and a few missing values."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, p))
    X[:, :5] += 1.0 * y[:, None]
    X[rng.random(size=X.shape) < 0.01] = np.nan
    return Dataset(name, X, y, [f"f{j}" for j in range(p)])


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
        }
    )


def _comparable(records: pd.DataFrame) -> pd.DataFrame:
    """Records without wall-clock timings, in a canonical order."""
    return (
        records.drop(columns=list(TIMING_COLUMNS)).sort_values(["dataset", "repetition", "arm"]).reset_index(drop=True)
    )


class _Exploding(Generator):
    name = "exploding"

    def fit(self, X, y, seed):
        raise RuntimeError("boom in fit")

    def sample(self, counts):
        raise AssertionError("never reached")


def test_synthetic_counts_follow_internal_proportions():
    y = np.array([0] * 30 + [1] * 10)
    assert synthetic_counts(y, 1.0) == {0: 30, 1: 10}
    assert synthetic_counts(y, 0.5) == {0: 15, 1: 5}


def test_run_task_gives_one_record_per_arm(offline_config):
    config = offline_config.with_overrides({"synthesis.generators": [], "classifiers.rf.n_estimators": 30})
    records = run_task(_toy_dataset(), 0, config)
    assert records["arm"].tolist() == [REAL_ARM, "smote"]
    real, smote = records.iloc[0], records.iloc[1]
    assert real["delta_auc_logreg"] == 0 and real["delta_auc_rf"] == 0
    assert smote["delta_auc_logreg"] == pytest.approx(smote["auc_logreg"] - real["auc_logreg"])
    assert smote["n_synthetic"] == real["n_internal"]  # ratio 1
    assert real["n_internal"] + real["n_external"] == 160
    assert smote["status"] == "ok" and 0 <= smote["ks"] <= 1
    assert np.isnan(real["ks"]) if "ks" in records else True
    assert records["config_hash"].nunique() == 1 and not records["undefined"].any()


def test_run_task_is_deterministic(offline_config):
    config = offline_config.with_overrides({"synthesis.generators": [], "classifiers.rf.n_estimators": 30})
    a, b = run_task(_toy_dataset(), 1, config), run_task(_toy_dataset(), 1, config)
    pd.testing.assert_frame_equal(_comparable(a), _comparable(b))


def test_external_rows_never_reach_a_fit(offline_config, monkeypatch):
    """Spy on every fit and check that no fitted matrix contains an external row."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    dataset = _toy_dataset(n=120, p=12)
    dataset.X = np.nan_to_num(dataset.X)  # exact row matching needs no NaN
    config = offline_config.with_overrides({"synthesis.generators": [], "classifiers.rf.n_estimators": 10})
    seen = []
    for cls in (Pipeline, LogisticRegression, RandomForestClassifier, type(generators.make("smote"))):
        original = cls.fit

        def spy(self, X, y, *args, _original=original, **kwargs):
            seen.append((type(self).__name__, np.asarray(X).copy()))
            return _original(self, X, y, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", spy)
    split = experiment.simulate_external(dataset.X, config["shift"], config.seed("Toy", 0, "split"))
    run_task(dataset, 0, config)
    assert {name for name, _ in seen} >= {"Pipeline", "LogisticRegression", "RandomForestClassifier"}
    raw_external = {row.tobytes() for row in dataset.X[split.external_idx]}
    pipeline_inputs = [X for name, X in seen if name == "Pipeline"]
    internal_rows = dataset.X[split.internal_idx]
    assert any(X.shape == internal_rows.shape and np.array_equal(X, internal_rows) for X in pipeline_inputs)
    assert not any(row.tobytes() in raw_external for X in pipeline_inputs for row in X)
    # Classifier inputs live in the selected space; rebuild the external rows there.
    from radlib.features import development_pipeline

    pipe = development_pipeline(config["features"]["k"], dataset.p).fit(
        dataset.X[split.internal_idx], dataset.y[split.internal_idx]
    )
    Z_external = {np.round(row, 9).tobytes() for row in pipe.transform(split.X_external_shifted)}
    for name, X in seen:
        if name != "Pipeline":
            assert not any(np.round(row, 9).tobytes() in Z_external for row in X), f"{name} saw an external row"


def test_single_class_external_set_gives_undefined_auc(offline_config, monkeypatch):
    dataset = _toy_dataset()
    original = experiment.simulate_external

    def one_class_external(X, params, seed):
        external = np.flatnonzero(dataset.y == 0)[:30]
        internal = np.setdiff1d(np.arange(len(dataset.y)), external)
        return dataclasses.replace(
            original(X, params, seed), internal_idx=internal, external_idx=external, X_external_shifted=X[external]
        )

    monkeypatch.setattr(experiment, "simulate_external", one_class_external)
    config = offline_config.with_overrides({"synthesis.generators": [], "classifiers.rf.n_estimators": 10})
    records = run_task(dataset, 0, config)
    assert records["undefined"].all()
    assert records["auc_logreg"].isna().all() and records["delta_auc_rf"].isna().all()


def test_failed_generator_is_a_record_and_the_rest_go_on(offline_config, monkeypatch):
    monkeypatch.setitem(generators._REGISTRY, "exploding", _Exploding)
    config = offline_config.with_overrides({"synthesis.generators": ["exploding"], "classifiers.rf.n_estimators": 10})
    records = run_task(_toy_dataset(), 0, config).set_index("arm")
    assert records.loc["exploding", "status"] == "failed"
    assert "RuntimeError: boom in fit" in records.loc["exploding", "error"]
    assert np.isnan(records.loc["exploding", "auc_logreg"])
    assert records.loc["smote", "status"] == "ok" and not np.isnan(records.loc["smote", "auc_logreg"])


def test_grid_writes_tasks_results_and_manifest(fast_config):
    result = run_grid(fast_config, show_progress=False)
    m = result.manifest
    assert m["tasks_total"] == 4 and m["tasks_ok"] == 4 and not m["tasks_failed"]
    assert m["config_hash"] == fast_config.hash and m["records"] == 4 * len(arms_of(fast_config))
    assert json.loads(result.manifest_path.read_text())["tasks_ok"] == 4
    assert pd.read_parquet(result.results_path).shape[0] == m["records"]
    for name in ("Ahn2021", "HNSCC"):
        assert task_path(fast_config, load_dataset(name, fast_config), 1).exists()


def test_grid_resumes_and_recomputes_corrupt_files(fast_config):
    first = run_grid(fast_config, show_progress=False)
    lost = task_path(fast_config, load_dataset("Ahn2021", fast_config), 1)
    corrupt = task_path(fast_config, load_dataset("HNSCC", fast_config), 0)
    lost.unlink()
    corrupt.write_bytes(corrupt.read_bytes()[:100])  # a half-written file
    assert read_task(corrupt, arms_of(fast_config)) is None
    second = run_grid(fast_config, show_progress=False)
    assert second.manifest["tasks_reused"] == 2 and second.manifest["tasks_ok"] == 4
    runs = json.loads(second.manifest_path.read_text())["runs"]
    assert [run["tasks_computed"] for run in runs] == [4, 2]  # the first run is not forgotten
    pd.testing.assert_frame_equal(_comparable(first.records), _comparable(second.records))


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
    first = run_grid(config, datasets=[_toy_dataset(seed=1, name="Mine")], show_progress=False)
    assert first.manifest["tasks_ok"] == 1 and first.records["dataset"].unique().tolist() == ["Mine"]
    changed = run_grid(config, datasets=[_toy_dataset(seed=2, name="Mine")], show_progress=False)
    assert changed.manifest["tasks_reused"] == 0
    assert first.records["dataset_fingerprint"].iloc[0] != changed.records["dataset_fingerprint"].iloc[0]


def test_second_run_on_the_same_folder_is_refused(fast_config):
    with experiment._run_lock(fast_config.path("processed")):
        with pytest.raises(GridLockedError, match="another radlib run is writing"):
            run_grid(fast_config, show_progress=False)


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
        f"paths.processed={config.path('processed')}",
        "--set",
        f"paths.raw={tmp_path / 'raw'}",
    ]


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
    pd.testing.assert_frame_equal(_comparable(reference.records), _comparable(rerun.records))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_scheduler_with_two_workers_gives_the_local_records(fast_config, tmp_path):
    local = run_grid(fast_config.with_overrides({"paths.processed": str(tmp_path / "local")}), show_progress=False)
    address = f"tcp://127.0.0.1:{_free_port()}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "RADLIB_OFFLINE": "1"}
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [
                bin_dir / "dask",
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        from dask.distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        process = _cli(_cli_args(fast_config, tmp_path), "--scheduler", address, env=env)
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        remote = pd.read_parquet(fast_config.path("processed") / "results.parquet")
        pd.testing.assert_frame_equal(_comparable(local.records), _comparable(remote))
    finally:
        for proc in (*workers, scheduler):
            proc.terminate()
        for proc in (*workers, scheduler):
            proc.wait(timeout=30)
