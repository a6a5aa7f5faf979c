"""The figures of notebook 02 (synthesis): real rows next to each generator's synthetic rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from radlib.plots.style import OKABE_ITO, themed

__all__ = ["plot_marginals", "plot_pca_real_vs_synthetic", "plot_correlation_matrices"]

# Real data in dark grey, synthetic in the palette's orange; class 0 and 1 by colour
# (blue, vermillion), real vs synthetic by marker.
REAL_COLOUR = "#404040"
SYNTHETIC_COLOUR = OKABE_ITO[0]
CLASS_COLOURS = {0: OKABE_ITO[4], 1: OKABE_ITO[5]}
# Transparency of the real histogram, under the synthetic outline.
REAL_ALPHA = 0.35
# Where a row comes from, in the figures' long tables and legends.
REAL, SYNTHETIC = "real", "synthetic"


def _marginal_panel(data: pd.DataFrame, bins: int, **_) -> None:
    """One facet of :func:`plot_marginals`: real and synthetic densities on bins shared by both."""
    ax = plt.gca()
    edges = np.histogram_bin_edges(data["value"], bins=bins)
    real, synthetic = data[data["source"] == REAL], data[data["source"] == SYNTHETIC]
    sns.histplot(
        x=real["value"], bins=edges, stat="density", color=REAL_COLOUR, alpha=REAL_ALPHA, edgecolor="none", ax=ax
    )
    sns.histplot(
        x=synthetic["value"],
        bins=edges,
        stat="density",
        element="step",
        fill=False,
        color=SYNTHETIC_COLOUR,
        linewidth=1.6,
        ax=ax,
    )


@themed
def plot_marginals(
    X_real: np.ndarray,
    synthetic: Mapping[str, np.ndarray],
    features: Sequence[int],
    feature_names: Sequence[str] | None = None,
    bins: int = 20,
) -> plt.Figure:
    """Histograms of a few features, real vs synthetic, one row per generator.

    A seaborn ``FacetGrid`` of generators (rows) by features (columns); in each panel the
    real values are a filled density histogram and the synthetic ones a line, on bins
    shared by both (``numpy.histogram_bin_edges`` of the panel's values).

    Parameters
    ----------
    X_real : ndarray of shape (n, p)
        Real rows (in the study: the internal set after the development pipeline).
    synthetic : dict
        Generator name -> synthetic rows of shape (m, p).
    features : sequence of int
        Column indices to show, one panel column each.
    feature_names : sequence of str, optional
        Names of all p columns, for the panel titles.
    bins : int
        Histogram bins per panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    features = list(features)
    names = list(synthetic)
    long = pd.concat(
        [
            pd.DataFrame({"generator": name, "feature": j, "source": source, "value": rows[:, j]})
            for name, X_synth in synthetic.items()
            for j in features
            for source, rows in ((REAL, X_real), (SYNTHETIC, X_synth))
        ],
        ignore_index=True,
    )
    grid = sns.FacetGrid(
        long,
        row="generator",
        col="feature",
        row_order=names,
        col_order=features,
        height=2.1,
        aspect=2.6 / 2.1,
        sharex=False,
        sharey="col",
        despine=True,
    )
    grid.map_dataframe(_marginal_panel, bins=bins)
    grid.set_titles("")
    grid.set_axis_labels("", "")
    for col, j in enumerate(features):
        title = feature_names[j] if feature_names is not None else f"feature {j}"
        grid.axes[0, col].set_title(title, fontsize=8)
    for row, name in enumerate(names):
        grid.axes[row, 0].set_ylabel(f"{name}\ndensity", fontsize=9)
    for ax in grid.axes.flat:
        ax.tick_params(labelsize=7)
    handles = [
        Patch(color=REAL_COLOUR, alpha=REAL_ALPHA, label="real"),
        Line2D([], [], color=SYNTHETIC_COLOUR, linewidth=1.6, label=SYNTHETIC),
    ]
    grid.axes[0, -1].legend(handles=handles, fontsize=7)
    grid.figure.suptitle("Marginals: real (filled) vs synthetic (line)", fontsize=11)
    grid.figure.tight_layout()
    return grid.figure


@themed
def plot_pca_real_vs_synthetic(
    X_real: np.ndarray, y_real: np.ndarray, synthetic: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> plt.Figure:
    """Real and synthetic rows on the first two principal components of the real rows.

    One panel per generator (seaborn ``relplot``); colour is the class, circles are real
    rows and crosses synthetic ones, the real rows drawn last, on top. The projection is
    fitted on the real rows only, so every panel shares the same axes.

    Parameters
    ----------
    X_real : ndarray of shape (n, p)
    y_real : ndarray of shape (n,)
        0/1 labels.
    synthetic : dict
        Generator name -> (X_synth, y_synth).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(X_real)
    points = pd.concat(
        [
            pd.DataFrame(pca.transform(X), columns=["PC1", "PC2"]).assign(generator=name, source=source, label=y)
            for name, (X_synth, y_synth) in synthetic.items()
            for source, X, y in ((SYNTHETIC, X_synth, y_synth), (REAL, X_real, y_real))
        ],
        ignore_index=True,
    )
    points["class"] = points["label"].astype(int)
    grid = sns.relplot(
        data=points,
        x="PC1",
        y="PC2",
        col="generator",
        col_order=list(synthetic),
        hue="class",
        palette=CLASS_COLOURS,
        style="source",
        style_order=[REAL, SYNTHETIC],
        markers={REAL: "o", SYNTHETIC: "X"},
        s=20,
        alpha=0.75,
        edgecolor="black",
        linewidth=0.3,
        height=3.8,
        aspect=1,
        facet_kws={"sharex": True, "sharey": True},
    )
    grid.set_titles("{col_name}", fontsize=10)
    grid.set_axis_labels(
        f"PC1 ({pca.explained_variance_ratio_[0]:.0%} of real variance)",
        f"PC2 ({pca.explained_variance_ratio_[1]:.0%})",
    )
    sns.move_legend(grid, "center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title_fontsize=9)
    grid.figure.tight_layout()
    return grid.figure


@themed
def plot_correlation_matrices(X_real: np.ndarray, synthetic: Mapping[str, np.ndarray]) -> plt.Figure:
    """Pearson correlation matrices side by side as heatmaps: real, then each generator's rows.

    Each synthetic panel's title gives the mean absolute difference from the real matrix
    over the off-diagonal entries (the study's quality metric 4).

    Parameters
    ----------
    X_real : ndarray of shape (n, p)
    synthetic : dict
        Generator name -> synthetic rows of shape (m, p).

    Returns
    -------
    matplotlib.figure.Figure
    """
    real = np.corrcoef(X_real, rowvar=False)
    off_diagonal = ~np.eye(len(real), dtype=bool)
    panels = {REAL: real, **{name: np.corrcoef(X, rowvar=False) for name, X in synthetic.items()}}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 0.8, 3.4), squeeze=False)
    for ax, (name, matrix) in zip(axes[0], panels.items()):
        sns.heatmap(
            matrix, vmin=-1, vmax=1, cmap="RdBu_r", square=True, cbar=False, xticklabels=False, yticklabels=False, ax=ax
        )
        difference = np.nanmean(np.abs(matrix - real)[off_diagonal])
        ax.set_title(name if name == REAL else f"{name}\nmean |Δr| = {difference:.3f}", fontsize=9)
    fig.colorbar(axes[0, 0].collections[0], ax=list(axes[0]), shrink=0.8, label="Pearson r")
    return fig
