"""The figures of notebook 06 (the fidelity ladder, and what the metrics measure).

Every figure reads the tables of :func:`radlib.analysis.ladder.run_ladder` or
:mod:`radlib.analysis.floor`. Slopes are ΔAUC per SD of the quality score (higher = closer to
the real data); the pooled, between and within slopes keep one colour each in every figure
(black, vermillion and blue, the last two as in notebook 05's within-between figure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker

from radlib.analysis.floor import floor_table
from radlib.formatting import interval, number, p_value, signed
from radlib.plots.style import OKABE_ITO, arm_style, legend_below, metric_label, themed
from radlib.quality import METRICS, distance_from_ideal
from radlib.records import COMPOSITE, POOLED, SMOTE_ARM, parse_arm

__all__ = [
    "SLOPE_STYLE",
    "plot_ladder_slopes",
    "plot_variance_explained",
    "plot_dose_response",
    "plot_placebo",
    "plot_floor",
    "plot_adjusted_rho",
]

#: term -> (label, colour, marker, x offset) of the slopes in :func:`plot_ladder_slopes`.
SLOPE_STYLE = {
    "pooled": ("pooled (all pairs)", "#000000", "s", -0.12),
    "between": ("between configurations", "#D55E00", "D", 0.0),
    "within": ("within configurations", "#0072B2", "o", 0.12),
}
# Panels per row of the key figure.
PANELS_PER_ROW = 3
# Where the per-configuration slopes sit, right of the within slope.
CONFIGURATION_OFFSET = 0.26
SLOPE_LABEL = "slope: ΔAUC per SD of quality (95% dataset-bootstrap CI)"


def _set_labels(sets: Sequence[str], slopes: pd.DataFrame, variance: pd.DataFrame | None, metric: str) -> list[str]:
    """Tick labels: the set, its number of configurations and, with ``variance``, the configurations' share."""
    labels = []
    for name in sets:
        rows = slopes[(slopes["set"] == name) & (slopes["metric"] == metric)]
        label = f"{name}\n{int(rows['n_configurations'].iloc[0])} configurations"
        if variance is not None:
            share = variance[(variance["set"] == name) & (variance["quantity"] == metric)]["eta2"]
            if len(share):
                label += f"\nη² = {number(float(share.iloc[0]), 2)}"
        labels.append(label)
    return labels


