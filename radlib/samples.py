"""Stage 1 of a task: fit the generators once and store their synthetic rows (engine v3).

A *task* (one dataset and repetition) is split into its site-folds, the development pipeline
is fitted on each fold's internal set, every generator is fitted on the folds at once
(batched, as in engine v2) and every arm is sampled. The rows are kept in a
:class:`TaskSamples` and stored, one file per task, under
``<processed>/samples/<synthesis hash>/`` (:func:`samples_path`), so that any evaluation
setting (the synthetic ratio, the classifiers, the acquisition shift's severity, the metrics)
is computed from them without refitting: :func:`radlib.experiment.evaluate_task`.

**Nested synthetic ratios.** Each arm at the full budget (and SMOTE) is sampled once at
``synthesis.max_ratio``: first the ratio-1 draw, exactly v2's draw (``model.sample`` of
``round(n_c)`` rows per class, with the model's own sampling seed), then the further
``round(max_ratio * n_c) - n_c`` rows of each class with a seed of their own. The ratio-r
sample of class c is the first ``round(r * n_c)`` rows of that class (:meth:`ArmSample.take`),
so ratios share their random numbers and ratio 1 reproduces v2's records. Snapshot arms
(``cvae@0.25``, ...) serve the fidelity ladder, which is defined at ratio 1: they are stored at
ratio ``min(1, max_ratio)`` only.

**Why the store is float64 although the issue asked for float32.** The quantile-transformed
generators and SMOTE return float64 rows that are not float32 numbers; rounding them changes
v2's records (measured: the reproduction check fails on the first task), and that check is
what makes a stored sample trustworthy. Compressed with zstd, the full profile's store is
measured by ``benchmarks/bench_evaluation.py``.

**The internal set does not depend on the evaluation settings.** The site-folds are drawn
from the features alone with the split seed; the acquisition shift touches only the external
rows, after the internal set is fixed, with seeds of its own (:mod:`radlib.shift`). So
``shift.severity`` is left out of the synthesis hash (:attr:`radlib.config.Config.synthesis_hash`),
and ``tests/test_samples.py`` checks that two severities give identical internal sets and
samples.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radlib import generators
from radlib.config import Config, derive_seed, project_root
from radlib.data import Dataset
from radlib.features import development_pipeline
from radlib.files import write_parquet_atomically
from radlib.generators.base import GeneratorError
from radlib.generators.neural import TorchGenerator
from radlib.records import REAL_ARM, SMOTE_ARM, is_study_arm, snapshot_arm
from radlib.shift import ExternalSplit, simulate_external_folds

__all__ = [
    "ArmSample",
    "InternalFold",
    "FailedFold",
    "TaskSamples",
    "MissingSynthesisError",
    "code_version",
    "source_hash",
    "sources_of",
    "snapshot_fractions",
    "arms_of",
    "synthetic_counts",
    "prepare_folds",
    "synthesize_task",
    "samples_path",
    "write_samples",
    "read_samples",
]

#: ``arm_seed`` of the real-only arm, which fits no generator.
NO_SEED = -1
#: Column prefix of the stored features.
FEATURE_PREFIX = "z"


class MissingSynthesisError(FileNotFoundError):
    """The stored samples an evaluation needs are not there."""


@lru_cache(maxsize=1)
def code_version() -> str:
    """The commit of the code that runs (``git describe --always --dirty``), else radlib's version.

    A run's manifest and every task file record it, so a result names the code that made it.
    """
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if described:
            return described
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"radlib {metadata.version('radlib')}"
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def source_hash() -> str:
    """12 hex digits of SHA-256 over radlib's Python source files (relative path and bytes, sorted).

    What a Dask worker must share with the client (:func:`radlib.grid.check_workers`): unlike
    :func:`code_version` it needs no git checkout and it changes with any edited line. Computed
    once per process, when first asked (at import time of the running code, in effect), so an edit
    of the checkout during a run does not make its records name code that did not compute them.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(f"{path.relative_to(package).as_posix()}\x1f".encode())
        digest.update(path.read_bytes())
        digest.update(b"\x1e")
    return digest.hexdigest()[:12]


