"""Tests of radlib.analysis.association: analyses 1 (Spearman ρ) and 2 (ROC AUC), pooled and within generators.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from synthetic_records import SCENARIO_GENERATORS as GENERATORS
from synthetic_records import scenario_results, small_pairs

from radlib import analysis as A


def test_adjust_fdr_matches_statsmodels_and_hand_calculation():
    p = [0.01, 0.04, 0.03, 0.005]
    q, reject = A.adjust_fdr(p)
    # statsmodels
    np.testing.assert_allclose(q, multipletests(p, method="fdr_bh")[1])
    # By hand: sorted p = 0.005, 0.01, 0.03, 0.04 (m = 4) -> p*m/rank = 0.02, 0.02, 0.04, 0.04;
    # cumulative minimum from the top leaves them unchanged. Back in input order:
    np.testing.assert_allclose(q, [0.02, 0.04, 0.04, 0.02])
    assert reject.tolist() == [True, True, True, True]
    # A NaN p-value is not a test: family size 3, not 4 (hand: 0.005*3/1 = 0.015, 0.01*3/2 = 0.015,
    # 0.04*3/3 = 0.04).
    q_nan, _ = A.adjust_fdr([0.01, np.nan, 0.04, 0.005])
    np.testing.assert_allclose(q_nan, [0.015, np.nan, 0.04, 0.015])


def test_spearman_matches_scipy_and_fdr_covers_whole_family():
    between_results = scenario_results("between")
    pairs, corr = between_results["pairs"], between_results["correlations"]
    gen = pairs[pairs["arm"].isin(GENERATORS)]
    for metric in ("wasserstein", "detection_auc"):
        distance = gen[metric] if metric != "detection_auc" else (gen[metric] - 0.5).abs()
        expected = stats.spearmanr(distance, gen["delta_auc"])  # scipy, raw distance
        row = corr[(corr["group"] == "pooled") & (corr["metric"] == metric)].iloc[0]
        assert row["rho"] == pytest.approx(-expected.statistic)  # quality = -distance
        assert row["p_value"] == pytest.approx(expected.pvalue)
        cvae = gen[gen["arm"] == "cvae"]
        distance = cvae[metric] if metric != "detection_auc" else (cvae[metric] - 0.5).abs()
        row = corr[(corr["group"] == "cvae") & (corr["metric"] == metric)].iloc[0]
        assert row["rho"] == pytest.approx(-stats.spearmanr(distance, cvae["delta_auc"]).statistic)
    # One BH family: 6 scores (5 metrics + composite) x 4 groups.
    assert len(corr) == 24
    np.testing.assert_allclose(corr["q_value"], multipletests(corr["p_value"], method="fdr_bh")[1])


def test_correlate_quality_without_the_pooled_group():
    # The per-generator rows are those of the full table (same bootstrap seed per group); only the
    # BH family shrinks to them (statsmodels' fdr_bh over the 3 x 2 remaining p-values).
    pairs = scenario_results("between")["pairs"]
    full = A.correlate_quality(pairs, metrics=("ks", "composite"), n_boot=30, seed=4)
    generators_only = A.correlate_quality(pairs, metrics=("ks", "composite"), n_boot=30, seed=4, pooled=False)
    assert "pooled" not in set(generators_only["group"])
    same = ["group", "metric", "n", "rho", "p_value", "ci_low", "ci_high", "n_boot_used"]
    expected = full[full["group"] != "pooled"].reset_index(drop=True)
    pd.testing.assert_frame_equal(generators_only[same], expected[same])
    np.testing.assert_allclose(
        generators_only["q_value"], multipletests(generators_only["p_value"], method="fdr_bh")[1]
    )


def test_between_association_is_pooled_not_within():
    between_results = scenario_results("between")
    corr = between_results["correlations"].query("metric in @A.METRICS")
    pooled, within = corr[corr["group"] == "pooled"], corr[corr["group"] != "pooled"]
    assert (pooled["rho"] > 0.7).all() and pooled["significant"].all()
    assert (pooled["ci_low"] > 0).all()
    assert not within["significant"].any()
    assert within["rho"].abs().max() < 0.4
    assert (within["ci_low"] < 0).mean() > 0.8  # within CIs cover 0 (nearly all)


def test_within_association_is_within_not_between():
    within_results = scenario_results("within")
    corr = within_results["correlations"].query("metric in @A.METRICS")
    pooled, within = corr[corr["group"] == "pooled"], corr[corr["group"] != "pooled"]
    assert (within["rho"] > 0.8).all() and within["significant"].all()
    assert (pooled["rho"].abs() < within["rho"].min()).all()


def test_small_sample_spearman_uses_the_exact_permutation_p_value():
    """A perfect rank order of 4 pairs: exact two-sided p = 2/4! = 1/12 (hand count of the
    24 pairings, of which only the identity and the reversal reach |ρ| = 1); scipy's
    asymptotic t approximation would give p = 0."""
    score, delta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.2, 0.3, 0.4])
    assert A.spearman_p_value(score, delta, asymptotic_p=0.0) == pytest.approx(1 / 12)


def test_no_bootstrap_ci_from_too_few_datasets():
    """Resampling 3 datasets cannot give a meaningful interval; the CI is left undefined."""
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame(
        {
            "dataset": np.repeat(["a", "b", "c"], 3),
            "arm": ["x", "y", "z"] * 3,
            "delta_auc": rng.normal(size=9),
            **{m: rng.random(9) for m in A.METRICS},
        }
    )
    table = A.correlate_quality(pairs, metrics=("ks",), n_boot=200)
    pooled = table[table["group"] == A.POOLED].iloc[0]
    assert np.isnan(pooled["ci_low"]) and "fewer than 5 datasets" in pooled["note"]


def test_roc_auc_hand_count_and_single_class():
    # One generator; quality = -wasserstein: improved pairs score -0.1, -0.6; the others -0.5, -0.9, -0.6.
    pairs = small_pairs(
        [
            ("D1", "cvae", 0.02, 0.1),
            ("D2", "cvae", 0.01, 0.6),
            ("D3", "cvae", -0.01, 0.5),
            ("D4", "cvae", -0.02, 0.9),
            ("D5", "cvae", -0.03, 0.6),
        ]
    )
    roc = A.discriminate_quality(pairs, ["wasserstein"], n_boot=200)
    # Hand count over the 2 x 3 (improved, not improved) pairs:
    # -0.1>-0.5, -0.1>-0.9, -0.1>-0.6, -0.6<-0.5 (0), -0.6>-0.9, -0.6=-0.6 (1/2) -> 4.5 / 6 = 0.75.
    assert roc.set_index("group").loc["pooled", "auc"] == pytest.approx(0.75)
    assert roc.set_index("group").loc["cvae", "auc"] == pytest.approx(0.75)
    assert roc["ci_low"].iloc[0] <= 0.75 <= roc["ci_high"].iloc[0]
    pairs["delta_auc"] = 0.05
    roc = A.discriminate_quality(pairs, ["wasserstein"], n_boot=10)
    assert roc["auc"].isna().all() and roc["note"].str.contains("one outcome class").all()


def test_exact_spearman_p_value_at_the_largest_exact_n_by_enumeration():
    """n = 8 (EXACT_SPEARMAN_MAX_N): the p-value equals a direct count over all 8! orderings
    (itertools), and the computation stays small (it once enumerated (8!)^2 pairings)."""
    import itertools

    from scipy import stats as st

    rng = np.random.default_rng(1)
    score = rng.normal(size=8)
    delta = score + rng.normal(size=8)
    observed = abs(st.spearmanr(score, delta).statistic)
    rhos = np.array([st.spearmanr(np.array(p), delta).statistic for p in itertools.permutations(score)])
    expected = np.mean(np.abs(rhos) >= observed - 1e-12)
    assert A.spearman_p_value(score, delta, asymptotic_p=0.0) == pytest.approx(expected)


def test_compute_by_metric_stacks_each_metric_by_generator_in_metric_order():
    pairs = small_pairs(
        [
            ("D1", "cvae", 0.02, 0.1),
            ("D2", "cvae", 0.01, 0.6),
            ("D1", "wgan_gp", -0.01, 0.5),
            ("D2", "wgan_gp", -0.02, 0.9),
        ]
    )

    def mean_of(subset, metric):
        return {"metric": metric, "n": len(subset), "mean": subset[metric].mean()}

    table = A.compute_by_metric(pairs, mean_of, ["detection_auc", "wasserstein"])
    # Hand values: detection_auc = 0.5 + wasserstein; pooled mean of wasserstein (0.1+0.6+0.5+0.9)/4 = 0.525,
    # cvae (0.1+0.6)/2 = 0.35, wgan_gp (0.5+0.9)/2 = 0.7.
    assert list(table.index) == list(range(6))
    assert list(table["metric"]) == ["detection_auc"] * 3 + ["wasserstein"] * 3
    assert list(table["group"]) == ["pooled", "cvae", "wgan_gp"] * 2
    assert list(table["n"]) == [4, 2, 2] * 2
    np.testing.assert_allclose(table["mean"], [1.025, 0.85, 1.2, 0.525, 0.35, 0.7])
