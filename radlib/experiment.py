"""Stage 2 of a task: evaluate specifications from its stored samples (protocol step 7).

A *task* partitions the patients into the repetition's external site-folds
(:func:`radlib.shift.simulate_external_folds`, ``shift.folds``). Stage 1
(:func:`radlib.samples.synthesize_task`) fits the generators on each fold's internal set and
stores their rows; this module evaluates them: for each fold, an *evaluation*, every arm is
trained with the classifiers that take it, scored on the fold's external site, and its
synthetic data's quality is measured. One record per fold and arm.

:func:`evaluate_task` evaluates several *specifications* (evaluation settings:
:mod:`radlib.specifications`) of one task at once from the same samples, computing what they
share once (the folds of a severity, each arm's metrics at a ratio, each classifier's AUC);
:func:`run_task` is both stages for one configuration, engine v2's task.

- **Common random numbers.** Within an evaluation every arm's classifier gets the same seed
  (it depends on dataset, repetition, fold and classifier, not on the arm), every arm's
  quality metrics the same seed, and all snapshots of a generator the same sampling seed, so
  a difference between two arms measures their training rows and nothing else: an arm that
  adds no row has ΔAUC exactly 0. Ratios share their random numbers too (nested samples).
- **Sampling floor.** Every record carries ``floor_<metric>``: the metric between two halves
  of the fold's real internal rows (:func:`radlib.quality.sampling_floor`).
- **Predictors of the gain** (:mod:`radlib.predictors`): ``ext_<metric>``,
  ``tstr_auc_<clf>`` and ``icv_delta_auc_<clf>`` on the study's synthetic arms, when the
  specification asks for them (``evaluation.external_metrics``,
  ``evaluation.predictor_classifiers``).

Each classifier runs on the arms its profile section names (``classifiers.<name>.arms``:
``all``, or ``study`` = real-only, the generators at the full budget and SMOTE); on the other
arms its AUC and ΔAUC are NaN.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from radlib.classifiers import ARMS_KEY, make_classifier
from radlib.config import Config
from radlib.data import Dataset
from radlib.predictors import InternalCV, external_column, external_fidelity, icv_column, tstr_auc, tstr_column
from radlib.quality import FLOOR_PREFIX, quality_metrics, registered_metrics, sampling_floor
from radlib.records import REAL_ARM, TIMING_COLUMNS, auc_column, delta_column, is_study_arm, parse_arm
from radlib.samples import (
    NO_SEED,
    ArmSample,
    FailedFold,
    InternalFold,
    TaskSamples,
    arms_of,
    code_version,
    prepare_folds,
    snapshot_fractions,
    source_hash,
    synthesize_task,
    synthetic_counts,
)
from radlib.shift import ExternalSplit

__all__ = [
    "arms_of",
    "snapshot_fractions",
    "classifier_takes",
    "synthetic_counts",
    "package_versions",
    "evaluate_task",
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
#: The name of a configuration's own evaluation settings among its specifications.
DEFAULT_SPECIFICATION = "default"


@lru_cache(maxsize=4)  # every record carries it: /proc/cpuinfo is read once per process, not per record
def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and its widest vector extensions, e.g. ``"Intel(R) Xeon(R) Processor; avx2 avx512f"``.

    The float32 arithmetic of torch and MKL takes kernels by these extensions, so the same code
    and packages can give other last bits on another CPU (measured: the deep generators' records).
    From ``cpuinfo`` (Linux); elsewhere :func:`platform.processor` alone.
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return model
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break  # the first processor's; every core of a machine has the same
    extensions = [flag for flag in ("avx2", "avx512f", "amx_tile") if flag in flags]
    return f"{model}; {' '.join(extensions) or 'no avx2'}"


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the records, Python's, the code's commit and source hash, the CPU."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["radlib_commit"] = code_version()
    versions["radlib_source"] = source_hash()
    versions["cpu"] = cpu_description()
    return versions


def classifier_takes(params: Mapping, arm: str) -> bool:
    """Whether a classifier, given its profile section, is trained on ``arm``."""
    return params[ARMS_KEY] == "all" or is_study_arm(arm)


def _external_auc(model, X_external: np.ndarray, y_external: np.ndarray) -> float:
    """ROC-AUC on the external set; NaN when it holds a single class (undefined)."""
    if len(np.unique(y_external)) < 2:
        return float("nan")
    return float(roc_auc_score(y_external, model.predict_proba(X_external)[:, 1]))


def _timed(compute: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = compute()
    return value, time.perf_counter() - started


def _key(section: Mapping) -> str:
    return json.dumps(section, sort_keys=True)


class _TaskEvaluation:
    """Everything the specifications of one task share, computed once on first use."""

    def __init__(self, dataset: Dataset, repetition: int, samples: TaskSamples) -> None:
        self.dataset, self.repetition, self.samples = dataset, repetition, samples
        self.cache: dict[tuple, Any] = {}

    def once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def folds(self, config: Config) -> list[InternalFold | FailedFold]:
        return self.once(
            ("folds", config["shift"]["severity"]), lambda: prepare_folds(self.dataset, self.repetition, config)
        )

    def floor(self, fold: InternalFold, config: Config) -> dict[str, float]:
        def compute() -> dict[str, float]:
            seed = config.seed(self.dataset.name, self.repetition, fold.split.fold, "floor")
            try:
                return sampling_floor(fold.Z_internal, fold.y_internal, seed, config)
            except ValueError as exc:  # too few rows for a metric; the floor is then missing, and says why
                log.warning(
                    "%s r%d fold %d: no sampling floor: %s", self.dataset.name, self.repetition, fold.split.fold, exc
                )
                return {}

        return self.once(("floor", fold.split.fold, _key(config["metrics"])), compute)

    def external(self, fold: InternalFold) -> np.ndarray:
        return self.once(
            ("external", fold.split.fold, fold.split.severity),
            lambda: fold.pipeline.transform(fold.split.X_external_shifted),
        )


def _fold_base(dataset: Dataset, repetition: int, split: ExternalSplit, config: Config, specification: str) -> dict:
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
        **{f"seed_{clf}": config.seed(name, repetition, fold, clf) for clf in config.evaluated_classifiers()},
        "config_hash": config.hash,
        "versions": json.dumps(package_versions(), sort_keys=True),
        **{f"{FLOOR_PREFIX}{metric}": np.nan for metric in registered_metrics()},
        "specification": specification,
        "synthesis_hash": config.synthesis_hash,
    }


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
        "predictor_error": "",
        **{metric: np.nan for metric in registered_metrics()},  # measured for a non-empty synthetic sample
        **{column: 0.0 for column in TIMING_COLUMNS},
    }


class _FoldEvaluation:
    """One site-fold of one specification: scores arms into records, with the task's shared caches."""

    def __init__(self, task: _TaskEvaluation, fold: InternalFold, config: Config, base: dict) -> None:
        self.task, self.fold, self.config, self.base = task, fold, config, base
        self.Z_external = task.external(fold)
        self.y_external = task.dataset.y[fold.split.external_idx]
        self.ratio = config["synthesis"]["ratio"]
        self.severity = config["shift"]["severity"]
        self.metrics = config["metrics"]
        self.metric_seed = config.seed(task.dataset.name, task.repetition, fold.split.fold, "metrics")
        self.real_auc: dict[str, float] = {}

    def _key(self, *parts: Any) -> tuple:
        return (self.fold.split.fold, *parts)

    def score(self, arm: str, X_train: np.ndarray, y_train: np.ndarray, record: dict) -> None:
        """Train the classifiers that take ``arm``; their external AUC and ΔAUC go into ``record``.

        Every arm of an evaluation uses the evaluation's classifier seeds (``seed_<classifier>``).
        The real-only arm comes first and sets the baseline of every ΔAUC.
        """
        seconds = 0.0
        for classifier, params in self.config.evaluated_classifiers().items():
            auc = np.nan
            if classifier_takes(params, arm):
                seed = self.base[f"seed_{classifier}"]

                def fit_and_score(classifier=classifier, params=params, seed=seed) -> float:
                    model = make_classifier(classifier, params, seed).fit(X_train, y_train)
                    return _external_auc(model, self.Z_external, self.y_external)

                key = self._key("auc", arm, self.ratio if arm != REAL_ARM else None, self.severity, classifier)
                auc, spent = self.task.once(key, partial(_timed, fit_and_score))
                seconds += spent
            if arm == REAL_ARM:
                self.real_auc[classifier] = auc
            record[auc_column(classifier)] = auc
            record[delta_column(classifier)] = auc - self.real_auc[classifier]
        record["classifier_seconds"] = seconds

    def real_record(self) -> dict:
        record = _new_record(self.base, REAL_ARM, NO_SEED)
        self.score(REAL_ARM, self.fold.Z_internal, self.fold.y_internal, record)
        return record

    def synthetic_record(self, arm: str, sample: ArmSample) -> dict:
        """Take the ratio's rows of a stored sample, measure their quality and score the augmented set."""
        record = _new_record(self.base, arm, sample.arm_seed)
        record["fit_seconds"] = sample.fit_seconds
        if sample.error:
            record.update(status="failed", error=sample.error)
            return record
        try:
            X_synth, y_synth = sample.take(synthetic_counts(self.fold.y_internal, self.ratio))
            record["sample_seconds"] = sample.sample_seconds
            record["n_synthetic"] = len(y_synth)
            if len(y_synth):  # an empty sample has no quality; its arm trains on the real rows alone
                values, seconds = self.task.once(
                    self._key("metrics", arm, self.ratio, _key(self.metrics)),
                    lambda: _timed(
                        lambda: quality_metrics(self.fold.Z_internal, X_synth, self.metric_seed, self.metrics)
                    ),
                )
                record.update(values)
                record["metric_seconds"] = seconds
            X_train = np.vstack([self.fold.Z_internal, X_synth])
            y_train = np.concatenate([self.fold.y_internal, y_synth])
            self.score(arm, X_train, y_train, record)
        except Exception as exc:  # a failed arm is a record, never a lost task
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            return record
        if is_study_arm(arm):
            self.predictors(arm, X_synth, y_synth, record)
        return record

    def predictors(self, arm: str, X_synth: np.ndarray, y_synth: np.ndarray, record: dict) -> None:
        """The predictors of the gain the specification asks for (radlib.predictors), into ``record``."""
        evaluation = self.config["evaluation"]
        wanted = {external_column(m): np.nan for m in registered_metrics()} if evaluation["external_metrics"] else {}
        for classifier in evaluation["predictor_classifiers"]:
            wanted.update({tstr_column(classifier): np.nan, icv_column(classifier): np.nan})
        record.update(wanted)
        try:
            if evaluation["external_metrics"] and len(y_synth):
                record.update(
                    self.task.once(
                        self._key("ext", arm, self.ratio, self.severity, _key(self.metrics)),
                        lambda: external_fidelity(self.Z_external, X_synth, self.metric_seed, self.metrics),
                    )
                )
            for classifier in evaluation["predictor_classifiers"]:
                params, seed = self.config["classifiers"][classifier], self.base[f"seed_{classifier}"]
                record[tstr_column(classifier)] = self.task.once(
                    self._key("tstr", arm, self.ratio, classifier),
                    partial(
                        tstr_auc, classifier, params, seed, X_synth, y_synth, self.fold.Z_internal, self.fold.y_internal
                    ),
                )
                cv = self.task.once(
                    self._key("icv"),
                    lambda: InternalCV(
                        self.fold.Z_internal,
                        self.fold.y_internal,
                        self.config.seed(self.task.dataset.name, self.task.repetition, self.fold.split.fold, "icv"),
                    ),
                )
                record[icv_column(classifier)] = self.task.once(
                    self._key("icv", arm, self.ratio, classifier),
                    partial(cv.delta_auc, classifier, params, seed, X_synth, y_synth),
                )
        except Exception as exc:  # the arm's own records stand; the predictors say why they are missing
            record["predictor_error"] = f"{type(exc).__name__}: {exc}"
            log.warning("%s: predictors of %s failed: %s", self.task.dataset.name, arm, record["predictor_error"])


