"""The chance tests: which datasets carry a signal at all (the sensitivity subset of analysis 8).

A stage beside the engine, not an analysis of the records: it trains the real-only classifier on
the raw datasets. A permutation test per dataset (:func:`chance_test`, :func:`assess_chance`) decides which
datasets carry a signal at all; the analyses are repeated on those (the *sensitivity subset*,
:func:`sensitivity_subset`). :func:`chance_table` computes the tests once per configuration
and caches them in ``<interim>/chance.parquet`` under :func:`chance_key`: the settings the
tests read, so a change of a generator, a classifier the tests do not use or the shift keeps the
stored table (the configuration hash would throw it away).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, permutation_test_score
from threadpoolctl import threadpool_limits

from radlib.classifiers import make_classifier
from radlib.config import derive_seed
from radlib.data import load_datasets
from radlib.features import development_pipeline
from radlib.files import write_parquet_atomically
from radlib.outputs import CHANCE_FILE

__all__ = ["CHANCE_FILE", "chance_key", "chance_test", "assess_chance", "chance_table", "sensitivity_subset"]


def _sensitivity_params(config_params: Mapping) -> tuple[dict, int, dict]:
    """(sensitivity section, features.k, logreg params) from a Config, its params or the section."""
    params = config_params.params if hasattr(config_params, "params") else config_params
    if "sensitivity" in params:
        section = dict(params["sensitivity"])
        k = int(params.get("features", {}).get("k", 32))
        logreg = dict(params.get("classifiers", {}).get("logreg", {}))
    else:
        section, k, logreg = dict(params), int(params.get("k", 32)), {}
    missing = {"permutations", "alpha", "cv_folds"} - set(section)
    if missing:
        raise ValueError(f"sensitivity parameters lack {sorted(missing)}")
    logreg.setdefault("C", 1.0)
    logreg.setdefault("max_iter", 2000)
    return section, k, logreg


def chance_test(X: np.ndarray, y: np.ndarray, config_params: Mapping, seed: int, n_jobs: int = 1) -> dict:
    """Permutation test: is the real-only classifier's cross-validated AUC above chance?

    The model is :func:`radlib.features.development_pipeline` (median imputation,
    standardisation, SelectKBest(f_classif, k=min(k, p))) followed by the L2 logistic
    regression of the profile, refitted in every fold, so feature selection never sees
    the test fold. ``sklearn.model_selection.permutation_test_score`` with
    ``StratifiedKFold(cv_folds, shuffle=True, random_state=seed)``, ``scoring="roc_auc"``,
    ``n_permutations`` label permutations and ``random_state=seed``; p =
    (1 + #{permuted AUC >= AUC}) / (1 + n_permutations). When the minority class has
    fewer patients than ``cv_folds``, the folds are reduced to that count (reported).

    Parameters
    ----------
    X, y : array
        The full cleaned dataset (features may contain NaN) and its 0/1 labels.
    config_params : Config or mapping
        A :class:`radlib.config.Config`, its ``params`` (the ``sensitivity`` section,
        ``features.k`` and ``classifiers.logreg`` are used), or the ``sensitivity``
        section itself (``permutations``, ``alpha``, ``cv_folds``; optional ``k``).
    seed : int
    n_jobs : int

    Returns
    -------
    dict
        ``auc``, ``p_value``, ``significant`` (p < alpha), ``alpha``, ``n_permutations``,
        ``cv_folds`` (used), ``n``, ``p``.
    """
    section, k, logreg = _sensitivity_params(config_params)
    X, y = np.asarray(X, float), np.asarray(y).astype(int)
    folds = int(min(section["cv_folds"], np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise ValueError("chance_test needs at least 2 patients of each class")
    pipeline = development_pipeline(k, X.shape[1])
    pipeline.steps.append(("model", make_classifier("logreg", logreg, seed)))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    # One BLAS/OpenMP thread: the fits are tiny, and multi-threaded BLAS made each lbfgs
    # fit ~25x slower on a 2-core machine; parallelism belongs to n_jobs.
    with threadpool_limits(limits=1):
        auc, _, p_value = permutation_test_score(
            pipeline,
            X,
            y,
            cv=cv,
            scoring="roc_auc",
            n_permutations=int(section["permutations"]),
            random_state=seed,
            n_jobs=n_jobs,
        )
    return {
        "auc": float(auc),
        "p_value": float(p_value),
        "significant": bool(p_value < section["alpha"]),
        "alpha": float(section["alpha"]),
        "n_permutations": int(section["permutations"]),
        "cv_folds": folds,
        "n": int(X.shape[0]),
        "p": int(X.shape[1]),
    }


def assess_chance(datasets: Iterable, config_params: Mapping, seed: int, n_jobs: int = 1) -> pd.DataFrame:
    """Run :func:`chance_test` on each dataset; the sensitivity subset is ``significant``.

    Parameters
    ----------
    datasets : iterable
        :class:`radlib.data.Dataset` objects (``name``, ``X``, ``y``), or a mapping of
        name -> (X, y).
    config_params : Config or mapping
        As for :func:`chance_test`.
    seed : int
        Base seed; each dataset uses ``derive_seed(seed, name, "chance")``.

    Returns
    -------
    DataFrame
        ``dataset`` and the fields of :func:`chance_test`; the sensitivity subset is
        ``table.loc[table.significant, "dataset"]``.
    """
    items = datasets.items() if isinstance(datasets, Mapping) else ((d.name, (d.X, d.y)) for d in datasets)
    rows = [
        {"dataset": name, **chance_test(X, y, config_params, derive_seed(seed, name, "chance"), n_jobs)}
        for name, (X, y) in items
    ]
    return pd.DataFrame(rows)


def chance_key(config) -> str:
    """12 hex digits of SHA-256 over the settings :func:`chance_table` reads, and nothing else.

    The dataset list (``datasets``), ``base_seed``, ``features``, ``sensitivity`` and the
    logistic regression's settings but its ``arms`` (:func:`chance_test`): the chance tests do not
    depend on the generators, the shift, the other classifiers or the metrics, so a configuration
    that changes only those reuses the stored table. A table stored before the key was (it has
    only ``config_hash``) is reused under its configuration hash alone.
    """
    params = config.params if hasattr(config, "params") else config
    logreg = {k: v for k, v in params["classifiers"]["logreg"].items() if k != "arms"}
    read = {
        "datasets": params["datasets"],
        "base_seed": params["base_seed"],
        "features": params["features"],
        "sensitivity": params["sensitivity"],
        "logreg": logreg,
    }
    text = json.dumps(read, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _cached_chance(path: Path, config, datasets: Sequence | None) -> pd.DataFrame | None:
    """The stored chance table when it belongs to these settings (:func:`chance_key`) and datasets, else None."""
    if not path.exists():
        return None
    cached = pd.read_parquet(path)
    if "chance_key" in cached.columns:
        belongs = (cached["chance_key"] == chance_key(config)).all()
    else:
        belongs = (cached["config_hash"] == config.hash).all()
    if not len(cached) or not belongs:
        return None
    if datasets is not None:
        if "dataset_fingerprint" not in cached.columns:  # written before fingerprints were stored
            return None
        stored = dict(zip(cached["dataset"], cached["dataset_fingerprint"]))
        if stored != {d.name: d.fingerprint for d in datasets}:
            return None
    return cached


def chance_table(
    config, datasets: Sequence | None = None, n_jobs: int | None = None, refresh: bool = False
) -> pd.DataFrame:
    """The chance test of every dataset of ``config``, cached per chance key (:func:`chance_key`) and datasets.

    :func:`assess_chance` (base seed ``config["base_seed"]``) on ``datasets``, or on the
    datasets that :func:`radlib.data.load_datasets` loads for ``config`` when not given.
    The table is stored atomically in ``<interim>/chance.parquet`` with the chance key, the
    configuration hash and each dataset's content fingerprint. The stored table is read
    back instead of recomputed (unless ``refresh``) when its chance key is the
    configuration's and, with ``datasets`` given, its datasets are these (same names, same
    fingerprints); without ``datasets`` the key alone decides (it covers the dataset
    names), so nothing is loaded. So the notebook runs for different classifiers share one
    computation, and an audit rerun on changed tables recomputes it.

    Parameters
    ----------
    config : radlib.config.Config
    datasets : sequence of radlib.data.Dataset, optional
    n_jobs : int, optional
        Parallel permutation fits; default ``config["run"]["n_jobs"]``.
    refresh : bool
        Recompute even when a matching table is stored.

    Returns
    -------
    DataFrame
        ``dataset``, the fields of :func:`chance_test`, ``dataset_fingerprint``,
        ``config_hash`` (of the configuration that computed it), ``chance_key``; the sensitivity subset is :func:`sensitivity_subset` of it.
        ``attrs["cached"]`` says whether it was read back; ``attrs["skipped"]`` lists the
        datasets :func:`radlib.data.load_datasets` could not load (empty when read from the
        cache or when ``datasets`` were given: see the run manifest).
    """
    path = Path(config.path("interim")) / CHANCE_FILE
    cached = None if refresh else _cached_chance(path, config, datasets)
    if cached is not None:
        cached.attrs.update(skipped={}, cached=True)
        return cached
    skipped: dict[str, str] = {}
    if datasets is None:
        datasets, skipped = load_datasets(config)
    jobs = int(config["run"]["n_jobs"]) if n_jobs is None else n_jobs
    table = assess_chance(datasets, config, int(config["base_seed"]), n_jobs=jobs)
    table["dataset_fingerprint"] = [d.fingerprint for d in datasets]
    table["config_hash"] = config.hash
    table["chance_key"] = chance_key(config)
    write_parquet_atomically(table, path)
    table.attrs.update(skipped=dict(skipped), cached=False)
    return table


def sensitivity_subset(table: pd.DataFrame) -> list[str]:
    """The datasets of the sensitivity subset: those ``significant`` in :func:`chance_table`, sorted."""
    return sorted(table.loc[table["significant"].astype(bool), "dataset"])
