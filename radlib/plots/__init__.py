"""One function per figure of the compendium, grouped by the notebook each figure serves.

========================  =====================================================
module                    figures
========================  =====================================================
:mod:`.style`             the shared look: palette, theme, arm colours and
                          markers, metric labels, :func:`save_figure`
:mod:`.data`              01 · dataset overview
:mod:`.synthesis`         02 · marginals, PCA, correlation matrices
:mod:`.quality`           03 · the sanity ladder
:mod:`.validation`        04 · ΔAUC per arm and classifier
:mod:`.fallacy`           05 · quality vs ΔAUC, ρ comparison, ROC curves,
                          forest plot, generator selection, within-between
:mod:`.ladder`            06 · the fidelity ladder: slopes as the spread grows,
                          dose-response, placebo, sampling floor
:mod:`.reliability`       07 · reliability, power, the positive control
:mod:`.curve`             08 · the specification curve; 09 · predictors of the gain,
                          decision value
========================  =====================================================

Each figure function returns a matplotlib Figure drawn under one theme (seaborn's
``ticks`` style with the colour-blind-safe Okabe-Ito palette, sizes readable in print);
:func:`save_figure` writes it as PNG and PDF. Everything public is importable from
``radlib.plots`` directly.
"""

from radlib.plots.data import plot_dataset_overview
from radlib.plots.fallacy import (
    plot_forest,
    plot_quality_vs_delta,
    plot_rho_comparison,
    plot_roc_curves,
    plot_selection,
    plot_within_between,
)
from radlib.plots.quality import plot_sanity_ladder
from radlib.plots.style import (
    ARM_MARKERS,
    ARM_ORDER,
    METRIC_LABELS,
    OKABE_ITO,
    THEME,
    arm_colours,
    arm_style,
    metric_label,
    save_figure,
    themed,
)
from radlib.plots.synthesis import plot_correlation_matrices, plot_marginals, plot_pca_real_vs_synthetic
from radlib.plots.validation import plot_delta_auc

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
    "plot_dataset_overview",
    "plot_marginals",
    "plot_pca_real_vs_synthetic",
    "plot_correlation_matrices",
    "plot_sanity_ladder",
    "plot_delta_auc",
    "plot_quality_vs_delta",
    "plot_rho_comparison",
    "plot_roc_curves",
    "plot_forest",
    "plot_selection",
    "plot_within_between",
]
