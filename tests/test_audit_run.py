"""Tests of radlib.audit.run: your own tables through the study's protocol, plug-ins, and every bad input.

Bad inputs are tested through the user-facing path (``radlib.cli.main(["audit", ...])``):
the exit code, the message on stderr, and that nothing was trained (no records written).
The reading and cleaning functions themselves are tested in test_data.py and test_config.py.
"""

import gzip
import json
import resource
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from audit_tables import make_table
from scipy import stats

from radlib import analysis, cli, generators, quality
from radlib import audit as A
from radlib.audit import run as R
from radlib.data import Dataset
from radlib.generators.base import Generator

# Small settings: 2 repetitions, a small forest, few permutations for the sensitivity subset.
FAST = {"repetitions": 2, "classifiers.rf.n_estimators": 10, "sensitivity.permutations": 20}
FAST_ARGS = ["--profile", "smoke", "--set", "repetitions=2", "--set", "classifiers.rf.n_estimators=10"]


# --- a small generator and a small metric, defined here (the plug-in way) -----------------


class GaussianGenerator(Generator):
    """Class-conditional Gaussian with a diagonal covariance; ``spread`` scales the SDs."""

    name = "gauss"

    def __init__(self, *, spread: float = 1.0):
        self.spread = spread

    def _fit(self, X, y, seed):
        self.mean_ = {c: X[y == c].mean(axis=0) for c in (0, 1)}
        self.sd_ = {c: X[y == c].std(axis=0) * self.spread + 1e-9 for c in (0, 1)}

    def _sample_class(self, label, n, seed):
        rng = np.random.default_rng(seed)
        return self.mean_[label] + self.sd_[label] * rng.standard_normal((n, len(self.mean_[label])))


class NoisyCopy(Generator):
    """Real rows of the class drawn with replacement, plus Gaussian noise of ``noise`` SDs."""

    name = "noisy"

    def __init__(self, *, noise: float = 0.5):
        self.noise = noise

    def _fit(self, X, y, seed):
        self.rows_ = {c: X[y == c] for c in (0, 1)}

    def _sample_class(self, label, n, seed):
        rng = np.random.default_rng(seed)
        rows = self.rows_[label]
        picked = rows[rng.integers(0, len(rows), n)]
        return picked + self.noise * rows.std(axis=0) * rng.standard_normal(picked.shape)


def mean_gap(real, synth):
    """Mean absolute difference of the column means (0 is ideal)."""
    return float(np.abs(real.mean(axis=0) - synth.mean(axis=0)).mean())


@pytest.fixture
def registry(monkeypatch):
    """Private copies of the generator and metric registries, restored after the test."""
    monkeypatch.setattr(generators, "_REGISTRY", dict(generators._REGISTRY))
    monkeypatch.setattr(quality, "USER_METRICS", {})
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("radlib_plugin_"):
            del sys.modules[name]


