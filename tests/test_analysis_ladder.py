"""Tests of the fidelity ladder (radlib.analysis.ladder) on records with a planted structure.

The records come from tests/ladder_records.py, where every number is set by construction: a
"between" table (configurations differ in quality and ΔAUC follows the configuration, pairs of
one configuration do not differ), a "within" table (ΔAUC follows the pair's own quality
deviation, configurations do not differ in ΔAUC) and a "null" table. The expected values are
the planted ones, or come from independent computations named in each test: statsmodels'
anova_lm and multipletests, scipy's linregress, numpy's polyfit, pandas group means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ladder_records import make_ladder_records
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from radlib import analysis as A
from radlib.analysis import floor as F
from radlib.analysis import ladder as L
from radlib.records import COMPOSITE, EVALUATION_KEYS, valid_mask

N_BOOT = 200
# The "within" table: a strong pair-level association, small dataset effects on ΔAUC.
WITHIN = {"pair_sd": 0.05, "effect": 0.5, "dataset_delta_sd": 0.002}


@pytest.fixture(scope="module")
def between_records():
    return make_ladder_records("between")


@pytest.fixture(scope="module")
def between(between_records):
    return L.run_ladder(between_records, "logreg", n_boot=N_BOOT, n_permutations=0, seed=1)


@pytest.fixture(scope="module")
def within():
    return L.run_ladder(make_ladder_records("within", **WITHIN), "logreg", n_boot=N_BOOT, n_permutations=0, seed=1)


@pytest.fixture(scope="module")
def null():
    return L.run_ladder(make_ladder_records("null"), "logreg", n_boot=N_BOOT, n_permutations=0, seed=1)


def _composite(table, column="metric"):
    return table[table[column] == COMPOSITE].set_index("set")


# --- the pair table of the configurations ---------------------------------------------------------


def test_configuration_pairs_hold_the_nine_configurations_and_their_means(between_records, between):
    pairs = between["pairs"]
    assert sorted(pairs["arm"].unique()) == sorted(
        f"{g}@{f:g}" if f != 1.0 else g for g in ("wgan_gp", "cvae", "tabddpm") for f in (0.0625, 0.25, 1.0)
    )
    assert len(pairs) == 12 * 9  # SMOTE and real-only are not configurations
    assert set(pairs["fraction"]) == {0.0625, 0.25, 1.0}
    assert (pairs.loc[pairs["arm"] == "cvae@0.25", "generator"] == "cvae").all()
    # the pair means are the means over the pair's valid records (pandas group means)
    records = between_records[valid_mask(between_records, "logreg")]
    expected = records.groupby(["dataset", "arm"])["delta_auc_logreg"].mean()
    got = pairs.set_index(["dataset", "arm"])["delta_auc"]
    assert np.allclose(got, expected.loc[got.index])
    # the composite is computed once over all configuration pairs
    assert np.allclose(pairs[COMPOSITE], A.score_composite(pairs.drop(columns=COMPOSITE)))


def test_nested_sets_follow_the_fractions_present(between):
    assert between["sets"] == {"S1": (1.0,), "S2": (0.25, 1.0), "S3": (0.0625, 0.25, 1.0)}
    assert L.nested_sets(between["pairs"][between["pairs"]["fraction"] == 1.0]) == {"S1": (1.0,)}


def test_random_forest_ladder_is_the_three_study_configurations(between_records):
    results = L.run_ladder(between_records, "rf", n_boot=50, n_permutations=0, seed=1)
    assert results["sets"] == {"S1": (1.0,)}
    assert sorted(results["pairs"]["arm"]) == sorted(["wgan_gp", "cvae", "tabddpm"] * 12)
    assert results["verdict"]["n_configurations"] == 3
    dose = results["dose"]["pooled"]
    assert dose.empty  # one fraction per generator: no slope


# --- (a) share of variance ---------------------------------------------------------------------


def test_variance_shares_are_type_two_anova_sums_of_squares(between):
    # an unbalanced table (some pairs dropped), checked against statsmodels' anova_lm(typ=2)
    pairs = between["pairs"].drop(index=[0, 5, 17, 40]).reset_index(drop=True)
    table = L.variance_explained(pairs, [COMPOSITE, "delta_auc"], {"S3": (0.0625, 0.25, 1.0)})
    for quantity in (COMPOSITE, "delta_auc"):
        frame = pd.DataFrame(
            {"y": L.configurations.pair_values(pairs, quantity), "dataset": pairs["dataset"], "arm": pairs["arm"]}
        )
        anova = anova_lm(ols("y ~ C(dataset) + C(arm)", frame).fit(), typ=2)
        total = ((frame["y"] - frame["y"].mean()) ** 2).sum()
        row = table.set_index("quantity").loc[quantity]
        assert row["ss_configuration"] == pytest.approx(anova.loc["C(arm)", "sum_sq"])
        assert row["ss_dataset"] == pytest.approx(anova.loc["C(dataset)", "sum_sq"])
        assert row["ss_residual"] == pytest.approx(anova.loc["Residual", "sum_sq"])
        assert row["eta2"] == pytest.approx(anova.loc["C(arm)", "sum_sq"] / total)


def test_variance_share_of_a_complete_ladder_is_the_one_way_eta_squared(between):
    pairs = between["pairs"]
    q = L.configurations.pair_values(pairs, COMPOSITE)
    # one-way η² by hand: sum of n_c (mean_c - mean)^2 over sum of (q - mean)^2
    means = q.groupby(pairs["arm"]).transform("mean")
    expected = ((means - q.mean()) ** 2).sum() / ((q - q.mean()) ** 2).sum()
    assert _composite(between["variance"], "quantity").loc["S3", "eta2"] == pytest.approx(expected)


def test_variance_share_grows_with_the_spread(between):
    eta2 = _composite(between["variance"], "quantity")["eta2"]
    assert eta2["S1"] < eta2["S2"] < eta2["S3"]
    assert eta2["S3"] > 0.5  # by construction: offsets 0, 0.1, 0.2 against dataset bases in 0.3-0.5


# --- the planted structures come out as built ------------------------------------------------------


def test_between_table_pooled_rho_grows_and_within_rho_stays_near_zero(between):
    pooled = _composite(between["pooled"])
    assert pooled.loc["S1", "rho"] < pooled.loc["S2", "rho"] < pooled.loc["S3", "rho"]
    assert pooled.loc["S3", "rho"] > 0.5 and pooled.loc["S3", "q_value"] < 0.05
    within = between["within"]
    assert len(within[within["metric"] == COMPOSITE]) == 9
    assert not within["positive_significant"].any()
    slopes = _composite(between["slopes"])
    assert slopes.loc["S3", "n_groups"] == 9
    assert slopes.loc["S3", "between_ci_low"] > 0
    assert slopes.loc["S3", "within_ci_low"] < 0 < slopes.loc["S3", "within_ci_high"]
    assert slopes.loc["S1", "pooled_slope"] < slopes.loc["S3", "pooled_slope"]


def test_between_table_gives_the_fallacy_verdict(between):
    verdict = between["verdict"]
    assert verdict["rule"] == "fallacy"
    assert verdict["verdict"] == "The ladder reproduces the ecological fallacy"
    assert verdict["set"] == "S3" and verdict["n_configurations"] == 9
    assert verdict["metric_counts"] == {verdict["verdict"]: 5}
    assert verdict["sentence"].startswith("The ladder reproduces the ecological fallacy (composite, S3")


def test_within_table_gives_the_within_verdict(within):
    verdict = within["verdict"]
    assert verdict["rule"] == "within", verdict["sentence"]
    assert verdict["within_ci_low"] > 0
    assert verdict["n_within_positive_significant"] >= 1


def test_null_table_gives_no_association(null):
    verdict = null["verdict"]
    assert verdict["rule"] == "none", verdict["sentence"]
    assert verdict["pooled_q"] >= 0.05


def test_within_configuration_q_values_are_bh_over_the_configurations_per_metric(between):
    within = between["within"]
    for _, rows in within.groupby("metric"):
        assert len(rows) == 9
        expected = multipletests(rows["p_value"], method="fdr_bh")[1]  # statsmodels, the 9 of one metric
        assert np.allclose(rows["q_value"], expected)


def test_pooled_q_values_are_bh_over_scores_and_sets(between):
    pooled = between["pooled"]
    assert len(pooled) == 3 * len(L.SCORES)
    assert np.allclose(pooled["q_value"], multipletests(pooled["p_value"], method="fdr_bh")[1])


def test_pooled_and_configuration_slopes_are_least_squares_slopes_on_standardised_quality(between):
    pairs = L.restrict_to_set(between["pairs"], (0.25, 1.0))
    q = L.configurations.pair_values(pairs, "ks")
    z = (q - q.mean()) / q.std(ddof=1)
    slopes = between["slopes"].set_index(["set", "metric"])
    assert slopes.loc[("S2", "ks"), "pooled_slope"] == pytest.approx(stats.linregress(z, pairs["delta_auc"]).slope)
    per_configuration = between["configuration_slopes"].set_index(["set", "metric", "configuration"])
    mask = (pairs["arm"] == "cvae@0.25").to_numpy()
    expected = stats.linregress(z[mask], pairs["delta_auc"][mask]).slope
    assert per_configuration.loc[("S2", "ks", "cvae@0.25"), "slope"] == pytest.approx(expected)


def test_pooled_slope_bootstrap_is_the_slope_of_the_expanded_resample():
    rng = np.random.default_rng(0)
    q, y = rng.normal(size=20), rng.normal(size=20)
    counts = rng.integers(0, 3, size=(4, 20)).astype(float)
    got = L.slopes._pooled_slopes(q, y, counts)
    for row, expected in zip(counts, got):
        qq, yy = np.repeat(q, row.astype(int)), np.repeat(y, row.astype(int))
        z = (qq - qq.mean()) / qq.std(ddof=1)
        assert expected == pytest.approx(stats.linregress(z, yy).slope)


# --- dose-response ---------------------------------------------------------------------------------


def test_dose_response_recovers_the_planted_slopes(between):
    pooled = between["dose"]["pooled"].set_index(["quantity", "generator"])
    # planted: d = a + offset + 0.1 (-log2 f) / 2, so per doubling of the budget Wasserstein (= d)
    # falls by 0.05, KS (= d / 2) by 0.025, and ΔAUC (= -0.3 offset) rises by 0.015
    for generator in ("wgan_gp", "cvae", "tabddpm"):
        for quantity, planted in (("wasserstein", -0.05), ("ks", -0.025), ("delta_auc", 0.015)):
            row = pooled.loc[(quantity, generator)]
            assert row["k"] == 12
            assert row["estimate"] == pytest.approx(planted, abs=0.004)
            assert row["ci_low"] < planted < row["ci_high"] or abs(row["estimate"] - planted) < 1e-3


def test_dose_response_dataset_slopes_by_hand(between_records, between):
    datasets = between["dose"]["datasets"].set_index(["quantity", "generator", "dataset"])
    means = between["dose"]["means"]
    records = between_records[between_records["generator"] == "cvae"]
    records = records[records["dataset"] == "D03"]
    # per evaluation: numpy's polyfit slope on log2(fraction); per repetition: the mean over folds
    per_repetition = (
        records.groupby(["repetition", "fold"])
        .apply(lambda e: np.polyfit(np.log2(e["fraction"]), e["delta_auc_logreg"], 1)[0], include_groups=False)
        .groupby(level="repetition")
        .mean()
    )
    row = datasets.loc[("delta_auc", "cvae", "D03")]
    assert row["effect"] == pytest.approx(per_repetition.mean())
    assert row["variance"] == pytest.approx(per_repetition.var(ddof=1) / len(per_repetition))
    # complete data: the dataset's slope is also the slope of its fraction means
    m = means[(means["quantity"] == "delta_auc") & (means["generator"] == "cvae") & (means["dataset"] == "D03")]
    assert row["effect"] == pytest.approx(np.polyfit(m["log2_fraction"], m["value"], 1)[0])


def test_dose_response_pools_with_the_study_meta_analysis(between):
    datasets = between["dose"]["datasets"]
    rows = datasets[(datasets["quantity"] == "mmd2") & (datasets["generator"] == "wgan_gp")]
    expected = A.combine_random_effects(rows["effect"], rows["variance"])
    got = between["dose"]["pooled"].set_index(["quantity", "generator"]).loc[("mmd2", "wgan_gp")]
    assert got["estimate"] == pytest.approx(expected["estimate"])
    assert got["ci_low"] == pytest.approx(expected["ci_low"])


# --- the placebo -------------------------------------------------------------------------------


def test_permutation_moves_arm_labels_within_each_evaluation_only(between_records):
    permuted = L.permute_within_evaluations(between_records, np.random.default_rng(5))
    keys = list(EVALUATION_KEYS)
    before = between_records.groupby(keys)["arm"].apply(sorted)
    after = permuted.groupby(keys)["arm"].apply(sorted)
    assert before.equals(after)
    assert (permuted["arm"] != between_records["arm"]).mean() > 0.5
    assert permuted.drop(columns="arm").equals(between_records.drop(columns="arm"))
    again = L.permute_within_evaluations(between_records, np.random.default_rng(5))
    assert again["arm"].equals(permuted["arm"])


def test_placebo_between_slope_is_near_zero_without_a_configuration_effect():
    placebo = L.placebo_between(make_ladder_records("null"), n_permutations=40, seed=3)
    assert placebo["n_finite"] == 40
    assert abs(placebo["placebo_median"]) < placebo["placebo_sd"]
    assert placebo["placebo_low"] < placebo["observed"] < placebo["placebo_high"]
    assert placebo["p_value"] > 0.05


def test_placebo_centres_on_zero_with_the_observed_slope_in_its_tail_where_quality_is_noisy():
    # between-only, with record-level quality noise (SD 0.3) far above the configuration spread:
    # the placebo's mixtures keep only var(spread) / (var(spread) + 0.09), about 7 %, of the slope
    records = make_ladder_records("between", n_datasets=40, n_reps=1, eval_sd=0.3, base=(1.0, 1.2))
    placebo = L.placebo_between(records, n_permutations=40, seed=3)
    assert placebo["observed"] > 0
    assert abs(placebo["placebo_median"]) < 0.2 * placebo["observed"]
    assert placebo["placebo_low"] < 0 < placebo["placebo_high"]
    assert placebo["observed"] > placebo["placebo_high"]
    assert placebo["p_value"] == pytest.approx(1 / 41)


def test_placebo_keeps_the_record_level_association_where_quality_is_precise(between_records, between):
    # with precise quality the placebo's mixtures still carry the configurations' association:
    # the distribution sits well above 0 (see the module notes), though below the observed slope
    placebo = L.placebo_between(between_records, n_permutations=20, seed=3)
    observed = _composite(between["slopes"]).loc["S3", "between_slope"]
    assert placebo["observed"] == pytest.approx(observed)
    assert placebo["placebo_median"] > 3 * placebo["placebo_sd"]
    assert placebo["placebo_median"] < observed


def test_placebo_needs_a_permutation(between_records):
    with pytest.raises(ValueError, match="n_permutations"):
        L.placebo_between(between_records, n_permutations=0)


# --- the decision rules ------------------------------------------------------------------------


def _tables(rho, q, between_ci, within_slope, within_ci, within_rho=(0.0,), within_q=(0.5,)):
    """One-score tables of pooled ρ, slopes and within-configuration ρ, as the ladder's functions write them."""
    pooled = pd.DataFrame(
        [{"set": "S3", "metric": COMPOSITE, "n_configurations": 9, "rho": rho, "q_value": q, "ci_low": 0, "ci_high": 0}]
    )
    slopes = pd.DataFrame(
        [
            {
                "set": "S3",
                "metric": COMPOSITE,
                "between_slope": sum(between_ci) / 2,
                "between_ci_low": between_ci[0],
                "between_ci_high": between_ci[1],
                "within_slope": within_slope,
                "within_ci_low": within_ci[0],
                "within_ci_high": within_ci[1],
            }
        ]
    )
    within = pd.DataFrame({"metric": COMPOSITE, "rho": within_rho, "p_value": within_q, "q_value": within_q})
    within["positive_significant"] = (within["q_value"] < 0.05) & (within["rho"] > 0)
    return pooled, slopes, within


