"""The study's task: one (dataset, repetition) gives the records of docs/protocol.md, step 7.

A *task* partitions the patients into the repetition's external site-folds
(:func:`radlib.shift.simulate_external_folds`, ``shift.folds``), and for each fold, an
*evaluation*, fits the development pipeline on the internal set, trains every arm with the
classifiers that take it, scores them on the fold's external site and measures the synthetic
data's quality. One record per fold and arm.

Engine v2 (docs/protocol.md, version-2 amendments):

- **Batched generators.** Each generator is fitted on the K folds of a task at once
  (:meth:`radlib.generators.Generator.fit_folds`: the deep generators train the K models as
  one batched network), so a task is the unit of work of :mod:`radlib.grid`.
- **Snapshot arms.** A deep generator also yields its models at the fractions
  ``synthesis.snapshots`` of its training budget, as arms ``<generator>@<fraction>``; the
  fraction 1.0 keeps the plain name: it is the study's generator.
- **Common random numbers.** Within an evaluation every arm's classifier gets the same seed
  (it depends on dataset, repetition, fold and classifier, not on the arm), every arm's
  quality metrics the same seed, and all snapshots of a generator the same sampling seed, so
  a difference between two arms measures their training rows and nothing else: an arm that
  adds no row has ΔAUC exactly 0.
- **Sampling floor.** Every record carries ``floor_<metric>``: the metric between two halves
  of the fold's real internal rows (:func:`radlib.quality.sampling_floor`).

Each classifier runs on the arms its profile section names (``classifiers.<name>.arms``:
``all``, or ``study`` = real-only, the generators at the full budget and SMOTE); on the other
arms its AUC and ΔAUC are NaN.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from radlib import generators
from radlib.classifiers import ARMS_KEY, make_classifier
from radlib.config import Config
from radlib.data import Dataset
from radlib.features import development_pipeline
from radlib.generators.base import GeneratorError
from radlib.generators.neural import TorchGenerator
from radlib.quality import FLOOR_PREFIX, quality_metrics, registered_metrics, sampling_floor
from radlib.records import (
    REAL_ARM,
    SMOTE_ARM,
    TIMING_COLUMNS,
    auc_column,
    delta_column,
    is_study_arm,
    parse_arm,
    snapshot_arm,
)
from radlib.shift import ExternalSplit, simulate_external_folds

__all__ = [
    "arms_of",
    "snapshot_fractions",
    "classifier_takes",
    "synthetic_counts",
    "package_versions",
    "run_task",
]

log = logging.getLogger(__name__)

VERSIONED_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "imbalanced-learn",
    "torch",
    "ctgan",
    "radMLBench",
    "radlib",
)
#: ``arm_seed`` of the real-only arm, which fits no generator.
NO_SEED = -1


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the records, and Python's."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def snapshot_fractions(generator: str, config: Config) -> tuple[float, ...]:
    """The training fractions at which ``generator`` yields arms.

    The profile's ``synthesis.snapshots`` for a deep generator, which has a training
    trajectory to take them from; the full budget alone (1.0) for the others (SMOTE, the
    ctgan peers, a plug-in that is not a :class:`~radlib.generators.neural.TorchGenerator`), and
    for a generator this process does not know (a plug-in registered on the Dask workers only:
    the client then expects its full-budget arm, which every generator yields).
    """
    if generator in generators.available() and issubclass(generators.generator_class(generator), TorchGenerator):
        return tuple(config["synthesis"]["snapshots"])
    return (1.0,)


def _sources(config: Config) -> list[str]:
    """The configured sources of synthetic rows: each generator, then SMOTE if enabled."""
    return [*config["synthesis"]["generators"], *([SMOTE_ARM] if config["synthesis"]["smote"] else [])]


def arms_of(config: Config) -> list[str]:
    """The arms of one evaluation: real-only, each generator's snapshot arms, then SMOTE if enabled."""
    return [REAL_ARM] + [
        snapshot_arm(source, fraction) for source in _sources(config) for fraction in snapshot_fractions(source, config)
    ]


def classifier_takes(params: Mapping, arm: str) -> bool:
    """Whether a classifier, given its profile section, is trained on ``arm``."""
    return params[ARMS_KEY] == "all" or is_study_arm(arm)


def synthetic_counts(y: np.ndarray, ratio: float) -> dict[int, int]:
    """Per-class synthetic sample sizes: ``ratio`` times the internal class counts, rounded."""
    return {label: int(round(ratio * int(np.sum(y == label)))) for label in (0, 1)}


def _external_auc(model, X_external: np.ndarray, y_external: np.ndarray) -> float:
    """ROC-AUC on the external set; NaN when it holds a single class (undefined)."""
    if len(np.unique(y_external)) < 2:
        return float("nan")
    return float(roc_auc_score(y_external, model.predict_proba(X_external)[:, 1]))


@dataclass
class _Evaluation:
    """One site-fold of a task, in the selected feature space, with what its records share."""

    Z_internal: np.ndarray
    y_internal: np.ndarray
    Z_external: np.ndarray
    y_external: np.ndarray
    counts: dict[int, int]
    base: dict
    real_auc: dict[str, float]