def _audit_cli(capsys, *args):
    code = cli.main(["audit", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- one table ----------------------------------------------------------------------------


def test_one_table_end_to_end_with_messy_columns_a_user_generator_and_a_user_metric(tmp_path, registry):
    frame = make_table()
    frame["site"] = np.where(np.arange(len(frame)) % 3, "A", "B")  # text: dropped and listed
    frame["empty"] = np.nan  # all missing
    frame["flat"] = 7.0  # constant
    frame.loc[[0, 5], "f7"] = [np.inf, -np.inf]  # become missing, counted
    path = tmp_path / "my_cohort.csv"
    frame.to_csv(path, index=False)
    generators.register("gauss", GaussianGenerator)
    generators.register("noisy", NoisyCopy)
    quality.register_metric("mean_gap", mean_gap, ideal=0.0, orientation="lower")

    out = tmp_path / "out"

    def run_audit():
        return A.audit(
            [path],
            "Target",
            profile="smoke",
            overrides=FAST,
            generator_names=["gauss", "noisy"],
            out=out,
            n_jobs=1,
            n_boot=50,
            show_progress=False,
        )

    result = run_audit()

    dataset = result.datasets[0]
    assert dataset.name == "my_cohort" and dataset.p == 8
    assert dataset.report["dropped"] == {
        "non_numeric": ["site"],
        "all_missing": ["empty"],
        "constant": ["flat"],
        "excluded": [],
    }
    assert dataset.report["infinite_values"] == 2
    text = A.describe_dataset(dataset)
    assert "dropped 1 non-numeric: site" in text and "all missing: empty" in text and "constant: flat" in text
    assert "2 infinite values set to missing" in text

    records = result.grid.records
    assert sorted(records["arm"].unique()) == ["gauss", "noisy", "real", "smote"]
    assert (records["status"] == "ok").all() and result.grid.manifest["tasks_ok"] == 2
    synthetic = records[records["arm"] != "real"]
    assert np.isfinite(synthetic["mean_gap"]).all() and records.loc[records["arm"] == "real", "mean_gap"].isna().all()
    assert result.config.path("processed") == tmp_path / "out"  # nothing mixes with the radMLBench runs

    # The arm summary: mean ΔAUC and its t-interval, recomputed here with scipy over the repetitions'
    # means (the site-folds of a repetition share its split; every fold is valid here, so the mean of the
    # repetition means is the mean of the evaluations).
    arms = result.arms.set_index(["classifier", "arm"])
    for arm in ("gauss", "noisy", "smote"):
        values = records.loc[records["arm"] == arm, "delta_auc_logreg"].to_numpy()
        per_repetition = records[records["arm"] == arm].groupby("repetition")["delta_auc_logreg"].mean().to_numpy()
        low, high = stats.t.interval(
            0.95, len(per_repetition) - 1, loc=per_repetition.mean(), scale=stats.sem(per_repetition)
        )
        row = arms.loc[("logreg", arm)]
        assert row["delta_auc"] == pytest.approx(values.mean())
        assert (row["delta_auc_ci_low"], row["delta_auc_ci_high"]) == pytest.approx((low, high))
        assert row["mean_gap"] == pytest.approx(records.loc[records["arm"] == arm, "mean_gap"].mean())
    quantities = result.quantities
    assert {"delta_auc", "auc", "wasserstein", "detection_auc", "mean_gap"} <= set(quantities["quantity"])
    assert set(result.ranks["metric"]) == {*analysis.METRICS, analysis.COMPOSITE, "mean_gap"}

    for name in (
        "results.parquet",
        "manifest.json",
        "verdict.md",
        "data_report.json",
        "tables/audit_arms.csv",
        "tables/audit_quantities.md",
        "tables/audit_ranks.csv",
        "tables/audit_logreg_repetition_correlations.csv",
        "figures/delta_auc.png",
        "figures/quality_vs_delta_logreg.png",
        "figures/quality_vs_delta_rf.pdf",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "data_report.json").read_text())["my_cohort"]["dropped"]["non_numeric"] == ["site"]
    verdict = result.verdict
    assert "Verdict for my_cohort: 80 patients, 8 features" in verdict
    assert "Logistic regression: real-only external AUC" in verdict and "Random forest" in verdict
    assert "Did quality predict the gain? Best composite quality:" in verdict
    assert f"{arms.loc[('logreg', 'gauss'), 'delta_auc']:+.3f}" in verdict
    assert verdict in (out / "verdict.md").read_text()

    # A rerun reuses every task; adding a metric recomputes the tasks that lack it.
    again = run_audit()
    assert again.grid.manifest["tasks_reused"] == 2
    quality.register_metric("max_gap", lambda real, synth: float(np.abs(real.max(0) - synth.max(0)).mean()), 0.0)
    third = run_audit()
    assert third.grid.manifest["tasks_reused"] == 0
    assert np.isfinite(third.grid.records.query("arm != 'real'")["max_gap"]).all()


SHUFFLED_PLUGIN = textwrap.dedent('''
    import numpy as np
    from radlib.generators import Generator, register
    from radlib.quality import register_metric

    class ShuffledCopy(Generator):
        """Real rows of the class with every column shuffled independently."""
        def _fit(self, X, y, seed):
            self.rows_ = {c: X[y == c] for c in (0, 1)}
        def _sample_class(self, label, n, seed):
            rng = np.random.default_rng(seed)
            rows = self.rows_[label][rng.integers(0, len(self.rows_[label]), n)]
            return np.column_stack([rng.permutation(col) for col in rows.T])

    def sd_ratio(real, synth, seed):
        return float(np.mean(synth.std(axis=0) / real.std(axis=0)))

    register("shuffled", ShuffledCopy, replace=True)
    register_metric("sd_ratio", sd_ratio, ideal=1.0, orientation="closer", replace=True)
''')


def _audit_with_shuffled_plugin(tmp_path, capsys, n_jobs):
    """``radlib audit --plugin`` of :data:`SHUFFLED_PLUGIN` on a small table; (code, stdout, stderr, records)."""
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text(SHUFFLED_PLUGIN)
    out = tmp_path / "out"
    args = [*FAST_ARGS, "--n-jobs", n_jobs, "--generators", "shuffled", "--plugin", plugin, "--out", out]
    code, stdout, stderr = _audit_cli(capsys, "--csv", tmp_path / "cohort.csv", "--target", "Target", *args)
    records = pd.read_parquet(out / "results.parquet") if code == 0 else None
    return code, stdout, stderr, records


def test_cli_audit_with_a_plugin_file_runs_in_process(tmp_path, registry, capsys):
    code, stdout, stderr, records = _audit_with_shuffled_plugin(tmp_path, capsys, n_jobs=1)
    assert code == 0, stderr
    assert "Verdict for cohort" in stdout and "shuffled" in stdout and "2 of 2 tasks done" in stdout
    assert sorted(records["arm"].unique()) == ["real", "shuffled", "smote"]
    assert np.isfinite(records.loc[records["arm"] != "real", "sd_ratio"]).all()
    assert quality.align_metrics({"sd_ratio": 0.8})["sd_ratio"] == pytest.approx(0.2)


@pytest.mark.slow
def test_cli_audit_with_a_plugin_file_runs_it_on_every_dask_worker(tmp_path, registry, capsys):
    """Two worker processes on a local Dask cluster: the generator and metric exist there only through the plug-in."""
    code, stdout, stderr, records = _audit_with_shuffled_plugin(tmp_path, capsys, n_jobs=2)
    assert code == 0, stderr
    assert "2 of 2 tasks done" in stdout and "Not computed" not in stdout
    assert (records["status"] == "ok").all() and sorted(records["arm"].unique()) == ["real", "shuffled", "smote"]
    assert np.isfinite(records.loc[records["arm"] != "real", "sd_ratio"]).all()


@pytest.mark.slow
def test_a_metric_registered_only_here_is_reported_as_not_computed_by_the_workers(tmp_path, registry):
    path = tmp_path / "cohort.csv"
    make_table().to_csv(path, index=False)
    quality.register_metric("mean_gap", mean_gap, ideal=0.0, orientation="lower")
    result = A.audit(
        [path],
        "Target",
        profile="smoke",
        overrides=FAST,
        generator_names=["smote"],
        out=tmp_path / "out",
        n_jobs=2,
        n_boot=20,
        show_progress=False,
    )
    assert "Not computed: the metric(s) mean_gap were registered in this process only" in result.verdict


def test_a_folder_of_tables_gets_the_full_analyses(tmp_path, registry):
    folder = tmp_path / "collection"
    folder.mkdir()
    make_table(seed=1).to_csv(folder / "site_a.csv", index=False)
    make_table(n=70, seed=2).to_csv(folder / "site_b.csv.gz", index=False, compression="gzip")
    make_table(n=90, seed=3).to_parquet(folder / "site_c.parquet", index=False)
    (folder / "notes.txt").write_text("not a table")  # ignored: not a table ending
    generators.register("gauss", GaussianGenerator)
    generators.register("noisy", NoisyCopy)

    result = A.audit(
        [folder],
        "Target",
        profile="smoke",
        overrides=FAST,
        generator_names=["gauss", "noisy"],
        out=tmp_path / "out",
        n_jobs=1,
        n_boot=50,
        show_progress=False,
    )

    assert [d.name for d in result.datasets] == ["site_a", "site_b", "site_c"]
    assert result.grid.manifest["tasks_ok"] == 6
    tables = tmp_path / "out" / "tables"
    for prefix in ("logreg_all", "rf_all"):
        for name in ("pairs", "correlations", "roc", "meta_generators", "selection_summary", "within_between"):
            assert (tables / f"{prefix}_{name}.csv").is_file(), (prefix, name)
        assert (tmp_path / "out" / "figures" / f"05_{prefix}_quality_vs_delta.png").is_file()
    assert (tables / "summary.md").is_file()
    from radlib.report import check_summary_agrees

    assert check_summary_agrees(tables) == []
    pairs = result.analyses["logreg"]["pairs"]
    assert len(pairs[pairs["arm"].isin(["gauss", "noisy"])]) == 6  # 3 tables x 2 generators
    assert "Verdict for 3 tables (site_a, site_b, site_c)" in result.verdict
    assert "gauss: pooled ΔAUC" in result.verdict and "Quality vs ΔAUC" in result.verdict


def test_twenty_thousand_features_run_through_feature_selection(tmp_path, registry):
    """60 patients x 20,000 features: the top-k ANOVA selection keeps 32; memory stays small."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 20_000)).round(3)
    y = np.arange(60) % 2
    X[:, :5] += y[:, None]
    frame = pd.DataFrame(X, columns=[f"feature_{j}" for j in range(X.shape[1])])
    frame.insert(0, "Target", y)
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path, index=False)
    result = A.audit(
        [path],
        "Target",
        profile="smoke",
        overrides={**FAST, "repetitions": 1},
        generator_names=[],
        out=tmp_path / "out",
        n_jobs=1,
        show_progress=False,
    )
    assert result.datasets[0].p == 20_000
    assert result.grid.records["k_selected"].unique().tolist() == [32]
    assert (result.grid.records["status"] == "ok").all()
    assert "60 patients, 20000 features" in result.verdict
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux
    assert peak_gib < 4, f"peak memory {peak_gib:.1f} GiB"


# --- bad input, through the command line --------------------------------------------------


def _write(tmp_path, case):
    """Write the file of one bad-input case; return (table path, extra CLI arguments)."""
    path = tmp_path / "table.csv"
    frame = make_table(n=40)
    extra = []
    if case == "empty file":
        path.write_bytes(b"")
    elif case == "header only":
        path.write_text("ID,Target,f0,f1\n")
    elif case == "target missing":
        frame.rename(columns={"Target": "Outcome"}).to_csv(path, index=False)
    elif case == "three target values":
        frame.assign(Target=np.arange(40) % 3).to_csv(path, index=False)
    elif case == "one target value":
        frame.assign(Target=1).to_csv(path, index=False)
    elif case == "duplicate column names":
        path.write_text(frame.to_csv(index=False).replace("f2", "f1", 1))
    elif case == "too few rows in a class":
        make_table(n=40, positives=4).to_csv(path, index=False)
    elif case == "truncated gzip":
        path = tmp_path / "table.csv.gz"
        data = gzip.compress(frame.to_csv(index=False).encode())
        path.write_bytes(data[: len(data) // 2])
    elif case == "not text":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    elif case == "not parquet":
        path = tmp_path / "table.parquet"
        frame.to_csv(path, index=False)
    elif case == "ID column missing":
        frame.to_csv(path, index=False)
        extra = ["--id", "PatientID"]
    elif case == "folder without tables":
        path = tmp_path / "folder"
        path.mkdir()
        (path / "readme.txt").write_text("no tables here")
    elif case == "unknown generator":
        frame.to_csv(path, index=False)
        extra = ["--generators", "cvae", "gan"]
    elif case in ("profile unknown key", "profile wrong type"):
        frame.to_csv(path, index=False)
        profile = tmp_path / "lab.yaml"
        profile.write_text("repetitons: 3\n" if case == "profile unknown key" else "repetitions: two\n")
        extra = ["--profile", profile]
    elif case == "broken plug-in":
        frame.to_csv(path, index=False)
        plugin = tmp_path / "broken.py"
        plugin.write_text("raise RuntimeError('this plug-in is broken')\n")
        extra = ["--plugin", plugin]
    return path, extra


BAD_INPUTS = {
    "empty file": r"file .*table.csv is empty",
    "header only": r"has a header but no rows",
    "target missing": r"target column 'Target' not found; the columns are: ID, Outcome, f0, f1",
    "three target values": r"target must be binary .*found 3 values",
    "one target value": r"target has a single class \(1\)",
    "duplicate column names": r"duplicate column names \['f1'\]",
    "too few rows in a class": r"class 1 of 'Target' has 4 rows \(class 0: 36\); the audit needs at least 10",
    "truncated gzip": r"table.csv.gz is truncated or corrupt",
    "not text": r"table.csv is not a text table",
    "not parquet": r"table.parquet is not a readable Parquet file",
    "ID column missing": r"ID column 'PatientID' not found; the columns are: ID, Target",
    "folder without tables": r"folder .*folder holds no table",
    "unknown generator": r"unknown generator\(s\) 'gan'; available: wgan_gp, cvae, tabddpm, smote",
    "profile unknown key": r"unknown configuration key 'repetitons' \(did you mean repetitions\?\); allowed keys",
    "profile wrong type": r"'repetitions' must be of type int, got 'two' \(str\)",
    "broken plug-in": r"plug-in .*broken.py failed to load: RuntimeError: this plug-in is broken",
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_a_clear_error_before_any_training(case, tmp_path, registry, capsys):
    path, extra = _write(tmp_path, case)
    out = tmp_path / "out"
    args = ["--csv", path, "--target", "Target", "--profile", "smoke", "--n-jobs", "1", "--out", out, *extra]
    code, stdout, stderr = _audit_cli(capsys, *args)
    assert code == 2, (stdout, stderr)
    assert stderr.startswith("radlib: error: ")
    assert __import__("re").search(BAD_INPUTS[case], stderr), stderr
    assert not (out / "results.parquet").exists() and not (out / "tasks").exists()


def test_an_output_that_cannot_be_made_is_named_in_the_verdict_and_the_rest_is_written(
    tmp_path, registry, capsys, monkeypatch
):
    """A step after training that raises (here the ΔAUC figure) costs that output only; exit code 1."""
    from radlib import plots

    def cannot_draw(*args, **kwargs):
        raise ValueError("cannot draw an empty axis")

    monkeypatch.setattr(plots, "plot_delta_auc", cannot_draw)
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    out = tmp_path / "out"
    one_fold = ["--set", "shift.folds=1", "--set", "synthesis.snapshots=[1.0]", "--n-jobs", "1"]
    code, stdout, stderr = _audit_cli(
        capsys, "--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST_ARGS, *one_fold,
        "--generators", "smote", "--out", out,
    )  # fmt: skip
    assert code == 1, stderr
    verdict = (out / "verdict.md").read_text()
    assert (
        "Outputs that could not be made (everything else was written):\n"
        "  figure delta_auc: ValueError: cannot draw an empty axis" in verdict
    )
    assert "Logistic regression: real-only external AUC" in verdict and verdict.split("\n\n", 1)[1] in stdout
    assert (out / "tables" / "audit_arms.csv").is_file() and not (out / "figures" / "delta_auc.png").exists()


def test_the_memory_estimate_counts_workers_table_training_sets_and_mmd(monkeypatch):
    config = A.audit_config("smoke", {"synthesis.ratio": 3.0, "features.k": 4}, generator_names=["cvae", "smote"])
    dataset = Dataset("t", np.zeros((100, 10)), np.arange(100) % 2, [f"f{j}" for j in range(10)])
    # Per worker: 600 MiB; the table and its shifted copy 2 * 100 * 10 floats; 2 + 1 generator x 3 snapshots = 5
    # arms of 100 * (1 + 3) = 400 rows on k = 4 features; MMD 3 * 400^2 (400 < mmd_max_rows 1000).
    per_worker = 600 * 2**20 + 8 * (2_000 + 5 * 400 * 4 + 3 * 400**2)
    assert A.estimate_memory(config, [dataset], n_jobs=2) == 2 * per_worker
    monkeypatch.setattr(R, "_available_memory", lambda: per_worker)
    with pytest.raises(A.AuditError, match=r"would need about 1.2 GiB of memory \(2 worker\(s\), synthesis.ratio 3"):
        R._check_memory(config, [dataset], 2)
    R._check_memory(config, [dataset], 1)  # one worker fits
