"""One function per figure of the compendium; each returns a matplotlib Figure.

Figures use a colour-blind-safe palette (Okabe-Ito) and sizes readable in print;
:func:`save_figure` writes each as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["OKABE_ITO", "save_figure", "plot_dataset_overview"]

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
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, max(4.5, 0.17 * len(available) + 1)),
                                      gridspec_kw={"width_ratios": [1.1, 1]})
    for modality in modalities:
        rows = available[available["modality"].fillna("unknown") == modality]
        left.scatter(rows["n"], rows["p_clean"], s=40, color=colours[modality], label=modality,
                     edgecolor="black", linewidth=0.4)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("patients n (log)")
    left.set_ylabel("features p after cleaning (log)")
    diagonal = np.array([min(available["n"].min(), available["p_clean"].min()),
                         max(available["n"].max(), available["p_clean"].max())])
    left.plot(diagonal, diagonal, color="grey", linestyle=":", linewidth=1)
    left.text(0.02, 0.02, "dotted: p = n", transform=left.transAxes, color="grey", fontsize=8)
    left.legend(title="modality", frameon=False)
    positions = np.arange(len(available))
    right.barh(positions, available["positive_fraction"],
               color=[colours[m] for m in available["modality"].fillna("unknown")])
    right.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    right.set_yticks(positions, available["dataset"], fontsize=7)
    right.set_xlim(0, 1)
    right.set_xlabel("positive fraction")
    n_missing = int((~overview["available"]).sum())
    fig.suptitle(f"{len(available)} datasets available" + (f", {n_missing} unavailable" if n_missing else ""))
    fig.tight_layout()
    return fig
