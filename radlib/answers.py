"""The compendium's six questions, answered in generated sentences from the tables `make all` wrote.

1. Does the pooled correlation of quality with ΔAUC appear? (notebook 05: the study's analysis 1)
2. Is it carried by differences between configurations? (notebook 06: the fidelity ladder)
3. Could this design have detected the study's reported effect? (notebook 07: reliability, power)
4. How do our numbers compare with the study's? (the side-by-side, :mod:`radlib.analysis.side_by_side`)
5. Is the answer robust to the choices the study left open? (notebook 08: the specification curve)
6. What should a practitioner use instead of the quality metrics? (notebook 09: predictors of the gain)

:func:`write_answers` reads the tables of a profile's results folder, writes the side-by-side
table (``side_by_side.csv`` / ``.md``), stores the sentences and the table in ``summary.json``
and renders ``summary.md`` again (:func:`radlib.report.render_summary`), whose text the README
embeds. Every number comes from a table next to it; a missing table gives a sentence that
says which notebook to run, not a guess. Composite quality score and logistic regression are
the primary analysis, as pre-specified (docs/protocol.md).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from radlib.analysis import curve, gain_predictors
from radlib.analysis import side_by_side as sbs
from radlib.analysis.options import ALPHA
from radlib.files import write_text_atomically
from radlib.formatting import interval, p_value, signed
from radlib.markdown import markdown_table
from radlib.outputs import (
    CURVE_PREFIX,
    DESIGN_PREFIX,
    PREDICTORS_PREFIX,
    PUBLISHED_RECORDS,
    SIDE_BY_SIDE,
    SUMMARY_JSON,
    SUMMARY_MD,
    ladder_prefix,
)
from radlib.records import COMPOSITE, POOLED
from radlib.report import read_tables, render_summary, table_prefix, update_summary

__all__ = [
    "answer_pooled",
    "answer_ladder",
    "answer_power",
    "answer_comparison",
    "answer_curve",
    "curve_by_level_markdown",
    "answer_predictors",
    "predictors_markdown",
    "write_answers",
    "update_summary_and_answers",
]

PRIMARY_CLASSIFIER = "logreg"
#: The columns of the power table (:func:`radlib.analysis.power.power_table`) that :func:`answer_power` quotes.
POWER_COLUMNS = (
    "rho",
    "power_pooled",
    "power_pooled_se",
    "size_pooled",
    "size_pooled_unadjusted",
    "power_within",
    "power_within_unadjusted",
    "bh_family",
)


def _missing(what: str, notebook: str) -> str:
    return f"Not answered: {what} is missing; run notebook {notebook} (`make all`) first."


def answer_pooled(correlations: pd.DataFrame | None) -> str:
    """Question 1, from analysis 1's table (pooled group, the five metrics and the composite)."""
    if correlations is None:
        return _missing("the correlation table of analysis 1", "05")
    pooled = correlations[correlations["group"] == POOLED].set_index("metric")
    metrics = pooled.drop(index=COMPOSITE, errors="ignore")
    significant = int(metrics["significant"].astype(bool).sum())
    positive = int((metrics["significant"].astype(bool) & (metrics["rho"] > 0)).sum())
    composite = pooled.loc[COMPOSITE] if COMPOSITE in pooled.index else None
    appears = "appears" if significant >= 3 else "does not appear" if significant == 0 else "appears for some metrics"
    text = (
        f"**Does the pooled correlation appear?** It {appears}: pooled over the fully trained generators "
        f"({int(metrics['n'].max())} dataset-generator pairs), Spearman ρ of quality with ΔAUC ranges from "
        f"{signed(metrics['rho'].min(), 2)} to {signed(metrics['rho'].max(), 2)} over the five metrics, "
        f"{significant} of {len(metrics)} with BH q < 0.05 ({positive} of them positive: better quality, larger gain; "
        "BH over the metrics x groups of analysis 1)"
    )
    if composite is not None:
        text += (
            f"; composite ρ = {signed(composite['rho'], 2)} {interval(composite['ci_low'], composite['ci_high'], 2)} "
            f"(q = {p_value(composite['q_value'])})"
        )
    return text + ". The study reported |ρ| = 0.30-0.36, all adjusted p < 0.001."