@pytest.mark.parametrize(
    ("tables", "rule"),
    [
        (_tables(0.3, 0.01, (0.01, 0.03), 0.0, (-0.01, 0.01)), "fallacy"),
        # a within-configuration ρ survives BH: (d) fails, so no fallacy
        (_tables(0.3, 0.01, (0.01, 0.03), 0.0, (-0.01, 0.01), (0.6,), (0.01,)), "mixed"),
        (_tables(0.3, 0.01, (0.0, 0.03), 0.02, (0.01, 0.03), (0.6,), (0.01,)), "within"),
        # the within slope without a surviving configuration ρ is not enough for H2
        (_tables(0.3, 0.01, (-0.01, 0.03), 0.02, (0.01, 0.03)), "mixed"),
        (_tables(0.05, 0.4, (-0.01, 0.02), 0.0, (-0.01, 0.01)), "none"),
        # H2 and H0 both hold: reported as mixed, naming both
        (_tables(0.05, 0.4, (-0.01, 0.02), 0.02, (0.01, 0.03), (0.6,), (0.01,)), "mixed"),
        # a negative pooled ρ with q < 0.05 is not the fallacy
        (_tables(-0.3, 0.01, (-0.03, -0.01), 0.0, (-0.01, 0.01)), "mixed"),
        (_tables(0.3, 0.01, (np.nan, np.nan), 0.0, (np.nan, np.nan)), "undecided"),
    ],
)
def test_decision_rules(tables, rule):
    verdict = L.ladder_verdict(*tables)
    assert verdict["rule"] == rule
    assert verdict["verdict"] == L.VERDICTS[rule]


