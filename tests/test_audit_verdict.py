"""Tests of radlib.audit.verdict: the plain-language verdict of one table, its numbers formatted the one way."""

import numpy as np
import pytest
from audit_tables import hand_records
from scipy import stats

from radlib import audit as A
from radlib.config import load_config
from radlib.data import Dataset


@pytest.fixture(scope="module")
def verdict():
    arms = A.summarize_arms(hand_records())
    dataset = Dataset("T", np.zeros((40, 3)), np.arange(40) % 2, ["a", "b", "c"])
    config = load_config("smoke").with_overrides({"repetitions": 3})
    return A.render_verdict(arms, A.rank_agreement(arms), dataset, config)


def test_verdict_gives_each_arm_its_mean_interval_and_call(verdict):
    half = stats.t.isf(0.025, 2) * 0.01 / np.sqrt(3)  # scipy: every arm has SD 0.01 over 3 repetitions
    assert f"{0.04 - half:+.3f}, {0.04 + half:+.3f}" == "+0.015, +0.065"  # the rounding shown below
    assert "Verdict for T (40 patients, 3 features; profile smoke, 3 repetitions" in verdict
    assert "Logistic regression: real-only external AUC 0.700." in verdict
    assert "  g1  ΔAUC +0.040 [+0.015, +0.065]  improved (3 of 3 repetitions up)" in verdict
    assert "  g2  ΔAUC +0.000 [-0.025, +0.025]  no clear change (1 of 3 repetitions up)" in verdict
    assert "  g3  ΔAUC -0.030 [-0.055, -0.005]  worsened (0 of 3 repetitions up)" in verdict
    assert "  Improved the external AUC: g1 by +0.040 [+0.015, +0.065]." in verdict
    assert "With 3 repetitions the intervals are wide" in verdict


def test_verdict_says_whether_quality_ranked_the_generators(verdict):
    # Composite order g2 > g3 > g1 against ΔAUC order g1 > g2 > g3: ρ = -0.5 (hand, test_audit_summaries).
    assert "Best composite quality: g2, not the best-ΔAUC generator (g1)" in verdict
    assert "over the 3 generators = -0.50: a partly different order" in verdict
    assert "quality order: g2 > g3 > g1;  ΔAUC order: g1 > g2 > g3." in verdict
    assert "0 of 5 single metrics ranked the best-ΔAUC generator first (none)." in verdict