def _evaluate(task: _TaskEvaluation, config: Config, specification: str) -> pd.DataFrame:
    """The records of one specification of a task."""
    samples = task.samples
    if samples.synthesis_hash != config.synthesis_hash:
        raise ValueError(
            f"specification {specification!r} needs the samples of synthesis {config.synthesis_hash}, "
            f"not {samples.synthesis_hash}"
        )
    arms = arms_of(config)
    records: list[dict] = []
    for prepared in task.folds(config):
        if isinstance(prepared, InternalFold):
            records.extend(_fold_records(task, prepared, config, specification, arms))
        else:  # the fold's arms are failed records that say why; the other folds go on
            records.extend(_failed_fold_records(task, prepared, config, specification, arms))
    order = {arm: i for i, arm in enumerate(arms)}
    records.sort(key=lambda record: (record["fold"], order[record["arm"]]))
    return pd.DataFrame(records)


def _fold_records(
    task: _TaskEvaluation, fold: InternalFold, config: Config, specification: str, arms: list[str]
) -> list[dict]:
    base = _fold_base(task.dataset, task.repetition, fold.split, config, specification)
    base["k_selected"] = fold.Z_internal.shape[1]
    base.update(task.floor(fold, config))
    evaluation = _FoldEvaluation(task, fold, config, base)
    records = [evaluation.real_record()]
    for arm in arms[1:]:
        record = evaluation.synthetic_record(arm, task.samples.arms[fold.split.fold, arm])
        if record["status"] == "failed":
            log.warning(
                "%s r%d fold %d %s failed: %s",
                task.dataset.name,
                task.repetition,
                fold.split.fold,
                arm,
                record["error"],
            )
        records.append(record)
    return records