def sources_of(config: Config) -> list[str]:
    """The configured sources of synthetic rows: each generator, then SMOTE if enabled."""
    return [*config["synthesis"]["generators"], *([SMOTE_ARM] if config["synthesis"]["smote"] else [])]


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


def arms_of(config: Config) -> list[str]:
    """The arms of one evaluation: real-only, each generator's snapshot arms, then SMOTE if enabled.

    Snapshot arms are evaluated when an evaluated classifier takes them (``arms: all``) and the
    ratio is at most the one they are stored at, ``min(1, max_ratio)``; otherwise the evaluation
    has the study's arms only.
    """
    takes_snapshots = any(params["arms"] == "all" for params in config.evaluated_classifiers().values())
    with_snapshots = takes_snapshots and config["synthesis"]["ratio"] <= _stored_ratio(config, study=False)
    return [REAL_ARM] + [
        arm
        for source in sources_of(config)
        for arm in (snapshot_arm(source, fraction) for fraction in snapshot_fractions(source, config))
        if with_snapshots or is_study_arm(arm)
    ]


def synthetic_counts(y: np.ndarray, ratio: float) -> dict[int, int]:
    """Per-class synthetic sample sizes: ``ratio`` times the internal class counts, rounded."""
    return {label: int(round(ratio * int(np.sum(y == label)))) for label in (0, 1)}


def _stored_ratio(config: Config, study: bool) -> float:
    """The ratio at which an arm is stored: ``max_ratio`` for a study arm, at most 1 for a snapshot."""
    max_ratio = float(config["synthesis"]["max_ratio"])
    return max_ratio if study else min(1.0, max_ratio)


