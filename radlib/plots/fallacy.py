"""The figures of notebook 05 (the ecological fallacy): quality vs ΔAUC, pooled and within generators.

Every figure reads the tables of :func:`radlib.analysis.run_analyses`. Quality is drawn as a
score, higher = closer to the real data (:func:`radlib.analysis.orient_quality`, built on
:func:`radlib.quality.quality_score`), so that "right" means "better" on every axis.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import roc_auc_score, roc_curve

from radlib.analysis import orient_quality, with_composite
from radlib.formatting import interval, number, p_value, signed
from radlib.plots.style import (
    OKABE_ITO,
    arm_style,
    dodge,
    draw_intervals,
    fit_line,
    legend_below,
    metric_label,
    significance_handles,
    themed,
)
from radlib.quality import METRICS
from radlib.records import COMPOSITE, POOLED, generator_arms

__all__ = [
    "plot_quality_vs_delta",
    "plot_rho_comparison",
    "plot_roc_curves",
    "plot_forest",
    "plot_selection",
    "plot_within_between",
]

# Panels per row of the quality-vs-ΔAUC grid.
QUALITY_PANELS_PER_ROW = 3
# Vertical step between the lines of a panel's ρ box, in axes fractions.
RHO_LINE_STEP = 0.085


def _generator_pairs_scored(pairs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The generator pairs of ``pairs`` with the composite (computed on the whole table when absent)."""
    scored = with_composite(pairs)
    generators = generator_arms(scored["arm"])
    return scored[scored["arm"].isin(generators)], generators


def _rho_lines(correlations: pd.DataFrame, metric: str, groups: list[str]) -> list[tuple[str, str]]:
    """(group, "group: ρ = +0.12, q = 0.034") for each group with a row for ``metric``."""
    table = correlations.set_index(["group", "metric"])
    lines = []
    for group in groups:
        if (group, metric) in table.index:
            row = table.loc[(group, metric)]
            q = p_value(float(row["q_value"]))
            lines.append(
                (group, f"{group}: ρ = {signed(float(row['rho']), 2)}, q {q if q.startswith('<') else '= ' + q}")
            )
    return lines


def _quality_panel(
    ax: plt.Axes, panel: pd.DataFrame, lines: list[tuple[str, str]], colours: dict, generators: list[str]
) -> None:
    """Fit lines, ρ box and y range of one panel of :func:`plot_quality_vs_delta`."""
    x_all, y_all = panel["quality"].to_numpy(float), panel["delta_auc"].to_numpy(float)
    for generator in generators:
        mask = (panel["arm"] == generator).to_numpy()
        fit_line(ax, x_all[mask], y_all[mask], color=colours[generator], linewidth=1.8, zorder=4)
    fit_line(ax, x_all, y_all, color="black", linewidth=2.2, zorder=5)
    for i, (group, text) in enumerate(lines):
        ax.text(
            0.02,
            0.97 - RHO_LINE_STEP * i,
            text,
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            color="black" if group == POOLED else colours.get(group, "black"),
            fontweight="bold" if group == POOLED else "normal",
            zorder=6,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 0.6},
        )
    ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    ax.xaxis.set_major_locator(plt.MaxNLocator(5))
    # headroom for the ρ box: the data fill the axes below the text lines
    finite = y_all[np.isfinite(y_all)]
    low, high = (finite.min(), finite.max()) if len(finite) else (-0.1, 0.1)
    span = (high - low) or 0.1
    text_share = 0.06 + RHO_LINE_STEP * len(lines)
    ax.set_ylim(low - 0.08 * span, low - 0.08 * span + 1.13 * span / (1 - text_share))


