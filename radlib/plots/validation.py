"""The figure of notebook 04 (external validation): ΔAUC per arm and classifier."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning

from radlib.plots.style import arm_style, themed
from radlib.records import CLASSIFIER_LABELS, REAL_ARM, STUDY_CLASSIFIERS, delta_column, valid_mask

__all__ = ["plot_delta_auc"]

# Half the width of the uniform jitter of the points around their arm's position.
JITTER = 0.18


def _jittered_points(
    data: pd.DataFrame, order: Sequence[str], colours: Mapping[str, str], rng: np.random.Generator, **_
) -> None:
    """One point per record of a facet, jittered sideways around its arm's box.

    The jitter takes the figure's seeded generator: seaborn's ``stripplot`` would draw it
    from NumPy's global random state, and the figure would change from run to run.
    """
    ax = plt.gca()
    for position, arm in enumerate(order):
        values = data.loc[data["arm"] == arm, "delta_auc"].to_numpy(float)
        ax.scatter(
            position + rng.uniform(-JITTER, JITTER, len(values)),
            values,
            s=9,
            alpha=0.5,
            color=colours[arm],
            zorder=3,
            gid=arm,
        )


@themed
def plot_delta_auc(records: pd.DataFrame, classifiers: Sequence[str] = STUDY_CLASSIFIERS, seed: int = 0) -> plt.Figure:
    """ΔAUC per arm for each classifier: one point per valid record, over a box plot per arm.

    One panel per classifier (a seaborn ``FacetGrid`` sharing the ΔAUC axis). The records
    of the real-only arm and those that do not count for the classifier
    (:func:`radlib.records.valid_mask`: failed arms, undefined or missing external AUCs)
    are left out; their count is the notebook's to report. Arms keep the colours of
    :func:`radlib.plots.arm_style`, in its order.

    Parameters
    ----------
    records : DataFrame
        The grid's records (``arm``, ``status``, ``undefined``, ``auc_<classifier>``,
        ``delta_auc_<classifier>``).
    classifiers : sequence of str
        Panels, in order.
    seed : int
        Seed of the points' sideways jitter (nothing else is random).

    Returns
    -------
    matplotlib.figure.Figure
    """
    classifiers = list(classifiers)
    augmented = records["arm"] != REAL_ARM
    colours, _ = arm_style(records.loc[augmented, "arm"])
    arms = list(colours)
    panels = []
    for classifier in classifiers:
        rows = augmented & valid_mask(records, classifier)
        panels.append(
            pd.DataFrame(
                {
                    "classifier": classifier,
                    "arm": records.loc[rows, "arm"],
                    "delta_auc": records.loc[rows, delta_column(classifier)].astype(float),
                }
            )
        )
    deltas = pd.concat(panels, ignore_index=True)
    grid = sns.FacetGrid(deltas, col="classifier", col_order=classifiers, height=4, aspect=1.25, sharey=True)
    with warnings.catch_warnings():
        # seaborn 0.13.2 hands matplotlib 3.11's boxplot the deprecated `vert`; harmless until matplotlib 3.13
        warnings.filterwarnings("ignore", "vert: bool was deprecated", MatplotlibDeprecationWarning)
        grid.map_dataframe(
            sns.boxplot,
            x="arm",
            y="delta_auc",
            order=arms,
            fill=False,
            color="black",
            width=0.5,
            linewidth=1,
            showfliers=False,
        )
    grid.map_dataframe(_jittered_points, order=arms, colours=colours, rng=np.random.default_rng(seed))
    for classifier, ax in grid.axes_dict.items():
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(arms)), arms)
        ax.set_title(CLASSIFIER_LABELS.get(classifier, classifier))
    grid.set_axis_labels("", "ΔAUC (arm − real-only), external site")
    grid.figure.tight_layout()
    return grid.figure
