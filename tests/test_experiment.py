"""One task: records per fold and arm, snapshot arms, common random numbers, no leakage, undefined AUCs, failures."""

import dataclasses
import platform
import time

import numpy as np
import pandas as pd
import pytest
from toy_tasks import comparable, toy_dataset

from radlib import generators, samples, shift
from radlib.experiment import arms_of, cpu_description, run_task, snapshot_fractions, synthetic_counts
from radlib.generators.base import Generator
from radlib.quality import METRICS
from radlib.records import REAL_ARM, SMOTE_ARM


class _Exploding(Generator):
    name = "exploding"

    def _fit(self, X, y, seed):
        raise RuntimeError("boom in fit")


class _FailsInSample(Generator):
    """Fits (slowly enough to be timed), then fails to sample."""

    name = "fails_in_sample"

    def _fit(self, X, y, seed):
        time.sleep(0.01)

    def _sample_class(self, label, n, seed):
        raise ValueError("no samples today")


@pytest.fixture
def smote_config(offline_config):
    """SMOTE as the only synthetic arm and a small forest: the task's mechanics, quickly."""
    return offline_config.with_overrides({"synthesis.generators": [], "classifiers.rf.n_estimators": 30})


def test_arms_are_real_then_each_generators_snapshots_then_smote(offline_config):
    config = offline_config.with_overrides({"synthesis.generators": ["cvae", "wgan_gp"], "synthesis.smote": True})
    assert config["synthesis"]["snapshots"] == [0.0625, 0.25, 1.0]
    assert arms_of(config) == [
        REAL_ARM,
        *("cvae@0.0625", "cvae@0.25", "cvae"),
        *("wgan_gp@0.0625", "wgan_gp@0.25", "wgan_gp"),
        SMOTE_ARM,
    ]
    v1 = config.with_overrides({"synthesis.snapshots": [1.0], "synthesis.smote": False})
    assert arms_of(v1) == [REAL_ARM, "cvae", "wgan_gp"]
    # SMOTE and generators without a training trajectory yield their full-budget arm only.
    assert snapshot_fractions("smote", config) == (1.0,) and snapshot_fractions("tvae", config) == (1.0,)


def test_synthetic_counts_follow_internal_proportions():
    y = np.array([0] * 30 + [1] * 10)
    assert synthetic_counts(y, 1.0) == {0: 30, 1: 10}
    assert synthetic_counts(y, 0.5) == {0: 15, 1: 5}


def test_run_task_gives_one_record_per_fold_and_arm(smote_config):
    records = run_task(toy_dataset(), 0, smote_config)
    folds = smote_config["shift"]["folds"]
    assert folds == 5 and len(records) == folds * 2
    assert records["fold"].tolist() == [f for f in range(folds) for _ in (0, 1)]
    assert records["arm"].tolist() == [REAL_ARM, SMOTE_ARM] * folds
    real, smote = records[records["arm"] == REAL_ARM], records[records["arm"] == SMOTE_ARM]
    # Every patient is external exactly once per repetition.
    assert real["n_external"].sum() == 160 and (real["n_internal"] + real["n_external"] == 160).all()
    assert (real["delta_auc_logreg"] == 0).all() and (real["delta_auc_rf"] == 0).all()
    np.testing.assert_allclose(
        smote["delta_auc_logreg"], smote["auc_logreg"].to_numpy() - real["auc_logreg"].to_numpy()
    )
    assert (smote["n_synthetic"].to_numpy() == real["n_internal"].to_numpy()).all()  # ratio 1
    assert (smote["status"] == "ok").all() and smote["ks"].between(0, 1).all() and real["ks"].isna().all()
    assert records["config_hash"].nunique() == 1 and not records["undefined"].any()
    assert (records["generator"].tolist(), records["fraction"].unique().tolist()) == (records["arm"].tolist(), [1.0])


def test_each_fold_has_its_own_sampling_floor_shared_by_its_arms(smote_config):
    records = run_task(toy_dataset(), 0, smote_config)
    floors = records[[f"floor_{m}" for m in METRICS]]
    assert np.isfinite(floors.to_numpy()).all()
    per_fold = records.groupby("fold")[list(floors)].nunique()
    assert (per_fold == 1).all().all()  # one floor per evaluation
    assert records.groupby("fold")["floor_ks"].first().nunique() == smote_config["shift"]["folds"]


def test_one_site_fold_reproduces_the_version_1_split(smote_config):
    config = smote_config.with_overrides({"shift.folds": 1})
    dataset = toy_dataset()
    records = run_task(dataset, 0, config)
    split = shift.simulate_external(dataset.X, config["shift"], config.seed("Toy", 0, "split"))
    assert set(records["fold"]) == {0}
    assert (records["n_external"] == len(split.external_idx)).all()
    assert (records["external_positives"] == dataset.y[split.external_idx].sum()).all()


