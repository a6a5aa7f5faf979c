"""Tests of the shared look of the figures (radlib.plots.style): arm colours, theme, labels, helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from radlib import plots as P  # noqa: E402
from radlib.quality import register_metric, unregister_metric  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_generators_keep_their_colour_across_figures():
    colours, markers = P.arm_style(["tabddpm", "cvae", "wgan_gp"])
    assert list(colours) == ["wgan_gp", "cvae", "tabddpm"]  # the canonical order, whatever the input order
    assert colours == P.arm_colours(["wgan_gp", "cvae", "tabddpm"])
    assert len(set(markers.values())) == 3
    # a table without wgan_gp, or with extra arms, leaves the other arms' colours unchanged
    fewer, _ = P.arm_style(["smote", "cvae"])
    more, more_markers = P.arm_style(["zeta", "cvae", "alpha", "wgan_gp"])
    assert fewer["cvae"] == colours["cvae"] == more["cvae"]
    assert list(more) == ["wgan_gp", "cvae", "alpha", "zeta"]
    assert len(set(more_markers.values())) == 4


def test_theme_applies_to_the_figure_and_leaves_the_global_settings_alone():
    before = dict(plt.rcParams)

    @P.themed
    def figure():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return fig

    ax = figure().axes[0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    assert matplotlib.colors.to_hex(ax.get_lines()[0].get_color()).upper() == P.OKABE_ITO[0]
    assert dict(plt.rcParams) == before
    assert plt.subplots()[1].spines["top"].get_visible()  # outside the figure functions: matplotlib's own


def test_metric_label_derives_unknown_labels_from_the_ideal():
    assert P.metric_label("mmd2") == P.METRIC_LABELS["mmd2"]
    register_metric("near_one", lambda real, synth: 1.0, ideal=1.0, orientation="higher")
    register_metric("gap", lambda real, synth: 0.0, ideal=0.0)
    try:
        assert P.metric_label("near_one") == "−|near_one − 1|"
        assert P.metric_label("gap") == "−gap"
    finally:
        unregister_metric("near_one")
        unregister_metric("gap")


def test_fit_line_is_the_least_squares_line_over_the_range_of_x():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=12), rng.normal(size=12)
    x[0] = np.nan  # missing values are skipped
    fig, ax = plt.subplots()
    P.style.fit_line(ax, x, y)
    (line,) = ax.get_lines()
    xs, ys = line.get_data()
    expected = stats.linregress(x[1:], y[1:])  # scipy, on the complete points
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(expected.slope)
    assert ys[0] == pytest.approx(expected.intercept + expected.slope * np.nanmin(x))
    P.style.fit_line(ax, np.array([1.0, 1.0, 1.0]), np.array([0.0, 1.0, 2.0]))  # one distinct x: no line
    P.style.fit_line(ax, np.array([1.0, 2.0]), np.array([0.0, 1.0]))  # two points: no line
    assert len(ax.get_lines()) == 1


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig, _ = plt.subplots()
    paths = P.save_figure(fig, tmp_path / "figures", "empty")
    assert [p.name for p in paths] == ["empty.png", "empty.pdf"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_saving_the_same_figure_again_writes_the_same_bytes(tmp_path):
    """A rerun on the same records leaves the committed figures unchanged: no creation date in the PDF."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = [p.read_bytes() for p in P.save_figure(fig, tmp_path / "a", "line")]
    second = [p.read_bytes() for p in P.save_figure(fig, tmp_path / "b", "line")]
    assert first == second
    assert b"/CreationDate" not in first[1]


def test_significance_handles_are_a_filled_and_an_open_marker():
    filled, hollow = P.style.significance_handles("q < 0.05 (BH)")
    assert filled.get_label() == "filled: q < 0.05 (BH)" and hollow.get_label() == "open: not significant"
    assert filled.get_markerfacecolor() == "grey" and hollow.get_markerfacecolor() == "white"
    assert filled.get_linestyle() == hollow.get_linestyle() == "None"
