"""SMOTE (Chawla et al. 2002) as an augmenter, through imbalanced-learn.

``sample({0: n0, 1: n1})`` returns exactly ``n_c`` new rows of class ``c``, each on the
segment between a real row of class ``c`` and one of its ``k`` nearest neighbours of the
same class. Per class, imblearn's ``SMOTE`` is asked for ``n_real_c + n_c`` rows of that
class only (a ``sampling_strategy`` dict) and the appended rows are kept; the other class
is left alone. Real rows are never returned.

Small classes: SMOTE needs ``k + 1`` rows in the class. With fewer, ``k`` is reduced to
``n_real_c - 1``; a class with a single row has no neighbour to interpolate to, so its
synthetic rows are copies of that row plus Gaussian jitter with standard deviation
``single_row_jitter`` times each feature's standard deviation over all training rows. No
class size makes it fail.
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE

from radlib.generators.base import Generator

__all__ = ["SMOTEAugmenter"]


class SMOTEAugmenter(Generator):
    """Per-class SMOTE interpolation returning exact counts.

    Parameters
    ----------
    k_neighbors : int
        Neighbours of SMOTE (reduced for classes with at most ``k_neighbors`` rows).
    single_row_jitter : float
        Jitter, in units of each feature's standard deviation, around the only row of a
        one-row class.
    """

    name = "smote"

    def __init__(self, *, k_neighbors: int = 5, single_row_jitter: float = 0.01) -> None:
        self.k_neighbors = k_neighbors
        self.single_row_jitter = single_row_jitter

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        if self.k_neighbors < 1:
            raise self.fail("fit", f"k_neighbors must be at least 1, got {self.k_neighbors}")
        self.X_, self.y_ = X, y

    def _sample_class(self, label: int, n: int, seed: int) -> np.ndarray:
        n_real = self.class_counts_[label]
        if n_real == 1:
            rng = np.random.default_rng(seed)
            spread = self.single_row_jitter * self.X_.std(axis=0)
            return self.X_[self.y_ == label] + spread * rng.standard_normal((n, self.X_.shape[1]))
        smote = SMOTE(
            sampling_strategy={label: n_real + n}, k_neighbors=min(self.k_neighbors, n_real - 1), random_state=seed
        )
        X_resampled, _ = smote.fit_resample(self.X_, self.y_)
        # imblearn appends the new rows after the original ones.
        return X_resampled[len(self.X_) :]