def answer_ladder(ladder: Mapping[str, Any] | None) -> str:
    """Question 2, from the ladder's key numbers (:func:`radlib.analysis.ladder.summarize_ladder`)."""
    if ladder is None:
        return _missing("the fidelity ladder's summary", "06")
    # The nested sets S1, S2, ... of radlib.analysis.ladder.nested_sets, by their number.
    sets = sorted((m.group(1) for key in ladder if (m := re.fullmatch(r"(S\d+)_eta2", key))), key=lambda s: int(s[1:]))
    spread = ", ".join(
        f"{name}: η² = {ladder[f'{name}_eta2']:.2f}, pooled ρ = {signed(ladder[f'{name}_pooled_rho'], 2)}"
        for name in sets
    )
    widest = sets[-1]
    return (
        f"**Is it carried by differences between configurations?** As the spread of quality between "
        f"configurations grows ({spread}; η² is the share of the composite's variance explained by "
        f"configuration), the between-configuration slope in {widest} is "
        f"{signed(ladder[f'{widest}_between_slope'])} "
        f"{interval(ladder[f'{widest}_between_ci_low'], ladder[f'{widest}_between_ci_high'])} and the within slope "
        f"{signed(ladder[f'{widest}_within_slope'])} "
        f"{interval(ladder[f'{widest}_within_ci_low'], ladder[f'{widest}_within_ci_high'])}. "
        f"Pre-specified decision: {ladder['verdict_sentence']}"
    )


def answer_power(power: pd.DataFrame | None, reliability: pd.DataFrame | None) -> str:
    """Question 3, from the power and reliability tables of notebook 07 (composite, logistic regression).

    Quotes, per effect scale, the pooled power after BH with the size of the same test (its
    rejection rate at ρ = 0 under the same clustering of pairs by dataset), the
    within-generator power after BH and unadjusted, and the BH family the adjusted rates use
    (:func:`radlib.analysis.power.bh_family`).
    """
    if power is None or reliability is None:
        return _missing("the power or reliability table", "07")
    missing = sorted(set(POWER_COLUMNS) - set(power.columns))
    if missing:
        return _missing(f"the power table's {', '.join(missing)} (written by an older notebook 07)", "07")
    rows = power[(power["classifier"] == PRIMARY_CLASSIFIER) & (power["metric"] == COMPOSITE)].set_index("effect_on")
    rel = reliability[
        (reliability["classifier"] == PRIMARY_CLASSIFIER)
        & (reliability["group"] == POOLED)
        & (reliability["quantity"] == "delta_auc")
    ]
    parts = []
    for effect_on, label in (("pair means", "between the observed pair means"), ("true values", "between true values")):
        if effect_on in rows.index:
            row = rows.loc[effect_on]
            parts.append(
                f"for ρ = {row['rho']:.2f} {label}, {row['power_pooled']:.2f} (± {row['power_pooled_se']:.2f}) pooled "
                f"against a size of {row['size_pooled']:.2f} at ρ = 0 ({row['size_pooled_unadjusted']:.2f} unadjusted) "
                f"and {row['power_within']:.2f} within one generator ({row['power_within_unadjusted']:.2f} unadjusted)"
            )
    family = f" ({rows['bh_family'].iloc[0]})" if len(rows) else ""
    reliability_text = (
        f"the reliability of a pair's mean ΔAUC is {rel['reliability'].iloc[0]:.2f} "
        f"{interval(rel['ci_low'].iloc[0], rel['ci_high'].iloc[0], 2).replace('+', '')}"
        if len(rel)
        else "the reliability of ΔAUC is missing"
    )
    return (
        f"**Could the design have detected the study's effect?** Power of the study's analysis at this design's "
        f"n and noise{family}: {'; '.join(parts) or 'not computed'}; {reliability_text}. The size is the pooled "
        "test's rejection rate without an effect: above 0.05 where the pairs of one dataset share their values, "
        "which the test takes for independent."
    )


