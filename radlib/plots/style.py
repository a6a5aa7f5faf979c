"""The look shared by every figure: palette, theme, arm colours and markers, metric labels, axes helpers.

One theme (:data:`THEME`, seaborn's ``ticks`` style and ``notebook`` context with the
Okabe-Ito colour cycle) is applied to each figure function by :func:`themed`, inside a
``matplotlib.rc_context``: importing :mod:`radlib.plots` changes no global setting, and a
notebook's own figures keep its own style.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from cycler import cycler

from radlib.quality import registered_metrics
from radlib.records import COMPOSITE, SMOTE_ARM

__all__ = [
    "OKABE_ITO",
    "THEME",
    "ARM_ORDER",
    "ARM_MARKERS",
    "METRIC_LABELS",
    "themed",
    "save_figure",
    "arm_colours",
    "arm_style",
    "metric_label",
    "fit_line",
    "dodge",
    "draw_intervals",
    "legend_below",
    "significance_handles",
]

# Okabe & Ito (2008), a palette distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]

#: rcParams of every figure: seaborn's ``ticks`` style and ``notebook`` context (slightly
#: smaller type, readable in print at the figures' sizes), the Okabe-Ito colour cycle, and
#: no top or right spine.
THEME = {
    **sns.axes_style("ticks"),
    **sns.plotting_context("notebook", font_scale=0.9),
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}

#: Arms in a fixed order, so that an arm has the same colour and marker in every figure of
#: the compendium whatever the order of the table it is drawn from; other arms (user
#: generators, snapshot arms) follow, sorted.
ARM_ORDER = ("wgan_gp", "cvae", "tabddpm", SMOTE_ARM)
#: Marker shapes of the arms in that order: generators stay distinguishable in greyscale print.
ARM_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Axis labels of the quality scores (:func:`radlib.quality.quality_score`, higher = closer to real).
METRIC_LABELS = {
    "wasserstein": "−Wasserstein (mean per feature)",
    "ks": "−KS statistic (mean per feature)",
    "mmd2": "−MMD² (RBF kernel)",
    "corr_diff": "−mean |Δ correlation|",
    "detection_auc": "−|detection AUC − 0.5|",
    COMPOSITE: "composite (mean aligned z)",
}


def themed(plot: Callable[..., plt.Figure]) -> Callable[..., plt.Figure]:
    """Decorate a figure function so that it draws under :data:`THEME` (and only it)."""

    @functools.wraps(plot)
    def draw(*args, **kwargs):
        with mpl.rc_context(THEME):
            return plot(*args, **kwargs)

    return draw


def save_figure(fig: plt.Figure, folder: str | Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``<folder>/<stem>.png`` (200 dpi) and ``.pdf``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=200, bbox_inches="tight")
    # no creation date: a rerun on the same records writes the same bytes (git status stays clean)
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    return paths


def arm_colours(arms: Iterable[str]) -> dict[str, str]:
    """One Okabe-Ito colour per arm, in the order given (order of first appearance)."""
    return {arm: OKABE_ITO[i % len(OKABE_ITO)] for i, arm in enumerate(dict.fromkeys(arms))}


def arm_style(arms: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(colour, marker) per arm, both keyed in the canonical order of :data:`ARM_ORDER`.

    An arm's colour and marker depend on its place in :data:`ARM_ORDER` followed by the
    other arms sorted, never on which other arms a table holds, so that a generator looks
    the same in every figure.
    """
    arms = set(arms)
    others = sorted(arms - set(ARM_ORDER))
    canonical = [*ARM_ORDER, *others]
    colours = arm_colours(canonical)
    markers = {arm: ARM_MARKERS[i % len(ARM_MARKERS)] for i, arm in enumerate(canonical)}
    ordered = [arm for arm in canonical if arm in arms]
    return {a: colours[a] for a in ordered}, {a: markers[a] for a in ordered}


def metric_label(metric: str) -> str:
    """Axis label of a metric's quality score: :data:`METRIC_LABELS`, else ``−|metric − ideal|``."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    ideal = registered_metrics()[metric].ideal if metric in registered_metrics() else 0.0
    return f"−{metric}" if ideal == 0 else f"−|{metric} − {ideal:g}|"


def fit_line(ax: plt.Axes, x: np.ndarray, y: np.ndarray, **style) -> None:
    """Draw the least-squares line of y on x over the range of x (needs 3+ points, 2+ distinct x)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.unique(x).size < 2:
        return
    slope, intercept = np.polyfit(x, y, 1)
    ends = np.array([x.min(), x.max()])
    ax.plot(ends, intercept + slope * ends, **style)


def dodge(n: int, width: float = 0.6) -> np.ndarray:
    """Offsets of ``n`` markers sharing one row, spread over ``width``."""
    return np.zeros(1) if n == 1 else np.linspace(-width / 2, width / 2, n)


def draw_intervals(ax: plt.Axes, low: np.ndarray, high: np.ndarray, y: np.ndarray, colour: str) -> None:
    """Horizontal CI bars with end caps (percentile CIs need not contain the point estimate)."""
    ok = np.isfinite(low) & np.isfinite(high)
    ax.hlines(y[ok], low[ok], high[ok], color=colour, linewidth=1.4, zorder=2)
    for end in (low[ok], high[ok]):
        ax.scatter(end, y[ok], marker="|", s=40, color=colour, linewidth=1.4, zorder=2)


def legend_below(fig: plt.Figure, handles, ncol: int, fontsize: float = 9, top: float = 1.0) -> None:
    """A figure legend under the axes, with tight_layout leaving just enough room for it."""
    rows = int(np.ceil(len(handles) / ncol))
    height_in = 0.28 * rows + 0.15
    fig.legend(
        handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize=fontsize, bbox_to_anchor=(0.5, 0.0)
    )
    fig.tight_layout(rect=(0, height_in / fig.get_figheight(), 1, top))


def significance_handles(criterion: str) -> list[plt.Line2D]:
    """Legend entries for filled (significant by ``criterion``, e.g. "q < 0.05 (BH)") and open (not) markers."""
    return [
        plt.Line2D([], [], color="grey", marker="o", linestyle="none", label=f"filled: {criterion}"),
        plt.Line2D(
            [], [], color="grey", marker="o", markerfacecolor="white", linestyle="none", label="open: not significant"
        ),
    ]
