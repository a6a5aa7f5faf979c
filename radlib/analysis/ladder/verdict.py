"""The ladder's pre-specified decision rules and their verdict in a sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.options import ALPHA
from radlib.formatting import interval, p_value, signed
from radlib.records import (
    COMPOSITE,
)

__all__ = ["VERDICTS", "ladder_verdict"]


#: The verdicts of the protocol's decision rules, keyed by rule.
VERDICTS = {
    "fallacy": "The ladder reproduces the ecological fallacy",
    "within": "Quality predicts the gain within configurations",
    "none": "No association at any spread",
    "mixed": "Mixed",
    "undecided": "Undecided",
}


def _excludes_zero_positive(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and low > 0)


def _includes_zero(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and low <= 0 <= high)


def _score_rules(pooled: pd.Series, slopes: pd.Series, within: pd.DataFrame, *, alpha: float) -> dict[str, Any]:
    """The protocol's decision rules for one score in one set: the numbers and which rules hold."""
    positive_significant = int(within["positive_significant"].sum())
    numbers = {
        "pooled_rho": float(pooled["rho"]),
        "pooled_q": float(pooled["q_value"]),
        "pooled_ci_low": float(pooled["ci_low"]),
        "pooled_ci_high": float(pooled["ci_high"]),
        "between_slope": float(slopes["between_slope"]),
        "between_ci_low": float(slopes["between_ci_low"]),
        "between_ci_high": float(slopes["between_ci_high"]),
        "within_slope": float(slopes["within_slope"]),
        "within_ci_low": float(slopes["within_ci_low"]),
        "within_ci_high": float(slopes["within_ci_high"]),
        "n_within_tests": int(within["p_value"].notna().sum()),
        "n_within_positive_significant": positive_significant,
    }
    missing = [
        name
        for name in ("pooled_rho", "pooled_q", "between_ci_low", "between_ci_high", "within_ci_low", "within_ci_high")
        if not np.isfinite(numbers[name])
    ]
    if missing or numbers["n_within_tests"] == 0:
        reason = f"missing {', '.join(missing)}" if missing else "no within-configuration test"
        return {**numbers, "rules": [], "verdict": VERDICTS["undecided"], "rule": "undecided", "reason": reason}
    pooled_positive = numbers["pooled_q"] < alpha and numbers["pooled_rho"] > 0
    within_near_zero = positive_significant == 0 and _includes_zero(numbers["within_ci_low"], numbers["within_ci_high"])
    holds = {
        "fallacy": pooled_positive
        and _excludes_zero_positive(numbers["between_ci_low"], numbers["between_ci_high"])
        and within_near_zero,
        "within": numbers["within_slope"] > 0
        and _excludes_zero_positive(numbers["within_ci_low"], numbers["within_ci_high"])
        and positive_significant > 0,
        "none": numbers["pooled_q"] >= alpha and _includes_zero(numbers["between_ci_low"], numbers["between_ci_high"]),
    }
    rules = [rule for rule, held in holds.items() if held]
    rule = rules[0] if len(rules) == 1 else "mixed"
    reason = "" if len(rules) == 1 else ("no rule holds" if not rules else f"several rules hold: {', '.join(rules)}")
    return {**numbers, "rules": rules, "verdict": VERDICTS[rule], "rule": rule, "reason": reason}