def _failed_fold_records(
    task: _TaskEvaluation, fold: FailedFold, config: Config, specification: str, arms: list[str]
) -> list[dict]:
    """A fold that could not be prepared: every arm a failed record with the fold's sizes and the reason."""
    base = _fold_base(task.dataset, task.repetition, fold.split, config, specification)
    message = f"{type(fold.error).__name__}: {fold.error}"
    log.warning("%s r%d fold %d failed: %s", task.dataset.name, task.repetition, fold.split.fold, message)
    no_auc = {column(c): np.nan for c in config.evaluated_classifiers() for column in (auc_column, delta_column)}
    return [{**_new_record(base, arm, NO_SEED), **no_auc, "status": "failed", "error": message} for arm in arms]


def evaluate_task(
    dataset: Dataset, repetition: int, configs: Mapping[str, Config], samples: TaskSamples
) -> dict[str, pd.DataFrame]:
    """Evaluate specifications of one (dataset, repetition) from its stored samples; fits no generator.

    Every transform and model is fitted on a fold's internal set (and synthetic data derived
    from it) only; the fold's external site is used for scoring alone.

    Parameters
    ----------
    dataset : Dataset
        A cleaned dataset (:func:`radlib.data.load_dataset`).
    repetition : int
        Repetition index; with the dataset name and ``base_seed`` it fixes every seed.
    configs : mapping of str to Config
        Specification name -> its configuration (:func:`radlib.specifications.specification_configs`);
        all of one synthesis hash, the samples'.
    samples : TaskSamples
        The task's stored samples (:func:`radlib.samples.synthesize_task`, :func:`radlib.samples.read_samples`).

    Returns
    -------
    dict of str to DataFrame
        Per specification, one row per (fold, arm), folds in order, arms in :func:`arms_of`
        order, with: ``fold``, ``arm``, ``generator`` and ``fraction`` (the arm's source and
        training fraction), sizes and class counts of both sets, the quality metrics (NaN for
        the real-only arm), ``floor_<metric>``, ``auc_<clf>`` and ``delta_auc_<clf>`` for each
        evaluated classifier (NaN where the classifier does not take the arm), the predictors
        the specification asks for, ``undefined`` (external fold with one class), timings
        (``fit_seconds``: the batched fit of the task's folds divided by their number),
        ``status`` (``ok`` or ``failed``) and ``error``, seeds (``split_seed``, ``arm_seed``:
        the generator's fit seed for the fold, -1 for real-only, and ``seed_<clf>``: the
        classifier's seed, shared by every arm of the fold), ``specification``, the
        configuration and synthesis hashes, and versions (with the code's commit).
    """
    task = _TaskEvaluation(dataset, repetition, samples)
    for config in configs.values():
        samples.check(dataset, repetition, config)
    return {name: _evaluate(task, config, name) for name, config in configs.items()}


def run_task(dataset: Dataset, repetition: int, config: Config) -> pd.DataFrame:
    """Both stages of one (dataset, repetition) for ``config``'s own evaluation settings (engine v2's task).

    See :func:`evaluate_task` for the records.
    """
    samples = synthesize_task(dataset, repetition, config)
    return evaluate_task(dataset, repetition, {DEFAULT_SPECIFICATION: config}, samples)[DEFAULT_SPECIFICATION]