class FoldError(ValueError):
    """A site-fold that cannot be evaluated (e.g. its internal set holds one class); its arms fail, not the task."""


def _fold_base(dataset: Dataset, repetition: int, split: ExternalSplit, config: Config) -> dict:
    """The columns every record of a fold shares, before any model is fitted."""
    name, fold = dataset.name, split.fold
    y_internal, y_external = dataset.y[split.internal_idx], dataset.y[split.external_idx]
    return {
        "dataset": name,
        "dataset_fingerprint": dataset.fingerprint,
        "repetition": repetition,
        "fold": fold,
        "n_internal": len(y_internal),
        "n_external": len(y_external),
        "internal_positives": int(y_internal.sum()),
        "external_positives": int(y_external.sum()),
        "k_selected": 0,
        "undefined": len(np.unique(y_external)) < 2,
        "split_seed": split.split_seed,
        **{f"seed_{clf}": config.seed(name, repetition, fold, clf) for clf in config["classifiers"]},
        "config_hash": config.hash,
        "versions": json.dumps(package_versions(), sort_keys=True),
        **{f"{FLOOR_PREFIX}{metric}": np.nan for metric in registered_metrics()},
    }


def _evaluation(dataset: Dataset, repetition: int, split: ExternalSplit, config: Config, base: dict) -> _Evaluation:
    """Fit the development pipeline on a fold's internal rows; FoldError when they hold one class."""
    name, fold = dataset.name, split.fold
    X_internal, y_internal = dataset.X[split.internal_idx], dataset.y[split.internal_idx]
    if len(np.unique(y_internal)) < 2:
        raise FoldError(
            f"fold {fold}'s internal set holds a single class ({len(y_internal)} patients, "
            f"{int(y_internal.sum())} positive): nothing can be trained on it"
        )
    pipeline = development_pipeline(config["features"]["k"], dataset.p).fit(X_internal, y_internal)
    Z_internal = pipeline.transform(X_internal)
    base["k_selected"] = Z_internal.shape[1]
    try:
        base.update(sampling_floor(Z_internal, y_internal, config.seed(name, repetition, fold, "floor"), config))
    except ValueError as exc:  # too few rows for a metric; the floor is then missing, and says why
        log.warning("%s r%d fold %d: no sampling floor: %s", name, repetition, fold, exc)
    return _Evaluation(
        Z_internal=Z_internal,
        y_internal=y_internal,
        Z_external=pipeline.transform(split.X_external_shifted),
        y_external=dataset.y[split.external_idx],
        counts=synthetic_counts(y_internal, config["synthesis"]["ratio"]),
        base=base,
        real_auc={},
    )


def _new_record(base: dict, arm: str, seed: int) -> dict:
    generator, fraction = parse_arm(arm)
    return {
        **base,
        "arm": arm,
        "generator": generator,
        "fraction": fraction,
        "arm_seed": seed,
        "n_synthetic": 0,
        "status": "ok",
        "error": "",
        **{metric: np.nan for metric in registered_metrics()},  # measured for a non-empty synthetic sample
        **{column: 0.0 for column in TIMING_COLUMNS},
    }


def _score_arm(
    evaluation: _Evaluation, arm: str, X_train: np.ndarray, y_train: np.ndarray, config: Config, record: dict
) -> None:
    """Train the classifiers that take ``arm``; their external AUC and ΔAUC go into ``record``.

    Every arm of an evaluation uses the evaluation's classifier seeds (``seed_<classifier>``).
    The real-only arm comes first and sets the baseline of every ΔAUC.
    """
    started = time.perf_counter()
    for classifier, params in config["classifiers"].items():
        auc = np.nan
        if classifier_takes(params, arm):
            model = make_classifier(classifier, params, evaluation.base[f"seed_{classifier}"])
            model.fit(X_train, y_train)
            auc = _external_auc(model, evaluation.Z_external, evaluation.y_external)
        if arm == REAL_ARM:
            evaluation.real_auc[classifier] = auc
        record[auc_column(classifier)] = auc
        record[delta_column(classifier)] = auc - evaluation.real_auc[classifier]
    record["classifier_seconds"] = time.perf_counter() - started


def _synthetic_arm(
    evaluation: _Evaluation, arm: str, model, seed: int, fit_seconds: float, metric_seed: int, config: Config
) -> dict:
    """Sample a fitted model, measure the sample's quality and score the augmented training set."""
    record = _new_record(evaluation.base, arm, seed)
    record["fit_seconds"] = fit_seconds
    try:
        started = time.perf_counter()
        X_synth, y_synth = model.sample(evaluation.counts)
        record["sample_seconds"] = time.perf_counter() - started
        record["n_synthetic"] = len(y_synth)
        if len(y_synth):  # an empty sample has no quality; its arm trains on the real rows alone
            started = time.perf_counter()
            record.update(quality_metrics(evaluation.Z_internal, X_synth, metric_seed, config["metrics"]))
            record["metric_seconds"] = time.perf_counter() - started
        X_train = np.vstack([evaluation.Z_internal, X_synth])
        y_train = np.concatenate([evaluation.y_internal, y_synth])
        _score_arm(evaluation, arm, X_train, y_train, config, record)
    except Exception as exc:  # a failed arm is a record, never a lost task
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    return record


