"""Student-t confidence intervals of a mean, the one form used by every table of the compendium."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["t_interval", "mean_t_interval"]


def t_interval(mean: float, sd: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Two-sided ``1 - alpha`` t-interval ``mean ± t(1 - alpha/2, n - 1) · sd / √n``.

    Returns ``(nan, nan)`` when ``n < 2`` or ``sd`` is not finite.
    """
    if n < 2 or not np.isfinite(sd):
        return np.nan, np.nan
    half = stats.t.isf(alpha / 2, n - 1) * sd / math.sqrt(n)
    return float(mean - half), float(mean + half)


def mean_t_interval(values, alpha: float = 0.05) -> tuple[float, float]:
    """:func:`t_interval` of the finite ``values`` (sample SD, ``ddof=1``)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return np.nan, np.nan
    return t_interval(float(values.mean()), float(values.std(ddof=1)), len(values), alpha)
