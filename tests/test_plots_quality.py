"""Tests of the figure of notebook 03 (radlib.plots.quality): the sanity ladder."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from radlib import plots as P  # noqa: E402

LADDER = pd.DataFrame(
    {"wasserstein": [0.0, 0.05, 0.05, 1.2], "mmd2": [0.0, 0.01, 0.3, 0.9], "detection_auc": [0.5, 0.52, 0.8, 1.0]},
    index=["copy", "small_noise", "shuffled", "noise"],
)


def test_sanity_ladder_draws_each_metric_over_the_rungs_in_order():
    fig = P.plot_sanity_ladder(LADDER)
    assert [ax.get_title() for ax in fig.axes] == list(LADDER.columns)
    for ax, metric in zip(fig.axes, LADDER.columns):
        line = ax.get_lines()[0]
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(LADDER)))
        np.testing.assert_allclose(line.get_ydata(), LADDER[metric])
        assert [t.get_text() for t in ax.get_xticklabels()] == list(LADDER.index)
    # the detection AUC's ideal, 0.5, is marked in its panel only
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1, 2]
    assert list(fig.axes[2].get_lines()[1].get_ydata()) == [0.5, 0.5]
    plt.close(fig)
