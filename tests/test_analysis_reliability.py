"""Tests of radlib.analysis.reliability: the one-way ANOVA, pair reliabilities and attenuation.

Expected values come from a hand calculation written out in the test, statsmodels' one-way
ANOVA (``ols`` + ``anova_lm``), or a simulation with known variance components.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from synthetic_records import make_records

from radlib import analysis
from radlib.analysis import reliability as R
from radlib.records import COMPOSITE, POOLED

GENERATORS = ("cvae", "tabddpm", "wgan_gp")


def known_records(
    n_datasets=12, n_reps=6, n_folds=1, sd_pair=0.03, sd_noise=0.02, seed=0, fold_column=True, detection=0.6
):
    """Records whose ΔAUC is a pair value (SD ``sd_pair``) plus evaluation noise (SD ``sd_noise``).

    The metrics are distances with pair values and noise of their own; detection AUC stays above
    0.5 so that its orientation never folds.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        pair_delta = {g: rng.normal(0, sd_pair) for g in GENERATORS}
        pair_distance = {g: 0.2 + rng.normal(0, 0.03) for g in GENERATORS}
        for r in range(n_reps):
            for f in range(n_folds):
                base = {"dataset": f"D{d:02d}", "repetition": r, "status": "ok", "undefined": False}
                if fold_column:
                    base["fold"] = f
                real = {**base, "arm": "real", "auc_logreg": 0.7, "delta_auc_logreg": 0.0}
                rows.append({**real, "auc_rf": 0.7, "delta_auc_rf": 0.0, **dict.fromkeys(analysis.METRICS, np.nan)})
                for g in GENERATORS:
                    delta = pair_delta[g] + rng.normal(0, sd_noise)
                    distance = pair_distance[g] + rng.normal(0, 0.01, size=5)
                    rows.append(
                        {
                            **base,
                            "arm": g,
                            "auc_logreg": 0.7 + delta,
                            "delta_auc_logreg": delta,
                            "auc_rf": 0.7 + delta / 2,
                            "delta_auc_rf": delta / 2,
                            "wasserstein": distance[0],
                            "ks": distance[1] / 2,
                            "mmd2": distance[2] / 10,
                            "corr_diff": distance[3],
                            "detection_auc": detection + distance[4],
                        }
                    )
    return pd.DataFrame(rows)


# --- the ANOVA ------------------------------------------------------------------------------


def test_variance_components_match_a_hand_calculation_on_a_balanced_example():
    # Hand calculation: groups A = (1, 3), B = (4, 6), C = (8, 10); means 2, 5, 9, grand mean 16/3.
    # SSB = 2 [(2 - 16/3)^2 + (5 - 16/3)^2 + (9 - 16/3)^2] = 2 * 222/9 = 444/9, MSB = 222/9.
    # SSW = 3 groups * (1 + 1) = 6 on 3 df, MSW = 2. n0 = 2. sigma2_b = (222/9 - 2) / 2 = 102/9.
    # ICC(1) = (102/9) / (102/9 + 2) = 0.85; reliability of a mean of 2 = (102/9) / (102/9 + 1) = 102/111.
    result = R.variance_components([1, 3, 4, 6, 8, 10], ["A", "A", "B", "B", "C", "C"])
    assert result["ms_between"] == pytest.approx(222 / 9)
    assert result["ms_within"] == pytest.approx(2.0)
    assert result["n0"] == pytest.approx(2.0)
    assert result["n_harmonic"] == pytest.approx(2.0)
    assert result["sigma2_between"] == pytest.approx(102 / 9)
    assert result["icc1"] == pytest.approx(0.85)
    assert result["reliability"] == pytest.approx(102 / 111)
    # Balanced: the reliability is (MSB - MSW) / MSB, ICC(1, k) of Shrout & Fleiss (1979).
    assert result["reliability"] == pytest.approx((222 / 9 - 2) / (222 / 9))


