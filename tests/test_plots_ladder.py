"""Tests of the figures of notebook 06 (radlib.plots.ladder): each draws what its table says.

The tables come from radlib.analysis.ladder.run_ladder on the "between" ladder records of
tests/ladder_records.py (few bootstrap resamples and permutations). Drawn values are compared
with the tables they come from and with independent pandas computations.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from ladder_records import make_ladder_records  # noqa: E402

from radlib import analysis as A  # noqa: E402
from radlib.analysis import ladder as L  # noqa: E402
from radlib.plots import ladder as PL  # noqa: E402
from radlib.records import COMPOSITE  # noqa: E402


@pytest.fixture(scope="module")
def records():
    return make_ladder_records("between")


@pytest.fixture(scope="module")
def results(records):
    return L.run_ladder(records, "logreg", n_boot=50, n_permutations=15, seed=1)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _collection(ax, gid):
    (found,) = [c for c in ax.collections if c.get_gid() == gid]
    return found


def test_key_figure_draws_the_three_slopes_of_each_set(results):
    fig = PL.plot_ladder_slopes(results["slopes"], results["configuration_slopes"], results["variance"])
    (ax,) = fig.axes
    slopes = results["slopes"][results["slopes"]["metric"] == COMPOSITE].set_index("set").loc[["S1", "S2", "S3"]]
    for term in ("pooled", "between", "within"):
        offsets = _collection(ax, term).get_offsets()
        assert np.allclose(offsets[:, 1], slopes[f"{term}_slope"])
        assert np.allclose(offsets[:, 0], np.arange(3) + PL.SLOPE_STYLE[term][3])
    # one grey marker per configuration of each set: 3 + 6 + 9
    inside = [c for c in ax.collections if str(c.get_gid()).startswith("configuration:")]
    assert sum(len(c.get_offsets()) for c in inside) == 18
    labels = [t.get_text() for t in ax.get_xticklabels()]
    eta2 = results["variance"].set_index(["set", "quantity"]).loc[("S3", COMPOSITE), "eta2"]
    assert labels[2] == f"S3\n9 configurations\nη² = {eta2:.2f}"


def test_key_figure_has_a_panel_per_score(results):
    fig = PL.plot_ladder_slopes(results["slopes"], metrics=[COMPOSITE, "ks"])
    assert len(fig.axes) == 2
    assert "KS" in fig.axes[1].get_title()
    fig = PL.plot_ladder_slopes(results["slopes"], metrics=A.METRICS)  # rows of 3 panels
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 5
    assert len({ax.get_position().y0 for ax in visible}) == 2


def test_variance_figure_draws_each_share(results):
    fig = PL.plot_variance_explained(results["variance"], [COMPOSITE, "delta_auc"])
    (ax,) = fig.axes
    heights = sorted(np.concatenate([line.get_ydata() for line in ax.get_lines() if len(line.get_ydata()) == 3]))
    expected = results["variance"].query("quantity in ['composite', 'delta_auc']")["eta2"]
    assert np.allclose(heights, sorted(expected))


def test_dose_response_facets_and_titles(results):
    fig = PL.plot_dose_response(results["dose"], ["delta_auc", "wasserstein"])
    assert len(fig.axes) == 2 * 3
    pooled = results["dose"]["pooled"].set_index(["quantity", "generator"])
    titles = [ax.get_title() for ax in fig.axes]
    assert f"{pooled.loc[('wasserstein', 'cvae'), 'estimate']:+.3f}" in " ".join(titles)
    # the black line of a panel is the mean over datasets of the fraction means (pandas)
    means = results["dose"]["means"]
    panel = means[(means["quantity"] == "delta_auc") & (means["generator"] == "wgan_gp")]
    expected = panel.groupby("log2_fraction")["value"].mean()
    axis = next(ax for ax in fig.axes if ax.get_title().startswith("wgan_gp") and ax.get_ylabel() == "ΔAUC")
    (line,) = [ln for ln in axis.get_lines() if ln.get_gid() == "mean"]
    assert np.allclose(line.get_ydata(), expected.to_numpy())


def test_placebo_figure_counts_every_permutation(results):
    placebo = results["placebo"]
    fig = PL.plot_placebo(placebo)
    (ax,) = fig.axes
    assert sum(patch.get_height() for patch in ax.patches) == placebo["n_finite"]
    (observed,) = [line for line in ax.get_lines() if line.get_gid() == "observed"]
    assert observed.get_xdata()[0] == pytest.approx(placebo["observed"])
    assert "15 permutations" in ax.get_title()


def test_floor_figure_has_a_panel_per_metric_with_the_floors(records):
    pairs = A.pair_table(records, "logreg", arms="all")
    fig = PL.plot_floor(pairs, metrics=["wasserstein", "ks"])
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    # every pair and one floor per dataset
    assert len(points) == len(pairs) + pairs["dataset"].nunique()
    floors = pairs.groupby("dataset")[["n_internal", "floor_wasserstein"]].mean()
    drawn = {tuple(np.round(p, 10)) for p in points}
    assert all((round(n, 10), round(f, 10)) in drawn for n, f in floors.itertuples(index=False))


def test_adjusted_figure_draws_raw_and_partial_rho(results):
    fig = PL.plot_adjusted_rho(results["adjusted"])
    ax = fig.axes[0]
    adjusted = results["adjusted"]
    pooled = adjusted[(adjusted["set"] == "S3") & (adjusted["configuration"] == "pooled")]
    assert np.allclose(_collection(ax, "raw").get_offsets()[:, 0], pooled["rho"])
    assert np.allclose(_collection(ax, "partial").get_offsets()[:, 0], pooled["partial_rho"])
    assert "(S3)" in ax.get_title()
