"""Tests of radlib.records: arm names, columns and which records count (tables built by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radlib.records import (
    CLASSIFIERS,
    REAL_ARM,
    SMOTE_ARM,
    auc_column,
    classifiers_in,
    configuration_arms,
    delta_column,
    evaluation_keys,
    generator_arms,
    is_study_arm,
    parse_arm,
    snapshot_arm,
    valid_mask,
)

ARMS = [REAL_ARM, SMOTE_ARM, "cvae", "cvae@0.0625", "cvae@0.25", "wgan_gp@0.25", "wgan_gp", "tabddpm"]


@pytest.mark.parametrize(
    "generator, fraction, name", [("cvae", 0.0625, "cvae@0.0625"), ("cvae", 0.25, "cvae@0.25"), ("cvae", 1.0, "cvae")]
)
def test_snapshot_names_round_trip(generator, fraction, name):
    assert snapshot_arm(generator, fraction) == name
    assert parse_arm(name) == (generator, fraction)
    assert is_study_arm(name) == (fraction == 1.0)


def test_parse_arm_names_a_bad_fraction():
    assert parse_arm(REAL_ARM) == (REAL_ARM, 1.0)
    with pytest.raises(ValueError, match="arm 'cvae@late': 'late' after '@' is not a training fraction"):
        parse_arm("cvae@late")


def test_generator_and_configuration_arms():
    assert generator_arms(ARMS) == ["cvae", "tabddpm", "wgan_gp"]
    assert configuration_arms(ARMS) == ["cvae@0.0625", "cvae@0.25", "cvae", "tabddpm", "wgan_gp@0.25", "wgan_gp"]


def test_columns_and_classifiers_present():
    assert auc_column("rf") == "auc_rf" and delta_column("logreg") == "delta_auc_logreg"
    assert classifiers_in(["auc_rf", "x", "auc_logreg"]) == ["logreg", "rf"]
    assert classifiers_in([f"auc_{c}" for c in reversed(CLASSIFIERS)]) == list(CLASSIFIERS)
    assert classifiers_in(["delta_auc_rf"]) == []


def test_valid_mask_counts_ok_defined_finite_records_only():
    records = pd.DataFrame(
        {
            "status": ["ok", "ok", "failed", "ok", "ok"],
            "undefined": [False, True, False, False, False],
            "auc_logreg": [0.7, np.nan, np.nan, 0.6, np.inf],
            "delta_auc_logreg": [0.01, np.nan, np.nan, np.nan, 0.0],
        },
        index=[10, 11, 12, 13, 14],
    )
    mask = valid_mask(records, "logreg")
    assert mask.index.tolist() == [10, 11, 12, 13, 14]
    assert mask.tolist() == [True, False, False, False, False]


def test_evaluation_keys_of_version_1_and_2_records():
    assert evaluation_keys(pd.DataFrame(columns=["dataset", "repetition", "arm"])) == ["dataset", "repetition"]
    assert evaluation_keys(pd.DataFrame(columns=["fold", "arm", "repetition", "dataset"])) == [
        "dataset",
        "repetition",
        "fold",
    ]
