"""The development pipeline: imputation, scaling and top-k ANOVA-F selection among the varying columns."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.feature_selection import SelectKBest, f_classif

from radlib.features import TopKFeatures, development_pipeline


def _data(n=60, p=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, p))
    X[:, :4] += np.linspace(1.5, 0.3, 4) * y[:, None]
    return X, y


def test_scores_are_scipys_one_way_anova_and_the_selection_is_select_k_best():
    X, y = _data()
    selector = TopKFeatures(k=5).fit(X, y)
    expected = [stats.f_oneway(X[y == 0, j], X[y == 1, j]) for j in range(X.shape[1])]  # scipy, column by column
    np.testing.assert_allclose(selector.scores_, [r.statistic for r in expected], rtol=1e-10)
    np.testing.assert_allclose(selector.pvalues_, [r.pvalue for r in expected], rtol=1e-8)
    reference = SelectKBest(f_classif, k=5).fit(X, y)
    np.testing.assert_array_equal(selector.get_support(), reference.get_support())


def test_constant_training_columns_are_left_out_without_a_warning():
    X, y = _data(p=6)
    X[:, 1] = 2.5  # constant in these (training) rows
    X[:, 4] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        pipeline = development_pipeline(k=32, p=X.shape[1]).fit(X, y)
        Z = pipeline.transform(X)
    selector = pipeline.named_steps["select"]
    assert selector.get_support(indices=True).tolist() == [0, 2, 3, 5]  # k = min(32, 6) shrinks to the 4 varying
    assert Z.shape == (60, 4) and np.isnan(selector.scores_[[1, 4]]).all()
    # With k below the number of varying columns the selection is SelectKBest's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SelectKBest(f_classif, k=3).fit(X, y).get_support()
    np.testing.assert_array_equal(TopKFeatures(k=3).fit(X, y).get_support(), reference)


def test_a_column_constant_within_each_class_separates_them_and_ranks_first():
    X, y = _data(p=5)
    X[:, 3] = y * 2.0  # constant within each class, different between: F = inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector = TopKFeatures(k=1).fit(X, y)
    assert selector.scores_[3] == np.inf and selector.get_support(indices=True).tolist() == [3]


def test_no_varying_column_is_a_clear_error():
    with pytest.raises(ValueError, match="no feature varies in the 10 training rows"):
        TopKFeatures(k=3).fit(np.ones((10, 3)), np.arange(10) % 2)
