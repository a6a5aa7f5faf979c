"""Numbers as text, one way everywhere: tables, summaries, verdicts and figure labels.

NaN, infinite and None values print as ``n/a``; q- and p-values below 0.001 as ``< 0.001``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["number", "signed", "p_value", "interval", "value_range"]


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
