"""Figures of notebook 07: reliability of the pair means, power of the design, positive-control recovery."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from radlib.plots.style import arm_style, dodge, draw_intervals, legend_below, metric_label, themed
from radlib.records import CLASSIFIER_LABELS, POOLED

__all__ = ["plot_reliability", "plot_power", "plot_recovery"]

#: The left end of the reliability axis; lower estimates are drawn there as "<".
RELIABILITY_AXIS_MIN = -1.0

#: The recovery criteria drawn by :func:`plot_recovery`, with their labels.
RECOVERY_CRITERIA = {
    "pooled_significant": "pooled ρ, q < α",
    "any_within_significant": "ρ within some generator, q < α",
    "between_significant": "between slope, p < α",
    "within_slope_significant": "within slope, p < α",
}


def _group_style(groups) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Groups in table order (pooled first, black diamond) with the generators' colours and markers."""
    generators = [g for g in dict.fromkeys(groups) if g != POOLED]
    colours, markers = arm_style(generators)
    colours[POOLED], markers[POOLED] = "black", "D"
    return [POOLED, *generators], colours, markers


def _group_handles(order, colours, markers) -> list:
    return [
        plt.Line2D([], [], color=colours[g], marker=markers[g], linestyle="none", label="pooled" if g == POOLED else g)
        for g in order
    ]