def ladder_verdict(
    pooled: pd.DataFrame,
    slopes: pd.DataFrame,
    within: pd.DataFrame,
    set_name: str | None = None,
    primary: str = COMPOSITE,
    *,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """The protocol's decision rules, applied in the largest set (S3) to the primary score, and to each metric.

    Rules (docs/protocol.md, "Decision rules"), in the set ``set_name`` (default: the last
    set of ``pooled``, the widest spread):

    * ``fallacy`` ("The ladder reproduces the ecological fallacy"): the pooled ρ is positive
      with q < alpha, the between slope's CI lies above 0, no configuration's ρ is positive
      with q < alpha (BH over the configurations) and the within slope's CI includes 0;
    * ``within`` ("Quality predicts the gain within configurations"): the within slope is
      positive with a CI above 0 and at least one configuration's ρ is positive with q < alpha;
    * ``none`` ("No association at any spread"): the pooled ρ has q >= alpha and the between
      slope's CI includes 0;
    * otherwise ``mixed`` (no rule holds, or several do: their names are given);
    * ``undecided`` when a number a rule needs is missing (e.g. no bootstrap CI with fewer than
      5 datasets).

    Parameters
    ----------
    pooled, slopes, within : DataFrame
        :func:`pooled_by_set`, :func:`slopes_by_set`, :func:`within_configurations`.

    Returns
    -------
    dict
        ``verdict`` (text), ``rule``, ``rules`` (those that hold), ``reason``, ``set``,
        ``n_configurations``, ``score`` (the primary), the numbers the rules rest on
        (``pooled_rho``, ``pooled_q``, ``pooled_ci_low``/``_high``, ``between_slope``,
        ``between_ci_low``/``_high``, ``within_slope``, ``within_ci_low``/``_high``,
        ``n_within_tests``, ``n_within_positive_significant``), ``metrics`` (a DataFrame: the
        same for every score), ``metric_counts`` (verdict -> number of the five metrics with
        it) and ``sentence`` (the verdict with its numbers, in words).
    """
    set_name = pooled["set"].iloc[-1] if set_name is None else set_name
    pooled_set = pooled[pooled["set"] == set_name].set_index("metric")
    slopes_set = slopes[slopes["set"] == set_name].set_index("metric")
    if pooled_set.empty or slopes_set.empty:
        raise ValueError(f"no set '{set_name}' in the tables; sets: {sorted(set(pooled['set']))}")
    rows = []
    for score in pooled_set.index:
        if score not in slopes_set.index:
            continue
        within_score = within[within["metric"] == score]
        rows.append(
            {"metric": score, **_score_rules(pooled_set.loc[score], slopes_set.loc[score], within_score, alpha=alpha)}
        )
    metrics = pd.DataFrame(rows)
    if primary not in set(metrics["metric"]):
        raise ValueError(f"the primary score '{primary}' is not among the scores {list(metrics['metric'])}")
    main = metrics.set_index("metric").loc[primary].to_dict()
    five = metrics[metrics["metric"] != primary]
    counts = five["verdict"].value_counts().to_dict()
    out = {
        **main,
        "set": set_name,
        "n_configurations": int(pooled_set.loc[primary, "n_configurations"]),
        "score": primary,
        "metrics": metrics,
        "metric_counts": {verdict: int(n) for verdict, n in counts.items()},
    }
    out["sentence"] = _verdict_sentence(out, len(five))
    return out


def _verdict_sentence(verdict: Mapping[str, Any], n_metrics: int) -> str:
    text = (
        f"{verdict['verdict']} ({verdict['score']}, {verdict['set']}, {verdict['n_configurations']} configurations): "
        f"pooled ρ = {signed(verdict['pooled_rho'], 2)} (q {_q(verdict['pooled_q'])}), "
        f"between slope {signed(verdict['between_slope'])} {interval(verdict['between_ci_low'], verdict['between_ci_high'])}, "
        f"within slope {signed(verdict['within_slope'])} {interval(verdict['within_ci_low'], verdict['within_ci_high'])}, "
        f"{verdict['n_within_positive_significant']} of {verdict['n_within_tests']} within-configuration ρ "
        f"positive with q < 0.05"
    )
    if verdict["reason"]:
        text += f" ({verdict['reason']})"
    counts = ", ".join(f"{n} {name.lower()}" for name, n in verdict["metric_counts"].items())
    return f"{text}. The {n_metrics} metrics: {counts}."


def _q(value: float) -> str:
    text = p_value(value)
    return text if text.startswith("<") or text == "n/a" else f"= {text}"
