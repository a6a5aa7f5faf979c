"""Tests of radlib.analysis.scores: the orientation of every quality score and the composite.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_records import SCENARIO_GENERATORS as GENERATORS
from synthetic_records import small_pairs

from radlib import analysis as A
from radlib import quality


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
    # A pair at the ideal of every metric (0 for the distances, 0.5 for the detection AUC; all the
    # others lie above 0 or away from 0.5) is the closest to the real data: the highest composite.
    pairs.loc[0, list(A.METRICS)] = [0.0, 0.0, 0.0, 0.0, 0.5]
    assert A.score_composite(pairs).idxmax() == 0


def test_every_score_is_higher_closer_to_the_ideal(monkeypatch):
    monkeypatch.setattr(quality, "USER_METRICS", {})
    quality.register_metric("sd_ratio", lambda real, synth: 1.0, ideal=1.0, orientation="closer")
    pairs = pd.DataFrame(
        {"wasserstein": [0.0, 0.2, 0.5], "detection_auc": [0.5, 0.4, 0.7], "sd_ratio": [1.0, 0.8, 1.3], "ks": [0.1] * 3}
    )
    # Hand: -x for a distance, -|x - 0.5| for the detection AUC, -|x - ideal| for a user metric.
    np.testing.assert_allclose(A.orient_quality(pairs, "wasserstein"), [0.0, -0.2, -0.5])
    np.testing.assert_allclose(A.orient_quality(pairs, "detection_auc"), [0.0, -0.1, -0.2])
    np.testing.assert_allclose(A.orient_quality(pairs, "sd_ratio"), [0.0, -0.2, -0.3])
    with pytest.raises(ValueError, match="unknown metric 'nope'.*or 'composite'"):
        A.orient_quality(pairs, "nope")
