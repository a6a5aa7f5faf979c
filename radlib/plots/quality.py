"""The figure of notebook 03 (quality metrics): the sanity ladder."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from radlib.plots.style import OKABE_ITO, themed

__all__ = ["plot_sanity_ladder"]


@themed
def plot_sanity_ladder(ladder: pd.DataFrame) -> plt.Figure:
    """The sanity ladder: each metric's value for synthetic sets of increasing distance.

    One panel per metric (seaborn ``relplot``, each panel on its own y scale), the rungs
    along the x axis in ladder order; a dotted line marks the detection AUC's ideal 0.5.

    Parameters
    ----------
    ladder : DataFrame
        Index = rung names in ladder order (closest first), one column per metric.

    Returns
    -------
    matplotlib.figure.Figure
    """
    metrics = list(ladder.columns)
    rungs = list(ladder.index)
    values = (
        ladder.set_axis(np.arange(len(rungs)), axis=0)
        .rename_axis("rung")
        .reset_index()
        .melt(id_vars="rung", var_name="metric", value_name="value")
    )
    grid = sns.relplot(
        data=values,
        x="rung",
        y="value",
        col="metric",
        col_order=metrics,
        kind="line",
        marker="o",
        color=OKABE_ITO[4],
        errorbar=None,
        height=3.2,
        aspect=2.6 / 3.2,
        facet_kws={"sharey": False},
    )
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "")
    for metric, ax in grid.axes_dict.items():
        ax.set_xticks(np.arange(len(rungs)), rungs, rotation=40, ha="right")
        if metric == "detection_auc":
            ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    grid.figure.suptitle("Sanity ladder: every metric should rise from an exact copy to pure noise")
    grid.figure.tight_layout()
    return grid.figure
