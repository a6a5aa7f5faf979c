"""Tests of radlib.analysis.floor: the sampling floor next to each metric, size dependence, partial Spearman.

Expected values come from independent computations named in each test: the closed-form
first-order partial correlation of Spearman ρ's (scipy), statsmodels OLS on ranks (residuals and
the t-test of a coefficient), pandas group means, and the records of tests/ladder_records.py,
whose floors and sample sizes are set by construction. The check of issue 11's observation runs
on the committed full run (results/full/records.parquet) and its committed table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from ladder_records import make_ladder_records
from scipy import stats

from radlib import analysis as A
from radlib.analysis import floor as F
from radlib.records import COMPOSITE

ROOT = Path(__file__).resolve().parents[1]
FULL_RESULTS = ROOT / "results" / "full"


@pytest.fixture(scope="module")
def records():
    return make_ladder_records("within", n_datasets=16, pair_sd=0.05, effect=0.5, dataset_delta_sd=0.002)


@pytest.fixture(scope="module")
def pairs(records):
    return A.pair_table(records, "logreg")


# --- the floor ------------------------------------------------------------------------------


def test_floor_table_puts_each_metric_next_to_its_floor(records, pairs):
    table = F.floor_table(pairs)
    assert len(table) == len(pairs)
    row = table[(table["dataset"] == "D05") & (table["arm"] == "cvae")].iloc[0]
    valid = records[(records["dataset"] == "D05") & (records["arm"] == "cvae")]
    # pair means over the records (pandas), then distance from the ideal by hand
    assert row["floor_ks"] == pytest.approx(valid["floor_ks"].mean())
    assert row["ks_minus_floor"] == pytest.approx(valid["ks"].mean() - valid["floor_ks"].mean())
    assert row["wasserstein_over_floor"] == pytest.approx(
        valid["wasserstein"].mean() / valid["floor_wasserstein"].mean()
    )
    detection, floor = valid["detection_auc"].mean(), valid["floor_detection_auc"].mean()
    assert row["detection_auc_minus_floor"] == pytest.approx(abs(detection - 0.5) - abs(floor - 0.5))
    assert row["n_internal"] == 40 * 2 ** (5 % 4)


def test_floor_table_names_what_version_one_records_lack(pairs):
    with pytest.raises(ValueError, match="floor_wasserstein"):
        F.floor_table(pairs.drop(columns="floor_wasserstein"))


def test_size_dependence_sees_the_planted_floor(pairs):
    # the floors are 1/sqrt(n_internal) + small noise: perfectly decreasing in n across datasets
    table = F.size_dependence(A.generator_pairs(pairs)).set_index("quantity")
    assert table.loc["floor_wasserstein", "rho"] < -0.9
    assert table.loc["wasserstein", "n_datasets"] == 16
    means = A.generator_pairs(pairs).groupby("dataset")[["ks", "n_internal"]].mean()
    assert table.loc["ks", "rho"] == pytest.approx(stats.spearmanr(means["ks"], means["n_internal"]).statistic)


@pytest.mark.skipif(not (FULL_RESULTS / "records.parquet").exists(), reason="the committed full records are absent")
def test_committed_full_run_metrics_follow_the_internal_sample_size():
    """Issue 11's observation (v1: per dataset |ρ| 0.86-0.93) on the committed full run, and its table.

    The expected table is the committed ladder_logreg_size_dependence.csv that notebook 06 wrote.
    """
    records = pd.read_parquet(FULL_RESULTS / "records.parquet")
    table = F.size_dependence(A.generator_pairs(A.pair_table(records, "logreg"))).set_index("quantity")
    for metric in ("wasserstein", "ks", "mmd2"):
        assert -0.95 < table.loc[metric, "rho"] < -0.8
        assert table.loc[f"floor_{metric}", "rho"] < -0.95
    assert table.loc["wasserstein", "n_datasets"] == 43
    committed = pd.read_csv(FULL_RESULTS / "ladder_logreg_size_dependence.csv").set_index("quantity")
    pd.testing.assert_series_equal(table["rho"], committed["rho"], check_exact=False, rtol=1e-9)


# --- partial Spearman -----------------------------------------------------------------------


def _sample(n=60, seed=0):
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.exponential(size=n)
    x = z1 + 0.5 * z2 + rng.normal(size=n)
    y = 0.8 * z1 - z2**2 + 0.3 * x + rng.normal(size=n)
    return x, y, np.column_stack([z1, z2])


def test_partial_spearman_with_one_covariate_is_the_closed_form_on_spearman_rhos():
    x, y, z = _sample()
    r_xy = stats.spearmanr(x, y).statistic
    r_xz = stats.spearmanr(x, z[:, 0]).statistic
    r_yz = stats.spearmanr(y, z[:, 0]).statistic
    expected = (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))
    result = F.partial_spearman(x, y, z[:, 0])
    assert result["rho"] == pytest.approx(expected)
    assert result["df"] == len(x) - 3


def test_partial_spearman_matches_statsmodels_ols_on_ranks():
    x, y, z = _sample(seed=1)
    ranks = np.column_stack([stats.rankdata(c) for c in z.T])
    design = sm.add_constant(ranks)
    rx = sm.OLS(stats.rankdata(x), design).fit().resid
    ry = sm.OLS(stats.rankdata(y), design).fit().resid
    result = F.partial_spearman(x, y, z)
    assert result["rho"] == pytest.approx(stats.pearsonr(rx, ry).statistic)
    # the p-value is the t-test of x's rank in the OLS of y's rank on x's rank and the covariates' ranks
    full = sm.OLS(stats.rankdata(y), sm.add_constant(np.column_stack([stats.rankdata(x), ranks]))).fit()
    assert result["p_value"] == pytest.approx(full.pvalues[1])


def test_partial_spearman_handles_ties_with_average_ranks():
    x = np.array([1, 1, 2, 3, 3, 3, 4, 5, 6, 6], float)
    y = np.array([2, 1, 2, 4, 3, 5, 5, 4, 7, 6], float)
    z = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], float)
    rx = stats.rankdata(x) - np.poly1d(np.polyfit(stats.rankdata(z), stats.rankdata(x), 1))(stats.rankdata(z))
    ry = stats.rankdata(y) - np.poly1d(np.polyfit(stats.rankdata(z), stats.rankdata(y), 1))(stats.rankdata(z))
    assert F.partial_spearman(x, y, z)["rho"] == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_partial_spearman_without_degrees_of_freedom_or_with_bad_input():
    result = F.partial_spearman([1, 2, 3], [3, 1, 2], [[1, 2], [2, 1], [3, 3]])
    assert np.isnan(result["rho"]) and result["df"] == -1
    with pytest.raises(ValueError, match="differ in length"):
        F.partial_spearman([1, 2, 3], [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        F.partial_spearman([1, np.nan, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4])


# --- size-adjusted association ----------------------------------------------------------------


def test_adjusted_correlations_raw_rho_is_analysis_one(pairs):
    table = F.adjusted_correlations(pairs)
    reference = A.correlate_quality(pairs, n_boot=0)
    merged = table.merge(reference, on=["group", "metric"], suffixes=("", "_study"))
    assert len(merged) == len(reference) == 4 * 6  # pooled and 3 generators x 5 metrics and composite
    assert np.allclose(merged["rho"], merged["rho_study"])
    assert np.allclose(merged["p_value"], merged["p_value_study"])


def test_adjusted_correlations_partial_rho_uses_log_n_and_real_auc(pairs):
    table = F.adjusted_correlations(pairs).set_index(["group", "metric"])
    gen = A.with_composite(A.generator_pairs(pairs))
    covariates = np.column_stack([np.log(gen["n_internal"]), gen["auc_real"]])
    expected = F.partial_spearman(A.orient_quality(gen, COMPOSITE), gen["delta_auc"], covariates)
    assert table.loc[("pooled", COMPOSITE), "partial_rho"] == pytest.approx(expected["rho"])
    # the planted within-pair association survives the adjustment
    assert table.loc[("pooled", COMPOSITE), "partial_rho"] > 0.3
    assert table.loc[("pooled", COMPOSITE), "partial_significant"]


def test_adjusted_correlations_flag_a_changed_conclusion():
    # ΔAUC follows the dataset's size, and so does quality: the raw ρ is an artefact of size
    rng = np.random.default_rng(3)
    n_internal = np.repeat(np.geomspace(40, 800, 30), 3)
    rows = pd.DataFrame(
        {
            "dataset": np.repeat([f"D{i:02d}" for i in range(30)], 3),
            "arm": np.tile(["cvae", "tabddpm", "wgan_gp"], 30),
            "n_internal": n_internal,
            "auc_real": 0.7 + rng.normal(0, 0.01, 90),
            "delta_auc": 0.01 * np.log(n_internal) + rng.normal(0, 0.002, 90),
        }
    )
    distance = 1 / np.sqrt(n_internal) + rng.normal(0, 0.001, 90)
    for metric in A.METRICS:
        rows[metric] = distance + (0.5 if metric == "detection_auc" else 0.0)
    table = F.adjusted_correlations(rows, metrics=["wasserstein"]).set_index("group")
    assert table.loc["pooled", "significant"] and not table.loc["pooled", "partial_significant"]
    assert table.loc["pooled", "conclusion_changes"]


def test_adjusted_correlations_need_the_covariates(pairs):
    with pytest.raises(ValueError, match="n_internal"):
        F.adjusted_correlations(pairs.drop(columns="n_internal"))