@themed
def plot_quality_vs_delta(pairs: pd.DataFrame, correlations: pd.DataFrame, metrics=None) -> plt.Figure:
    """The key figure: quality score vs ΔAUC per metric, pooled and within each generator.

    One panel per metric (a seaborn ``FacetGrid``, three panels a row): x = the quality
    score of :func:`radlib.analysis.orient_quality` (higher = closer to the real data), y = the pair's mean
    ΔAUC; one point per (dataset, generator) pair, coloured and shaped by generator. The
    black line is the least-squares fit over all generator pairs (pooled), each coloured
    line the fit within one generator (over that generator's range of x; drawn with 3 or
    more pairs). The box gives Spearman ρ with its Benjamini-Hochberg q-value from
    ``correlations`` (:func:`radlib.analysis.correlate_quality`), pooled first. The lines
    show the direction of each association; ρ (ranks) is the statistic tested.

    An ecological fallacy looks like this: the black line rises because the generators'
    clouds sit at different heights along a diagonal, while the coloured lines inside
    each cloud are flat.

    Parameters
    ----------
    pairs : DataFrame
        The pair table of :func:`radlib.analysis.run_analyses` (with ``composite``; it is
        computed on the whole table when absent). SMOTE pairs are left out.
    correlations : DataFrame
        ``group``, ``metric``, ``rho``, ``q_value``.
    metrics : sequence of str, optional
        Panels, in order; default: the metrics of ``correlations``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    gen, generators = _generator_pairs_scored(pairs)
    metrics = list(dict.fromkeys(correlations["metric"])) if metrics is None else list(metrics)
    colours, markers = arm_style(generators)
    points = pd.concat(
        [
            pd.DataFrame(
                {
                    "metric": metric,
                    "arm": gen["arm"],
                    "quality": orient_quality(gen, metric),
                    "delta_auc": gen["delta_auc"],
                }
            )
            for metric in metrics
        ],
        ignore_index=True,
    )
    grid = sns.FacetGrid(
        points,
        col="metric",
        col_order=metrics,
        col_wrap=min(QUALITY_PANELS_PER_ROW, len(metrics)),
        height=3.9,
        aspect=4.4 / 3.9,
        sharex=False,
        sharey=False,
    )
    grid.map_dataframe(
        sns.scatterplot,
        x="quality",
        y="delta_auc",
        hue="arm",
        hue_order=generators,
        palette=colours,
        style="arm",
        style_order=generators,
        markers=markers,
        s=26,
        edgecolor="black",
        linewidth=0.4,
        alpha=0.85,
        zorder=3,
        legend=False,
    )
    for metric, ax in grid.axes_dict.items():
        lines = _rho_lines(correlations, metric, [POOLED, *generators])
        _quality_panel(ax, points[points["metric"] == metric], lines, colours, generators)
        ax.set_title(metric, fontsize=11)
        ax.set_xlabel(f"quality: {metric_label(metric)}\n(higher = closer to real) →", fontsize=9)
        ax.set_ylabel("")
    for ax in grid.axes.flat[::QUALITY_PANELS_PER_ROW]:
        ax.set_ylabel("ΔAUC (external site)")
    handles = [
        plt.Line2D(
            [],
            [],
            color=colours[g],
            marker=markers[g],
            markeredgecolor="black",
            markeredgewidth=0.4,
            linewidth=1.8,
            label=f"{g} (pairs, fit within)",
        )
        for g in generators
    ]
    handles.append(plt.Line2D([], [], color="black", linewidth=2.2, label="pooled fit (all generators)"))
    grid.figure.suptitle(
        "Synthetic-data quality vs ΔAUC: pooled over generators (black) and within each generator", fontsize=12
    )
    legend_below(grid.figure, handles, ncol=len(handles), top=0.97)
    return grid.figure


@themed
def plot_rho_comparison(correlations: pd.DataFrame, alpha: float = 0.05) -> plt.Figure:
    """Spearman ρ with bootstrap 95% CIs per metric: pooled (black) vs within each generator.

    One row per metric, one marker per group; filled markers are significant after the
    Benjamini-Hochberg correction (``significant`` / q < ``alpha``), open ones are not.
    Groups with an undefined ρ are left out of their row.
    """
    metrics = list(dict.fromkeys(correlations["metric"]))
    groups = list(dict.fromkeys(correlations["group"]))
    generators = [g for g in groups if g != POOLED]
    colours, markers = arm_style(generators)
    colours[POOLED], markers[POOLED] = "black", "D"
    order = ([POOLED] if POOLED in groups else []) + generators
    offsets = dict(zip(order, dodge(len(order))))
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * len(metrics) + 1.8))
    for group in order:
        rows = correlations[correlations["group"] == group].set_index("metric").reindex(metrics)
        y = np.arange(len(metrics)) + offsets[group]
        rho = rows["rho"].to_numpy(float)
        low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
        significant = rows["q_value"].to_numpy(float) < alpha
        ok = np.isfinite(rho)
        draw_intervals(ax, low, high, y, colours[group])
        for filled in (True, False):
            sel = ok & (significant == filled)
            ax.scatter(
                rho[sel],
                y[sel],
                marker=markers[group],
                s=50 if group == POOLED else 40,
                zorder=3,
                facecolor=colours[group] if filled else "white",
                edgecolor=colours[group],
                linewidth=1.4,
                gid=f"{group}:{'significant' if filled else 'not significant'}",
            )
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(np.arange(len(metrics)), [f"{m}\n{metric_label(m)}" for m in metrics], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel(
        "Spearman ρ of quality score with ΔAUC (95% cluster-bootstrap CI)\n"
        "positive = better quality goes with larger ΔAUC"
    )
    handles = [
        plt.Line2D([], [], color=colours[g], marker=markers[g], linestyle="none", label="pooled" if g == POOLED else g)
        for g in order
    ]
    handles += significance_handles(f"q < {alpha} (BH)")
    ax.set_title("Pooled vs within-generator rank correlations", fontsize=11)
    legend_below(fig, handles, ncol=3)
    return fig


@themed
def plot_roc_curves(pairs: pd.DataFrame, roc: pd.DataFrame | None = None, metrics=None) -> plt.Figure:
    """ROC curves of each quality score as a predictor of "augmentation improved" (ΔAUC > 0).

    Pooled over all generator pairs; the score is :func:`radlib.analysis.orient_quality`
    (higher = predicted improvement), curves from ``sklearn.metrics.roc_curve``, the AUC
    from ``sklearn.metrics.roc_auc_score`` in the legend (with the 95% cluster-bootstrap CI
    of the pooled row of ``roc`` (:func:`radlib.analysis.discriminate_quality`) when given).
    With a single outcome class there is no curve and the panel says so.
    """
    gen, _ = _generator_pairs_scored(pairs)
    metrics = [*METRICS, COMPOSITE] if metrics is None else list(metrics)
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), "-"]
    palette = [OKABE_ITO[i] for i in (0, 1, 2, 5, 6, 7)]
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    label = (gen["delta_auc"] > 0).to_numpy()
    n_improved = int(label.sum())
    ci = roc[roc["group"] == POOLED].set_index("metric") if roc is not None else None
    if 0 < n_improved < len(gen):
        for i, metric in enumerate(metrics):
            score = orient_quality(gen, metric).to_numpy(float)
            ok = np.isfinite(score) & gen["delta_auc"].notna().to_numpy()
            if len(np.unique(label[ok])) < 2:
                continue
            fpr, tpr, _ = roc_curve(label[ok], score[ok])
            auc = roc_auc_score(label[ok], score[ok])
            text = f"{metric}: AUC {number(auc, 2)}"
            if ci is not None and metric in ci.index and np.isfinite(ci.at[metric, "ci_low"]):
                text += f" [{number(ci.at[metric, 'ci_low'], 2)}, {number(ci.at[metric, 'ci_high'], 2)}]"
            ax.plot(
                fpr,
                tpr,
                color=palette[i % len(palette)],
                linestyle=styles[i % len(styles)],
                linewidth=2.4 if metric == COMPOSITE else 1.8,
                label=text,
                drawstyle="default",
            )
        ax.legend(loc="lower right", fontsize=8.5, title="pooled over generators", title_fontsize=9)
    else:
        ax.text(
            0.5, 0.5, f"no ROC curve: {n_improved} of {len(gen)} pairs improved", ha="center", transform=ax.transAxes
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"Quality score as a predictor of ΔAUC > 0\n({n_improved} of {len(gen)} pairs improved)", fontsize=11)
    fig.tight_layout()
    return fig


@themed
def plot_forest(meta_studies: pd.DataFrame, meta_generators: pd.DataFrame) -> plt.Figure:
    """Forest plot of the random-effects meta-analysis of ΔAUC, one panel per generator.

    Rows are the datasets (the studies; same order in every panel): the mean ΔAUC with its
    95% CI (± 1.96 SE, SE² = variance of the repetitions' ΔAUC / n), marker area
    proportional to the random-effects weight; studies left out of the pooling are grey
    open markers. The diamond at the bottom is the DerSimonian-Laird pooled estimate with
    its 95% CI; the panel title gives it with τ² and I² (:func:`radlib.analysis.meta_analyze_generators`).
    """
    generators = list(meta_generators["generator"]) or sorted(meta_studies["generator"].unique())
    colours, _ = arm_style(generators)
    datasets = sorted(meta_studies["dataset"].unique())
    position = {d: i for i, d in enumerate(datasets)}
    pooled_y = len(datasets) + 0.8
    fig, grid = plt.subplots(
        1,
        len(generators),
        figsize=(3.6 * len(generators) + 1.6, 0.24 * len(datasets) + 2.6),
        sharey=True,
        squeeze=False,
    )
    axes = list(grid.flat)
    summary = meta_generators.set_index("generator")
    for ax, generator in zip(axes, generators):
        studies = meta_studies[meta_studies["generator"] == generator]
        y = studies["dataset"].map(position).to_numpy(float)
        included = studies["included"].astype(bool).to_numpy()
        effect = studies["effect"].to_numpy(float)
        low, high = studies["ci_low"].to_numpy(float), studies["ci_high"].to_numpy(float)
        weight = studies["weight"].to_numpy(float)
        ok = np.isfinite(low) & np.isfinite(high)
        ax.hlines(y[ok], low[ok], high[ok], color=np.where(included[ok], colours[generator], "grey"), linewidth=1.2)
        size = 15 + 150 * np.nan_to_num(weight) / max(np.nanmax(weight), 1e-12) if len(weight) else []
        ax.scatter(
            effect[included],
            y[included],
            s=np.asarray(size)[included],
            marker="s",
            color=colours[generator],
            edgecolor="black",
            linewidth=0.4,
            zorder=3,
        )
        ax.scatter(effect[~included], y[~included], s=20, marker="s", facecolor="white", edgecolor="grey", zorder=3)
        title = generator
        if generator in summary.index:
            row = summary.loc[generator]
            est, lo, hi = float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])
            if np.isfinite(est):
                lo_, hi_ = (lo, hi) if np.isfinite(lo) else (est, est)
                diamond = np.array([[lo_, pooled_y], [est, pooled_y - 0.45], [hi_, pooled_y], [est, pooled_y + 0.45]])
                ax.add_patch(
                    plt.Polygon(
                        diamond, closed=True, facecolor=colours[generator], edgecolor="black", linewidth=0.8, zorder=4
                    )
                )
                ax.axvline(est, color=colours[generator], linestyle="--", linewidth=0.8, zorder=1)
            tau2, i2 = float(row["tau2"]), float(row["i2"])
            tau_text = f"{tau2:.2g}" if np.isfinite(tau2) else "n/a"
            i2_text = f"{100 * i2:.0f}%" if np.isfinite(i2) else "n/a"
            title = (
                f"{generator} (k = {int(row['k'])})\nRE: {signed(est)} {interval(lo, hi)}\n"
                f"τ² = {tau_text}, I² = {i2_text}"
            )
        ax.set_title(title, fontsize=9.5)
        ax.axvline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("ΔAUC (95% CI)")
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
    axes[0].set_yticks(
        [*range(len(datasets)), pooled_y], [*datasets, "pooled (RE)"], fontsize=8 if len(datasets) < 30 else 6.5
    )
    axes[0].set_ylim(pooled_y + 1, -1)
    fig.suptitle("Random-effects meta-analysis of ΔAUC per generator (DerSimonian-Laird)", fontsize=11)
    fig.tight_layout()
    return fig


@themed
def plot_selection(selection: pd.DataFrame) -> plt.Figure:
    """Quality-guided generator selection per dataset, against the oracle, a random pick and SMOTE.

    One row per dataset (sorted by the oracle's ΔAUC): the ΔAUC of the generator with the
    best composite quality (``selected``), of the best generator in hindsight
    (``oracle``), the expected ΔAUC of a random pick (``random``, the mean over
    generators) and of SMOTE, from :func:`radlib.analysis.select_generators`. A grey bar
    joins the selected pick to the oracle: its length is the regret of selecting by quality.
    """
    table = selection.sort_values("oracle_delta", ascending=True).reset_index(drop=True)
    y = np.arange(len(table))
    styles = {
        "selected_delta": ("quality-guided pick", "#0072B2", "o", 42),
        "oracle_delta": ("oracle (best ΔAUC)", "#009E73", "^", 95),
        "random_delta": ("random pick (mean)", "#000000", "x", 40),
        "smote_delta": ("SMOTE", "#D55E00", "s", 36),
    }
    hollow = ("oracle_delta", "smote_delta")
    fig, ax = plt.subplots(figsize=(7.5, 0.26 * len(table) + 2.2))
    ax.hlines(y, table["selected_delta"], table["oracle_delta"], color="lightgrey", linewidth=3, zorder=1)
    for column, (label, colour, marker, size) in styles.items():
        if column not in table or table[column].isna().all():
            continue
        if marker == "x":
            style: dict[str, Any] = {"color": colour, "linewidth": 1.5}
        else:  # hollow markers drawn on top, so a pick equal to the oracle stays visible
            style = {
                "facecolor": "none" if column in hollow else colour,
                "edgecolor": colour,
                "linewidth": 1.6 if column in hollow else 0.8,
            }
        ax.scatter(table[column], y, marker=marker, s=size, label=label, zorder=4 if column in hollow else 3, **style)
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(y, table["dataset"], fontsize=8 if len(table) < 30 else 6.5)
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.set_xlabel("ΔAUC vs real-only training (external site)")
    n_same = int(table["selected_is_oracle"].sum()) if "selected_is_oracle" in table else 0
    ax.set_title(
        f"Generator selection by quality: the pick equals the oracle on {n_same} of {len(table)} datasets",
        fontsize=10.5,
    )
    legend_below(fig, ax.get_legend_handles_labels()[0], ncol=4, fontsize=8.5)
    return fig


@themed
def plot_within_between(within_between: pd.DataFrame, alpha: float = 0.05) -> plt.Figure:
    """Between- and within-generator slopes of ΔAUC on quality, per metric, with 95% CIs.

    From :func:`radlib.analysis.decompose_within_between`: ΔAUC per SD of the quality
    score (higher = better), the between slope (generator means) and the within slope
    (deviations from the generator mean) with cluster-bootstrap CIs; filled markers have
    bootstrap p < ``alpha``. A between slope away from 0 with a within slope near 0 is the
    ecological fallacy.
    """
    metrics = list(within_between["metric"])
    y = np.arange(len(metrics))
    terms = {
        "between": ("between generators", "#D55E00", "D", -0.15),
        "within": ("within generators", "#0072B2", "o", 0.15),
    }
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * len(metrics) + 1.8))
    for term, (label, colour, marker, offset) in terms.items():
        slope = within_between[f"{term}_slope"].to_numpy(float)
        low = within_between[f"{term}_ci_low"].to_numpy(float)
        high = within_between[f"{term}_ci_high"].to_numpy(float)
        p = within_between[f"{term}_p"].to_numpy(float)
        ok = np.isfinite(slope)
        draw_intervals(ax, low, high, y + offset, colour)
        significant = ok & (p < alpha)
        ax.scatter(
            slope[significant], y[significant] + offset, marker=marker, s=45, color=colour, zorder=3, label=f"{label}"
        )
        ax.scatter(
            slope[ok & ~significant],
            y[ok & ~significant] + offset,
            marker=marker,
            s=45,
            zorder=3,
            facecolor="white",
            edgecolor=colour,
            linewidth=1.4,
            label=None if significant.any() else f"{label}",
        )
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(y, [f"{m}\n{metric_label(m)}" for m in metrics], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("slope: ΔAUC per SD of quality score (95% cluster-bootstrap CI)")
    handles = [plt.Line2D([], [], color=c, marker=mk, linestyle="none", label=lab) for lab, c, mk, _ in terms.values()]
    handles += significance_handles(f"p < {alpha}")
    ax.set_title("Within-between decomposition of the quality-ΔAUC slope", fontsize=11)
    legend_below(fig, handles, ncol=2)
    return fig
