"""Tests of radlib.analysis.run: every analysis at once, and the key numbers.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import json

import pandas as pd
from synthetic_records import records_from_pairs, scenario_results, simulate_scenario

from radlib import analysis as A


def test_run_analyses_and_summarize():
    between_results = scenario_results("between")
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
    assert summary["evaluations_undefined"] == 0 and summary["records_total"] == 480
    assert summary["n_pooled_significant"] == 5 and summary["n_within_significant"] == 0
    assert summary["n_selected_equals_oracle"] == summary["selection_n_datasets"] == 40


def test_run_analyses_on_a_subset_and_the_random_forest():
    records = records_from_pairs(*simulate_scenario("between", n_datasets=10))
    results = A.run_analyses(records, "rf", datasets=[f"D{i:02d}" for i in range(5)], n_boot=50)
    assert results["pairs"]["dataset"].nunique() == 5
    assert results["exclusions"].loc[0, "classifier"] == "rf" and results["exclusions"].loc[0, "subset"]
    # rf's ΔAUC is the negative of logreg's in this table: the pooled ρ flips sign.
    corr = results["correlations"].set_index(["group", "metric"])
    assert corr.loc[("pooled", "ks"), "rho"] < -0.7
