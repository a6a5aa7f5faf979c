"""Tests of the figures of notebook 05 (radlib.plots.fallacy): each returns a Figure with the expected panels.

The tables come from radlib.analysis.run_analyses on a small synthetic records table built
here (10 datasets, 3 repetitions, 3 generators and SMOTE), with few bootstrap resamples.
(More than 8 pairs per group keeps analysis's exact Spearman permutation p-value, slow for
6-8 pairs, out of the fixtures.)
Values drawn in the figures are compared with independent computations (scipy's
linregress, scikit-learn's roc_auc_score).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from synthetic_records import GENERATORS, make_records  # noqa: E402

from radlib import analysis as A  # noqa: E402
from radlib import plots as P  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return A.run_analyses(make_records(), "logreg", n_boot=50, seed=1)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_quality_vs_delta_has_one_panel_per_metric(results):
    fig = P.plot_quality_vs_delta(results["pairs"], results["correlations"])
    assert isinstance(fig, plt.Figure)
    assert len(fig.axes) == len(A.METRICS) + 1
    assert [ax.get_title() for ax in fig.axes] == [*A.METRICS, A.COMPOSITE]
    assert all("higher = closer to real" in ax.get_xlabel() for ax in fig.axes)
    fig = P.plot_quality_vs_delta(results["pairs"], results["correlations"], metrics=["mmd2", "ks"])
    assert len(fig.axes) == 2


def test_quality_vs_delta_draws_the_pooled_least_squares_line(results):
    fig = P.plot_quality_vs_delta(results["pairs"], results["correlations"], metrics=["mmd2"])
    ax = fig.axes[0]
    black = [line for line in ax.get_lines() if to_hex(line.get_color()) == "#000000"]
    assert len(black) == 1
    x, y = black[0].get_data()
    gen = results["pairs"][results["pairs"]["arm"].isin(GENERATORS)]
    expected = stats.linregress(-gen["mmd2"], gen["delta_auc"])  # quality score = -MMD²
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(expected.slope)
    assert x[0] == pytest.approx((-gen["mmd2"]).min()) and x[1] == pytest.approx((-gen["mmd2"]).max())
    # one fit line per generator, in its own colour, and the ρ of each group in the box
    assert len(ax.get_lines()) == 1 + len(GENERATORS) + 1  # pooled, generators, zero line
    texts = " ".join(t.get_text() for t in ax.texts)
    pooled = results["correlations"].query("group == 'pooled' and metric == 'mmd2'")["rho"].iloc[0]
    assert f"pooled: ρ = {pooled:+.2f}" in texts
    assert all(f"{g}: ρ =" in texts for g in GENERATORS)


def test_rho_comparison_is_one_panel_marking_significance(results):
    correlations = results["correlations"].copy()
    fig = P.plot_rho_comparison(correlations)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.get_yticks()) == len(A.METRICS) + 1
    drawn = {gid: len(c.get_offsets()) for c in ax.collections if (gid := c.get_gid())}
    for group, rows in correlations.groupby("group"):
        defined = rows[rows["rho"].notna()]
        assert drawn[f"{group}:significant"] == int(defined["significant"].sum())
        assert drawn[f"{group}:not significant"] == int((~defined["significant"]).sum())
    assert correlations.query("group == 'pooled'")["significant"].any()  # the fallacy table: pooled ρ large


def test_roc_curves_legend_gives_the_pooled_auc(results):
    fig = P.plot_roc_curves(results["pairs"], results["roc"])
    assert len(fig.axes) == 1
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == len(A.METRICS) + 1
    gen = results["pairs"][results["pairs"]["arm"].isin(GENERATORS)]
    expected = roc_auc_score(gen["delta_auc"] > 0, -gen["wasserstein"])
    assert labels[0].startswith(f"wasserstein: AUC {expected:.2f}")


def test_roc_curves_with_one_outcome_class_says_so(results):
    pairs = results["pairs"].assign(delta_auc=-0.01)
    fig = P.plot_roc_curves(pairs)
    assert len(fig.axes) == 1
    assert any("no ROC curve" in t.get_text() for t in fig.axes[0].texts)


def test_forest_has_one_panel_per_generator(results):
    fig = P.plot_forest(results["meta_studies"], results["meta_generators"])
    assert len(fig.axes) == len(GENERATORS)
    titles = [ax.get_title() for ax in fig.axes]
    for title, row in zip(titles, results["meta_generators"].itertuples()):
        assert title.startswith(row.generator)
        assert f"{row.estimate:+.3f}" in title and "τ²" in title and "I²" in title
    assert len(fig.axes[0].get_yticks()) == results["meta_studies"]["dataset"].nunique() + 1


def test_selection_sorts_datasets_by_oracle(results):
    fig = P.plot_selection(results["selection"])
    assert len(fig.axes) == 1
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == list(results["selection"].sort_values("oracle_delta")["dataset"])
    assert len(fig.axes[0].collections) >= 4  # selected, oracle, random, SMOTE (+ the regret bars)


def test_within_between_is_one_panel(results):
    fig = P.plot_within_between(results["within_between"])
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_yticks()) == len(results["within_between"])


def test_figures_survive_undefined_statistics():
    """Two datasets: within-generator ρ is undefined (NaN); every figure still draws."""
    res = A.run_analyses(make_records(n_datasets=2, smote=False), "rf", metrics=("mmd2",), n_boot=20)
    assert res["correlations"].query("group != 'pooled'")["rho"].isna().all()
    figures = [
        P.plot_quality_vs_delta(res["pairs"], res["correlations"]),
        P.plot_rho_comparison(res["correlations"]),
        P.plot_roc_curves(res["pairs"], res["roc"]),
        P.plot_forest(res["meta_studies"], res["meta_generators"]),
        P.plot_selection(res["selection"]),
        P.plot_within_between(res["within_between"]),
    ]
    assert [len(f.axes) for f in figures] == [2, 1, 1, 3, 1, 1]  # mmd2 and the composite


def test_save_figure_writes_png_and_pdf(results, tmp_path):
    paths = P.save_figure(P.plot_within_between(results["within_between"]), tmp_path, "wb")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in paths)
