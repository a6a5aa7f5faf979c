"""Light tests of the real-vs-synthetic figures of notebook 02 (radlib.plots.synthesis).

Inputs are small random arrays; the checks are the panel layout and values the panels
must show (computed independently with numpy and scikit-learn).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from radlib import plots as P  # noqa: E402

RNG = np.random.default_rng(0)
X_REAL = RNG.standard_normal((40, 5))
Y_REAL = np.repeat([0, 1], 20)
SYNTHETIC = {
    name: (RNG.standard_normal((30, 5)) + shift, np.repeat([0, 1], 15))
    for name, shift in (("wgan_gp", 0.0), ("cvae", 0.5))
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_marginals_one_row_per_generator_one_column_per_feature():
    fig = P.plot_marginals(
        X_REAL, {k: X for k, (X, _) in SYNTHETIC.items()}, features=[0, 3], feature_names=list("abcde")
    )
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["a", "d"]
    assert axes[1, 0].get_ylabel().startswith("cvae")
    # The real histogram of panel (0, 0) integrates to one over the shared bins.
    bars = [patch for patch in axes[0, 0].patches if patch.get_facecolor()[3] == pytest.approx(0.35)]
    assert len(bars) == 20  # the default bins
    assert sum(bar.get_height() * bar.get_width() for bar in bars) == pytest.approx(1.0)


def test_plot_pca_projects_on_the_real_components():
    fig = P.plot_pca_real_vs_synthetic(X_REAL, Y_REAL, SYNTHETIC)
    assert [ax.get_title() for ax in fig.axes] == ["wgan_gp", "cvae"]
    pca = PCA(n_components=2).fit(X_REAL)
    for ax, (X_synth, _) in zip(fig.axes, SYNTHETIC.values()):
        # each panel draws its synthetic rows, then the real rows on top, on the real rows' components
        drawn = np.asarray(ax.collections[0].get_offsets())
        np.testing.assert_allclose(drawn[: len(X_synth)], pca.transform(X_synth))
        np.testing.assert_allclose(drawn[len(X_synth) :], pca.transform(X_REAL))
    assert fig.axes[0].get_xlabel().startswith(f"PC1 ({pca.explained_variance_ratio_[0]:.0%}")


def test_plot_correlation_matrices_titles_give_the_mean_absolute_difference():
    synthetic = {k: X for k, (X, _) in SYNTHETIC.items()}
    fig = P.plot_correlation_matrices(X_REAL, synthetic)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split("\n")[0] for ax in panels] == ["real", "wgan_gp", "cvae"]
    real = np.corrcoef(X_REAL.T)
    off = ~np.eye(5, dtype=bool)
    expected = np.abs(np.corrcoef(synthetic["cvae"].T) - real)[off].mean()
    assert panels[2].get_title().endswith(f"{expected:.3f}")
    np.testing.assert_allclose(np.asarray(panels[0].collections[0].get_array()).reshape(real.shape), real)
