"""Tests of radlib.audit.summaries: per-arm means with t-intervals, and rank agreement, against hand calculations and scipy."""

import numpy as np
import pandas as pd
import pytest
from audit_tables import HAND_DELTA, hand_records
from scipy import stats

from radlib import audit as A
from radlib import quality


def test_site_folds_count_once_per_repetition():
    """2 repetitions x 3 site-folds: the interval and the "up" count are over the repetitions' means."""
    records = hand_records()
    records = records[records["repetition"] < 2].loc[lambda r: r.index.repeat(3)].reset_index(drop=True)
    records["fold"] = records.groupby(["repetition", "arm"]).cumcount()
    g1 = records["arm"] == "g1"
    # Folds of g1: repetition 0 mean (0.03 - 0.01 - 0.01) / 3 > 0, repetition 1 (0.02 + 0.02 - 0.05) / 3 < 0:
    # 3 of 6 evaluations up but 1 of 2 repetitions.
    records.loc[g1, "delta_auc_logreg"] = [0.03, -0.01, -0.01, 0.02, 0.02, -0.05]
    arms = A.summarize_arms(records).set_index("arm")
    assert arms.loc["g1", "n_valid"] == 6 and arms.loc["g1", "n_repetitions"] == 2
    assert arms.loc["g1", "n_improved"] == 1
    means = np.array([0.01 / 3, -0.01 / 3])  # by hand; t-interval with 1 degree of freedom (scipy)
    low, high = stats.t.interval(0.95, 1, loc=means.mean(), scale=means.std(ddof=1) / np.sqrt(2))
    assert arms.loc["g1", "delta_auc_ci_low"] == pytest.approx(low)
    assert arms.loc["g1", "delta_auc_ci_high"] == pytest.approx(high)


def test_summaries_and_rank_agreement_match_a_hand_calculation():
    """Three generators with known quality and ΔAUC over 3 repetitions (audit_tables.hand_records)."""
    records = hand_records()
    arms = A.summarize_arms(records).set_index("arm")
    # g1: mean 0.04, sd 0.01, n 3 -> half-width t(0.975, 2) * 0.01 / sqrt(3) = 4.303 * 0.005774 = 0.02484
    assert arms.loc["g1", "delta_auc"] == pytest.approx(0.04)
    assert arms.loc["g1", "delta_auc_ci_low"] == pytest.approx(0.04 - 0.024841, abs=1e-5)
    assert arms.loc["g1", "decision"] == "improved" and arms.loc["g3", "decision"] == "worsened"
    assert arms.loc["g2", "decision"] == "no clear change" and arms.loc["g1", "n_improved"] == 3
    ranks = A.rank_agreement(arms.reset_index()).set_index("metric")
    # quality order g2 > g3 > g1 (lower distance first), ΔAUC order g1 > g2 > g3:
    # ranks (quality, ΔAUC): g1 (1, 3), g2 (3, 2), g3 (2, 1) -> ρ = 1 - 6·(4 + 1 + 1) / (3·8) = -0.5
    assert ranks.loc["wasserstein", "rho"] == pytest.approx(-0.5)
    assert ranks.loc["composite", "best_by_quality"] == "g2" and ranks.loc["composite", "best_by_delta"] == "g1"
    assert not ranks["same_best"].any()
    assert ranks.loc["wasserstein", "quality_order"] == "g2 > g3 > g1"
    assert ranks.loc["wasserstein", "delta_order"] == "g1 > g2 > g3"


def test_quantities_are_t_intervals_over_the_valid_repetitions():
    records = hand_records()
    records.loc[(records["arm"] == "g3") & (records["repetition"] == 2), "status"] = "failed"
    table = A.summarize_quantities(records).set_index(["arm", "quantity"])
    values = np.array(HAND_DELTA["g1"])
    low, high = stats.t.interval(0.95, 2, loc=values.mean(), scale=stats.sem(values))  # scipy
    row = table.loc[("g1", "delta_auc")]
    assert (row["n"], row["mean"], row["n_positive"]) == (3, pytest.approx(0.04), 3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert table.loc[("g3", "delta_auc"), "n"] == 2  # the failed repetition does not count
    assert table.loc[("g1", "auc_real"), "mean"] == pytest.approx(0.7)
    assert set(table.index.get_level_values("arm")) == {"g1", "g2", "g3"}  # real-only left out


def test_interval_decision():
    assert A.interval_decision(0.01, 0.03) == "improved"
    assert A.interval_decision(-0.03, -0.01) == "worsened"
    assert A.interval_decision(-0.01, 0.01) == "no clear change"
    assert A.interval_decision(np.nan, np.nan).startswith("no CI")


def test_rank_agreement_orients_a_user_metric_by_its_ideal(monkeypatch):
    monkeypatch.setattr(quality, "USER_METRICS", {})
    quality.register_metric("sd_ratio", lambda real, synth: 1.0, ideal=1.0, orientation="closer")
    arms = A.summarize_arms(hand_records())
    arms["sd_ratio"] = arms["arm"].map({"g1": 1.05, "g2": 0.7, "g3": 1.2})  # distances 0.05, 0.3, 0.2
    ranks = A.rank_agreement(arms).set_index("metric")
    # Quality order g1 > g3 > g2 equals the ΔAUC order's best (g1); ranks (quality, ΔAUC):
    # g1 (1, 1), g2 (3, 2), g3 (2, 3) -> ρ = 1 - 6·(0 + 1 + 1) / (3·8) = 0.5 (hand).
    assert ranks.loc["sd_ratio", "quality_order"] == "g1 > g3 > g2"
    assert ranks.loc["sd_ratio", "rho"] == pytest.approx(0.5) and ranks.loc["sd_ratio", "same_best"]


def test_the_best_arm_of_each_repetition_leaves_out_snapshots_and_breaks_ties_by_name():
    records = hand_records()
    snapshot = records[records["arm"] == "g3"].assign(arm="g3@0.25", delta_auc_logreg=0.5)  # would win every time
    records = pd.concat([records, snapshot], ignore_index=True)
    records.loc[(records["repetition"] == 1) & (records["arm"] == "g2"), "delta_auc_logreg"] = 0.05  # ties g1 in r1
    best = A.best_arm_by_repetition(records, "logreg", "T")
    assert best.to_dict() == {0: "g1", 1: "g1", 2: "g1"}
    records.loc[(records["repetition"] == 2) & (records["arm"] == "g3"), "delta_auc_logreg"] = 0.2
    assert A.best_arm_by_repetition(records, "logreg", "T").to_dict() == {0: "g1", 1: "g1", 2: "g3"}
    assert A.best_arm_by_repetition(records, "logreg", "other table").empty