def test_arms_of_a_fold_share_their_classifier_seeds_and_folds_do_not(smote_config):
    records = run_task(toy_dataset(), 0, smote_config)
    for column in ("seed_logreg", "seed_rf"):
        assert (records.groupby("fold")[column].nunique() == 1).all()
        assert records[column].nunique() == smote_config["shift"]["folds"]


def test_an_arm_that_adds_no_rows_has_delta_auc_exactly_zero(smote_config):
    # Common random numbers: the same rows and the same classifier seed give the same model. With
    # ratio 0.001 SMOTE's counts round to 0, so its training set is the real-only one.
    config = smote_config.with_overrides({"synthesis.ratio": 0.001})
    smote = run_task(toy_dataset(), 0, config).query("arm == 'smote'")
    assert (smote["n_synthetic"] == 0).all() and (smote["status"] == "ok").all()
    assert (smote["delta_auc_logreg"] == 0.0).all() and (smote["delta_auc_rf"] == 0.0).all()
    assert smote["ks"].isna().all()  # an empty sample has no quality


def test_snapshot_arms_get_every_metric_and_logreg_and_the_forest_only_where_asked(offline_config):
    config = offline_config.with_overrides(
        {"synthesis.generators": ["cvae"], "synthesis.smote": False, "classifiers.rf.n_estimators": 10}
    )
    records = run_task(toy_dataset(n=80, p=10), 0, config).set_index(["fold", "arm"])
    snapshots = records.xs("cvae@0.0625", level="arm")
    assert snapshots[list(METRICS)].notna().all().all() and snapshots["auc_logreg"].notna().all()
    assert snapshots[["auc_rf", "delta_auc_rf"]].isna().all().all()  # classifiers.rf.arms: study
    assert records.xs("cvae", level="arm")["auc_rf"].notna().all()
    assert (snapshots["fraction"] == 0.0625).all() and (snapshots["generator"] == "cvae").all()
    every_arm = run_task(toy_dataset(n=80, p=10), 0, config.with_overrides({"classifiers.rf.arms": "all"}))
    assert every_arm["auc_rf"].notna().all()


def test_run_task_is_deterministic(smote_config):
    a, b = run_task(toy_dataset(), 1, smote_config), run_task(toy_dataset(), 1, smote_config)
    pd.testing.assert_frame_equal(comparable(a), comparable(b))


def test_external_rows_never_reach_a_fit(smote_config, monkeypatch):
    """Spy on every fit and check that no fitted matrix contains a row of its fold's external site."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    dataset = toy_dataset(n=120, p=12)
    dataset.X = np.nan_to_num(dataset.X)  # exact row matching needs no NaN
    config = smote_config.with_overrides({"shift.folds": 1, "classifiers.rf.n_estimators": 10})
    seen = []
    for cls in (Pipeline, LogisticRegression, RandomForestClassifier, type(generators.make("smote"))):
        original = cls._fit if cls is type(generators.make("smote")) else cls.fit
        attribute = "_fit" if cls is type(generators.make("smote")) else "fit"

        def spy(self, X, y, *args, _original=original, **kwargs):
            seen.append((type(self).__name__, np.asarray(X).copy()))
            return _original(self, X, y, *args, **kwargs)

        monkeypatch.setattr(cls, attribute, spy)
    split = shift.simulate_external(dataset.X, config["shift"], config.seed("Toy", 0, "split"))
    run_task(dataset, 0, config)
    assert {name for name, _ in seen} >= {"Pipeline", "LogisticRegression", "RandomForestClassifier"}
    raw_external = {row.tobytes() for row in dataset.X[split.external_idx]}
    pipeline_inputs = [X for name, X in seen if name == "Pipeline"]
    internal_rows = dataset.X[split.internal_idx]
    assert any(X.shape == internal_rows.shape and np.array_equal(X, internal_rows) for X in pipeline_inputs)
    assert not any(row.tobytes() in raw_external for X in pipeline_inputs for row in X)
    # Classifier and generator inputs live in the selected space; rebuild the external rows there.
    from radlib.features import development_pipeline

    pipe = development_pipeline(config["features"]["k"], dataset.p).fit(
        dataset.X[split.internal_idx], dataset.y[split.internal_idx]
    )
    Z_external = {np.round(row, 9).tobytes() for row in pipe.transform(split.X_external_shifted)}
    for name, X in seen:
        if name != "Pipeline":
            assert not any(np.round(row, 9).tobytes() in Z_external for row in X), f"{name} saw an external row"


def _with_external_fold_0(splits, X, external):
    """The site-folds with fold 0's external rows replaced by ``external`` (its internal set: the rest)."""
    internal = np.setdiff1d(np.arange(len(X)), external)
    first = dataclasses.replace(splits[0], internal_idx=internal, external_idx=external, X_external_shifted=X[external])
    return [first, *splits[1:]]


