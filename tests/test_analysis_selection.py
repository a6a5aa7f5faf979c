"""Tests of radlib.analysis.selection: analyses 5 (quality-guided selection) and 6 (SMOTE).

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from synthetic_records import SCENARIO_GENERATORS as GENERATORS
from synthetic_records import small_pairs

from radlib import analysis as A


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