@themed
def plot_reliability(reliabilities: pd.DataFrame) -> plt.Figure:
    """Reliability of each pair-level quantity with its dataset-bootstrap CI, pooled and per generator.

    One row for ΔAUC of each classifier, then one per quality score (the scores' rows come
    from the first classifier's valid records). 0 (pure noise) and 1 (no noise) are marked;
    a reliability below 0 is an ANOVA estimate of a between-pair variance below zero.

    Parameters
    ----------
    reliabilities : DataFrame
        :func:`radlib.analysis.reliability.reliability_table` output.
    """
    classifiers = list(dict.fromkeys(reliabilities["classifier"]))
    delta = reliabilities[reliabilities["quantity"] == "delta_auc"].assign(
        row=lambda t: "ΔAUC, " + t["classifier"].map(lambda c: CLASSIFIER_LABELS.get(c, c))
    )
    scores = reliabilities[(reliabilities["quantity"] != "delta_auc") & (reliabilities["classifier"] == classifiers[0])]
    scores = scores.assign(row=scores["quantity"].map(metric_label))
    table = pd.concat([delta, scores], ignore_index=True)
    rows = list(dict.fromkeys(table["row"]))
    order, colours, markers = _group_style(table["group"])
    offsets = dict(zip(order, dodge(len(order), 0.5)))
    # Reliabilities far below 0 (a between-pair variance estimated well below zero) would stretch
    # the axis: they are drawn at its left end as a "<".
    left = max(RELIABILITY_AXIS_MIN, min(-0.1, np.nanmin(table[["reliability", "ci_low"]].to_numpy(float)) - 0.05))
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.8))
    for group in order:
        part = table[table["group"] == group].set_index("row").reindex(rows)
        y = np.arange(len(rows)) + offsets[group]
        value = part["reliability"].to_numpy(float)
        beyond = value < left
        low, high = (np.clip(part[c].to_numpy(float), left, None) for c in ("ci_low", "ci_high"))
        draw_intervals(ax, low, high, y, colours[group])
        ax.scatter(value[~beyond], y[~beyond], marker=markers[group], color=colours[group], s=40, zorder=3, gid=group)
        ax.scatter(
            np.full(beyond.sum(), left),
            y[beyond],
            marker="<",
            color=colours[group],
            s=40,
            zorder=3,
            gid=f"{group}:below",
        )
    for x, style in ((0, ":"), (1, "--")):
        ax.axvline(x, color="grey", linestyle=style, linewidth=1)
    ax.set_yticks(np.arange(len(rows)), rows, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(left - 0.03, 1.05)
    clipped = f"; <: below {left:g}" if (table["reliability"] < left).any() else ""
    ax.set_xlabel(
        f"reliability of the pair mean (95% dataset-bootstrap CI)\n0 = all evaluation noise, 1 = no noise{clipped}"
    )
    ax.set_title("How much of a pair mean is signal?", fontsize=11)
    legend_below(fig, _group_handles(order, colours, markers), ncol=len(order))
    return fig


@themed
def plot_power(power: pd.DataFrame, target: float = 0.8, alpha: float = 0.05) -> plt.Figure:
    """Simulated power per quality score: pooled and within-generator tests, with Monte-Carlo SEs.

    One panel per classifier x effect scale (``effect_on``); filled markers are after the
    Benjamini-Hochberg correction, open ones unadjusted; crosses mark the Fisher-z closed form
    of the within-generator test. The dashed line is ``target`` power, the dotted one the
    level of the tests.

    Parameters
    ----------
    power : DataFrame
        :func:`radlib.analysis.power.power_table` output.
    target : float
        Conventional power to mark (0.8).
    alpha : float
        Level of the tests (the rate without an effect).
    """
    classifiers = list(dict.fromkeys(power["classifier"]))
    scales = list(dict.fromkeys(power["effect_on"]))
    metrics = list(dict.fromkeys(power["metric"]))
    tests = {"pooled": ("power_pooled", "black", "D"), "within": ("power_within", "#7f7f7f", "o")}
    fig, axes = plt.subplots(
        len(classifiers),
        len(scales),
        figsize=(5.2 * len(scales), 0.45 * len(metrics) * len(classifiers) + 2.4),
        squeeze=False,
        sharex=True,
    )
    y = np.arange(len(metrics))
    for (i, classifier), (j, scale) in ((a, b) for a in enumerate(classifiers) for b in enumerate(scales)):
        ax = axes[i, j]
        part = power[(power["classifier"] == classifier) & (power["effect_on"] == scale)].set_index("metric")
        part = part.reindex(metrics)
        for k, (column, colour, marker) in enumerate(tests.values()):
            offset = y + (k - 0.5) * 0.3
            rate, se = part[column].to_numpy(float), part[f"{column}_se"].to_numpy(float)
            draw_intervals(ax, rate - se, rate + se, offset, colour)
            ax.scatter(rate, offset, marker=marker, color=colour, s=36, zorder=3)
            ax.scatter(
                part[f"{column}_unadjusted"], offset, marker=marker, facecolor="white", edgecolor=colour, s=36, zorder=3
            )
        ax.scatter(part["closed_form_within"], y + 0.15, marker="x", color="#D55E00", s=30, zorder=4)
        ax.axvline(target, color="grey", linestyle="--", linewidth=1)
        ax.axvline(alpha, color="grey", linestyle=":", linewidth=1)
        ax.set_yticks(y, metrics if j == 0 else [], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(-0.02, 1.02)
        rho = part["rho"].iloc[0]
        ax.set_title(f"{CLASSIFIER_LABELS.get(classifier, classifier)}: ρ = {rho:.2f} on the {scale}", fontsize=10)
        if i == len(classifiers) - 1:
            ax.set_xlabel("power (± Monte-Carlo SE)")
    handles = [
        plt.Line2D([], [], color="black", marker="D", linestyle="none", label="pooled test"),
        plt.Line2D([], [], color="#7f7f7f", marker="o", linestyle="none", label="within a generator (mean)"),
        plt.Line2D(
            [], [], color="grey", marker="o", markerfacecolor="white", linestyle="none", label="open: unadjusted"
        ),
        plt.Line2D([], [], color="#D55E00", marker="x", linestyle="none", label="Fisher-z closed form (within)"),
    ]
    legend_below(fig, handles, ncol=4, fontsize=8)
    return fig


@themed
def plot_recovery(summary: pd.DataFrame, alpha: float = 0.05, metric: str | None = None) -> plt.Figure:
    """How often the analyses find each planted structure: rate of each criterion per structure.

    Parameters
    ----------
    summary : DataFrame
        :func:`radlib.analysis.positive_control.summarize_recovery` output (one quality score).
    alpha : float
        Level of the tests, drawn as the rate expected where nothing is planted.
    metric : str, optional
        The quality score the summary is of, for the title.
    """
    structures = list(summary["structure"])
    criteria = list(RECOVERY_CRITERIA)
    width = 0.8 / len(criteria)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(structures))
    for k, criterion in enumerate(criteria):
        rate = summary[criterion].to_numpy(float)
        se = summary[f"{criterion}_se"].to_numpy(float)
        position = x + (k - (len(criteria) - 1) / 2) * width
        ax.bar(
            position, np.nan_to_num(rate), width, yerr=np.nan_to_num(se), capsize=2, label=RECOVERY_CRITERIA[criterion]
        )
        for p, r in zip(position, rate):
            if not np.isfinite(r):
                ax.text(p, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.axhline(alpha, color="grey", linestyle=":", linewidth=1)
    ax.text(len(structures) - 0.5, alpha, f" α = {alpha}", va="bottom", ha="right", fontsize=8, color="grey")
    labels = [f"{s.replace('_', ' ')}\n({int(n)} replicates)" for s, n in zip(structures, summary["n_replicates"])]
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of replicates")
    title = "Positive control: what the study's analyses find in each planted structure"
    ax.set_title(title + (f"\n(quality score: {metric_label(metric)})" if metric else ""), fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    legend_below(fig, handles, ncol=2, fontsize=8)
    return fig
