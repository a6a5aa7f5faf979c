"""Figures of Science v3: the specification curve (notebook 08) and what predicts the gain (notebook 09)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from radlib.analysis.curve import CURVE_FACTORS
from radlib.plots.style import OKABE_ITO, draw_intervals, metric_label, themed
from radlib.quality import METRICS
from radlib.records import POOLED

__all__ = ["STUDY_BAND", "plot_specification_curve", "plot_curve_metrics", "plot_predictors", "plot_decisions"]

#: The pooled |ρ| the study reports (0.30–0.36), shaded on both signs.
STUDY_BAND = (0.30, 0.36)


def _band(ax: plt.Axes, horizontal: bool = True) -> None:
    span = ax.axhspan if horizontal else ax.axvspan
    for low, high in (STUDY_BAND, (-STUDY_BAND[1], -STUDY_BAND[0])):
        span(low, high, color="0.85", zorder=0, lw=0)
    (ax.axhline if horizontal else ax.axvline)(0, color="0.4", lw=0.8)


@themed
def plot_specification_curve(table: pd.DataFrame) -> plt.Figure:
    """The composite's pooled ρ per specification (sorted) with 95 % CIs, and the indicator panel beneath.

    The study's |ρ| 0.30–0.36 is the grey band; a specification where the pre-registered rule says
    the headline appears is drawn in vermilion. Beneath, one row per level of each factor
    (ratio, classifier, severity) marks the specifications that chose it (Simonsohn et al. 2020).

    Parameters
    ----------
    table : DataFrame
        :func:`radlib.analysis.curve.curve_table` output (sorted by ``rho``).
    """
    levels = [(factor, level) for factor in CURVE_FACTORS for level in sorted(table[factor].unique(), key=str)]
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(6.0, 0.16 * len(table) + 2), 3.2 + 0.22 * len(levels)),
        sharex=True,
        gridspec_kw={"height_ratios": [3, max(1.2, 0.22 * len(levels))]},
    )
    x = np.arange(len(table))
    _band(top)
    colours = np.where(table["appears"], OKABE_ITO[5], "0.15")
    top.vlines(x, table["ci_low"], table["ci_high"], colors=colours, lw=1)
    top.scatter(x, table["rho"], c=colours, s=14, zorder=3)
    top.set_ylabel("pooled Spearman ρ\n(composite quality vs ΔAUC)")
    top.set_title(f"{len(table)} specifications; grey: the study's |ρ| 0.30–0.36; vermilion: headline appears")
    for row, (factor, level) in enumerate(levels):
        chosen = (table[factor] == level).to_numpy()
        bottom.scatter(x[chosen], np.full(chosen.sum(), row), marker="s", s=12, color="0.2")
    bottom.set_yticks(range(len(levels)), [f"{factor} = {level}" for factor, level in levels], fontsize=7)
    bottom.invert_yaxis()
    bottom.set_xticks([])
    bottom.set_xlabel("specifications, sorted by ρ")
    fig.tight_layout()
    return fig


@themed
def plot_curve_metrics(table: pd.DataFrame) -> plt.Figure:
    """One panel per quality metric: its pooled ρ per specification, in the composite's order."""
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.0 * len(METRICS), 3.0), sharey=True)
    x = np.arange(len(table))
    for ax, metric in zip(axes, METRICS):
        _band(ax)
        ax.scatter(x, table[f"rho_{metric}"], s=8, color="0.2")
        ax.set_title(metric_label(metric), fontsize=8)
        ax.set_xticks([])
    axes[0].set_ylabel("pooled Spearman ρ with ΔAUC")
    fig.supxlabel("specifications, in the composite's order")
    fig.tight_layout()
    return fig


@themed
def plot_predictors(association: pd.DataFrame) -> plt.Figure:
    """Pooled ρ of each predictor with the external ΔAUC (95 % CI), and within each source (points)."""
    pooled = association[association["group"] == POOLED].reset_index(drop=True)
    within = association[association["group"] != POOLED]
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(pooled) + 1.2))
    y = np.arange(len(pooled))
    _band(ax, horizontal=False)
    draw_intervals(ax, pooled["ci_low"].to_numpy(), pooled["ci_high"].to_numpy(), y, "0.15")
    ax.scatter(pooled["rho"], y, color="0.15", zorder=3, label="pooled (95 % CI)")
    sources = list(dict.fromkeys(within["group"]))
    palette = dict(zip(sources, OKABE_ITO))
    for source in sources:
        rows = within[within["group"] == source].set_index("predictor").reindex(pooled["predictor"])
        ax.scatter(rows["rho"], y, s=10, color=palette[source], alpha=0.8, label=f"within {source}")
    ax.set_yticks(y, pooled["label"], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Spearman ρ with the external ΔAUC (higher predicts a larger gain)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


@themed
def plot_decisions(decisions: pd.DataFrame) -> plt.Figure:
    """Mean external ΔAUC of each decision rule's choices over datasets, with its 95 % CI."""
    frame = decisions.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(frame) + 1.2))
    sns.pointplot(data=frame, x="mean_delta_auc", y="rule", ax=ax, color="0.15", linestyle="none", errorbar=None)
    draw_intervals(ax, frame["ci_low"].to_numpy(), frame["ci_high"].to_numpy(), np.arange(len(frame)), "0.15")
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel("mean external ΔAUC of the choices (95 % CI over datasets)")
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig
