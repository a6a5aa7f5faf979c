"""Numbers as text, one way everywhere: tables, summaries, verdicts and figure labels.

NaN, infinite and None values print as ``n/a``; q- and p-values below 0.001 as ``< 0.001``.

The published files (the CSV tables and the JSON summaries under ``results/<profile>/``) hold
every float to :data:`PUBLISHED_DIGITS` significant digits (:data:`CSV_FLOAT_FORMAT`,
:func:`published_float`): far more than any number the text reports (three decimals), and few
enough that the last-digit differences of another machine's summation order (BLAS, parallel
reductions; relative differences of about 1e-12 and below) round away, so a regeneration on any
machine writes the same bytes.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "number",
    "signed",
    "p_value",
    "interval",
    "value_range",
    "PUBLISHED_DIGITS",
    "CSV_FLOAT_FORMAT",
    "published_float",
]

#: Significant digits of every float in a published table or summary.
PUBLISHED_DIGITS = 12
#: ``DataFrame.to_csv(float_format=...)`` of the published tables.
CSV_FLOAT_FORMAT = f"%.{PUBLISHED_DIGITS}g"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, int)) and not math.isfinite(value))


def number(value: Any, digits: int = 3, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (a leading + or - when ``sign``); ``n/a`` when missing."""
    if _missing(value):
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def signed(value: Any, digits: int = 3) -> str:
    """``value`` with an explicit sign, e.g. ``+0.012``: the form of every ΔAUC and ρ."""
    return number(value, digits, sign=True)


def p_value(value: Any, digits: int = 3) -> str:
    """A p- or q-value: ``< 0.001`` below 0.001, else ``digits`` decimals."""
    if _missing(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.{digits}f}"


def interval(low: Any, high: Any, digits: int = 3) -> str:
    """A confidence interval ``[low, high]`` with signs; ``[no CI]`` when a bound is missing."""
    if _missing(low) or _missing(high):
        return "[no CI]"
    return f"[{signed(low, digits)}, {signed(high, digits)}]"


def value_range(low: Any, high: Any, digits: int = 2, sign: bool = True) -> str:
    """A range ``low to high``, one value when they are equal, ``n/a`` when both are missing."""
    if _missing(low) and _missing(high):
        return "n/a"
    if low == high:
        return number(low, digits, sign)
    return f"{number(low, digits, sign)} to {number(high, digits, sign)}"


def published_float(value: float) -> float:
    """``value`` rounded to :data:`PUBLISHED_DIGITS` significant digits, as the published files hold it.

    >>> published_float(0.1 + 0.2)
    0.3
    >>> published_float(2 / 3)
    0.666666666667
    """
    return float(f"{value:.{PUBLISHED_DIGITS}g}")
