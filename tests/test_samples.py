"""Stage 1: stored samples — round trip, nested ratios equal to v2's draw, the synthesis hash, severity."""

import numpy as np
import pytest
from toy_tasks import comparable, toy_dataset

from radlib import generators
from radlib.experiment import evaluate_task, run_task
from radlib.generators.base import GeneratorError
from radlib.records import SMOTE_ARM
from radlib.samples import (
    MissingSynthesisError,
    arms_of,
    prepare_folds,
    read_samples,
    samples_path,
    synthesize_task,
    synthetic_counts,
    write_samples,
)


@pytest.fixture
def smote_config(offline_config):
    """SMOTE and one tiny deep generator: stored samples of both kinds, quickly."""
    return offline_config.with_overrides(
        {"synthesis.generators": ["cvae"], "synthesis.params.cvae": {"steps": 20}, "classifiers.rf.n_estimators": 20}
    )


@pytest.fixture
def toy_samples(smote_config):
    """The toy task's samples under ``smote_config``, synthesized once per test."""
    dataset = toy_dataset()
    return dataset, synthesize_task(dataset, 0, smote_config)


def test_a_stored_sample_reads_back_bit_for_bit(smote_config, toy_samples):
    dataset, samples = toy_samples
    path = samples_path(smote_config, dataset, 0)
    write_samples(samples, path)
    stored = read_samples(path)
    assert stored.arms.keys() == samples.arms.keys()
    for key, sample in samples.arms.items():
        assert np.array_equal(stored.arms[key].X, sample.X) and stored.arms[key].X.dtype == np.float64
        assert np.array_equal(stored.arms[key].y, sample.y)
        assert (stored.arms[key].arm_seed, stored.arms[key].error) == (sample.arm_seed, sample.error)
    assert (stored.dataset, stored.repetition, stored.synthesis_hash) == ("Toy", 0, smote_config.synthesis_hash)


def test_missing_samples_are_a_clear_error(smote_config):
    with pytest.raises(MissingSynthesisError, match="no stored samples"):
        read_samples(samples_path(smote_config, toy_dataset(), 3))


def test_ratio_one_is_the_v2_draw_and_ratios_are_nested(smote_config, toy_samples):
    """The ratio-1 rows are exactly a fresh model's ``sample(counts)`` (v2's draw, same seeds); smaller
    ratios are prefixes of each class, larger ones extend it."""
    dataset, samples = toy_samples
    fold = prepare_folds(dataset, 0, smote_config)[0]
    seed = smote_config.seed(dataset.name, 0, 0, SMOTE_ARM)
    (fitted,) = generators.from_config(SMOTE_ARM, smote_config).fit_folds(
        [(fold.Z_internal, fold.y_internal)], [seed], (1.0,)
    )
    expected_X, expected_y = fitted[1.0].sample(synthetic_counts(fold.y_internal, 1.0))
    stored = samples.arms[0, SMOTE_ARM]
    X1, y1 = stored.take(synthetic_counts(fold.y_internal, 1.0))
    assert np.array_equal(X1, expected_X) and np.array_equal(y1, expected_y)
    X4, y4 = stored.take(synthetic_counts(fold.y_internal, 4.0))
    X_half, _ = stored.take(synthetic_counts(fold.y_internal, 0.5))
    for label in (0, 1):
        assert np.array_equal(X4[y4 == label][: int(np.sum(y1 == label))], X1[y1 == label])
        half = synthetic_counts(fold.y_internal, 0.5)[label]
        assert np.array_equal(X_half[:half] if label == 0 else X_half[-half:], X1[y1 == label][:half])
    assert len(y4) == sum(synthetic_counts(fold.y_internal, 4.0).values())
    with pytest.raises(GeneratorError, match="rows asked for"):
        stored.take(synthetic_counts(fold.y_internal, 5.0))


def test_snapshot_arms_are_stored_at_ratio_one_only(smote_config, toy_samples):
    dataset, samples = toy_samples
    n_internal = len(prepare_folds(dataset, 0, smote_config)[0].y_internal)
    assert len(samples.arms[0, "cvae@0.25"].y) == n_internal
    assert len(samples.arms[0, "cvae"].y) == 4 * n_internal
    assert "cvae@0.25" in arms_of(smote_config)
    assert "cvae@0.25" not in arms_of(smote_config.with_overrides({"synthesis.ratio": 2.0}))
    # An arm no evaluated classifier takes is not evaluated.
    assert arms_of(smote_config.with_overrides({"classifiers.logreg.arms": "study"})) == ["real", "cvae", "smote"]


def test_the_synthesis_hash_ignores_every_evaluation_setting(smote_config):
    """Changing a classifier, the severity, the ratio or a metric never refits; the records' hash changes."""
    base = smote_config.synthesis_hash
    for overrides in (
        {"shift.severity": 0.3},
        {"synthesis.ratio": 2.0},
        {"evaluation.classifiers": ["hgb"], "evaluation.predictor_classifiers": []},
        {"classifiers.rf.n_estimators": 7},
        {"metrics.mmd_max_rows": 50},
        {"repetitions": 5},
    ):
        changed = smote_config.with_overrides(overrides)
        assert changed.synthesis_hash == base, overrides
        assert changed.hash != smote_config.hash, overrides  # the records' hash does change
    for overrides in ({"synthesis.max_ratio": 2.0}, {"shift.strategy": "random"}, {"features.k": 8}, {"base_seed": 1}):
        assert smote_config.with_overrides(overrides).synthesis_hash != base, overrides


def test_two_severities_share_one_synthesis(smote_config, toy_samples):
    """The acquisition shift touches the external rows only: internal sets and samples are identical."""
    dataset, first = toy_samples  # at the profile's severity, 0.1
    mild, strong = (
        smote_config.with_overrides({"shift.severity": 0.0}),
        smote_config.with_overrides({"shift.severity": 0.3}),
    )
    for a, b in zip(prepare_folds(dataset, 0, mild), prepare_folds(dataset, 0, strong)):
        assert np.array_equal(a.split.internal_idx, b.split.internal_idx)
        assert np.array_equal(a.Z_internal, b.Z_internal)
        assert not np.array_equal(a.split.X_external_shifted, b.split.X_external_shifted)
    second = synthesize_task(dataset, 0, strong)
    assert first.synthesis_hash == second.synthesis_hash == mild.synthesis_hash
    for key, sample in first.arms.items():
        assert np.array_equal(sample.X, second.arms[key].X)


def test_evaluating_stored_samples_equals_the_task_and_fits_nothing(smote_config, toy_samples, monkeypatch):
    dataset, samples = toy_samples
    expected = run_task(dataset, 0, smote_config)
    write_samples(samples, samples_path(smote_config, dataset, 0))
    stored = read_samples(samples_path(smote_config, dataset, 0))

    def no_fit(*args, **kwargs):
        raise AssertionError("evaluation fitted a generator")

    monkeypatch.setattr(generators.Generator, "fit_folds", no_fit)
    monkeypatch.setattr(generators.neural.TorchGenerator, "fit_folds", no_fit)
    got = evaluate_task(dataset, 0, {"default": smote_config}, stored)["default"]
    assert comparable(got).drop(columns="versions").equals(comparable(expected).drop(columns="versions"))
