"""The interface every generator implements, with the input and output checks they share.

A generator is fitted once on a real training set and then asked for synthetic rows per
class::

    generator.fit(X, y, seed)              # X: (n, p) finite floats, y: 0/1 labels
    X_synth, y_synth = generator.sample({0: n0, 1: n1})

The study fits one model per external site-fold of a repetition (docs/protocol.md, step 2),
all at once::

    fitted = generator.fit_folds([(X_1, y_1), ..., (X_K, y_K)], seeds, snapshots=(0.25, 1.0))
    fitted[k]            # {0.25: model, 1.0: model}, or the GeneratorError of fold k
    fitted[k][1.0].sample({0: n0, 1: n1})

``fit`` is ``fit_folds`` of one fold at the fraction 1.0. The default ``fit_folds`` fits
the folds one after another, each on a copy of the generator; the deep generators train
the K models as one batched network (:class:`radlib.generators.neural.TorchGenerator`)
and can also return snapshots taken along the training.

:class:`Generator` does the bookkeeping (validation, seeds, exact counts, the check that
no NaN or infinite value leaves :meth:`Generator.sample`); a subclass implements only
:meth:`Generator._fit` and :meth:`Generator._sample_class`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np

from radlib.config import derive_seed

__all__ = ["Generator", "GeneratorError", "CLASSES", "check_folds", "check_snapshots"]

# The labels of the study's binary outcomes; every generator is fitted on both.
CLASSES = (0, 1)


class GeneratorError(RuntimeError):
    """A generator that cannot be built, fitted or sampled; the message names the generator and stage."""


def check_snapshots(snapshots: Sequence[float]) -> tuple[float, ...]:
    """Validate the fractions of the training budget at which models are kept.

    Parameters
    ----------
    snapshots : sequence of float
        Distinct fractions in (0, 1], e.g. the profile's ``synthesis.snapshots``.

    Returns
    -------
    tuple of float

    Raises
    ------
    ValueError
        Empty, repeated, or a fraction outside (0, 1].
    """
    if isinstance(snapshots, str | bytes) or not isinstance(snapshots, Sequence) or len(snapshots) == 0:
        raise ValueError(f"snapshots must be a non-empty sequence of fractions in (0, 1], got {snapshots!r}")
    bad = [f for f in snapshots if not isinstance(f, Real) or isinstance(f, bool) or not 0 < f <= 1]
    if bad:
        raise ValueError(f"snapshots must be fractions of the training budget in (0, 1], got {bad}")
    if len(set(snapshots)) != len(snapshots):
        raise ValueError(f"snapshots must be distinct, got {list(snapshots)}")
    return tuple(float(f) for f in snapshots)


class Generator:
    """Base class of the class-conditional generators.

    Subclasses set :attr:`name`, take their hyperparameters as keyword arguments of
    ``__init__`` (stored as attributes of the same name, so :meth:`get_params` finds them)
    and implement :meth:`_fit` and :meth:`_sample_class`.

    Attributes
    ----------
    name : str
        Registry name, used in error messages.
    seed_ : int
        The seed of the last :meth:`fit`.
    n_features_ : int
        Number of features seen by :meth:`fit`.
    class_counts_ : dict
        Label -> number of training rows.
    """

    name = "generator"

    def get_params(self) -> dict:
        """The constructor's keyword arguments and their current values."""
        params = {}
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.kind is parameter.VAR_KEYWORD:  # options passed through to a library
                params.update(getattr(self, name))
            elif name != "self":
                params[name] = getattr(self, name)
        return params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fail(self, stage: str, message: str) -> GeneratorError:
        """A :class:`GeneratorError` whose message names this generator and the stage."""
        return GeneratorError(f"{self.name} ({stage}): {message}")

    # -- the public interface -------------------------------------------------------
    def fit(self, X, y, seed: int) -> Generator:
        """Fit on real rows (:meth:`fit_folds` of this one fold, at the full budget).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Finite float features (in the study: standardised, selected features).
        y : array-like of shape (n,)
            Labels, 0 or 1; both classes must have at least one row.
        seed : int
            Seeds every random step of the fit; the same seed and data give the same model
            on the CPU.

        Returns
        -------
        self

        Raises
        ------
        GeneratorError
            Invalid input, or a fit that diverged (NaN or infinite loss).
        """
        (fitted,) = self.fit_folds([(X, y)], [seed])
        if isinstance(fitted, GeneratorError):
            raise fitted
        self.__dict__.update(vars(fitted[1.0]))
        return self

    def fit_folds(
        self,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        seeds: Sequence[int],
        snapshots: Sequence[float] = (1.0,),
    ) -> list[dict[float, Generator] | GeneratorError]:
        """Fit one model per fold, each on its own rows and seed.

        This default fits the folds one after another, each on a deep copy of this
        (unchanged) generator, and knows no training trajectory: ``snapshots`` must be
        ``(1.0,)``. The deep generators override it with one batched training
        (:meth:`radlib.generators.neural.TorchGenerator.fit_folds`).

        Parameters
        ----------
        folds : sequence of (X, y)
            The training rows of each fold, as for :meth:`fit`.
        seeds : sequence of int
            One seed per fold.
        snapshots : sequence of float
            Fractions of the training budget at which a model is kept; 1.0 is the fully
            trained model.

        Returns
        -------
        list
            Per fold, a dict fraction -> fitted generator (each supports :meth:`sample`),
            or the :class:`GeneratorError` of that fold (invalid rows, divergence; any other
            exception of a fold's fit is wrapped in one, naming its type), which leaves the
            other folds' models unaffected.

        Raises
        ------
        ValueError
            ``folds`` and ``seeds`` differ in length, or ``snapshots`` is not ``(1.0,)``.
        """
        if check_snapshots(snapshots) != (1.0,):
            raise ValueError(
                f"{self.name} has no training trajectory to take snapshots from: snapshots must be (1.0,), "
                f"got {list(snapshots)}"
            )
        check_folds(folds, seeds)
        fitted: list[dict[float, Generator] | GeneratorError] = []
        for (X, y), seed in zip(folds, seeds):
            model = copy.deepcopy(self)
            try:
                X, y = model._start_fit(X, y, seed)
                model._fit(X, y, model.seed_)
            except Exception as error:  # one fold's failure (a plug-in's divergence, say) is that fold's alone
                fitted.append(
                    error if isinstance(error, GeneratorError) else GeneratorError(f"{type(error).__name__}: {error}")
                )
            else:
                fitted.append({1.0: model})
        return fitted

    def sample(self, counts: Mapping[int, int], seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw exactly ``counts[c]`` synthetic rows of each class ``c``.

        Parameters
        ----------
        counts : mapping
            Label -> number of rows, e.g. ``{0: 60, 1: 40}``; a missing label means 0.
        seed : int, optional
            Seed of the draw. By default it is derived from the fit seed, so ``sample`` is a
            pure function of the fitted model and ``counts``. Each class is drawn from its
            own seed, so the rows of one class do not depend on the count of the other.

        Returns
        -------
        X_synth : numpy.ndarray of shape (sum(counts), p)
            Rows ordered by class (all of class 0, then class 1).
        y_synth : numpy.ndarray of shape (sum(counts),)
            Integer labels.

        Raises
        ------
        GeneratorError
            Not fitted, invalid counts, or samples that are not finite.
        """
        if not hasattr(self, "seed_"):
            raise self.fail("sample", "call fit before sample")
        counts = self._check_counts(counts)
        base = derive_seed(self.seed_, "sample") if seed is None else int(seed)
        blocks, labels = [], []
        for label, count in counts.items():
            rows = np.empty((0, self.n_features_))
            if count > 0:
                rows = np.asarray(self._sample_class(label, count, derive_seed(base, label)), dtype=float)
            if rows.shape != (count, self.n_features_):
                raise self.fail(
                    "sample", f"class {label}: expected shape {(count, self.n_features_)}, got {rows.shape}"
                )
            if not np.all(np.isfinite(rows)):
                raise self.fail(
                    "sample",
                    f"class {label}: {int(np.sum(~np.isfinite(rows)))} NaN or infinite values "
                    "in the samples (the model diverged)",
                )
            blocks.append(rows)
            labels.append(np.full(count, label, dtype=np.int64))
        return np.vstack(blocks), np.concatenate(labels)

    # -- what a subclass implements ---------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        """Fit the model; inputs are already validated."""
        raise NotImplementedError

    def _sample_class(self, label: int, n: int, seed: int) -> np.ndarray:
        """Return ``n`` rows (n > 0) of class ``label``, drawn with ``seed``."""
        raise NotImplementedError

    # -- validation -------------------------------------------------------------------
    def _start_fit(self, X, y, seed) -> tuple[np.ndarray, np.ndarray]:
        """Check one fold's training input and record what every fitted model keeps.

        Sets :attr:`seed_`, :attr:`n_features_` and :attr:`class_counts_`; returns the
        rows as floats and the labels as integers.
        """
        X, y = self._check_training_data(X, y)
        if not isinstance(seed, Integral) or isinstance(seed, bool):
            raise self.fail("fit", f"seed must be an integer, got {seed!r}")
        self.seed_ = int(seed)
        self.n_features_ = X.shape[1]
        self.class_counts_ = {c: int(np.sum(y == c)) for c in CLASSES}
        return X, y

    def _check_training_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as exc:
            raise self.fail("fit", f"X must be numeric: {exc}") from exc
        if X.ndim != 2 or X.shape[1] == 0:
            raise self.fail("fit", f"X must be a 2-D array with at least one column, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise self.fail(
                "fit",
                f"X has {int(np.sum(np.isnan(X)))} NaN and {int(np.sum(np.isinf(X)))} infinite "
                "values; impute them first (radlib.features.development_pipeline)",
            )
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise self.fail("fit", f"y must be 1-D with one label per row of X ({len(X)}), got shape {y.shape}")
        values = set(np.unique(y).tolist())
        if not values <= set(CLASSES):
            raise self.fail("fit", f"y must hold 0/1 labels, found {sorted(values - set(CLASSES))[:5]}")
        missing = [c for c in CLASSES if c not in values]
        if missing:
            raise self.fail("fit", f"class {missing[0]} has no rows; a class-conditional generator needs both classes")
        return X, y.astype(np.int64)

    def _check_counts(self, counts: Mapping[int, int]) -> dict[int, int]:
        if not isinstance(counts, Mapping):
            raise self.fail(
                "sample", f"counts must be a mapping label -> count such as {{0: 50, 1: 30}}, got {counts!r}"
            )
        unknown = [label for label in counts if label not in CLASSES]
        if unknown:
            raise self.fail("sample", f"counts has unknown labels {unknown}; labels are 0 and 1")
        checked: dict[int, int] = {}
        for label in CLASSES:
            count = counts.get(label, 0)
            if not isinstance(count, Integral) or isinstance(count, bool) or count < 0:
                raise self.fail("sample", f"count of class {label} must be a non-negative integer, got {count!r}")
            checked[label] = int(count)
        return checked


def check_folds(folds: Sequence, seeds: Sequence) -> None:
    """Check that ``folds`` is a sequence of (X, y) pairs with one seed each.

    Raises
    ------
    ValueError
        Not sequences, a fold that is not a pair, or different lengths.
    """
    if not isinstance(folds, Sequence) or not isinstance(seeds, Sequence):
        raise ValueError(f"folds and seeds must be sequences, got {type(folds).__name__} and {type(seeds).__name__}")
    if len(folds) != len(seeds):
        raise ValueError(f"one seed per fold: {len(folds)} folds but {len(seeds)} seeds")
    for index, fold in enumerate(folds):
        if not isinstance(fold, Sequence) or len(fold) != 2:
            raise ValueError(f"fold {index} must be a pair (X, y)")