def test_a_single_class_external_fold_is_undefined_for_that_fold_only(smote_config, monkeypatch):
    dataset = toy_dataset()
    original = samples.simulate_external_folds

    def first_fold_one_class(X, params, seed):
        return _with_external_fold_0(original(X, params, seed), X, np.flatnonzero(dataset.y == 0)[:30])

    monkeypatch.setattr(samples, "simulate_external_folds", first_fold_one_class)
    records = run_task(dataset, 0, smote_config)
    undefined = records.groupby("fold")["undefined"].all()
    assert undefined.tolist() == [True, False, False, False, False]
    fold0 = records[records["fold"] == 0]
    assert fold0["auc_logreg"].isna().all() and fold0["delta_auc_rf"].isna().all()
    assert records.loc[records["fold"] > 0, "auc_logreg"].notna().all()


def test_failed_generator_is_a_record_in_every_fold_and_the_rest_go_on(smote_config, monkeypatch):
    monkeypatch.setitem(generators._REGISTRY, "exploding", _Exploding)
    config = smote_config.with_overrides({"synthesis.generators": ["exploding"]})
    records = run_task(toy_dataset(), 0, config)
    exploding = records[records["arm"] == "exploding"]
    assert len(exploding) == config["shift"]["folds"] and (exploding["status"] == "failed").all()
    assert exploding["error"].str.contains("RuntimeError: boom in fit").all()
    assert exploding["auc_logreg"].isna().all()
    smote = records[records["arm"] == SMOTE_ARM]
    assert (smote["status"] == "ok").all() and smote["auc_logreg"].notna().all()


def test_failed_arm_keeps_the_timings_measured_before_the_failure(smote_config, monkeypatch):
    monkeypatch.setitem(generators._REGISTRY, "fails_in_sample", _FailsInSample)
    config = smote_config.with_overrides({"synthesis.generators": ["fails_in_sample"]})
    failed = run_task(toy_dataset(), 0, config).query("arm == 'fails_in_sample'")
    assert (failed["status"] == "failed").all() and (failed["error"] == "ValueError: no samples today").all()
    # The batched fit of 5 folds took >= 5 x 0.01 s; each record carries its share.
    assert (failed["fit_seconds"] >= 0.01).all() and (failed["classifier_seconds"] == 0).all()
    assert (failed["n_synthetic"] == 0).all()


def test_a_fold_whose_internal_set_holds_one_class_fails_alone(smote_config, monkeypatch):
    # All 20 positives of this dataset fall in fold 0's external site: the other folds' internal
    # sets keep both classes, but fold 0's internal set is all negatives.
    dataset = toy_dataset()
    original = samples.simulate_external_folds

    def positives_in_fold_0(X, params, seed):
        splits = original(X, params, seed)
        return _with_external_fold_0(splits, X, np.union1d(splits[0].external_idx, np.flatnonzero(dataset.y == 1)))

    monkeypatch.setattr(samples, "simulate_external_folds", positives_in_fold_0)
    records = run_task(dataset, 0, smote_config)
    fold0, others = records[records["fold"] == 0], records[records["fold"] > 0]
    assert len(fold0) == 2 and (fold0["status"] == "failed").all()
    assert fold0["error"].str.contains("internal set holds a single class").all()
    assert fold0["auc_logreg"].isna().all() and fold0["delta_auc_rf"].isna().all()
    assert (others["status"] == "ok").all() and others["auc_logreg"].notna().all()


def test_the_cpu_is_named_with_its_vector_extensions(tmp_path):
    # A two-processor excerpt of Linux's /proc/cpuinfo, written by hand: the first processor's line counts.
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\nflags\t\t: fpu sse2 avx avx2 fma avx512f\n\n"
        "processor\t: 1\nmodel name\t: Example CPU @ 2.0GHz\nflags\t\t: fpu sse2\n"
    )
    assert cpu_description(cpuinfo) == "Example CPU @ 2.0GHz; avx2 avx512f"
    older = tmp_path / "cpuinfo_of_an_older_machine"  # another file: the description is cached per file
    older.write_text("model name\t: Old CPU\nflags\t\t: fpu sse2 avx\n")
    assert cpu_description(older) == "Old CPU; no avx2"
    assert cpu_description(tmp_path / "absent") == (platform.processor() or platform.machine())