@dataclass
class ArmSample:
    """One arm's stored synthetic rows on one fold, ordered by class, each class nested by ratio."""

    X: np.ndarray
    y: np.ndarray
    arm_seed: int
    fit_seconds: float
    sample_seconds: float = 0.0
    error: str = ""
    #: Why the rows beyond the ratio-1 draw are missing (their draw failed); "" when they are there.
    extra_error: str = ""

    def take(self, counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The first ``counts[c]`` stored rows of each class ``c``, class 0 first (the ratio-r sample).

        Raises
        ------
        GeneratorError
            More rows asked for than stored (the draw beyond ratio 1 failed, or a ratio above
            ``synthesis.max_ratio``).
        """
        blocks, labels = [], []
        for label in (0, 1):
            rows = self.X[self.y == label]
            if counts[label] > len(rows):
                reason = self.extra_error or "the stored sample is smaller than the ratio asks for"
                raise GeneratorError(f"class {label}: {counts[label]} rows asked for, {len(rows)} stored: {reason}")
            blocks.append(rows[: counts[label]])
            labels.append(np.full(counts[label], label, dtype=np.int64))
        return np.vstack(blocks), np.concatenate(labels)


@dataclass
class InternalFold:
    """A site-fold's split and its internal set in the selected feature space."""

    split: ExternalSplit
    pipeline: Any
    Z_internal: np.ndarray
    y_internal: np.ndarray


@dataclass
class FailedFold:
    """A site-fold that cannot be used, and why (a FoldError when its internal set holds one class)."""

    split: ExternalSplit
    error: Exception


class FoldError(ValueError):
    """A site-fold that cannot be evaluated (e.g. its internal set holds one class); its arms fail, not the task."""


def prepare_folds(dataset: Dataset, repetition: int, config: Config) -> list[InternalFold | FailedFold]:
    """Split a task into its site-folds and fit the development pipeline on each internal set.

    Returns, per fold in order, an :class:`InternalFold`, or a :class:`FailedFold` with the
    exception that makes it unusable (a :class:`FoldError` when its internal set holds one
    class). The external rows carry the acquisition shift of ``config``'s severity; the internal
    sets do not depend on it.
    """
    name = dataset.name
    splits = simulate_external_folds(dataset.X, config["shift"], config.seed(name, repetition, "split"))
    prepared: list[InternalFold | FailedFold] = []
    for split in splits:
        X_internal, y_internal = dataset.X[split.internal_idx], dataset.y[split.internal_idx]
        try:
            if len(np.unique(y_internal)) < 2:
                raise FoldError(
                    f"fold {split.fold}'s internal set holds a single class ({len(y_internal)} patients, "
                    f"{int(y_internal.sum())} positive): nothing can be trained on it"
                )
            pipeline = development_pipeline(config["features"]["k"], dataset.p).fit(X_internal, y_internal)
            prepared.append(InternalFold(split, pipeline, pipeline.transform(X_internal), y_internal))
        except Exception as exc:  # this fold's arms become failed records that say why
            prepared.append(FailedFold(split, exc))
    return prepared


@dataclass
class TaskSamples:
    """The stored synthetic rows of one task: per (fold, arm), an :class:`ArmSample`.

    Folds whose internal set could not be prepared have no arms (:func:`prepare_folds`).
    """

    dataset: str
    fingerprint: str
    repetition: int
    synthesis_hash: str
    commit: str
    arms: dict[tuple[int, str], ArmSample] = field(default_factory=dict)

    def check(self, dataset: Dataset, repetition: int, config: Config) -> None:
        """Raise ValueError unless these are the samples of ``dataset``, ``repetition`` under ``config``."""
        wanted = (dataset.name, dataset.fingerprint, repetition, config.synthesis_hash)
        found = (self.dataset, self.fingerprint, self.repetition, self.synthesis_hash)
        if wanted != found:
            raise ValueError(f"stored samples of {found} do not belong to the task {wanted}")


def _draw(model, counts_1: dict[int, int], counts_max: dict[int, int], extra_seed: int) -> ArmSample:
    """The ratio-1 draw (v2's), then the rows up to the stored ratio; rows ordered by class, nested.

    A stored ratio below 1 keeps the first rows of each class of the ratio-1 draw.
    """
    started = time.perf_counter()
    X_base, y_base = model.sample(counts_1)
    seconds = time.perf_counter() - started
    extra_counts = {label: max(0, counts_max[label] - counts_1[label]) for label in (0, 1)}
    X_extra, y_extra, extra_error = np.empty((0, X_base.shape[1])), np.empty(0, dtype=np.int64), ""
    if sum(extra_counts.values()):
        try:
            X_extra, y_extra = model.sample(extra_counts, seed=extra_seed)
        except Exception as exc:  # the ratio-1 rows stand; larger ratios of this arm fail and say why
            extra_error = f"{type(exc).__name__}: {exc}"
    X, y = np.vstack([X_base, X_extra]), np.concatenate([y_base, y_extra])
    order = np.argsort(y, kind="stable")  # by class, the ratio-1 rows first within each
    X, y = X[order], y[order]
    keep = np.concatenate([np.flatnonzero(y == label)[: counts_max[label]] for label in (0, 1)])
    return ArmSample(X[keep], y[keep], NO_SEED, 0.0, sample_seconds=seconds, extra_error=extra_error)


def synthesize_task(dataset: Dataset, repetition: int, config: Config) -> TaskSamples:
    """Fit every generator on every fold of a task (batched) and sample every arm.

    Parameters
    ----------
    dataset : Dataset
    repetition : int
    config : Config
        Only the settings of the synthesis hash are read (not the evaluation settings).

    Returns
    -------
    TaskSamples
        Per (fold, arm) the stored rows, the fit seed (``arm_seed``), the fit time (the batched
        fit of the task's folds divided by their number) and the sampling time, or the error of
        an arm that failed (its fit or its ratio-1 draw).
    """
    name = dataset.name
    folds = {
        prepared.split.fold: prepared
        for prepared in prepare_folds(dataset, repetition, config)
        if isinstance(prepared, InternalFold)
    }
    samples = TaskSamples(name, dataset.fingerprint, repetition, config.synthesis_hash, code_version())
    for source in sources_of(config) if folds else ():
        fractions = snapshot_fractions(source, config)
        seeds = {fold: config.seed(name, repetition, fold, source) for fold in folds}
        started = time.perf_counter()
        try:
            fitted = generators.from_config(source, config).fit_folds(
                [(f.Z_internal, f.y_internal) for f in folds.values()], list(seeds.values()), fractions
            )
        except Exception as exc:  # e.g. a plug-in's bug: every fold's arms fail and say why
            fitted = [GeneratorError(f"{type(exc).__name__}: {exc}")] * len(folds)
        fit_seconds = (time.perf_counter() - started) / len(folds)
        for (fold, prepared), models in zip(folds.items(), fitted):
            for fraction in fractions:
                arm = snapshot_arm(source, fraction)
                no_rows = np.empty((0, prepared.Z_internal.shape[1])), np.empty(0, dtype=np.int64)
                if isinstance(models, GeneratorError):
                    sample = ArmSample(*no_rows, seeds[fold], fit_seconds, error=str(models))
                else:
                    counts_max = synthetic_counts(prepared.y_internal, _stored_ratio(config, is_study_arm(arm)))
                    try:
                        sample = _draw(
                            models[fraction],
                            synthetic_counts(prepared.y_internal, 1.0),
                            counts_max,
                            derive_seed(seeds[fold], "sample", "beyond ratio 1"),
                        )
                    except Exception as exc:  # a failed arm is a record, never a lost task
                        sample = ArmSample(*no_rows, NO_SEED, 0.0, error=f"{type(exc).__name__}: {exc}")
                    sample.arm_seed, sample.fit_seconds = seeds[fold], fit_seconds
                samples.arms[fold, arm] = sample
    return samples


def samples_path(config: Config, dataset: Dataset, repetition: int) -> Path:
    """Where a task's stored samples live: keyed by synthesis hash, dataset (name, fingerprint), repetition."""
    file_name = f"{dataset.name}__{dataset.fingerprint}__r{repetition:03d}.parquet"
    return config.path("processed") / "samples" / config.synthesis_hash / file_name


_ARM_FIELDS = ("arm_seed", "fit_seconds", "sample_seconds", "error", "extra_error")


def write_samples(samples: TaskSamples, path: Path) -> None:
    """Store a task's samples atomically: one Parquet file (zstd), the rows in float64.

    Each row carries its fold, arm and label; the file's metadata (``attrs``) holds the task's
    identity, the commit that computed it and each arm's seed, times and errors.
    """
    width = max((s.X.shape[1] for s in samples.arms.values()), default=0)
    frames = []
    for (fold, arm), sample in samples.arms.items():
        frame = pd.DataFrame(sample.X, columns=[f"{FEATURE_PREFIX}{j}" for j in range(sample.X.shape[1])])
        frame.insert(0, "label", sample.y.astype(np.int8))
        frame.insert(0, "arm", arm)
        frame.insert(0, "fold", np.int16(fold))
        frames.append(frame.reindex(columns=["fold", "arm", "label", *[f"{FEATURE_PREFIX}{j}" for j in range(width)]]))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"fold": [], "arm": [], "label": []})
    table.attrs = {
        "radlib_samples": json.dumps(
            {
                "dataset": samples.dataset,
                "fingerprint": samples.fingerprint,
                "repetition": samples.repetition,
                "synthesis_hash": samples.synthesis_hash,
                "commit": samples.commit,
                "n_features": width,
                "arms": [
                    {"fold": fold, "arm": arm, **{key: getattr(s, key) for key in _ARM_FIELDS}}
                    for (fold, arm), s in samples.arms.items()
                ],
            }
        )
    }
    write_parquet_atomically(table, path, compression="zstd")


def read_samples(path: Path) -> TaskSamples:
    """Read a task's stored samples (:func:`write_samples`); MissingSynthesisError when absent."""
    if not path.exists():
        raise MissingSynthesisError(f"no stored samples at {path}")
    table = pd.read_parquet(path)
    header = json.loads(table.attrs["radlib_samples"])
    features = [f"{FEATURE_PREFIX}{j}" for j in range(header["n_features"])]
    groups = {key: rows for key, rows in table.groupby(["fold", "arm"], sort=False)}
    samples = TaskSamples(
        header["dataset"], header["fingerprint"], header["repetition"], header["synthesis_hash"], header["commit"]
    )
    for entry in header["arms"]:
        rows = groups.get((entry["fold"], entry["arm"]), table.iloc[:0])
        X = rows[features].to_numpy(dtype=float)
        y = rows["label"].to_numpy(dtype=np.int64)
        samples.arms[entry["fold"], entry["arm"]] = ArmSample(X, y, **{key: entry[key] for key in _ARM_FIELDS})
    return samples