def answer_comparison(table: pd.DataFrame | None) -> str:
    """Question 4: points the reader at the side-by-side table."""
    if table is None:
        return _missing("the study's analyses (logreg_all tables)", "05")
    return (
        f"**How do our numbers compare with the study's?** {len(table)} published numbers side by side below "
        "(our CIs in brackets; where the study's number is ambiguous, the last column says how)."
    )


def answer_curve(table: pd.DataFrame | None, joint: pd.DataFrame | None) -> str:
    """Question 5, from notebook 08's tables: the pre-registered robustness verdict and the joint null.

    ``table`` is :func:`radlib.analysis.curve.curve_table` (one row per specification), ``joint``
    the one-row :func:`radlib.analysis.curve.joint_null` summary.
    """
    if table is None or joint is None or not len(table) or not len(joint):
        return _missing(
            "the specification curve (curve_table, curve_joint)", "08 on the specification records of `radlib run`"
        )
    verdict = curve.robustness(table)
    null = joint.iloc[0]
    carried = verdict["by_level"][verdict["by_level"]["appearances"] > 0]
    where = (
        "; where it appears: "
        + ", ".join(f"{r.factor} {r.level} ({r.appearances} of {r.specifications})" for r in carried.itertuples())
        if len(carried)
        else ""
    )
    below = table[table["q_value"] < ALPHA]
    significant = (
        ": "
        + ", ".join(
            f"{r.specification} ρ = {signed(r.rho, 2)} {interval(r.ci_low, r.ci_high, 2)}" for r in below.itertuples()
        )
        if len(below)
        else ""
    )
    return (
        f"**Is the answer robust to the choices the study left open?** The study's headline (pre-registered: the "
        f"composite's pooled ρ with q < 0.05 and |ρ| ≥ {curve.HEADLINE_MIN_RHO:.2f}, at least "
        f"{curve.HEADLINE_MIN_METRICS} of the 5 metrics' pooled ρ with q < 0.05 in its direction, no within-generator "
        f"ρ with q < 0.05) appears in {verdict['appearances']} of {verdict['specifications']} pre-registered "
        f"specifications ({verdict['share']:.0%}; robust when under {curve.ROBUST_SHARE:.0%}): "
        f"**{'robust' if verdict['robust'] else 'not robust'}**{where}. The composite's pooled ρ runs from "
        f"{signed(table['rho'].min(), 2)} to {signed(table['rho'].max(), 2)} over the curve, median "
        f"{signed(null['observed_median_rho'], 2)} (joint permutation test p = {p_value(null['p_median'])}); "
        f"{int(null['observed_count'])} specifications have a composite q < 0.05{significant} (joint permutation "
        f"test p = {p_value(null['p_count'])}; {int(null['n_permutations'])} permutations)."
    )


def curve_by_level_markdown(by_level: pd.DataFrame | None) -> str | None:
    """Question 5's table: per factor level of the curve, its specifications, the headline's appearances,
    the median composite pooled ρ and the specifications with a composite q < 0.05 (notebook 08's
    ``curve_by_level``); None without it.
    """
    if by_level is None or not len(by_level):
        return None
    shown = by_level.rename(
        columns={
            "appearances": "headline appears",
            "median_rho": "median composite ρ",
            "significant": "composite q < 0.05",
        }
    )
    return markdown_table(shown, floatfmt="+.2f")


