"""Tests of the figure of notebook 04 (radlib.plots.validation): ΔAUC per arm and classifier.

Records from the shared synthetic factory; the values drawn are compared with the records
selected independently here (pandas) and with numpy's median.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from synthetic_records import make_records  # noqa: E402

from radlib import plots as P  # noqa: E402


@pytest.fixture(scope="module")
def records():
    records = make_records(n_datasets=4, undefined_first=True)
    failed = (records["dataset"] == "D1") & (records["repetition"] == 1) & (records["arm"] == "cvae")
    records.loc[failed, ["status", "auc_logreg", "delta_auc_logreg", "auc_rf", "delta_auc_rf"]] = ["failed"] + [
        np.nan
    ] * 4
    return records


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_one_panel_per_classifier_with_the_valid_records_of_each_arm(records):
    fig = P.plot_delta_auc(records)
    assert [ax.get_title() for ax in fig.axes] == ["logistic regression", "random forest"]
    arms = ["wgan_gp", "cvae", "tabddpm", "smote"]  # the canonical arm order; no real-only arm
    counted = records[(records["status"] == "ok") & ~records["undefined"] & (records["arm"] != "real")]
    for ax, classifier in zip(fig.axes, ["logreg", "rf"]):
        assert [t.get_text() for t in ax.get_xticklabels()] == arms
        points = {c.get_gid(): c.get_offsets() for c in ax.collections if c.get_gid()}
        assert list(points) == arms
        for position, arm in enumerate(arms):
            expected = counted.loc[counted["arm"] == arm, f"delta_auc_{classifier}"].to_numpy()
            np.testing.assert_allclose(np.sort(points[arm][:, 1]), np.sort(expected))
            assert np.all(np.abs(points[arm][:, 0] - position) <= 0.18)
            # the box's median line spans the box at the arm's position
            medians = [
                line.get_ydata()[0]
                for line in ax.get_lines()
                if len(line.get_xdata()) == 2 and np.mean(line.get_xdata()) == pytest.approx(position)
            ]
            assert np.median(expected) == pytest.approx(medians[-1])
    assert len(points["cvae"]) == len(counted[counted["arm"] == "smote"]) - 1  # the failed arm is left out


def test_jitter_is_seeded(records):
    def offsets(seed):
        return np.concatenate([c.get_offsets() for c in P.plot_delta_auc(records, seed=seed).axes[0].collections])

    np.testing.assert_array_equal(offsets(0), offsets(0))
    assert not np.array_equal(offsets(0), offsets(1))


def test_a_classifier_without_valid_records_keeps_its_empty_panel(records):
    fig = P.plot_delta_auc(records.assign(delta_auc_rf=np.nan), classifiers=("logreg", "rf"))
    assert len(fig.axes) == 2
    assert not [c for c in fig.axes[1].collections if c.get_gid() and len(c.get_offsets())]