def test_decision_rules_name_the_rules_that_hold_together():
    verdict = L.ladder_verdict(*_tables(0.05, 0.4, (-0.01, 0.02), 0.02, (0.01, 0.03), (0.6,), (0.01,)))
    assert verdict["rules"] == ["within", "none"]
    assert "several rules hold: within, none" in verdict["sentence"]


def test_fewer_than_five_datasets_leave_the_verdict_undecided():
    records = make_ladder_records("between", n_datasets=4)
    results = L.run_ladder(records, "logreg", n_boot=50, n_permutations=0, seed=1)
    assert results["verdict"]["rule"] == "undecided"
    assert "missing between_ci_low" in results["verdict"]["reason"]


def test_verdict_names_a_missing_set(between):
    with pytest.raises(ValueError, match="no set 'S9'"):
        L.ladder_verdict(between["pooled"], between["slopes"], between["within"], set_name="S9")


def test_summary_holds_plain_numbers_of_every_set(between):
    summary = L.summarize_ladder(between)
    assert summary["verdict_rule"] == "fallacy"
    assert summary["n_configurations"] == 9 and summary["n_datasets"] == 12
    assert summary["S1_eta2"] < summary["S3_eta2"]
    assert summary["S3_between_slope"] == pytest.approx(between["verdict"]["between_slope"])
    assert summary["dose_cvae_delta_auc"] == pytest.approx(0.015, abs=0.004)
    assert all(isinstance(v, (str, int, float, bool)) for v in summary.values())