def answer_predictors(decisions: pd.DataFrame | None, association: pd.DataFrame | None) -> str:
    """Question 6, from notebook 09's tables: which predictors inform the decision to augment, against the comparators.

    ``decisions`` holds one row per rule (:func:`radlib.analysis.gain_predictors.decision_value` of each
    predictor, then :func:`radlib.analysis.gain_predictors.comparators`); ``association`` the
    predictors' correlations with ΔAUC (:func:`radlib.analysis.gain_predictors.associate_predictors`).
    """
    if decisions is None or association is None:
        return _missing(
            "the predictors of the gain (predictors_decisions, predictors_association)",
            "09 on the specification records of `radlib run` and the internal-validation grid",
        )
    by_rule = decisions.set_index("rule")
    predictors = by_rule.loc[[p.name for p in gain_predictors.PREDICTORS if p.name in by_rule.index]]
    if not len(predictors):
        return _missing("the predictors' decision rules (predictors_decisions holds none)", "09")
    informing = predictors[predictors["informs"].astype(bool)]
    best = predictors["mean_delta_auc"].idxmax()
    labels = {p.name: p.label for p in gain_predictors.PREDICTORS}
    pooled = association[association["group"] == POOLED].dropna(subset=["rho"])
    strongest = pooled.loc[pooled["rho"].abs().idxmax()] if len(pooled) else None
    tracking = pooled[pooled["tracks"].astype(bool)]

    def rule(name: str) -> str:
        row = by_rule.loc[name]
        return f"{signed(row['mean_delta_auc'], 3)} {interval(row['ci_low'], row['ci_high'], 3)}"

    comparators = [
        name for name in ("oracle", "best source on average (leave one dataset out)") if name in by_rule.index
    ]
    return (
        f"**What should a practitioner use instead?** {len(informing)} of {len(predictors)} predictors computable "
        f"without the new hospital's labels inform the decision to augment (the mean external ΔAUC of the choices "
        f"they make has a CI above 0{': ' + ', '.join(labels[name] for name in informing.index) if len(informing) else ''}); "
        f"the best of them, {labels[best]}, gains {rule(best)}"
        + "".join(f"; {name}: {rule(name)}" for name in comparators)
        + (
            f". The predictor most correlated with the gain over datasets and arms is {strongest['label']} "
            f"(ρ {signed(strongest['rho'], 2)}, q {p_value(strongest['q_value'])})"
            if strongest is not None
            else ""
        )
        + f"; {len(tracking)} of {len(pooled)} track the gain (pooled ρ's CI above 0"
        + "".join(
            f"{'; ' if i else ': '}{r.label} {signed(r.rho, 2)} {interval(r.ci_low, r.ci_high, 2)}"
            for i, r in enumerate(tracking.itertuples())
        )
        + "). The study's claim that only external validation tells is "
        + (
            "**not supported**."
            if len(informing)
            else "**supported** (pre-registered: no predictor informs the decision)."
        )
    )


def predictors_markdown(decisions: pd.DataFrame | None, association: pd.DataFrame | None) -> str | None:
    """Question 6's table: per predictor (notebook 09's order) its pooled ρ with the external ΔAUC and
    95 % CI, BH q, ROC AUC for ΔAUC > 0, ρ disattenuated, whether it *tracks* the gain, and the mean
    external ΔAUC of the choices it makes with 95 % CI, datasets improved / harmed and whether it
    *informs* the decision; then the comparators' decision rows. None without both tables.
    """
    if decisions is None or association is None or not len(decisions):
        return None
    pooled = association[association["group"] == POOLED].set_index("predictor")
    rows = []
    for decision in decisions.itertuples():
        row = {"predictor or rule": decision.rule}
        if decision.rule in pooled.index:
            link = pooled.loc[decision.rule]
            row |= {
                "predictor or rule": link["label"],
                "pooled ρ [95 % CI]": f"{signed(link['rho'], 2)} {interval(link['ci_low'], link['ci_high'], 2)}",
                "q": p_value(link["q_value"]),
                "ROC AUC (ΔAUC > 0)": f"{link['roc_auc']:.2f}" if pd.notna(link["roc_auc"]) else "n/a",
                "ρ disattenuated": signed(link["rho_disattenuated"], 2),
                "tracks": "yes" if bool(link["tracks"]) else "no",
            }
        row |= {
            "choices' mean ΔAUC [95 % CI]": (
                f"{signed(decision.mean_delta_auc, 3)} {interval(decision.ci_low, decision.ci_high, 3)}"
            ),
            "improved / harmed": f"{decision.improved} / {decision.harmed}",
            "informs": "yes" if bool(decision.informs) else "no",
        }
        rows.append(row)
    return markdown_table(pd.DataFrame(rows).fillna("—"))


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