@themed
def plot_ladder_slopes(
    slopes: pd.DataFrame,
    configuration_slopes: pd.DataFrame | None = None,
    variance: pd.DataFrame | None = None,
    metrics: Sequence[str] = (COMPOSITE,),
) -> plt.Figure:
    """The key figure: as the spread of quality grows (S1 -> S3), the pooled slope against the within slopes.

    One panel per score. For each nested set (x axis, labelled with its number of
    configurations and, given ``variance``, the share of the score's variance that
    configuration explains), the pooled slope, the between slope (configuration means) and the
    within slope of :func:`radlib.analysis.ladder.slopes_by_set` with their 95 % CIs, each
    joined across the sets; with ``configuration_slopes``, the slope inside each configuration
    as small grey markers (shaped by generator). The ecological fallacy: the pooled and between
    slopes rise with the spread while the within slopes stay at 0.

    Parameters
    ----------
    slopes : DataFrame
        :func:`radlib.analysis.ladder.slopes_by_set`.
    configuration_slopes, variance : DataFrame, optional
        :func:`radlib.analysis.ladder.configuration_slopes`,
        :func:`radlib.analysis.ladder.variance_explained`.
    metrics : sequence of str
        The scores, one panel each (default: the composite).
    """
    metrics = list(metrics)
    sets = list(dict.fromkeys(slopes["set"]))
    x = np.arange(len(sets))
    columns = min(PANELS_PER_ROW, len(metrics))
    rows_of_panels = -(-len(metrics) // columns)
    fig, axes = plt.subplots(
        rows_of_panels, columns, figsize=(5.2 * columns, 4.0 * rows_of_panels + 0.6), squeeze=False
    )
    for ax in axes.flat[len(metrics) :]:
        ax.set_visible(False)
    _, markers = arm_style(configuration_slopes["generator"]) if configuration_slopes is not None else ({}, {})
    for ax, metric in zip(axes.flat, metrics):
        rows = slopes[slopes["metric"] == metric].set_index("set").loc[sets]
        for term, (label, colour, marker, offset) in SLOPE_STYLE.items():
            value = rows[f"{term}_slope"].to_numpy(float)
            low, high = rows[f"{term}_ci_low"].to_numpy(float), rows[f"{term}_ci_high"].to_numpy(float)
            ax.plot(x + offset, value, color=colour, linewidth=1.2, zorder=2)
            ok = np.isfinite(low) & np.isfinite(high)
            ax.vlines(x[ok] + offset, low[ok], high[ok], color=colour, linewidth=1.4, zorder=2)
            ax.scatter(x + offset, value, marker=marker, s=45, color=colour, zorder=3, label=label, gid=term)
        if configuration_slopes is not None:
            inside = configuration_slopes[configuration_slopes["metric"] == metric]
            for generator, rows_g in inside.groupby("generator"):
                position = x[[sets.index(s) for s in rows_g["set"]]] + CONFIGURATION_OFFSET
                ax.scatter(
                    position,
                    rows_g["slope"],
                    marker=markers[generator],
                    s=16,
                    color="grey",
                    alpha=0.7,
                    zorder=1,
                    gid=f"configuration:{generator}",
                )
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(x, _set_labels(sets, slopes, variance, metric), fontsize=8)
        ax.set_xlim(-0.5, len(sets) - 0.5)
        ax.set_title(metric_label(metric), fontsize=10)
        ax.set_ylabel(SLOPE_LABEL, fontsize=9)
    handles = [
        plt.Line2D([], [], color=colour, marker=marker, linestyle="-", label=label)
        for label, colour, marker, _ in SLOPE_STYLE.values()
    ]
    for generator, marker in markers.items():
        handles.append(
            plt.Line2D(
                [], [], color="grey", marker=marker, linestyle="none", label=f"inside one {generator} configuration"
            )
        )
    fig.suptitle("As the spread of quality grows: pooled vs within-configuration slopes", fontsize=11)
    legend_below(fig, handles, ncol=3, fontsize=8, top=1 - 0.35 / fig.get_figheight())
    return fig


@themed
def plot_variance_explained(variance: pd.DataFrame, quantities: Sequence[str] | None = None) -> plt.Figure:
    """H1 (a): the share of each quantity's variance explained by configuration, per nested set.

    From :func:`radlib.analysis.ladder.variance_explained`: η² (SS_configuration / SS_total)
    of each quality score and of ΔAUC against the set; the spread the ladder creates.
    """
    quantities = list(dict.fromkeys(variance["quantity"])) if quantities is None else list(quantities)
    data = variance[variance["quantity"].isin(quantities)]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.pointplot(
        data=data,
        x="set",
        y="eta2",
        hue="quantity",
        hue_order=quantities,
        palette=OKABE_ITO[: len(quantities)],
        markers="o",
        linewidth=1.2,
        dodge=0.3,
        errorbar=None,
        ax=ax,
    )
    ax.set_ylim(0, 1)
    ax.set_xlabel("nested set of training fractions (spread grows left to right)")
    ax.set_ylabel("share of variance explained by configuration (η²)")
    ax.set_title("How much of each quantity the configuration explains", fontsize=11)
    ax.legend(title=None, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def _dose_title(pooled: pd.DataFrame, quantity: str, generator: str) -> str:
    row = pooled[(pooled["quantity"] == quantity) & (pooled["generator"] == generator)]
    if row.empty:
        return f"{generator}: no slope"
    row = row.iloc[0]
    return f"{generator}: {signed(row['estimate'])} {interval(row['ci_low'], row['ci_high'])} per doubling"


@themed
def plot_dose_response(dose: Mapping[str, pd.DataFrame], quantities: Sequence[str] | None = None) -> plt.Figure:
    """ΔAUC and each metric against the training fraction, per generator (seaborn facets).

    From :func:`radlib.analysis.ladder.dose_response`: one row of panels per quantity (ΔAUC, then
    each metric as its distance from the ideal, lower = closer to real), one column per
    generator; a thin grey line per dataset (its means per fraction), the mean over datasets in
    black, and in each title the random-effects pooled slope per doubling of the training budget
    with its 95 % CI.
    """
    means, pooled = dose["means"], dose["pooled"]
    quantities = list(dict.fromkeys(means["quantity"])) if quantities is None else list(quantities)
    data = means[means["quantity"].isin(quantities)]
    generators = list(arm_style(data["generator"])[0])
    grid = sns.FacetGrid(
        data,
        row="quantity",
        col="generator",
        row_order=quantities,
        col_order=generators,
        height=2.3,
        aspect=1.25,
        sharey="row",
        margin_titles=False,
    )
    grid.map_dataframe(
        sns.lineplot,
        x="log2_fraction",
        y="value",
        units="dataset",
        estimator=None,
        color="grey",
        linewidth=0.7,
        alpha=0.6,
    )
    fractions = sorted(data["fraction"].unique())
    for (quantity, generator), ax in grid.axes_dict.items():
        panel = data[(data["quantity"] == quantity) & (data["generator"] == generator)]
        mean = panel.groupby("log2_fraction")["value"].mean()
        ax.plot(mean.index, mean.to_numpy(), color="black", marker="o", linewidth=1.8, zorder=3, gid="mean")
        ax.set_title(_dose_title(pooled, quantity, generator), fontsize=8)
        ax.set_xticks(np.log2(fractions), [f"{f:g}" for f in fractions])
        if quantity == "delta_auc":
            ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    for quantity, row in zip(quantities, grid.axes):
        label = "ΔAUC" if quantity == "delta_auc" else f"{quantity} (distance)"
        row[0].set_ylabel(label, fontsize=8)
    for ax in grid.axes[-1]:
        ax.set_xlabel("training fraction (log scale)")
    grid.figure.suptitle("Dose-response: fidelity and ΔAUC along each generator's training", fontsize=11)
    grid.figure.tight_layout(rect=(0, 0, 1, 0.98))
    return grid.figure


@themed
def plot_placebo(placebo: Mapping[str, Any]) -> plt.Figure:
    """The placebo distribution of the between slope, with the observed slope and the permutation p-value.

    From :func:`radlib.analysis.ladder.placebo_between`: a histogram (seaborn) of the between
    slopes after permuting configuration labels within each evaluation, the observed slope as a
    vermillion line, 0 dotted.
    """
    slopes = np.asarray(placebo["placebo"], float)
    slopes = slopes[np.isfinite(slopes)]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    sns.histplot(x=slopes, bins=min(30, max(5, len(slopes) // 5)), color="#56B4E9", edgecolor="white", ax=ax)
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.axvline(placebo["observed"], color="#D55E00", linewidth=2, gid="observed", label="observed between slope")
    p = p_value(placebo["p_value"])
    ax.set_title(
        f"Placebo: {len(slopes)} permutations of configuration labels within evaluations; "
        f"p {p if p.startswith('<') else '= ' + p}",
        fontsize=10,
    )
    ax.set_xlabel(f"between slope of {placebo['score']} (ΔAUC per SD of quality)")
    ax.set_ylabel("permutations")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


@themed
def plot_floor(pairs: pd.DataFrame, metrics: Sequence[str] = tuple(METRICS)) -> plt.Figure:
    """What the metrics measure: each metric and its sampling floor against the internal sample size.

    From a pair table with the floor (:func:`radlib.analysis.pair_table` of engine-v2 records),
    via :func:`radlib.analysis.floor.floor_table`: one panel per metric (seaborn facets), its
    distance from the ideal for every pair (coloured by training fraction; SMOTE apart) and the floor of each dataset
    (black crosses: two halves of the real internal rows), against the mean internal n (log
    scale). Where the pairs follow the floor, the metric measures the sample size.
    """
    table = floor_table(pairs, metrics)
    kinds = _fraction_kinds(table["arm"])
    palette = dict(zip(dict.fromkeys(sorted(kinds, key=_kind_order)), OKABE_ITO))
    palette["sampling floor"] = "#000000"
    frames = []
    for metric in metrics:
        floor = table.groupby("dataset", as_index=False)[["n_internal", f"floor_{metric}"]].mean()
        pair_rows = {"n_internal": table["n_internal"], "distance": distance_from_ideal(table[metric], metric)}
        floor_rows = {
            "n_internal": floor["n_internal"],
            "distance": distance_from_ideal(floor[f"floor_{metric}"], metric),
        }
        frames.append(pd.DataFrame({"metric": metric, **pair_rows, "kind": kinds}))
        frames.append(pd.DataFrame({"metric": metric, **floor_rows, "kind": "sampling floor"}))
    data = pd.concat(frames, ignore_index=True)
    markers = {**dict.fromkeys(palette, "o"), "sampling floor": "X"}
    grid = sns.relplot(
        data=data,
        x="n_internal",
        y="distance",
        hue="kind",
        style="kind",
        hue_order=list(palette),
        style_order=list(palette),
        palette=palette,
        markers=markers,
        col="metric",
        col_order=list(metrics),
        col_wrap=min(3, len(metrics)),
        height=2.8,
        aspect=1.1,
        facet_kws={"sharey": False},
        s=22,
        alpha=0.75,
    )
    for metric, ax in grid.axes_dict.items():
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(metric, fontsize=9)
    grid.set_axis_labels("internal sample size (log scale)", "distance from the ideal")
    grid.legend.set_title(None)
    grid.figure.suptitle("Metrics and their sampling floor against the internal sample size", fontsize=11, y=1.02)
    return grid.figure


def _fraction_kinds(arms: pd.Series) -> list[str]:
    """The legend entry of each pair of :func:`plot_floor`: SMOTE, or the generators at its training fraction."""
    kinds = []
    for arm in arms:
        generator, fraction = parse_arm(arm)
        kinds.append(SMOTE_ARM if generator == SMOTE_ARM else f"generators at {fraction:g}")
    return kinds


def _kind_order(kind: str) -> tuple[int, float]:
    """Full budget first, then the snapshots by decreasing fraction, SMOTE last."""
    return (1, 0.0) if kind == SMOTE_ARM else (0, -float(kind.rsplit(" ", 1)[1]))


@themed
def plot_adjusted_rho(adjusted: pd.DataFrame, set_name: str | None = None) -> plt.Figure:
    """Pooled ρ of each score with ΔAUC, raw and adjusted for log internal n and the real-only AUC.

    From :func:`radlib.analysis.ladder.adjusted_by_set` (one set: default the widest) or
    :func:`radlib.analysis.floor.adjusted_correlations`: per score, the raw Spearman ρ (open
    circle) and the partial ρ (filled), joined; filled markers of the partial ρ are vermillion
    where the conclusion changes (significant in one and not the other).
    """
    if "set" in adjusted.columns:
        set_name = adjusted["set"].iloc[-1] if set_name is None else set_name
        adjusted = adjusted[adjusted["set"] == set_name]
    group = "configuration" if "configuration" in adjusted.columns else "group"
    pooled = adjusted[adjusted[group] == POOLED].reset_index(drop=True)
    y = np.arange(len(pooled))
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(pooled) + 1.8))
    for i, row in pooled.iterrows():
        ax.plot([row["rho"], row["partial_rho"]], [y[i], y[i]], color="grey", linewidth=1, zorder=1)
    # the raw ρ drawn larger, so that it shows as a ring where the adjusted ρ is the same
    ax.scatter(pooled["rho"], y, facecolor="white", edgecolor="black", s=110, zorder=2, label="raw ρ", gid="raw")
    colours = np.where(pooled["conclusion_changes"], "#D55E00", "#000000")
    ax.scatter(pooled["partial_rho"], y, color=colours, s=40, zorder=3, label="adjusted ρ", gid="partial")
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(y, pooled["metric"])
    ax.invert_yaxis()
    ax.set_xlabel("Spearman ρ of quality with ΔAUC (pooled)")
    where = f" ({set_name})" if set_name else ""
    ax.set_title(f"Adjusted for log internal n and real-only AUC{where}", fontsize=10)
    handles = [
        plt.Line2D([], [], marker="o", color="black", markerfacecolor="white", linestyle="none", label="raw ρ"),
        plt.Line2D([], [], marker="o", color="black", linestyle="none", label="adjusted (partial) ρ"),
        plt.Line2D([], [], marker="o", color="#D55E00", linestyle="none", label="conclusion changes"),
    ]
    legend_below(fig, handles, ncol=3, fontsize=8)
    return fig
