"""Tests of radlib.analysis.pairs: the pair table, its exclusion report and ΔAUC per arm.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_records import records_from_pairs

from radlib import analysis as A


def test_pair_table_means_valid_repetitions_and_reports_exclusions():
    quality = {("A", g): {m: 0.1 for m in A.METRICS} for g in ("cvae", "smote")}
    quality.update({("B", g): {m: 0.2 for m in A.METRICS} for g in ("cvae", "smote")})
    delta = {key: 0.0 for key in quality}
    records = records_from_pairs(quality, delta, n_reps=4)
    # Repetition 0 of A: external set with one class, all arms undefined and NaN.
    undefined = (records["dataset"] == "A") & (records["repetition"] == 0)
    records.loc[undefined, "undefined"] = True
    records.loc[undefined, ["auc_logreg", "delta_auc_logreg"]] = np.nan
    # Repetition 1 of B: cvae failed.
    failed = (records["dataset"] == "B") & (records["repetition"] == 1) & (records["arm"] == "cvae")
    records.loc[failed, "status"] = "failed"
    records.loc[failed, "delta_auc_logreg"] = np.nan
    # All of B's SMOTE repetitions failed: the pair has no valid repetition.
    records.loc[(records["dataset"] == "B") & (records["arm"] == "smote"), "status"] = "failed"
    # Known ΔAUC for A/cvae over repetitions 1..3.
    a_cvae = (records["dataset"] == "A") & (records["arm"] == "cvae")
    records.loc[a_cvae & ~undefined, "delta_auc_logreg"] = [0.01, 0.03, 0.08]

    pairs = A.pair_table(records, "logreg")
    row = pairs.set_index(["dataset", "arm"]).loc[("A", "cvae")]
    assert row["n_valid"] == 3 and row["n_undefined"] == 1 and row["n_records"] == 4
    assert row["delta_auc"] == pytest.approx(np.mean([0.01, 0.03, 0.08]))
    assert row["delta_auc_var"] == pytest.approx(np.var([0.01, 0.03, 0.08], ddof=1))  # numpy
    assert pairs.set_index(["dataset", "arm"]).loc[("B", "cvae"), "n_failed"] == 1
    report = pairs.attrs["exclusions"]
    assert report["records_total"] == 16  # 2 datasets x 2 arms x 4 repetitions
    assert report["records_undefined"] == 2  # A r0: cvae and smote
    assert report["records_failed"] == 5  # B r1 cvae + 4 B smote
    assert report["records_valid"] == 16 - 2 - 5
    assert report["evaluations_total"] == 8 and report["evaluations_undefined"] == 1
    assert report["pairs_without_valid"] == ["B/smote"]
    assert ("B", "smote") not in set(zip(pairs["dataset"], pairs["arm"]))

    subset = A.pair_table(records, "logreg", datasets=["A", "Z"])
    assert set(subset["dataset"]) == {"A"}
    assert subset.attrs["exclusions"]["datasets_missing"] == ["Z"]


def test_pair_table_refuses_an_unknown_classifier_and_missing_columns():
    records = records_from_pairs({("A", "cvae"): {m: 0.1 for m in A.METRICS}}, {("A", "cvae"): 0.0})
    with pytest.raises(ValueError, match="unknown classifier 'svm'"):
        A.pair_table(records, "svm")
    with pytest.raises(ValueError, match=r"records lack the columns \['ks'\]"):
        A.pair_table(records.drop(columns="ks"), "logreg")


def test_delta_auc_by_arm_matches_a_hand_count():
    records = pd.DataFrame(
        {
            "dataset": ["A"] * 7 + ["B"] * 3,
            "repetition": [0, 0, 0, 1, 1, 1, 2, 0, 0, 0],
            "arm": ["real", "cvae", "smote", "real", "cvae", "smote", "cvae", "real", "cvae", "smote"],
            "status": ["ok"] * 5 + ["failed"] + ["ok"] * 4,
            "undefined": [False] * 6 + [True] + [False] * 3,
            "auc_logreg": [0.7, 0.72, 0.69, 0.7, 0.66, np.nan, np.nan, 0.6, 0.65, 0.6],
            "delta_auc_logreg": [0.0, 0.02, -0.01, 0.0, -0.04, np.nan, np.nan, 0.0, 0.05, 0.0],
            "auc_rf": [0.8, 0.81, 0.79, 0.8, 0.83, np.nan, np.nan, 0.7, np.nan, 0.71],
            "delta_auc_rf": [0.0, 0.01, -0.01, 0.0, 0.03, np.nan, np.nan, 0.0, np.nan, 0.01],
        }
    )
    table = A.delta_auc_by_arm(records).set_index(["classifier", "arm"])
    assert list(table.index) == [("logreg", "cvae"), ("logreg", "smote"), ("rf", "cvae"), ("rf", "smote")]
    # Hand count. logreg: cvae's valid ΔAUC are 0.02, -0.04, 0.05 (A r2 is undefined) -> mean 0.01,
    # median 0.02, 2 of 3 above 0; smote's are -0.01 and 0.0 (A r1 failed) -> mean -0.005, none above 0.
    cvae = table.loc[("logreg", "cvae")]
    assert (cvae["count"], cvae["share_improved"]) == (3, pytest.approx(2 / 3))
    assert (cvae["mean"], cvae["median"]) == (pytest.approx(0.01), pytest.approx(0.02))
    smote = table.loc[("logreg", "smote")]
    assert (smote["count"], smote["mean"], smote["median"], smote["share_improved"]) == (
        2,
        pytest.approx(-0.005),
        pytest.approx(-0.005),
        0.0,
    )
    # rf: B's cvae has no AUC, so cvae keeps 0.01 and 0.03 -> mean 0.02, both above 0; smote: -0.01, 0.01.
    assert table.loc[("rf", "cvae"), ["count", "mean", "share_improved"]].tolist() == pytest.approx([2, 0.02, 1.0])
    assert table.loc[("rf", "smote"), ["count", "mean", "share_improved"]].tolist() == pytest.approx([2, 0.0, 0.5])
    only_rf = A.delta_auc_by_arm(records, ["rf"])
    assert set(only_rf["classifier"]) == {"rf"} and len(only_rf) == 2
    with pytest.raises(ValueError, match="unknown classifier"):
        A.delta_auc_by_arm(records, ["svm"])


def test_a_pairs_uncertainty_is_taken_over_repetitions_not_over_their_site_folds():
    """2 repetitions x 2 folds of one pair: ΔAUC (0.10, 0.20) in repetition 0, (0.30, 0.50) in 1.
    By hand: repetition means 0.15 and 0.40, their sample variance (0.40 - 0.15)² / 2 = 0.03125;
    the variance over the 4 evaluations (numpy, ddof=1) is larger per evaluation but its /4 would
    treat the folds of a repetition as independent."""
    quality = {("A", "cvae"): {m: 0.1 for m in A.METRICS}}
    records = records_from_pairs(quality, {("A", "cvae"): 0.0}, n_reps=2)
    records = pd.concat([records.assign(fold=0), records.assign(fold=1)], ignore_index=True)
    cvae = records["arm"] == "cvae"
    for (repetition, fold), delta in {(0, 0): 0.10, (0, 1): 0.20, (1, 0): 0.30, (1, 1): 0.50}.items():
        row = cvae & (records["repetition"] == repetition) & (records["fold"] == fold)
        records.loc[row, "delta_auc_logreg"] = delta
        records.loc[row, "auc_logreg"] = records.loc[row, "auc_logreg"] * 0 + 0.6 + delta
    pair = A.pair_table(records, "logreg").set_index("arm").loc["cvae"]
    assert pair["n_valid"] == 4 and pair["n_repetitions"] == 2
    assert pair["delta_auc"] == pytest.approx(0.275)
    assert pair["delta_auc_rep_var"] == pytest.approx(0.03125)
    assert pair["delta_auc_var"] == pytest.approx(np.var([0.10, 0.20, 0.30, 0.50], ddof=1))
    assert A.pair_table(records, "logreg").attrs["exclusions"]["evaluations_total"] == 4