def test_adjusted_by_set_is_the_floor_adjustment_of_each_set(between):
    adjusted = between["adjusted"]
    assert set(adjusted["set"]) == {"S1", "S2", "S3"}
    s3 = adjusted[adjusted["set"] == "S3"]
    assert set(s3["configuration"]) == {"pooled", *between["pairs"]["arm"]}
    # the raw pooled ρ is the ladder's pooled ρ; the partial ρ is partial_spearman on the set's pairs
    pooled = s3[s3["configuration"] == "pooled"].set_index("metric")
    assert pooled.loc[COMPOSITE, "rho"] == pytest.approx(_composite(between["pooled"]).loc["S3", "rho"])
    pairs = between["pairs"]
    covariates = np.column_stack([np.log(pairs["n_internal"]), pairs["auc_real"]])
    expected = F.partial_spearman(A.orient_quality(pairs, COMPOSITE), pairs["delta_auc"], covariates)
    assert pooled.loc[COMPOSITE, "partial_rho"] == pytest.approx(expected["rho"])
    summary = L.summarize_ladder(between)
    assert summary["S3_partial_rho"] == pytest.approx(expected["rho"])
    assert summary["adjusted_changes"] == int(s3["conclusion_changes"].sum())


def test_adjusted_by_set_uses_the_pre_specified_bh_families(within):
    # Pooled rows: one family over every score in every set, the family of pooled_by_set; within rows:
    # per score and set over its configurations, in S3 the family of within_configurations. The same
    # ρ then has the same raw q in both tables; the partial q-values are statsmodels' multipletests
    # (fdr_bh) of the partial p-values over the same families.
    adjusted = within["adjusted"]
    pooled = adjusted[adjusted["configuration"] == "pooled"].set_index(["set", "metric"])
    reference = within["pooled"].set_index(["set", "metric"])
    assert len(pooled) == len(reference) == 3 * 6
    assert np.allclose(pooled.loc[reference.index, "p_value"], reference["p_value"])
    assert np.allclose(pooled.loc[reference.index, "q_value"], reference["q_value"])
    assert (pooled.loc[reference.index, "significant"] == reference["significant"]).all()
    expected = multipletests(pooled["partial_p_value"], method="fdr_bh")[1]
    assert np.allclose(pooled["partial_q_value"], expected)

    s3 = adjusted[(adjusted["set"] == "S3") & (adjusted["configuration"] != "pooled")]
    s3 = s3.set_index(["configuration", "metric"])
    configurations = within["within"].set_index(["configuration", "metric"])
    assert len(s3) == len(configurations) == 9 * 6
    assert np.allclose(s3.loc[configurations.index, "q_value"], configurations["q_value"], equal_nan=True)
    for (name, metric), family in adjusted[adjusted["configuration"] != "pooled"].groupby(["set", "metric"]):
        assert len(family) == {"S1": 3, "S2": 6, "S3": 9}[name]
        assert np.allclose(family["q_value"], multipletests(family["p_value"], method="fdr_bh")[1])
        partial = multipletests(family["partial_p_value"], method="fdr_bh")[1]
        assert np.allclose(family["partial_q_value"], partial), (name, metric)
    summary = L.summarize_ladder(within)
    assert summary["S3_partial_q"] == pytest.approx(pooled.loc[("S3", COMPOSITE), "partial_q_value"])


def test_the_result_s_tables_are_its_parts_flat_and_its_summary_the_key_numbers(between):
    assert isinstance(between, L.LadderResult) and between["classifier"] == "logreg"
    tables = between.tables()
    assert list(tables) == [name for name in L.LADDER_TABLES if name != "placebo"]  # no permutations were run
    pd.testing.assert_frame_equal(tables["dose_pooled"], between["dose"]["pooled"])
    assert "rules" not in tables["verdict"] and len(tables["verdict"]) == len(between["verdict"]["metrics"])
    assert between.summary() == L.summarize_ladder(between)
    study = pd.DataFrame({"conclusion_changes": [True, False, True]})
    assert between.summary(study_adjusted=study)["study_adjusted_changes"] == 2


def test_the_placebo_table_holds_each_permutation_s_between_slope(between_records):
    result = L.run_ladder(between_records, "logreg", n_boot=20, n_permutations=7, seed=2)
    placebo = result.tables()["placebo"]
    assert list(placebo.columns) == ["placebo_between_slope"] and len(placebo) == 7
    assert list(result.tables()) == list(L.LADDER_TABLES)