def _analyses(folder: Path) -> dict[str, dict[str, pd.DataFrame]]:
    results = {}
    for prefix in (sbs.PRIMARY, sbs.REPLICATION, sbs.SENSITIVITY):
        try:
            results[prefix] = read_tables(folder, prefix)
        except FileNotFoundError:
            continue
    return results


def write_answers(folder: str | os.PathLike) -> dict[str, Any]:
    """Answer the six questions from the tables in ``folder``; update ``summary.json`` and ``summary.md``.

    Parameters
    ----------
    folder : path
        A profile's results folder (``results/<profile>``) holding the tables of notebooks
        05-07 and ``records.parquet``.

    Returns
    -------
    dict
        ``answers`` (six Markdown sentences) and ``side_by_side`` (Markdown, or None).
    """
    folder = Path(folder)
    analyses = _analyses(folder)
    records_path = folder / PUBLISHED_RECORDS
    records = pd.read_parquet(records_path) if records_path.exists() else None
    table = sbs.side_by_side(analyses, records) if sbs.PRIMARY in analyses else None
    if table is not None:
        table.to_csv(folder / f"{SIDE_BY_SIDE}.csv")
        write_text_atomically(sbs.side_by_side_markdown(table), folder / f"{SIDE_BY_SIDE}.md")
    ladder_path = folder / f"{ladder_prefix(PRIMARY_CLASSIFIER)}_summary.json"
    primary = analyses.get(table_prefix(PRIMARY_CLASSIFIER, "all"), {})
    decisions = _read_csv(folder / f"{PREDICTORS_PREFIX}_decisions.csv")
    association = _read_csv(folder / f"{PREDICTORS_PREFIX}_association.csv")
    answers = {
        "answers": [
            answer_pooled(primary.get("correlations")),
            answer_ladder(json.loads(ladder_path.read_text()) if ladder_path.exists() else None),
            answer_power(
                _read_csv(folder / f"{DESIGN_PREFIX}_power.csv"), _read_csv(folder / f"{DESIGN_PREFIX}_reliability.csv")
            ),
            answer_comparison(table),
            answer_curve(
                _read_csv(folder / f"{CURVE_PREFIX}_table.csv"), _read_csv(folder / f"{CURVE_PREFIX}_joint.csv")
            ),
            answer_predictors(decisions, association),
        ],
        "side_by_side": sbs.side_by_side_markdown(table) if table is not None else None,
        "curve_by_level": curve_by_level_markdown(_read_csv(folder / f"{CURVE_PREFIX}_by_level.csv")),
        "predictors": predictors_markdown(decisions, association),
    }
    summary_path = folder / SUMMARY_JSON
    if summary_path.exists():
        document = json.loads(summary_path.read_text())
        document.update(answers)
        write_text_atomically(json.dumps(document, indent=2) + "\n", summary_path)
        write_text_atomically(render_summary(document), folder / SUMMARY_MD)
    return answers


def update_summary_and_answers(
    numbers: Mapping[str, Any],
    folder: str | os.PathLike,
    classifier: str,
    subset: str,
    manifest: Mapping,
    datasets=None,
) -> Path:
    """:func:`radlib.report.update_summary`, keeping the answers of the same configuration.

    Where the summary of this configuration already holds the answers (``make all`` adds them
    after notebooks 05-07), they are recomputed from the tables (:func:`write_answers`), so
    rerunning notebook 05 alone keeps them; another configuration's answers are dropped.

    Returns
    -------
    Path
        ``summary.md``.
    """
    summary_json = Path(folder) / SUMMARY_JSON
    previous = json.loads(summary_json.read_text()) if summary_json.exists() else {}
    path = update_summary(numbers, folder, classifier, subset, manifest, datasets)
    if previous.get("answers") and previous.get("run", {}).get("config_hash") == manifest.get("config_hash"):
        write_answers(folder)
    return path
