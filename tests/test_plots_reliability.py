"""Tests of the figures of notebook 07 (radlib.plots.reliability): panels, and values drawn as computed.

The tables come from radlib.analysis.reliability, .power and .positive_control on the small
synthetic records of tests/synthetic_records.py (10 datasets: more than 8 pairs per group keeps
the exact Spearman permutation p-value out of the fixtures), with few resamples.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from synthetic_records import make_records

from radlib.analysis import positive_control as C
from radlib.analysis import power as W
from radlib.analysis import reliability as R
from radlib.plots import reliability as P
from radlib.records import POOLED


@pytest.fixture(scope="module")
def records():
    return make_records(n_datasets=10, n_reps=3)


def test_plot_reliability_draws_every_quantity_and_group(records):
    table = R.reliability_table(records, n_boot=30, seed=0)
    fig = P.plot_reliability(table)
    ax = fig.axes[0]
    # Rows: ΔAUC of both classifiers, then the six quality scores.
    assert len(ax.get_yticks()) == 2 + 6
    pooled = next(c for c in ax.collections if c.get_gid() == POOLED)
    expected = table[
        (table["group"] == POOLED) & ((table["quantity"] == "delta_auc") | (table["classifier"] == "logreg"))
    ]
    assert np.allclose(np.sort(pooled.get_offsets()[:, 0]), np.sort(expected["reliability"].to_numpy()))
    plt.close(fig)


def test_plot_reliability_draws_very_negative_estimates_at_the_axis_end(records):
    table = R.reliability_table(records, classifiers=["logreg"], metrics=["ks"], n_boot=0)
    table.loc[table["group"] == "cvae", "reliability"] = -5.0
    fig = P.plot_reliability(table)
    ax = fig.axes[0]
    below = next(c for c in ax.collections if c.get_gid() == "cvae:below")
    assert np.allclose(below.get_offsets()[:, 0], P.RELIABILITY_AXIS_MIN)
    assert len(below.get_offsets()) == 2  # ΔAUC and ks
    assert ax.get_xlim()[0] < P.RELIABILITY_AXIS_MIN and "below" in ax.get_xlabel()
    plt.close(fig)


def test_plot_power_has_a_panel_per_classifier_and_scale(records):
    table = W.power_table(records, metrics=["ks", "composite"], n_sim=3, seed=0)
    fig = P.plot_power(table)
    assert len(fig.axes) == 2 * len(W.EFFECT_SCALES)
    first = fig.axes[0]
    part = table[(table["classifier"] == "logreg") & (table["effect_on"] == W.EFFECT_SCALES[0])]
    crosses = first.collections[-1].get_offsets()[:, 0]
    assert np.allclose(crosses, part["closed_form_within"].to_numpy())
    plt.close(fig)


def test_plot_recovery_draws_each_rate(records):
    parameters = C.control_parameters(records, "logreg")
    table = C.recovery_table(
        parameters, ("between_only", "null"), n_replicates=2, n_datasets=10, n_repetitions=2, n_folds=1, n_boot=20
    )
    summary = C.summarize_recovery(table)
    fig = P.plot_recovery(summary, metric="composite")
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    assert len(heights) == 2 * len(P.RECOVERY_CRITERIA)
    # Bars are drawn criterion by criterion, one per structure: the first two are the pooled test's.
    assert np.allclose(heights[:2], np.nan_to_num(summary["pooled_significant"].to_numpy(float)))
    plt.close(fig)
