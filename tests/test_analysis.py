"""Tests of radlib.analysis on synthetic tables built here.

Each expected value names its independent source: scipy, statsmodels, scikit-learn,
numpy's least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from radlib import analysis as A

GENERATORS = ("cvae", "tabddpm", "wgan_gp")


# --- builders -----------------------------------------------------------------------------


def make_records(quality, delta, n_reps=4, rep_sd=0.01, seed=0, smote=None):
    """Records table from per-pair quality distances and mean ΔAUC.

    ``quality[(dataset, arm)]`` is a dict metric -> distance (detection AUC given as its
    distance from 0.5, stored as 0.5 + distance); ``delta[(dataset, arm)]`` is the pair's
    mean ΔAUC. Repetition noise is centred so the mean over repetitions is exact.
    """
    rng = np.random.default_rng(seed)
    rows = []
    datasets = sorted({d for d, _ in delta})
    arms = sorted({a for _, a in delta})
    noise = {key: rng.normal(0, rep_sd, n_reps) for key in delta}
    for key in noise:
        noise[key] -= noise[key].mean()
    for d in datasets:
        for r in range(n_reps):
            base = {"dataset": d, "repetition": r, "undefined": False, "status": "ok"}
            rows.append(
                {
                    **base,
                    "arm": "real",
                    "auc_logreg": 0.7,
                    "delta_auc_logreg": 0.0,
                    "auc_rf": 0.7,
                    "delta_auc_rf": 0.0,
                    **{m: np.nan for m in A.METRICS},
                }
            )
            for a in arms:
                if (d, a) not in delta:
                    continue
                dd = delta[(d, a)] + noise[(d, a)][r]
                metrics = dict(quality[(d, a)])
                metrics["detection_auc"] = 0.5 + metrics["detection_auc"]
                rows.append(
                    {
                        **base,
                        "arm": a,
                        "auc_logreg": 0.7 + dd,
                        "delta_auc_logreg": dd,
                        "auc_rf": 0.7 - dd,
                        "delta_auc_rf": -dd,
                        **metrics,
                    }
                )
    return pd.DataFrame(rows)


def simulate_scenario(kind, n_datasets=40, seed=3):
    """Pairs with an association only between generators ("between") or only within ("within").

    Generator mean distances are 0.2, 0.5, 0.8 (cvae best, wgan_gp worst) in both.
    "between": generator mean ΔAUC +0.04, 0, -0.04 follows quality; within a generator,
    the pair's distance deviation and its ΔAUC deviation are independent.
    "within": generator mean ΔAUC is the same (0.01) for all; within a generator, ΔAUC =
    0.01 - 0.3 * (shared distance deviation) + small noise.
    """
    rng = np.random.default_rng(seed)
    means = dict(zip(GENERATORS, (0.2, 0.5, 0.8)))
    quality, delta = {}, {}
    for g, (gen, mu) in enumerate(means.items()):
        shared = rng.normal(0, 0.05, n_datasets)
        for i in range(n_datasets):
            key = (f"D{i:02d}", gen)
            quality[key] = {m: mu + shared[i] + rng.normal(0, 0.01) for m in A.METRICS}
            if kind == "between":
                delta[key] = (0.04, 0.0, -0.04)[g] + rng.normal(0, 0.01)
            else:
                delta[key] = 0.01 - 0.3 * shared[i] + rng.normal(0, 0.003)
    return quality, delta


@pytest.fixture(scope="module")
def between_results():
    return A.run_analyses(make_records(*simulate_scenario("between")), "logreg", n_boot=300)


@pytest.fixture(scope="module")
def within_results():
    return A.run_analyses(make_records(*simulate_scenario("within")), "logreg", n_boot=300)


def small_pairs(rows):
    """A pair table from (dataset, arm, delta_auc, wasserstein) rows; other metrics equal it."""
    frame = pd.DataFrame(rows, columns=["dataset", "arm", "delta_auc", "wasserstein"])
    for m in A.METRICS[1:]:
        frame[m] = frame["wasserstein"]
    frame["detection_auc"] = 0.5 + frame["wasserstein"]
    return frame


# --- pair table ---------------------------------------------------------------------------


def test_pair_table_means_valid_repetitions_and_reports_exclusions():
    quality = {("A", g): {m: 0.1 for m in A.METRICS} for g in ("cvae", "smote")}
    quality.update({("B", g): {m: 0.2 for m in A.METRICS} for g in ("cvae", "smote")})
    delta = {key: 0.0 for key in quality}
    records = make_records(quality, delta, n_reps=4)
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
    assert report["tasks_total"] == 8 and report["tasks_undefined"] == 1
    assert report["pairs_without_valid"] == ["B/smote"]
    assert ("B", "smote") not in set(zip(pairs["dataset"], pairs["arm"]))

    subset = A.pair_table(records, "logreg", datasets=["A", "Z"])
    assert set(subset["dataset"]) == {"A"}
    assert subset.attrs["exclusions"]["datasets_missing"] == ["Z"]


# --- multiplicity -------------------------------------------------------------------------


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


# --- analysis 1 ---------------------------------------------------------------------------


def test_spearman_matches_scipy_and_fdr_covers_whole_family(between_results):
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


def test_bootstrap_engine_equals_statistics_on_expanded_resamples():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=12).round(1), rng.normal(size=12).round(1)  # rounding makes ties
    w = A._bootstrap_counts(np.repeat(np.arange(4), 3), 5, seed=1)
    rho = A._bootstrap_spearman(x, y, w)
    label = y > 0
    auc = A._bootstrap_auc(x, label, w)
    for b in range(5):
        counts = w[b].astype(int)
        xe, ye, le = np.repeat(x, counts), np.repeat(y, counts), np.repeat(label, counts)
        assert rho[b] == pytest.approx(stats.spearmanr(xe, ye).statistic)  # scipy
        if le.any() and not le.all():
            assert auc[b] == pytest.approx(roc_auc_score(le, xe))  # scikit-learn
    # Clusters travel together: all three members of a cluster get the same count.
    assert (w.reshape(5, 4, 3) == w.reshape(5, 4, 3)[:, :, :1]).all()


def test_between_association_is_pooled_not_within(between_results):
    corr = between_results["correlations"].query("metric in @A.METRICS")
    pooled, within = corr[corr["group"] == "pooled"], corr[corr["group"] != "pooled"]
    assert (pooled["rho"] > 0.7).all() and pooled["significant"].all()
    assert (pooled["ci_low"] > 0).all()
    assert not within["significant"].any()
    assert within["rho"].abs().max() < 0.4
    assert (within["ci_low"] < 0).mean() > 0.8  # within CIs cover 0 (nearly all)


def test_within_association_is_within_not_between(within_results):
    corr = within_results["correlations"].query("metric in @A.METRICS")
    pooled, within = corr[corr["group"] == "pooled"], corr[corr["group"] != "pooled"]
    assert (within["rho"] > 0.8).all() and within["significant"].all()
    assert (pooled["rho"].abs() < within["rho"].min()).all()


# --- analysis 2 ---------------------------------------------------------------------------


def test_roc_auc_hand_count_and_single_class():
    # One generator; quality = -wasserstein: improved pairs score 0.9, 0.4; the others 0.5, 0.1, 0.4.
    pairs = small_pairs(
        [
            ("D1", "cvae", 0.02, -0.9),
            ("D2", "cvae", 0.01, -0.4),
            ("D3", "cvae", -0.01, -0.5),
            ("D4", "cvae", -0.02, -0.1),
            ("D5", "cvae", -0.03, -0.4),
        ]
    )
    roc = A.discriminate_quality(pairs, ["wasserstein"], n_boot=200)
    # Hand count over the 2 x 3 (improved, not improved) pairs:
    # 0.9>0.5, 0.9>0.1, 0.9>0.4, 0.4<0.5 (0), 0.4>0.1, 0.4=0.4 (1/2) -> 4.5 / 6 = 0.75.
    assert roc.set_index("group").loc["pooled", "auc"] == pytest.approx(0.75)
    assert roc.set_index("group").loc["cvae", "auc"] == pytest.approx(0.75)
    assert roc["ci_low"].iloc[0] <= 0.75 <= roc["ci_high"].iloc[0]
    pairs["delta_auc"] = 0.05
    roc = A.discriminate_quality(pairs, ["wasserstein"], n_boot=10)
    assert roc["auc"].isna().all() and roc["note"].str.contains("one outcome class").all()


# --- analysis 3 ---------------------------------------------------------------------------


def test_dersimonian_laird_matches_hand_calculation():
    y, v = [0.10, 0.30, 0.50], [0.01, 0.02, 0.04]
    # Fixed-effect weights w = 1/v = 100, 50, 25; Σw = 175; Σwy = 10 + 15 + 12.5 = 37.5;
    # Σwy² = 1 + 4.5 + 6.25 = 11.75.
    # Q = Σwy² - (Σwy)²/Σw = 11.75 - 1406.25/175 = 11.75 - 8.0357143 = 3.7142857; df = 2.
    # C = Σw - Σw²/Σw = 175 - (10000 + 2500 + 625)/175 = 175 - 75 = 100.
    # τ² = (Q - df)/C = 1.7142857/100 = 0.017142857.
    # w* = 1/(v + τ²) = 1/0.027142857, 1/0.037142857, 1/0.057142857 = 36.842105, 26.923077, 17.5;
    # Σw* = 81.265182; Σw*y = 3.6842105 + 8.0769231 + 8.75 = 20.511134.
    # estimate = 20.511134/81.265182 = 0.2523974; SE = 1/sqrt(81.265182) = 1/9.0147203 = 0.1109297.
    # I² = (Q - df)/Q = 1.7142857/3.7142857 = 0.4615385.
    result = A.combine_random_effects(y, v)
    assert result["q"] == pytest.approx(3.7142857, rel=1e-6)
    assert result["tau2"] == pytest.approx(0.017142857, rel=1e-6)
    assert result["estimate"] == pytest.approx(0.2523974, rel=1e-6)
    assert result["se"] == pytest.approx(0.1109297, rel=1e-6)
    assert result["ci_low"] == pytest.approx(0.2523974 - 1.959964 * 0.1109297, rel=1e-5)
    assert result["i2"] == pytest.approx(0.4615385, rel=1e-6)
    assert result["estimate_fixed"] == pytest.approx(37.5 / 175)
    assert result["weights"] == pytest.approx(np.array([36.842105, 26.923077, 17.5]) / 81.265182, rel=1e-6)


def test_tau2_truncated_at_zero_when_q_below_df():
    y, v = [0.10, 0.11, 0.12], [0.01, 0.02, 0.015]
    # Hand: w = 100, 50, 66.667; Σw = 216.667; ȳ = (10 + 5.5 + 8)/216.667 = 0.1084615;
    # Q = 100(0.0084615)² + 50(0.0015385)² + 66.667(0.0115385)² = 0.0161538 < df = 2.
    with np.errstate(invalid="ignore"):
        raw = combine_effects(np.array(y), np.array(v), method_re="dl")  # statsmodels, untruncated
    result = A.combine_random_effects(y, v)
    assert result["q"] == pytest.approx(0.0161538, rel=1e-4)
    assert result["tau2_untruncated"] == pytest.approx(raw.tau2) and raw.tau2 < 0
    assert result["tau2"] == 0.0 and result["i2"] == 0.0
    assert result["estimate"] == pytest.approx(0.1084615, rel=1e-6)  # = fixed effect
    assert result["se"] == pytest.approx(1 / np.sqrt(216.6667), rel=1e-5)
    assert (result["weights"] > 0).all()


def test_meta_analysis_per_generator_notes_and_subgroup_test():
    quality, delta = simulate_scenario("between", n_datasets=6)
    records = make_records(quality, delta, n_reps=3)
    # D00/cvae keeps one valid repetition; D01/cvae has identical ΔAUC in every repetition.
    drop = (records["dataset"] == "D00") & (records["arm"] == "cvae") & (records["repetition"] > 0)
    records.loc[drop, "status"] = "failed"
    same = (records["dataset"] == "D01") & (records["arm"] == "cvae")
    records.loc[same, "delta_auc_logreg"] = 0.05
    meta = A.meta_analyze_generators(A.pair_table(records, "logreg"))
    studies = meta["studies"].set_index(["generator", "dataset"])
    assert not studies.loc[("cvae", "D00"), "included"]
    assert "n_valid < 2" in studies.loc[("cvae", "D00"), "note"]
    cvae = studies.loc["cvae"]
    positive = cvae.loc[cvae["included"] & (cvae.index != "D01"), "variance"]
    assert cvae.loc["D01", "variance"] == pytest.approx(positive.min())
    assert "floored" in cvae.loc["D01", "note"]
    # Each generator equals combine_random_effects on its included studies.
    generators = meta["generators"].set_index("generator")
    for gen in GENERATORS:
        used = studies.loc[gen][studies.loc[gen]["included"]]
        expected = A.combine_random_effects(used["effect"], used["variance"])
        assert generators.loc[gen, "estimate"] == pytest.approx(expected["estimate"])
        assert generators.loc[gen, "k"] == len(used)
        assert studies.loc[gen, "weight"].sum() == pytest.approx(1.0)
    # Q_between by hand from the subgroup estimates and SEs, χ² with G - 1 = 2 df (scipy).
    w = 1 / generators["se"] ** 2
    theta = generators["estimate"]
    q_between = (w * (theta - (w * theta).sum() / w.sum()) ** 2).sum()
    between = meta["between"].iloc[0]
    assert between["q_between"] == pytest.approx(q_between)
    assert between["p_value"] == pytest.approx(stats.chi2.sf(q_between, 2))
    assert between["p_value"] < 0.001  # ΔAUC of +0.04, 0, -0.04 per generator


# --- analysis 4 ---------------------------------------------------------------------------


def test_composite_is_negated_mean_of_generator_z_scores():
    rng = np.random.default_rng(2)
    rows = [(f"D{i}", g, rng.normal(), rng.uniform()) for i in range(5) for g in (*GENERATORS, "smote")]
    pairs = small_pairs(rows)
    pairs["ks"] = rng.uniform(size=len(pairs))
    pairs["detection_auc"] = rng.uniform(0.3, 0.9, size=len(pairs))
    gen = pairs["arm"].isin(GENERATORS)
    distances = pairs[list(A.METRICS)].copy()
    distances["detection_auc"] = (distances["detection_auc"] - 0.5).abs()
    z = (distances - distances[gen].mean()) / distances[gen].std(ddof=1)
    np.testing.assert_allclose(A.score_composite(pairs), -z.mean(axis=1))
    # A pair closest to the real data on every metric gets the highest composite.
    pairs.loc[0, list(A.METRICS)] = [
        pairs["wasserstein"].min() - 1,
        0.0,
        pairs["mmd2"].min() - 1,
        pairs["corr_diff"].min() - 1,
        0.5,
    ]
    assert A.score_composite(pairs).idxmax() == 0


# --- analysis 5 ---------------------------------------------------------------------------


def test_selection_equals_oracle_when_quality_best_is_delta_best():
    rows = []
    for i in range(6):
        for rank, gen in enumerate(GENERATORS):  # cvae best quality and best ΔAUC
            rows.append((f"D{i}", gen, 0.03 - 0.02 * rank + 0.001 * i, 0.1 + 0.2 * rank))
        rows.append((f"D{i}", "smote", 0.005, 0.3))
    selection = A.select_generators(small_pairs(rows))
    per_dataset = selection["datasets"]
    assert (per_dataset["selected_generator"] == "cvae").all()
    assert per_dataset["selected_is_oracle"].all()
    np.testing.assert_allclose(per_dataset["selected_delta"], per_dataset["oracle_delta"])
    # Random pick = mean over the three generators (hand: 0.03 - 0.02 + 0.001 i).
    np.testing.assert_allclose(per_dataset["random_delta"], 0.01 + 0.001 * np.arange(6))
    summary = selection["summary"].set_index("comparison")
    assert summary.loc["selected_minus_oracle", "mean"] == 0
    assert summary.loc["selected", "n_positive"] == 6
    # t-interval (scipy) over datasets.
    values = per_dataset["selected_delta"]
    half = stats.t.isf(0.025, 5) * values.std(ddof=1) / np.sqrt(6)
    assert summary.loc["selected", "ci_low"] == pytest.approx(values.mean() - half)
    assert summary.loc["smote", "mean"] == pytest.approx(0.005)


def test_selection_differs_from_oracle_when_quality_misleads():
    rows = [
        (f"D{i}", gen, (-0.02, 0.0, 0.02)[k], (0.1, 0.2, 0.3)[k]) for i in range(4) for k, gen in enumerate(GENERATORS)
    ]
    per_dataset = A.select_generators(small_pairs(rows))["datasets"]
    assert (per_dataset["selected_generator"] == "cvae").all()
    assert (per_dataset["oracle_generator"] == "wgan_gp").all()
    assert not per_dataset["selected_is_oracle"].any()


# --- analysis 6 ---------------------------------------------------------------------------


def test_smote_comparison_matches_scipy_wilcoxon():
    rng = np.random.default_rng(4)
    rows = [
        (f"D{i}", arm, rng.normal(0.01 if arm == "smote" else 0.0, 0.01), rng.uniform())
        for i in range(12)
        for arm in (*GENERATORS, "smote")
    ]
    pairs = small_pairs(rows)
    table = A.compare_smote(pairs).set_index("generator")
    wide = pairs.pivot(index="dataset", columns="arm", values="delta_auc")
    for gen in GENERATORS:
        d = wide["smote"] - wide[gen]
        expected = stats.wilcoxon(d)  # scipy
        assert table.loc[gen, "p_value"] == pytest.approx(expected.pvalue)
        assert table.loc[gen, "statistic"] == pytest.approx(expected.statistic)
        assert table.loc[gen, "median_difference"] == pytest.approx(np.median(d))
        assert table.loc[gen, "n"] == 12
    quality = A.locate_smote_quality(pairs).set_index("metric")
    gen_q = -pairs.loc[pairs["arm"] != "smote", "wasserstein"]
    smote_q = -pairs.loc[pairs["arm"] == "smote", "wasserstein"]
    expected = np.median([stats.percentileofscore(gen_q, s, kind="mean") for s in smote_q])
    assert quality.loc["wasserstein", "smote_percentile"] == pytest.approx(expected)
    assert quality.loc["wasserstein", "median_smote"] == pytest.approx(smote_q.median())


# --- analysis 7 ---------------------------------------------------------------------------


def test_within_between_slopes_match_numpy_lstsq():
    rng = np.random.default_rng(5)
    rows = [(f"D{i}", gen, rng.normal(), rng.uniform() + k) for i in range(10) for k, gen in enumerate(GENERATORS)]
    pairs = small_pairs(rows)
    table = A.decompose_within_between(pairs, ["wasserstein"], cov_type="nonrobust").iloc[0]
    q = -pairs["wasserstein"]
    z = (q - q.mean()) / q.std(ddof=1)
    between = z.groupby(pairs["arm"]).transform("mean")
    design = np.column_stack([np.ones(len(z)), between, z - between])
    coef, *_ = np.linalg.lstsq(design, pairs["delta_auc"], rcond=None)  # numpy
    assert table["between_slope"] == pytest.approx(coef[1])
    assert table["within_slope"] == pytest.approx(coef[2])
    clustered = A.decompose_within_between(pairs, ["wasserstein"], n_boot=100).iloc[0]
    assert clustered["within_slope"] == pytest.approx(coef[2])  # same point estimate
    assert clustered["cov_type"] == "cluster" and clustered["n_boot_used"] == 100
    # The bootstrap refit with every pair once reproduces lstsq; with counts 2, 0, 1, ... it
    # reproduces lstsq on the expanded table (standardisation and generator means recomputed).
    arm = pd.factorize(pairs["arm"])[0]
    ones = np.ones((1, len(pairs)))
    np.testing.assert_allclose(
        A._bootstrap_within_between(q.to_numpy(), pairs["delta_auc"].to_numpy(), arm, ones)[0], coef[1:]
    )
    counts = np.random.default_rng(0).integers(0, 3, len(pairs))
    qe, ye, ae = np.repeat(q, counts), np.repeat(pairs["delta_auc"], counts), np.repeat(pairs["arm"], counts)
    ze = (qe - qe.mean()) / qe.std(ddof=1)
    be = ze.groupby(ae.to_numpy()).transform("mean")
    coef_e, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(ze)), be, ze - be]), ye, rcond=None)
    np.testing.assert_allclose(
        A._bootstrap_within_between(q.to_numpy(), pairs["delta_auc"].to_numpy(), arm, counts[None, :].astype(float))[0],
        coef_e[1:],
    )


def test_decomposition_separates_between_from_within(between_results, within_results):
    b = between_results["within_between"].query("metric in @A.METRICS")
    assert (b["between_p"] < 0.05).all() and (b["between_ci_low"] > 0).all()
    assert ((b["within_ci_low"] < 0) & (b["within_ci_high"] > 0)).all()
    w = within_results["within_between"].query("metric in @A.METRICS")
    assert (w["within_p"] < 0.05).all() and (w["within_ci_low"] > 0).all()
    assert ((w["between_ci_low"] < 0) & (w["between_ci_high"] > 0)).all()


# --- analysis 8 ---------------------------------------------------------------------------


def test_chance_test_separates_signal_from_noise():
    rng = np.random.default_rng(6)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 8))
    X[:, 0] += 2.5 * y
    X[3, 2] = np.nan  # imputed inside the pipeline
    params = {"sensitivity": {"permutations": 39, "alpha": 0.05, "cv_folds": 3}, "features": {"k": 4}}
    signal = A.chance_test(X, y, params, seed=1)
    # With 39 permutations the smallest p is 1/40 = 0.025 (sklearn's (C + 1)/(n + 1)).
    assert signal["p_value"] == pytest.approx(1 / 40) and signal["significant"] and signal["auc"] > 0.9
    noise = A.chance_test(rng.normal(size=(60, 8)), y, params["sensitivity"], seed=1)
    assert not noise["significant"]
    table = A.assess_chance({"signal": (X, y)}, params, seed=1)
    assert table.loc[0, "dataset"] == "signal" and table.loc[0, "significant"]


def test_chance_test_reads_the_profile():
    from radlib.config import load_config

    config = load_config("smoke")
    rng = np.random.default_rng(8)
    y = np.repeat([0, 1], 20)
    result = A.chance_test(rng.normal(size=(40, 5)), y, config, seed=0)
    assert result["n_permutations"] == config["sensitivity"]["permutations"]
    assert result["cv_folds"] == config["sensitivity"]["cv_folds"]


# --- run_analyses and summarize -----------------------------------------------------------


def test_run_analyses_and_summarize(between_results):
    expected = {
        "pairs",
        "exclusions",
        "correlations",
        "roc",
        "meta_studies",
        "meta_generators",
        "meta_between",
        "selection",
        "selection_summary",
        "smote_delta",
        "smote_quality",
        "within_between",
    }
    assert set(between_results) == expected
    assert all(isinstance(v, pd.DataFrame) for v in between_results.values())
    summary = A.summarize(between_results)
    json.dumps(summary)  # plain scalars only
    assert summary["n_pairs"] == 120 and summary["n_generators"] == 3
    assert summary["tasks_undefined"] == 0 and summary["records_total"] == 480
    assert summary["n_pooled_significant"] == 5 and summary["n_within_significant"] == 0
    assert summary["n_selected_equals_oracle"] == summary["selection_n_datasets"] == 40


def test_run_analyses_on_a_subset_and_the_random_forest():
    records = make_records(*simulate_scenario("between", n_datasets=10))
    results = A.run_analyses(records, "rf", datasets=[f"D{i:02d}" for i in range(5)], n_boot=50)
    assert results["pairs"]["dataset"].nunique() == 5
    assert results["exclusions"].loc[0, "classifier"] == "rf" and results["exclusions"].loc[0, "subset"]
    # rf's ΔAUC is the negative of logreg's in this table: the pooled ρ flips sign.
    corr = results["correlations"].set_index(["group", "metric"])
    assert corr.loc[("pooled", "ks"), "rho"] < -0.7


def test_small_sample_spearman_uses_the_exact_permutation_p_value():
    """A perfect rank order of 4 pairs: exact two-sided p = 2/4! = 1/12 (hand count of the
    24 pairings, of which only the identity and the reversal reach |ρ| = 1); scipy's
    asymptotic t approximation would give p = 0."""
    from radlib.analysis import _spearman_p_value

    score, delta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.2, 0.3, 0.4])
    assert _spearman_p_value(score, delta, asymptotic_p=0.0) == pytest.approx(1 / 12)


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
