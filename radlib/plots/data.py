"""The figure of notebook 01 (data ingestion): what the datasets look like."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from radlib.plots.style import OKABE_ITO, themed

__all__ = ["plot_dataset_overview"]


@themed
def plot_dataset_overview(overview: pd.DataFrame) -> plt.Figure:
    """Dataset overview: n vs p (log axes) by modality, and the class balance of each dataset.

    Parameters
    ----------
    overview : DataFrame
        :func:`radlib.data.overview_table` output; unavailable datasets are left out of
        the panels and counted in the title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: patients vs features (one point per dataset, coloured by modality)
        and the positive fraction of each dataset (one bar each, sorted).
    """
    available = (
        overview[overview["available"]]
        .assign(modality=lambda table: table["modality"].fillna("unknown"))
        .sort_values("positive_fraction")
    )
    modalities = sorted(available["modality"].unique())
    colours = dict(zip(modalities, OKABE_ITO))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, max(4.5, 0.17 * len(available) + 1)), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    sns.scatterplot(
        data=available,
        x="n",
        y="p_clean",
        hue="modality",
        hue_order=modalities,
        palette=colours,
        s=40,
        edgecolor="black",
        linewidth=0.4,
        ax=left,
    )
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("patients n (log)")
    left.set_ylabel("features p after cleaning (log)")
    if len(available):
        sizes = available[["n", "p_clean"]].to_numpy(float)
        diagonal = np.array([sizes.min(), sizes.max()])
        left.plot(diagonal, diagonal, color="grey", linestyle=":", linewidth=1)
        left.legend(title="modality")
    left.text(0.02, 0.02, "dotted: p = n", transform=left.transAxes, color="grey", fontsize=8)
    positions = np.arange(len(available))
    right.barh(positions, available["positive_fraction"], color=available["modality"].map(colours).tolist())
    right.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    right.set_yticks(positions, available["dataset"], fontsize=7)
    right.set_xlim(0, 1)
    right.set_xlabel("positive fraction")
    n_missing = int((~overview["available"]).sum())
    fig.suptitle(f"{len(available)} datasets available" + (f", {n_missing} unavailable" if n_missing else ""))
    fig.tight_layout()
    return fig