def test_variance_components_match_statsmodels_one_way_anova_with_unequal_groups():
    rng = np.random.default_rng(3)
    sizes = [2, 3, 5, 8, 4, 6, 2, 9]
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    values = rng.normal(0, 1, len(groups)) + np.repeat(rng.normal(0, 1.5, len(sizes)), sizes)
    frame = pd.DataFrame({"y": values, "g": groups})
    table = anova_lm(smf.ols("y ~ C(g)", data=frame).fit())  # statsmodels
    result = R.variance_components(values, groups)
    assert result["ms_between"] == pytest.approx(table.loc["C(g)", "mean_sq"], rel=1e-10)
    assert result["ms_within"] == pytest.approx(table.loc["Residual", "mean_sq"], rel=1e-10)
    # n0 by its definition (N - sum n_i^2 / N) / (k - 1), and sigma2_b = (MSB - MSW) / n0.
    n, k = sum(sizes), len(sizes)
    n0 = (n - sum(s**2 for s in sizes) / n) / (k - 1)
    assert result["n0"] == pytest.approx(n0)
    sigma2_b = (table.loc["C(g)", "mean_sq"] - table.loc["Residual", "mean_sq"]) / n0
    assert result["sigma2_between"] == pytest.approx(sigma2_b, rel=1e-10)
    # The reliability of a mean of n_h (harmonic mean) observations, and its Spearman-Brown form.
    n_h = k / sum(1 / s for s in sizes)
    icc1 = result["icc1"]
    assert result["reliability"] == pytest.approx(sigma2_b / (sigma2_b + result["ms_within"] / n_h))
    assert result["reliability"] == pytest.approx(n_h * icc1 / (1 + (n_h - 1) * icc1))


def test_variance_components_recover_known_components_in_a_simulation():
    rng = np.random.default_rng(11)
    k, sigma2_b, sigma2_w = 400, 2.0, 3.0
    sizes = rng.integers(3, 13, size=k)
    groups = np.repeat(np.arange(k), sizes)
    values = np.repeat(rng.normal(0, np.sqrt(sigma2_b), k), sizes) + rng.normal(0, np.sqrt(sigma2_w), sizes.sum())
    result = R.variance_components(values, groups)
    n, n0 = sizes.sum(), result["n0"]
    # Large-sample SEs of the ANOVA estimators (Searle, Casella & McCulloch 1992, ch. 3).
    se_w = sigma2_w * np.sqrt(2 / (n - k))
    se_b = np.sqrt(2 / n0**2 * ((sigma2_w + n0 * sigma2_b) ** 2 / (k - 1) + sigma2_w**2 / (n - k)))
    assert abs(result["sigma2_within"] - sigma2_w) < 4 * se_w
    assert abs(result["sigma2_between"] - sigma2_b) < 4 * se_b
    n_h = k / np.sum(1 / sizes)
    expected = sigma2_b / (sigma2_b + sigma2_w / n_h)
    assert result["reliability"] == pytest.approx(expected, abs=0.03)


