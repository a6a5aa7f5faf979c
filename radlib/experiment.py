"""The study's task: one (dataset, repetition) gives the records of docs/protocol.md, step 7.

A *task* simulates the external site, fits the development pipeline on the internal set,
trains every arm (real-only, each generator, SMOTE) with both classifiers, scores them on
the external set and measures the synthetic data's quality. :mod:`radlib.grid` runs all
tasks of a configuration (in parallel, cached, resumable).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from importlib import metadata

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from radlib import generators
from radlib.classifiers import make_classifier
from radlib.config import Config
from radlib.data import Dataset
from radlib.features import development_pipeline
from radlib.quality import quality_metrics
from radlib.records import REAL_ARM, SMOTE_ARM, TIMING_COLUMNS, auc_column, delta_column
from radlib.shift import simulate_external

__all__ = [
    "arms_of",
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


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the records, and Python's."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def arms_of(config: Config) -> list[str]:
    """The arms of the study: real-only, each configured generator, then SMOTE if enabled."""
    return [REAL_ARM, *config["synthesis"]["generators"], *([SMOTE_ARM] if config["synthesis"]["smote"] else [])]


def synthetic_counts(y: np.ndarray, ratio: float) -> dict[int, int]:
    """Per-class synthetic sample sizes: ``ratio`` times the internal class counts, rounded."""
    return {label: int(round(ratio * int(np.sum(y == label)))) for label in (0, 1)}


def _external_auc(model, X_external: np.ndarray, y_external: np.ndarray) -> float:
    """ROC-AUC on the external set; NaN when it holds a single class (undefined)."""
    if len(np.unique(y_external)) < 2:
        return float("nan")
    return float(roc_auc_score(y_external, model.predict_proba(X_external)[:, 1]))


def _synthesize(
    arm: str, X: np.ndarray, y: np.ndarray, counts: dict[int, int], seed: int, config: Config, record: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``arm``'s generator on (X, y), sample ``counts`` rows per class and measure their quality.

    Each stage's seconds, and the quality metrics, go into ``record`` as the stage ends, so
    that a failure keeps what was measured before it.
    """
    generator = generators.from_config(arm, config)
    started = time.perf_counter()
    generator.fit(X, y, seed=seed)
    record["fit_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    X_synth, y_synth = generator.sample(counts)
    record["sample_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    record.update(quality_metrics(X, X_synth, seed, config["metrics"]))
    record["metric_seconds"] = time.perf_counter() - started
    return X_synth, y_synth


def _classifier_aucs(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_external: np.ndarray,
    y_external: np.ndarray,
    config: Config,
    seed_parts: tuple,
) -> dict[str, float]:
    """Train each configured classifier on the training rows; its external AUC, by classifier name."""
    aucs = {}
    for classifier, params in config["classifiers"].items():
        model = make_classifier(classifier, params, config.seed(*seed_parts, classifier))
        model.fit(X_train, y_train)
        aucs[classifier] = _external_auc(model, X_external, y_external)
    return aucs


def run_task(dataset: Dataset, repetition: int, config: Config) -> pd.DataFrame:
    """Run one (dataset, repetition) and return one record per arm (docs/protocol.md, step 7).

    Every transform and model is fitted on the internal set (and synthetic data derived
    from it) only; the external set is used for scoring alone.

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
        One row per arm with: sizes and class counts of both sets, the five quality
        metrics (NaN for the real-only arm), ``auc_<clf>`` and ``delta_auc_<clf>`` for each
        classifier, ``undefined`` (external set with one class), timings, ``status``
        (``ok`` or ``failed``) and ``error``, seeds, the configuration hash and versions.
    """
    name = dataset.name
    split_seed = config.seed(name, repetition, "split")
    split = simulate_external(dataset.X, config["shift"], split_seed)
    X_internal, y_internal = dataset.X[split.internal_idx], dataset.y[split.internal_idx]
    y_external = dataset.y[split.external_idx]
    pipeline = development_pipeline(config["features"]["k"], dataset.p).fit(X_internal, y_internal)
    Z_internal = pipeline.transform(X_internal)
    Z_external = pipeline.transform(split.X_external_shifted)
    undefined = len(np.unique(y_external)) < 2

    base = {
        "dataset": name,
        "dataset_fingerprint": dataset.fingerprint,
        "repetition": repetition,
        "n_internal": len(y_internal),
        "n_external": len(y_external),
        "internal_positives": int(y_internal.sum()),
        "external_positives": int(y_external.sum()),
        "k_selected": Z_internal.shape[1],
        "undefined": undefined,
        "split_seed": split_seed,
        "config_hash": config.hash,
        "versions": json.dumps(package_versions(), sort_keys=True),
    }
    counts = synthetic_counts(y_internal, config["synthesis"]["ratio"])
    records, real_auc = [], {}
    for arm in arms_of(config):
        arm_seed = config.seed(name, repetition, arm)
        record = {
            **base,
            "arm": arm,
            "arm_seed": arm_seed,
            "n_synthetic": 0,
            "status": "ok",
            "error": "",
            **{column: 0.0 for column in TIMING_COLUMNS},
        }
        X_train, y_train = Z_internal, y_internal
        if arm != REAL_ARM:
            try:
                X_synth, y_synth = _synthesize(arm, Z_internal, y_internal, counts, arm_seed, config, record)
            except Exception as exc:  # a failed arm is a record, never a lost task
                record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                log.warning("%s r%d %s failed: %s", name, repetition, arm, record["error"])
                records.append(record)
                continue
            record["n_synthetic"] = len(y_synth)
            X_train, y_train = np.vstack([Z_internal, X_synth]), np.concatenate([y_internal, y_synth])
        started = time.perf_counter()
        aucs = _classifier_aucs(X_train, y_train, Z_external, y_external, config, (name, repetition, arm))
        record["classifier_seconds"] = time.perf_counter() - started
        if arm == REAL_ARM:  # the first arm: the baseline of every ΔAUC of the task
            real_auc = aucs
        for classifier, auc in aucs.items():
            record[auc_column(classifier)] = auc
            record[delta_column(classifier)] = auc - real_auc[classifier]
        records.append(record)
    return pd.DataFrame(records)


# The grid moved to radlib.grid; these names stay importable from here until the notebooks and
# radlib.audit import them from there.
_MOVED_TO_GRID = ("run_grid", "GridResult", "task_path", "_run_lock")


def __getattr__(name: str):
    if name in _MOVED_TO_GRID:
        from radlib import grid  # on first use: radlib.grid imports this module

        return getattr(grid, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
