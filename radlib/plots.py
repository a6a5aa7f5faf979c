"""One function per figure of the compendium; each returns a matplotlib Figure.

Figures use a colour-blind-safe palette (Okabe-Ito) and sizes readable in print;
:func:`save_figure` writes each as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = [
    "OKABE_ITO",
    "save_figure",
    "arm_colours",
    "plot_dataset_overview",
    "plot_sanity_ladder",
    "plot_delta_auc",
    "plot_marginals",
    "plot_pca_real_vs_synthetic",
    "plot_correlation_matrices",
]

# Okabe & Ito (2008), a palette distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]


def save_figure(fig: plt.Figure, folder: str | Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``<folder>/<stem>.png`` (200 dpi) and ``.pdf``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=200, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


def plot_dataset_overview(overview: pd.DataFrame) -> plt.Figure:
    """Dataset overview: n vs p (log axes) by modality, and the class balance of each dataset.

    Parameters
    ----------
    overview : DataFrame
        :func:`radlib.data.overview_table` output; unavailable datasets are left out of
        the panels and counted in the title.
    """
    available = overview[overview["available"]].sort_values("positive_fraction")
    modalities = sorted(available["modality"].fillna("unknown").unique())
    colours = dict(zip(modalities, OKABE_ITO))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, max(4.5, 0.17 * len(available) + 1)), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    for modality in modalities:
        rows = available[available["modality"].fillna("unknown") == modality]
        left.scatter(
            rows["n"], rows["p_clean"], s=40, color=colours[modality], label=modality, edgecolor="black", linewidth=0.4
        )
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("patients n (log)")
    left.set_ylabel("features p after cleaning (log)")
    diagonal = np.array(
        [min(available["n"].min(), available["p_clean"].min()), max(available["n"].max(), available["p_clean"].max())]
    )
    left.plot(diagonal, diagonal, color="grey", linestyle=":", linewidth=1)
    left.text(0.02, 0.02, "dotted: p = n", transform=left.transAxes, color="grey", fontsize=8)
    left.legend(title="modality", frameon=False)
    positions = np.arange(len(available))
    right.barh(
        positions, available["positive_fraction"], color=[colours[m] for m in available["modality"].fillna("unknown")]
    )
    right.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    right.set_yticks(positions, available["dataset"], fontsize=7)
    right.set_xlim(0, 1)
    right.set_xlabel("positive fraction")
    n_missing = int((~overview["available"]).sum())
    fig.suptitle(f"{len(available)} datasets available" + (f", {n_missing} unavailable" if n_missing else ""))
    fig.tight_layout()
    return fig


def arm_colours(arms) -> dict[str, str]:
    """One Okabe-Ito colour per arm, stable across figures (order of first appearance)."""
    return {arm: OKABE_ITO[i % len(OKABE_ITO)] for i, arm in enumerate(dict.fromkeys(arms))}


def plot_sanity_ladder(ladder: pd.DataFrame) -> plt.Figure:
    """The sanity ladder: each metric's value for synthetic sets of increasing distance.

    Parameters
    ----------
    ladder : DataFrame
        Index = rung names in ladder order (closest first), one column per metric.
    """
    metrics = list(ladder.columns)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 3.2))
    positions = np.arange(len(ladder))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        ax.plot(positions, ladder[metric], marker="o", color=OKABE_ITO[4])
        ax.set_xticks(positions, ladder.index, rotation=40, ha="right")
        ax.set_title(metric)
        if metric == "detection_auc":
            ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    fig.suptitle("Sanity ladder: every metric should rise from an exact copy to pure noise")
    fig.tight_layout()
    return fig


def plot_delta_auc(records: pd.DataFrame, classifiers=("logreg", "rf")) -> plt.Figure:
    """ΔAUC per arm for each classifier: one point per valid (dataset, repetition), with box plots.

    Records of the real-only arm, failed arms and undefined external AUCs are left out
    (their count is the notebook's to report).
    """
    valid = records[(records["arm"] != "real") & (records["status"] == "ok") & ~records["undefined"]]
    arms = list(dict.fromkeys(valid["arm"]))
    colours = arm_colours(arms)
    fig, axes = plt.subplots(1, len(classifiers), figsize=(5 * len(classifiers), 4), sharey=True)
    rng = np.random.default_rng(0)  # jitter only
    for ax, clf in zip(np.atleast_1d(axes), classifiers):
        column = f"delta_auc_{clf}"
        values = [valid.loc[valid["arm"] == arm, column].dropna().to_numpy() for arm in arms]
        ax.boxplot(values, positions=range(len(arms)), widths=0.5, showfliers=False, medianprops={"color": "black"})
        for i, (arm, v) in enumerate(zip(arms, values)):
            ax.scatter(i + rng.uniform(-0.18, 0.18, len(v)), v, s=9, alpha=0.5, color=colours[arm])
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(arms)), arms)
        ax.set_title({"logreg": "logistic regression", "rf": "random forest"}.get(clf, clf))
    np.atleast_1d(axes)[0].set_ylabel("ΔAUC (arm − real-only), external site")
    fig.tight_layout()
    return fig


# --- figures of the analyses (notebook 05): quality vs ΔAUC, pooled and within generators ---

__all__ += [
    "METRIC_LABELS",
    "plot_quality_vs_delta",
    "plot_rho_comparison",
    "plot_roc_curves",
    "plot_forest",
    "plot_selection",
    "plot_within_between",
]

#: Axis labels of the quality scores of :func:`radlib.analysis.orient_quality` (higher = better).
METRIC_LABELS = {
    "wasserstein": "−Wasserstein (mean per feature)",
    "ks": "−KS statistic (mean per feature)",
    "mmd2": "−MMD² (RBF kernel)",
    "corr_diff": "−mean |Δ correlation|",
    "detection_auc": "−|detection AUC − 0.5|",
    "composite": "composite (mean aligned z)",
}

# Arms in a fixed order, so that a generator has the same colour in every figure of the
# compendium whatever the order of the table it is drawn from (figure 04 included).
_ARM_ORDER = ("wgan_gp", "cvae", "tabddpm", "smote")
_ARM_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _arm_style(arms) -> tuple[dict[str, str], dict[str, str]]:
    """(colour, marker) per arm: Okabe-Ito colours in the canonical arm order, one marker shape each.

    The shapes make the generators distinguishable in greyscale print as well.
    """
    arms = list(dict.fromkeys(arms))
    ordered = [a for a in _ARM_ORDER if a in arms] + sorted(a for a in arms if a not in _ARM_ORDER)
    known = [a for a in _ARM_ORDER] + [a for a in ordered if a not in _ARM_ORDER]
    colours = arm_colours(known)
    markers = {arm: _ARM_MARKERS[i % len(_ARM_MARKERS)] for i, arm in enumerate(known)}
    return {a: colours[a] for a in ordered}, {a: markers[a] for a in ordered}


def _metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _fmt_q(q: float) -> str:
    if not np.isfinite(q):
        return "n/a"
    return "< 0.001" if q < 0.001 else f"{q:.3f}" if q < 0.1 else f"{q:.2f}"


def _fit_line(ax, x: np.ndarray, y: np.ndarray, **style) -> None:
    """Draw the least-squares line of y on x over the range of x (needs 3+ points, 2+ distinct x)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.unique(x).size < 2:
        return
    slope, intercept = np.polyfit(x, y, 1)
    grid = np.array([x.min(), x.max()])
    ax.plot(grid, intercept + slope * grid, **style)


def _generator_pairs_scored(pairs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    from radlib.analysis import COMPOSITE, add_composite, generators_of

    scored = pairs if COMPOSITE in pairs.columns else add_composite(pairs)
    generators = generators_of(scored)
    return scored[scored["arm"].isin(generators)], generators


def _grid(n: int, ncols: int = 3, size=(4.2, 3.6)):
    ncols = min(ncols, max(n, 1))
    nrows = int(np.ceil(max(n, 1) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows + 0.8), squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    return fig, list(axes.flat[:n])


def _legend_below(fig: plt.Figure, handles, ncol: int, fontsize: float = 9, top: float = 1.0) -> None:
    """A figure legend under the axes, with tight_layout leaving just enough room for it."""
    rows = int(np.ceil(len(handles) / ncol))
    height_in = 0.28 * rows + 0.15
    fig.legend(
        handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize=fontsize, bbox_to_anchor=(0.5, 0.0)
    )
    fig.tight_layout(rect=(0, height_in / fig.get_figheight(), 1, top))


def plot_quality_vs_delta(pairs: pd.DataFrame, correlations: pd.DataFrame, metrics=None) -> plt.Figure:
    """The key figure: quality score vs ΔAUC per metric, pooled and within each generator.

    One panel per metric: x = the quality score of :func:`radlib.analysis.orient_quality`
    (higher = closer to the real data), y = the pair's mean ΔAUC; one point per
    (dataset, generator) pair, coloured and shaped by generator. The black line is the
    least-squares fit over all generator pairs (pooled), each coloured line the fit
    within one generator (over that generator's range of x; drawn with 3 or more pairs).
    The box gives Spearman ρ with its Benjamini-Hochberg q-value from ``correlations``
    (:func:`radlib.analysis.correlate_quality`), pooled first. The lines show the
    direction of each association; ρ (ranks) is the statistic tested.

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
    """
    from radlib.analysis import POOLED, orient_quality

    gen, generators = _generator_pairs_scored(pairs)
    metrics = list(dict.fromkeys(correlations["metric"])) if metrics is None else list(metrics)
    colours, markers = _arm_style(generators)
    corr = correlations.set_index(["group", "metric"])
    fig, axes = _grid(len(metrics), ncols=3, size=(4.4, 3.9))
    for ax, metric in zip(axes, metrics):
        x_all = orient_quality(gen, metric).to_numpy(float)
        y_all = gen["delta_auc"].to_numpy(float)
        lines = []
        for generator in generators:
            mask = (gen["arm"] == generator).to_numpy()
            ax.scatter(
                x_all[mask],
                y_all[mask],
                s=26,
                color=colours[generator],
                marker=markers[generator],
                edgecolor="black",
                linewidth=0.4,
                alpha=0.85,
                zorder=3,
            )
            _fit_line(ax, x_all[mask], y_all[mask], color=colours[generator], linewidth=1.8, zorder=4)
        _fit_line(ax, x_all, y_all, color="black", linewidth=2.2, zorder=5)
        for group in [POOLED, *generators]:
            if (group, metric) in corr.index:
                row = corr.loc[(group, metric)]
                rho = f"{row['rho']:+.2f}" if np.isfinite(row["rho"]) else "n/a"
                q = _fmt_q(float(row["q_value"]))
                lines.append((group, f"{group}: ρ = {rho}, q {q if q.startswith('<') else '= ' + q}"))
        for i, (group, text) in enumerate(lines):
            ax.text(
                0.02,
                0.97 - 0.085 * i,
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
        ax.set_title(metric, fontsize=11)
        ax.set_xlabel(f"quality: {_metric_label(metric)}\n(higher = closer to real) →", fontsize=9)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        # headroom for the ρ box: the data fill the axes below the text lines
        finite = y_all[np.isfinite(y_all)]
        low, high = (finite.min(), finite.max()) if len(finite) else (-0.1, 0.1)
        span = (high - low) or 0.1
        text_share = 0.06 + 0.085 * len(lines)
        ax.set_ylim(low - 0.08 * span, low - 0.08 * span + 1.13 * span / (1 - text_share))
    for i, ax in enumerate(axes):
        if i % 3 == 0:
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
    fig.suptitle(
        "Synthetic-data quality vs ΔAUC: pooled over generators (black) and within each generator", fontsize=12
    )
    _legend_below(fig, handles, ncol=len(handles), top=0.97)
    return fig


def _dodge(n: int, width: float = 0.6) -> np.ndarray:
    return np.zeros(1) if n == 1 else np.linspace(-width / 2, width / 2, n)


def _intervals(ax, low: np.ndarray, high: np.ndarray, y: np.ndarray, colour: str) -> None:
    """Horizontal CI bars with end caps (percentile CIs need not contain the point estimate)."""
    ok = np.isfinite(low) & np.isfinite(high)
    ax.hlines(y[ok], low[ok], high[ok], color=colour, linewidth=1.4, zorder=2)
    for end in (low[ok], high[ok]):
        ax.scatter(end, y[ok], marker="|", s=40, color=colour, linewidth=1.4, zorder=2)


def plot_rho_comparison(correlations: pd.DataFrame, alpha: float = 0.05) -> plt.Figure:
    """Spearman ρ with bootstrap 95% CIs per metric: pooled (black) vs within each generator.

    One row per metric, one marker per group; filled markers are significant after the
    Benjamini-Hochberg correction (``significant`` / q < ``alpha``), open ones are not.
    Groups with an undefined ρ are left out of their row.
    """
    from radlib.analysis import POOLED

    metrics = list(dict.fromkeys(correlations["metric"]))
    groups = list(dict.fromkeys(correlations["group"]))
    generators = [g for g in groups if g != POOLED]
    colours, markers = _arm_style(generators)
    colours[POOLED], markers[POOLED] = "black", "D"
    order = ([POOLED] if POOLED in groups else []) + generators
    offsets = dict(zip(order, _dodge(len(order))))
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * len(metrics) + 1.8))
    for group in order:
        rows = correlations[correlations["group"] == group].set_index("metric").reindex(metrics)
        y = np.arange(len(metrics)) + offsets[group]
        rho = rows["rho"].to_numpy(float)
        low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
        significant = rows["q_value"].to_numpy(float) < alpha
        ok = np.isfinite(rho)
        _intervals(ax, low, high, y, colours[group])
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
    ax.set_yticks(np.arange(len(metrics)), [f"{m}\n{_metric_label(m)}" for m in metrics], fontsize=8)
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
    handles += [
        plt.Line2D([], [], color="grey", marker="o", linestyle="none", label=f"filled: q < {alpha} (BH)"),
        plt.Line2D(
            [], [], color="grey", marker="o", markerfacecolor="white", linestyle="none", label="open: not significant"
        ),
    ]
    ax.set_title("Pooled vs within-generator rank correlations", fontsize=11)
    _legend_below(fig, handles, ncol=3)
    return fig


def plot_roc_curves(pairs: pd.DataFrame, roc: pd.DataFrame | None = None, metrics=None) -> plt.Figure:
    """ROC curves of each quality score as a predictor of "augmentation improved" (ΔAUC > 0).

    Pooled over all generator pairs; the score is :func:`radlib.analysis.orient_quality`
    (higher = predicted improvement), curves from ``sklearn.metrics.roc_curve``, the AUC
    from ``sklearn.metrics.roc_auc_score`` in the legend (with the 95% cluster-bootstrap CI
    of the pooled row of ``roc`` (:func:`radlib.analysis.discriminate_quality`) when given).
    With a single outcome class there is no curve and the panel says so.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    from radlib.analysis import COMPOSITE, METRICS, POOLED, orient_quality

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
            text = f"{metric}: AUC {auc:.2f}"
            if ci is not None and metric in ci.index and np.isfinite(ci.at[metric, "ci_low"]):
                text += f" [{ci.at[metric, 'ci_low']:.2f}, {ci.at[metric, 'ci_high']:.2f}]"
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


def plot_forest(meta_studies: pd.DataFrame, meta_generators: pd.DataFrame) -> plt.Figure:
    """Forest plot of the random-effects meta-analysis of ΔAUC, one panel per generator.

    Rows are the datasets (the studies; same order in every panel): the mean ΔAUC with its
    95% CI (± 1.96 SE, SE² = variance of the repetitions' ΔAUC / n), marker area
    proportional to the random-effects weight; studies left out of the pooling are grey
    open markers. The diamond at the bottom is the DerSimonian-Laird pooled estimate with
    its 95% CI; the panel title gives it with τ² and I² (:func:`radlib.analysis.meta_analyze_generators`).
    """
    generators = list(meta_generators["generator"]) or sorted(meta_studies["generator"].unique())
    colours, _ = _arm_style(generators)
    datasets = sorted(meta_studies["dataset"].unique())
    position = {d: i for i, d in enumerate(datasets)}
    pooled_y = len(datasets) + 0.8
    fig, axes = plt.subplots(
        1,
        len(generators),
        figsize=(3.6 * len(generators) + 1.6, 0.24 * len(datasets) + 2.6),
        sharey=True,
        squeeze=False,
    )
    axes = list(axes.flat)
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
                f"{generator} (k = {int(row['k'])})\nRE: {est:+.3f} [{lo:+.3f}, {hi:+.3f}]\n"
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
            style = {"color": colour, "linewidth": 1.5}
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
    _legend_below(fig, ax.get_legend_handles_labels()[0], ncol=4, fontsize=8.5)
    return fig


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
        _intervals(ax, low, high, y + offset, colour)
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
    ax.set_yticks(y, [f"{m}\n{_metric_label(m)}" for m in metrics], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("slope: ΔAUC per SD of quality score (95% cluster-bootstrap CI)")
    handles = [plt.Line2D([], [], color=c, marker=mk, linestyle="none", label=lab) for lab, c, mk, _ in terms.values()]
    handles += [
        plt.Line2D([], [], color="grey", marker="o", linestyle="none", label=f"filled: p < {alpha}"),
        plt.Line2D(
            [], [], color="grey", marker="o", markerfacecolor="white", linestyle="none", label="open: not significant"
        ),
    ]
    ax.set_title("Within-between decomposition of the quality-ΔAUC slope", fontsize=11)
    _legend_below(fig, handles, ncol=2)
    return fig


# --- Real next to synthetic (notebook 02_synthesis) -------------------------------------------

# Real data in black and grey, synthetic in the palette's orange; class 0 and 1 by colour
# within each (blue, vermillion), real vs synthetic by marker.
_REAL_COLOUR = "#404040"
_SYNTH_COLOUR = OKABE_ITO[0]
_CLASS_COLOURS = {0: OKABE_ITO[4], 1: OKABE_ITO[5]}


def plot_marginals(
    X_real: np.ndarray, synthetic: dict[str, np.ndarray], features, feature_names=None, bins: int = 20
) -> plt.Figure:
    """Histograms of a few features, real vs synthetic, one row per generator.

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
        Histogram bins, shared by real and synthetic within a panel (density scale).

    Returns
    -------
    matplotlib.figure.Figure
    """
    features = list(features)
    fig, axes = plt.subplots(
        len(synthetic), len(features), figsize=(2.6 * len(features), 2.1 * len(synthetic)), squeeze=False, sharey="col"
    )
    for row, (name, X_synth) in enumerate(synthetic.items()):
        for col, j in enumerate(features):
            ax = axes[row, col]
            edges = np.histogram_bin_edges(np.concatenate([X_real[:, j], X_synth[:, j]]), bins=bins)
            ax.hist(X_real[:, j], bins=edges, density=True, color=_REAL_COLOUR, alpha=0.35, label="real")
            ax.hist(
                X_synth[:, j],
                bins=edges,
                density=True,
                histtype="step",
                linewidth=1.6,
                color=_SYNTH_COLOUR,
                label="synthetic",
            )
            if row == 0:
                ax.set_title(feature_names[j] if feature_names is not None else f"feature {j}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"{name}\ndensity", fontsize=9)
            ax.tick_params(labelsize=7)
    axes[0, -1].legend(fontsize=7, frameon=False)
    fig.suptitle("Marginals: real (filled) vs synthetic (line)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_pca_real_vs_synthetic(
    X_real: np.ndarray, y_real: np.ndarray, synthetic: dict[str, tuple[np.ndarray, np.ndarray]]
) -> plt.Figure:
    """Real and synthetic rows on the first two principal components of the real rows.

    One panel per generator; colour is the class, filled circles are real rows and crosses
    synthetic ones. The projection is fitted on the real rows only, so every panel shares
    the same axes.

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
    real = pca.transform(X_real)
    fig, axes = plt.subplots(
        1, len(synthetic), figsize=(3.8 * len(synthetic), 3.8), squeeze=False, sharex=True, sharey=True
    )
    for ax, (name, (X_synth, y_synth)) in zip(axes[0], synthetic.items()):
        synth = pca.transform(X_synth)
        for c, colour in _CLASS_COLOURS.items():
            ax.scatter(
                *synth[y_synth == c].T,
                marker="x",
                s=14,
                linewidth=0.8,
                color=colour,
                alpha=0.6,
                label=f"synthetic, class {c}",
            )
            ax.scatter(
                *real[y_real == c].T,
                marker="o",
                s=18,
                color=colour,
                edgecolor="black",
                linewidth=0.4,
                label=f"real, class {c}",
            )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"PC1 ({pca.explained_variance_ratio_[0]:.0%} of real variance)", fontsize=8)
    axes[0, 0].set_ylabel(f"PC2 ({pca.explained_variance_ratio_[1]:.0%})", fontsize=8)
    axes[0, -1].legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def plot_correlation_matrices(X_real: np.ndarray, synthetic: dict[str, np.ndarray]) -> plt.Figure:
    """Pearson correlation matrices side by side: real, then each generator's synthetic rows.

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
    panels = {"real": real, **{name: np.corrcoef(X, rowvar=False) for name, X in synthetic.items()}}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 0.8, 3.4), squeeze=False)
    for ax, (name, matrix) in zip(axes[0], panels.items()):
        image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
        difference = np.nanmean(np.abs(matrix - real)[off_diagonal])
        title = name if name == "real" else f"{name}\nmean |Δr| = {difference:.3f}"
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="Pearson r")
    return fig
