"""Tests of radlib.analysis.meta: analysis 3, the random-effects meta-analysis per generator.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from synthetic_records import SCENARIO_GENERATORS as GENERATORS
from synthetic_records import records_from_pairs, simulate_scenario

from radlib import analysis as A


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
    records = records_from_pairs(quality, delta, n_reps=3)
    # D00/cvae keeps one valid repetition; D01/cvae has identical ΔAUC in every repetition.
    drop = (records["dataset"] == "D00") & (records["arm"] == "cvae") & (records["repetition"] > 0)
    records.loc[drop, "status"] = "failed"
    same = (records["dataset"] == "D01") & (records["arm"] == "cvae")
    records.loc[same, "delta_auc_logreg"] = 0.05
    meta = A.meta_analyze_generators(A.pair_table(records, "logreg"))
    studies = meta["studies"].set_index(["generator", "dataset"])
    assert not studies.loc[("cvae", "D00"), "included"]
    assert "fewer than 2 repetitions" in studies.loc[("cvae", "D00"), "note"]
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