def run_task(dataset: Dataset, repetition: int, config: Config) -> pd.DataFrame:
    """Run one (dataset, repetition): every fold and arm; one record per fold and arm (protocol step 7).

    Every transform and model is fitted on a fold's internal set (and synthetic data derived
    from it) only; the fold's external site is used for scoring alone.

    Parameters
    ----------
    dataset : Dataset
        A cleaned dataset (:func:`radlib.data.load_dataset`).
    repetition : int
        Repetition index; with the dataset name and ``base_seed`` it fixes every seed.
    config : Config

    Returns
    -------
    DataFrame
        One row per (fold, arm), folds in order, arms in :func:`arms_of` order, with: ``fold``,
        ``arm``, ``generator`` and ``fraction`` (the arm's source and training fraction),
        sizes and class counts of both sets, the quality metrics (NaN for the real-only arm),
        ``floor_<metric>``, ``auc_<clf>`` and ``delta_auc_<clf>`` for each classifier (NaN
        where the classifier does not take the arm), ``undefined`` (external fold with one
        class), timings (``fit_seconds``: the batched fit of the task's folds divided by
        their number), ``status`` (``ok`` or ``failed``) and ``error``, seeds (``split_seed``,
        ``arm_seed``: the generator's fit seed for the fold, -1 for real-only, and
        ``seed_<clf>``: the classifier's seed, shared by every arm of the fold), the
        configuration hash and versions.
    """
    name = dataset.name
    splits = simulate_external_folds(dataset.X, config["shift"], config.seed(name, repetition, "split"))
    records: dict[tuple[int, str], dict] = {}
    evaluations: dict[int, _Evaluation] = {}
    for split in splits:
        base = _fold_base(dataset, repetition, split, config)
        try:
            evaluations[split.fold] = _evaluation(dataset, repetition, split, config, base)
        except Exception as exc:  # this fold's arms are failed records that say why; the other folds go on
            error = f"{type(exc).__name__}: {exc}"
            log.warning("%s r%d fold %d failed: %s", name, repetition, split.fold, error)
            no_auc = {column(c): np.nan for c in config["classifiers"] for column in (auc_column, delta_column)}
            for arm in arms_of(config):
                records[split.fold, arm] = {
                    **_new_record(base, arm, NO_SEED),
                    **no_auc,
                    "status": "failed",
                    "error": error,
                }
    for fold, evaluation in evaluations.items():
        record = _new_record(evaluation.base, REAL_ARM, NO_SEED)
        _score_arm(evaluation, REAL_ARM, evaluation.Z_internal, evaluation.y_internal, config, record)
        records[fold, REAL_ARM] = record

    for source in _sources(config) if evaluations else ():
        fractions = snapshot_fractions(source, config)
        seeds = {fold: config.seed(name, repetition, fold, source) for fold in evaluations}
        started = time.perf_counter()
        try:
            fitted = generators.from_config(source, config).fit_folds(
                [(e.Z_internal, e.y_internal) for e in evaluations.values()], list(seeds.values()), fractions
            )
        except Exception as exc:  # e.g. a plug-in's bug: every fold's arms are failed records that say why
            fitted = [GeneratorError(f"{type(exc).__name__}: {exc}")] * len(evaluations)
        fit_seconds = (time.perf_counter() - started) / len(evaluations)
        for (fold, evaluation), models in zip(evaluations.items(), fitted):
            metric_seed = config.seed(name, repetition, fold, "metrics")
            for fraction in fractions:
                arm = snapshot_arm(source, fraction)
                if isinstance(models, GeneratorError):
                    record = _new_record(evaluation.base, arm, seeds[fold])
                    record.update(status="failed", error=str(models), fit_seconds=fit_seconds)
                else:
                    record = _synthetic_arm(
                        evaluation, arm, models[fraction], seeds[fold], fit_seconds, metric_seed, config
                    )
                if record["status"] == "failed":
                    log.warning("%s r%d fold %d %s failed: %s", name, repetition, fold, arm, record["error"])
                records[fold, arm] = record
    order = {arm: i for i, arm in enumerate(arms_of(config))}
    return pd.DataFrame([records[key] for key in sorted(records, key=lambda k: (k[0], order[k[1]]))])


# The grid moved to radlib.grid; these names stay importable from here until the notebooks and
# radlib.audit import them from there.
_MOVED_TO_GRID = ("run_grid", "GridResult", "task_path", "_run_lock")


def __getattr__(name: str):
    if name in _MOVED_TO_GRID:
        from radlib import grid  # on first use: radlib.grid imports this module

        return getattr(grid, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
