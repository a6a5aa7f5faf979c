"""Tests of the figure of notebook 01 (radlib.plots.data): the dataset overview."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from radlib import plots as P  # noqa: E402

OVERVIEW = pd.DataFrame(
    {
        "dataset": ["A", "B", "C", "D"],
        "modality": ["CT", "MRI", None, "CT"],
        "available": [True, True, True, False],
        "n": [100, 60, 250, np.nan],
        "p_clean": [400, 90, 1200, np.nan],
        "positive_fraction": [0.3, 0.55, 0.2, np.nan],
    }
)


def test_overview_shows_every_available_dataset_and_counts_the_rest():
    fig = P.plot_dataset_overview(OVERVIEW)
    left, right = fig.axes
    assert fig.get_suptitle() == "3 datasets available, 1 unavailable"
    drawn = np.concatenate([c.get_offsets() for c in left.collections])
    available = OVERVIEW[OVERVIEW["available"]]
    assert sorted(map(tuple, drawn)) == sorted(zip(available["n"], available["p_clean"]))
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["CT", "MRI", "unknown"]
    # bars sorted by the positive fraction, one per available dataset
    assert [t.get_text() for t in right.get_yticklabels()] == ["C", "A", "B"]
    assert [bar.get_width() for bar in right.patches] == [0.2, 0.3, 0.55]
    plt.close(fig)
