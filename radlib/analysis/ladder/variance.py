"""Ladder analysis (a): the share of each quantity's variance explained by configuration, per nested set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.ladder.configurations import DELTA_AUC, SCORES, pair_values, restrict_to_set, sets_or_nested

__all__ = ["variance_explained"]


def _residual_ss(y: np.ndarray, *factors: np.ndarray) -> float:
    """Residual sum of squares of the least-squares fit of y on an intercept and the factors' dummies."""
    columns = [np.ones((len(y), 1))]
    for codes in factors:
        dummies = np.eye(codes.max() + 1)[codes]
        columns.append(dummies[:, 1:])
    design = np.hstack(columns)
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(((y - fitted) ** 2).sum())


def _variance_row(data: pd.DataFrame) -> dict[str, float]:
    """Type II sums of squares of ``value ~ dataset + configuration`` and the shares built on them."""
    y = data["value"].to_numpy(float)
    dataset = pd.factorize(data["dataset"])[0]
    configuration = pd.factorize(data["arm"])[0]
    total = float(((y - y.mean()) ** 2).sum())
    residual = _residual_ss(y, dataset, configuration)
    ss_configuration = _residual_ss(y, dataset) - residual
    ss_dataset = _residual_ss(y, configuration) - residual
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "ss_total": total,
            "ss_configuration": ss_configuration,
            "ss_dataset": ss_dataset,
            "ss_residual": residual,
            "eta2": ss_configuration / total,
            "partial_eta2": ss_configuration / (ss_configuration + residual),
            "dataset_share": ss_dataset / total,
        }


def variance_explained(
    pairs: pd.DataFrame,
    quantities: Sequence[str] = (*SCORES, DELTA_AUC),
    sets: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """H1 (a): the share of the variance of each quality score and of ΔAUC explained by configuration.

    Per set and quantity (a quality score oriented as in every analysis, or ``"delta_auc"``),
    over the pairs with a value: type II sums of squares of the additive model
    ``value ~ dataset + configuration`` (least squares with dummy codes; the same numbers as
    ``statsmodels.stats.anova.anova_lm(typ=2)``), ``eta2`` = SS_configuration / SS_total (the
    share; in a complete ladder the plain one-way η²), ``partial_eta2`` = SS_configuration /
    (SS_configuration + SS_residual) and ``dataset_share`` = SS_dataset / SS_total. Why the
    share of the total is the primary number: see the module notes.

    Returns
    -------
    DataFrame
        ``set``, ``quantity``, ``n`` (pairs), ``n_configurations``, ``n_datasets``, the sums of
        squares (``ss_total``, ``ss_configuration``, ``ss_dataset``, ``ss_residual``), ``eta2``,
        ``partial_eta2``, ``dataset_share``. NaN shares where a set holds one configuration.
    """
    rows = []
    for name, fractions in sets_or_nested(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        for quantity in quantities:
            data = pd.DataFrame(
                {"dataset": subset["dataset"], "arm": subset["arm"], "value": pair_values(subset, quantity)}
            ).dropna()
            row: dict[str, Any] = {
                "set": name,
                "quantity": quantity,
                "n": len(data),
                "n_configurations": data["arm"].nunique(),
                "n_datasets": data["dataset"].nunique(),
            }
            if row["n_configurations"] < 2 or row["n_datasets"] < 2:
                row.update(dict.fromkeys(("eta2", "partial_eta2", "dataset_share"), np.nan))
            else:
                row.update(_variance_row(data))
            rows.append(row)
    return pd.DataFrame(rows)