def test_variance_components_reject_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        R.variance_components([1.0, np.nan, 2.0, 3.0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="at least 2 groups"):
        R.variance_components([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="2 or more observations"):
        R.variance_components([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="differ in length"):
        R.variance_components([1.0, 2.0, 3.0], [0, 1])


# --- pair reliabilities from records -------------------------------------------------------


def test_pair_reliability_recovers_the_planted_reliability():
    # ΔAUC pair SD 0.03, evaluation SD 0.03, 10 repetitions: reliability 0.03^2 / (0.03^2 + 0.03^2/10) = 10/11.
    # Its sampling SD here is about 0.012 (relative SE of sigma2_b, sqrt(2 / 179) (1 + 1/10), times
    # r (1 - r)); the tolerance is 3 of those.
    records = known_records(n_datasets=60, n_reps=10, sd_pair=0.03, sd_noise=0.03, seed=0)
    values = R.evaluation_values(records, R.DELTA_AUC)
    row = R.pair_reliability(values, n_boot=300, seed=0)
    assert row["n_pairs"] == 180 and row["n_datasets"] == 60 and row["n_harmonic"] == pytest.approx(10)
    assert row["reliability"] == pytest.approx(10 / 11, abs=0.036)
    assert row["ci_low"] < row["reliability"] < row["ci_high"]
    assert row["n_boot_used"] == 300
    again = R.pair_reliability(values, n_boot=300, seed=0)
    assert (again["ci_low"], again["ci_high"]) == (row["ci_low"], row["ci_high"])


def test_units_agree_with_one_fold_and_fold_column_is_optional():
    records = known_records(n_folds=1)
    values = R.evaluation_values(records, R.DELTA_AUC)
    by_repetition = R.pair_reliability(values, "repetition", n_boot=0)
    by_evaluation = R.pair_reliability(values, "evaluation", n_boot=0)
    assert by_repetition["reliability"] == pytest.approx(by_evaluation["reliability"])
    without = R.evaluation_values(records.drop(columns="fold"), R.DELTA_AUC)
    assert (without["fold"] == 0).all()
    assert R.pair_reliability(without, n_boot=0)["reliability"] == pytest.approx(by_repetition["reliability"])


def test_repetition_unit_averages_the_folds_first():
    records = known_records(n_datasets=8, n_reps=4, n_folds=3, seed=2)
    values = R.evaluation_values(records, R.DELTA_AUC)
    means = values.groupby(["dataset", "arm", "repetition"])["value"].mean()
    expected = R.variance_components(means.to_numpy(), means.index.droplevel("repetition"))
    row = R.pair_reliability(values, "repetition", n_boot=0)
    assert row["reliability"] == pytest.approx(expected["reliability"])
    assert row["n_harmonic"] == pytest.approx(4)
    assert R.pair_reliability(values, "evaluation", n_boot=0)["n_harmonic"] == pytest.approx(12)


def test_no_bootstrap_from_fewer_than_five_datasets():
    values = R.evaluation_values(known_records(n_datasets=4), R.DELTA_AUC)
    row = R.pair_reliability(values, n_boot=100)
    assert np.isnan(row["ci_low"]) and "fewer than 5 datasets" in row["note"]
    assert np.isfinite(row["reliability"])


def test_evaluation_values_use_the_valid_records_and_the_quality_orientation():
    records = known_records(n_datasets=5, n_reps=3)
    records.loc[(records["dataset"] == "D00") & (records["repetition"] == 0), "undefined"] = True
    values = R.evaluation_values(records, "wasserstein")
    assert len(values) == (5 * 3 - 1) * 3
    generator = records[records["arm"].isin(GENERATORS) & ~records["undefined"]]
    assert np.allclose(np.sort(values["value"]), np.sort(-generator["wasserstein"]))
    detection = R.evaluation_values(records, "detection_auc")
    assert np.allclose(np.sort(detection["value"]), np.sort(-(generator["detection_auc"] - 0.5).abs()))


def test_evaluation_composite_averages_to_the_pair_composite():
    records = known_records(n_datasets=6, n_reps=4)
    values = R.evaluation_values(records, COMPOSITE)
    ours = values.groupby(["dataset", "arm"])["value"].mean()
    pairs = analysis.add_composite(analysis.pair_table(records, "logreg")).set_index(["dataset", "arm"])
    assert np.allclose(ours.to_numpy(), pairs.loc[ours.index, COMPOSITE].to_numpy())


def test_evaluation_values_reject_bad_input():
    records = known_records(n_datasets=3, n_reps=2)
    with pytest.raises(ValueError, match="unknown quantity"):
        R.evaluation_values(records, "fidelity")
    with pytest.raises(ValueError, match="generator arms"):
        R.evaluation_values(records, R.DELTA_AUC, arms=["real", "cvae"])
    with pytest.raises(ValueError, match="unknown classifier"):
        R.evaluation_values(records, R.DELTA_AUC, classifier="svm")
    with pytest.raises(ValueError, match="unit must be"):
        R.unit_values(R.evaluation_values(records, R.DELTA_AUC), "fold")


def test_default_arms_are_the_study_generators_without_snapshots():
    records = known_records(n_datasets=5, n_reps=2)
    snapshot = records[records["arm"] == "cvae"].assign(arm="cvae@0.25")
    values = R.evaluation_values(pd.concat([records, snapshot], ignore_index=True), R.DELTA_AUC)
    assert sorted(values["arm"].unique()) == list(GENERATORS)


def test_reliability_table_covers_classifiers_quantities_and_groups():
    records = make_records(n_datasets=6, n_reps=3)
    table = R.reliability_table(records, n_boot=50, seed=1)
    quantities = [R.DELTA_AUC, *analysis.METRICS, COMPOSITE]
    assert len(table) == 2 * len(quantities) * 4
    assert list(table["group"].unique()) == [POOLED, *GENERATORS]
    assert list(table["quantity"].unique()) == quantities
    pooled = table[(table["classifier"] == "logreg") & (table["quantity"] == R.DELTA_AUC) & (table["group"] == POOLED)]
    assert pooled["n_pairs"].iloc[0] == 18
    # Per-generator rows use that generator's pairs only.
    one = table[(table["classifier"] == "logreg") & (table["quantity"] == R.DELTA_AUC) & (table["group"] == "cvae")]
    values = R.evaluation_values(records, R.DELTA_AUC)
    cvae = values[values["arm"] == "cvae"]
    expected = R.variance_components(cvae["value"], cvae["dataset"])["reliability"]
    assert one["reliability"].iloc[0] == pytest.approx(expected)


# --- attenuation ---------------------------------------------------------------------------


def test_attenuation_table_divides_rho_by_the_ceiling_and_caps_at_one():
    reliabilities = pd.DataFrame(
        [
            ("logreg", POOLED, R.DELTA_AUC, 0.25),
            ("logreg", POOLED, "ks", 0.81),
            ("logreg", POOLED, "mmd2", 0.64),
            ("logreg", POOLED, "wasserstein", 0.9),
            ("logreg", "cvae", R.DELTA_AUC, -0.1),
            ("logreg", "cvae", "ks", 0.9),
        ],
        columns=["classifier", "group", "quantity", "reliability"],
    )
    correlations = pd.DataFrame(
        {
            "group": [POOLED, POOLED, POOLED, "cvae"],
            "metric": ["ks", "mmd2", "wasserstein", "ks"],
            "n": [129, 129, 129, 43],
            "rho": [0.09, -0.5, 0.2, 0.1],
            "ci_low": np.nan,
            "ci_high": np.nan,
            "q_value": 0.5,
        }
    )
    out = R.attenuation_table(reliabilities, {"logreg": correlations}).set_index(["group", "metric"])
    # Hand calculation: ceiling sqrt(0.81 * 0.25) = 0.45, 0.09 / 0.45 = 0.2.
    assert out.loc[(POOLED, "ks"), "ceiling"] == pytest.approx(0.45)
    assert out.loc[(POOLED, "ks"), "rho_disattenuated"] == pytest.approx(0.2)
    assert not out.loc[(POOLED, "ks"), "capped"]
    # sqrt(0.64 * 0.25) = 0.4; -0.5 / 0.4 = -1.25, shown as -1 and flagged.
    assert out.loc[(POOLED, "mmd2"), "rho_disattenuated"] == -1.0 and out.loc[(POOLED, "mmd2"), "capped"]
    # A negative reliability is truncated at 0: no ceiling, no correction.
    assert out.loc[("cvae", "ks"), "ceiling"] == 0.0
    assert np.isnan(out.loc[("cvae", "ks"), "rho_disattenuated"])
    assert out.loc[(POOLED, "wasserstein"), "reliability_quality"] == 0.9
