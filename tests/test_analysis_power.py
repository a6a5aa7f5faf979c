"""Tests of radlib.analysis.power: the Fisher-z closed form, the design's parameters and the simulation.

Expected values: Cohen's (1988) power table, Pearson's (1907) Spearman-Pearson relation for
the bivariate normal, the closed form against the simulation within binomial Monte-Carlo error,
and records built here with known variance components.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from synthetic_records import make_records

from radlib.analysis import power as P
from radlib.analysis.reliability import DELTA_AUC

GENERATORS = ("cvae", "tabddpm", "wgan_gp")


def test_fisher_z_power_matches_cohens_table():
    # Cohen (1988), Table 3.4.1: r = 0.30, two-sided alpha = 0.05, power 0.80 needs n = 85.
    assert P.fisher_z_power(0.30, 85, method="pearson") == pytest.approx(0.80, abs=0.01)
    # Written out: atanh(0.3) sqrt(82) / sqrt(1.06) - 1.96, plus the far tail.
    shift = np.arctanh(0.3) * np.sqrt(82) / np.sqrt(1.06)
    expected = stats.norm.cdf(shift - 1.959964) + stats.norm.cdf(-shift - 1.959964)
    assert P.fisher_z_power(0.30, 85) == pytest.approx(expected, rel=1e-6)
    assert P.fisher_z_power(-0.30, 85) == P.fisher_z_power(0.30, 85)
    assert P.fisher_z_power(0.30, 85) < P.fisher_z_power(0.30, 85, method="pearson")


def test_fisher_z_power_rejects_bad_input():
    with pytest.raises(ValueError, match="n >= 4"):
        P.fisher_z_power(0.3, 3)
    with pytest.raises(ValueError, match="strictly between"):
        P.fisher_z_power(1.0, 40)
    with pytest.raises(ValueError, match="method"):
        P.fisher_z_power(0.3, 40, method="kendall")


def test_spearman_pearson_relation_of_the_bivariate_normal():
    # Pearson (1907): rho_s = (6 / pi) asin(r / 2); checked on 200,000 draws (SE of rho_s about 0.002).
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200_000)
    y = 0.5 * x + np.sqrt(1 - 0.25) * rng.standard_normal(200_000)
    assert stats.spearmanr(x, y).statistic == pytest.approx(P.spearman_from_pearson(0.5), abs=0.008)
    assert P.pearson_from_spearman(P.spearman_from_pearson(0.37)) == pytest.approx(0.37)
    assert P.pearson_from_spearman(0.30) == pytest.approx(0.3129, abs=1e-4)


def test_correlated_scores_have_the_planted_correlation_and_dataset_share():
    rng = np.random.default_rng(1)
    x, y = P.correlated_scores(rng, 20_000, 3, 0.4, share_x=0.8, share_y=0.3)
    assert np.corrcoef(x.ravel(), y.ravel())[0, 1] == pytest.approx(0.4, abs=0.02)
    for g in range(3):
        assert np.corrcoef(x[:, g], y[:, g])[0, 1] == pytest.approx(0.4, abs=0.03)
    assert x.var() == pytest.approx(1, abs=0.03)
    # The share of the variance common to a dataset's generators: the covariance between two columns.
    assert np.cov(x[:, 0], x[:, 1])[0, 1] == pytest.approx(0.8, abs=0.03)
    assert np.cov(y[:, 0], y[:, 2])[0, 1] == pytest.approx(0.3, abs=0.03)
    with pytest.raises(ValueError, match="unreachable"):
        P.correlated_scores(rng, 10, 3, 0.9, share_x=1.0, share_y=0.0)
    with pytest.raises(ValueError, match="share_x"):
        P.correlated_scores(rng, 10, 3, 0.1, share_x=1.5)


def test_observe_attenuates_by_the_square_root_of_the_reliability():
    rng = np.random.default_rng(2)
    true = rng.standard_normal((50_000, 3))
    observed = P.observe(rng, true, reliability=0.36, error_share=0.5)
    assert np.corrcoef(true.ravel(), observed.ravel())[0, 1] == pytest.approx(0.6, abs=0.01)
    assert observed.var() == pytest.approx(1, abs=0.02)
    noise = observed - 0.6 * true
    assert np.cov(noise[:, 0], noise[:, 1])[0, 1] == pytest.approx(0.64 * 0.5, abs=0.02)


@pytest.mark.parametrize(
    ("rho", "reliability"),
    [(0.30, 1.0), (0.50, 0.6)],
)
def test_simulated_power_matches_the_fisher_z_closed_form(rho, reliability):
    # Independent bivariate normal pairs (no shared dataset parts, no shared noise): the closed
    # form applies to the unadjusted tests, within (43 pairs) and pooled (129 pairs), with the
    # attenuated Spearman rho. Tolerance: 3 binomial SEs, sqrt(p (1 - p) / trials), of the
    # closed-form p; at n = 43 the closed form is itself about 0.02 below scipy's t-based test.
    n_sim = 400
    noise = {"reliability": reliability}
    result = P.simulate_power(43, GENERATORS, rho, noise, noise, n_sim=n_sim, seed=5)
    expected_rho = P.spearman_from_pearson(P.pearson_from_spearman(rho) * reliability)
    assert result["rho_expected"] == pytest.approx(expected_rho)
    within = P.fisher_z_power(expected_rho, 43)
    pooled = P.fisher_z_power(expected_rho, 129)
    assert result["closed_form_within"] == pytest.approx(within)
    assert result["closed_form_pooled"] == pytest.approx(pooled)
    se_within = np.sqrt(within * (1 - within) / (n_sim * 3))
    se_pooled = np.sqrt(pooled * (1 - pooled) / n_sim)
    assert abs(result["power_within_unadjusted"] - within) < 3 * se_within
    assert abs(result["power_pooled_unadjusted"] - pooled) < 3 * max(se_pooled, 0.01)
    # BH over the family can only lower the rate of each test.
    assert result["power_within"] <= result["power_within_unadjusted"]
    assert result["power_pooled"] <= result["power_pooled_unadjusted"]


def test_simulated_false_positive_rate_is_alpha_without_an_effect():
    n_sim = 300
    result = P.simulate_power(43, GENERATORS, 0.0, n_sim=n_sim, seed=7)
    se = np.sqrt(0.05 * 0.95 / (n_sim * 3))
    assert abs(result["power_within_unadjusted"] - 0.05) < 3 * se
    assert result["closed_form_pooled"] == 0.05


def test_a_quantity_without_true_variance_gives_the_false_positive_rate():
    # ΔAUC of reliability 0 is pure noise: its dataset share (1 here) cannot block rho, and the
    # rejection rate is the level of the test (3 binomial SEs over 3 x 150 within-generator tests).
    result = P.simulate_power(
        43, GENERATORS, 0.3, {"dataset_share": 0.0}, {"reliability": 0.0, "dataset_share": 1.0}, n_sim=150, seed=2
    )
    assert result["rho_expected"] == 0.0
    assert abs(result["power_within_unadjusted"] - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 450)


def test_shared_dataset_parts_make_the_pooled_closed_form_inapplicable():
    shared = {"reliability": 1.0, "dataset_share": 0.9}
    result = P.simulate_power(20, GENERATORS, 0.3, shared, shared, n_sim=5, seed=0)
    assert np.isnan(result["closed_form_pooled"])
    assert np.isfinite(result["closed_form_within"])


def component_records(sd_pair=0.03, sd_repetition=0.02, sd_fold=0.04, shared=0.5, n_datasets=40, seed=0):
    """ΔAUC records with known components: pair values (all dataset-level), repetition and fold noise.

    A share ``shared`` of each noise variance is common to the arms of one evaluation (repetition).
    """
    rng = np.random.default_rng(seed)
    n_reps, n_folds = 6, 4
    rows = []
    for d in range(n_datasets):
        pair = rng.normal(0, sd_pair)  # the same true value for all generators of a dataset
        for r in range(n_reps):
            common_rep = rng.normal(0, sd_repetition * np.sqrt(shared))
            own_rep = {g: rng.normal(0, sd_repetition * np.sqrt(1 - shared)) for g in GENERATORS}
            for f in range(n_folds):
                common_fold = rng.normal(0, sd_fold * np.sqrt(shared))
                base = {"dataset": f"D{d:02d}", "repetition": r, "fold": f, "status": "ok", "undefined": False}
                rows.append({**base, "arm": "real", "auc_logreg": 0.7, "delta_auc_logreg": 0.0})
                for g in GENERATORS:
                    delta = pair + common_rep + own_rep[g] + common_fold + rng.normal(0, sd_fold * np.sqrt(1 - shared))
                    rows.append({**base, "arm": g, "auc_logreg": 0.7 + delta, "delta_auc_logreg": delta})
    return pd.DataFrame(rows)


def test_design_parameters_recover_known_components():
    records = component_records()
    p = P.design_parameters(records, DELTA_AUC, "logreg")
    assert p["generators"] == GENERATORS and p["n_datasets"] == 40
    assert (p["n_repetitions"], p["n_folds"]) == pytest.approx((6, 4))
    # Known: sigma2_fold 0.0016, sigma2_repetition 0.0004, sigma2_pair 0.0009 (entirely shared by a
    # dataset's pairs), half of the noise common to the arms of an evaluation. Tolerances are about
    # 3 large-sample SEs of each ANOVA estimate at this size.
    assert p["sigma2_fold"] == pytest.approx(0.0016, rel=0.08)
    assert p["sigma2_repetition"] == pytest.approx(0.0004, abs=0.00015)
    assert p["sigma2_pair"] == pytest.approx(0.0009, rel=0.45)
    assert p["error_share"] == pytest.approx(0.5, abs=0.08)
    assert p["dataset_share"] > 0.8
    true, error = P.pair_mean_variances(p)
    assert error == pytest.approx(p["sigma2_repetition"] / 6 + p["sigma2_fold"] / 24)
    assert p["reliability"] == pytest.approx(true / (true + error))


def test_design_parameters_without_shared_parts():
    records = component_records(shared=0.0, seed=3)
    # Make the pair values independent across generators: shuffle ΔAUC pair offsets per generator.
    rng = np.random.default_rng(4)
    offsets = {(d, g): rng.normal(0, 0.05) for d in records["dataset"].unique() for g in GENERATORS}
    generator_rows = records["arm"] != "real"
    records.loc[generator_rows, "delta_auc_logreg"] += [
        offsets[(d, g)] for d, g in records.loc[generator_rows, ["dataset", "arm"]].itertuples(index=False)
    ]
    p = P.design_parameters(records, DELTA_AUC, "logreg")
    assert p["error_share"] < 0.08
    assert 0.1 < p["dataset_share"] < 0.6  # 0.03^2 / (0.03^2 + 0.05^2) = 0.26


def test_power_table_rows_and_seeds():
    records = make_records(n_datasets=10, n_reps=3)
    table = P.power_table(records, classifiers=["logreg"], metrics=["ks", "composite"], n_sim=4, seed=1)
    assert len(table) == 2 * len(P.EFFECT_SCALES)
    assert list(table["effect_on"].unique()) == list(P.EFFECT_SCALES)
    assert (table["n_datasets"] == 10).all() and (table["n_generators"] == 3).all()
    assert (table.loc[table["effect_on"] == "pair means", "reliability_quality"] == 1.0).all()
    # Every simulation has its own seed: the same table again, also from two processes.
    again = P.power_table(records, classifiers=["logreg"], metrics=["ks", "composite"], n_sim=4, seed=1, n_jobs=2)
    pd.testing.assert_frame_equal(table, again)
    larger = P.power_table(records, classifiers=["logreg"], metrics=["ks"], n_sim=2, n_datasets=50)
    assert (larger["n_datasets"] == 50).all()


def test_power_table_notes_an_unreachable_correlation(monkeypatch):
    # A quality score that varies only within datasets cannot correlate with a ΔAUC that varies
    # only between datasets: the row says so instead of simulating.
    records = make_records(n_datasets=10, n_reps=3)
    measured = P.design_parameters

    def separated(records, quantity, classifier="logreg", arms=None):
        found = measured(records, quantity, classifier, arms)
        return {**found, "reliability": 0.5, "dataset_share": 1.0 if quantity == DELTA_AUC else 0.0}

    monkeypatch.setattr(P, "design_parameters", separated)
    table = P.power_table(records, classifiers=["logreg"], metrics=["ks"], n_sim=3, seed=0).set_index("effect_on")
    assert "unreachable" in table.at["true values", "note"]
    assert np.isnan(table.at["true values", "power_pooled"])
    assert np.isfinite(table.at["true values", "size_pooled"])  # the size needs no reachable rho
    assert table.at["pair means", "note"] == "" and np.isfinite(table.at["pair means", "power_pooled"])


def _with_shares(monkeypatch, share):
    """design_parameters with reliability 1, no shared noise and dataset share ``share`` for every quantity."""
    measured = P.design_parameters

    def shared(records, quantity, classifier="logreg", arms=None):
        found = measured(records, quantity, classifier, arms)
        fixed = {"reliability": 1.0, "error_share": 0.0, "dataset_share": share, "dataset_share_observed": share}
        return {**found, **fixed}

    monkeypatch.setattr(P, "design_parameters", shared)


def test_power_table_gives_the_size_of_each_test_next_to_its_power(monkeypatch):
    # Without shared dataset parts the pairs are independent and every test keeps its level: the
    # unadjusted rejection rate at rho = 0 lies within 3 binomial SEs, sqrt(alpha (1 - alpha) / trials),
    # of alpha (trials: n_sim pooled tests, 3 n_sim within-generator tests).
    _with_shares(monkeypatch, 0.0)
    n_sim = 400
    records = make_records(n_datasets=10, n_reps=3)
    table = P.power_table(records, ["logreg"], ["ks"], n_sim=n_sim, seed=3, n_datasets=43)
    assert len(table) == len(P.EFFECT_SCALES)
    for row in table.itertuples():
        assert abs(row.size_pooled_unadjusted - 0.05) < 3 * np.sqrt(0.05 * 0.95 / n_sim)
        assert abs(row.size_within_unadjusted - 0.05) < 3 * np.sqrt(0.05 * 0.95 / (3 * n_sim))
        assert row.size_pooled <= row.size_pooled_unadjusted and row.size_within <= row.size_within_unadjusted
        assert row.size_pooled_se == pytest.approx(np.sqrt(row.size_pooled * (1 - row.size_pooled) / n_sim))
        assert row.bh_family.startswith("BH over the score's 4 tests") and "over 24 = 6 scores" in row.bh_family
        assert row.power_pooled > row.size_pooled  # rho = 0.30 is an effect


def test_the_pooled_test_is_too_liberal_when_a_dataset_shares_its_pairs(monkeypatch):
    # Dataset share 0.9 of both quantities, 3 generators: the pooled test's variance grows by the design
    # effect 1 + (3 - 1) 0.9 * 0.9 = 2.62, so at rho = 0 it rejects at about 2 Phi(-1.96 / sqrt(2.62))
    # = 0.226 (20,000 direct simulations of scipy's spearmanr on such pairs: 0.227), not 0.05. The
    # within-generator tests (one pair per dataset) keep their level. Tolerances: 3 binomial SEs.
    _with_shares(monkeypatch, 0.9)
    n_sim = 400
    records = make_records(n_datasets=10, n_reps=3)
    table = P.power_table(records, ["logreg"], ["ks"], n_sim=n_sim, seed=3, n_datasets=43)
    design_effect_size = 2 * stats.norm.sf(stats.norm.isf(0.025) / np.sqrt(1 + 2 * 0.81))
    for row in table.itertuples():
        assert row.size_pooled_unadjusted > 0.05 + 3 * np.sqrt(0.05 * 0.95 / n_sim)
        se = np.sqrt(design_effect_size * (1 - design_effect_size) / n_sim)
        assert abs(row.size_pooled_unadjusted - design_effect_size) < 3 * se
        assert row.size_pooled > 0.05
        assert abs(row.size_within_unadjusted - 0.05) < 3 * np.sqrt(0.05 * 0.95 / (3 * n_sim))
