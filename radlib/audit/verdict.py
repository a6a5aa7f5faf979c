"""The plain-language verdict of an audit, with its numbers: one table, or a collection of tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib import analysis
from radlib.audit.summaries import interval_decision
from radlib.config import Config
from radlib.data import Dataset
from radlib.formatting import interval, number, signed
from radlib.grid import GridResult
from radlib.records import CLASSIFIER_LABELS, CLASSIFIERS, COMPOSITE

__all__ = ["render_verdict", "render_collection_verdict", "render_run"]


def render_verdict(
    arms: pd.DataFrame, ranks: pd.DataFrame, dataset: Dataset, config: Config, alpha: float = 0.05
) -> str:
    """The plain-language verdict of a one-table audit, with its numbers.

    Per classifier: the real-only external AUC; each arm's mean ΔAUC with its 95%
    t-interval and the call (improved / worsened / no clear change: whether the interval
    excludes 0); which generators improved the external AUC; and whether the quality
    metrics ranked the generators like their ΔAUC (the composite's best generator vs the
    best-ΔAUC generator, Spearman ρ over the generators, and how many of the single
    metrics pick the best-ΔAUC generator).
    """
    level = int(round(100 * (1 - alpha)))
    reps = config["repetitions"]
    gens = list(config["synthesis"]["generators"])
    lines = [
        f"Verdict for {dataset.name} ({dataset.n} patients, {dataset.p} features; profile {config.profile}, "
        f"{reps} repetition{'s' if reps != 1 else ''}, generators {', '.join(gens) or 'none'}"
        f"{' + SMOTE' if config['synthesis']['smote'] else ''}; configuration {config.hash})"
    ]
    lines.append(
        "ΔAUC = external AUC with synthetic training rows added − external AUC of real-only training, "
        f"mean over the valid external evaluations [{level}% t-interval over the repetitions' means, "
        "whose site-folds share one split]."
    )
    for classifier in [c for c in CLASSIFIERS if c in config["classifiers"]]:
        table = arms[(arms["classifier"] == classifier) & (arms["dataset"] == dataset.name)]
        name = CLASSIFIER_LABELS[classifier].capitalize()
        if not len(table):
            lines.append(
                f"\n{name}: no valid repetition (every external site held a single class, so its AUC is "
                "undefined, or the tasks failed): no ΔAUC to report."
            )
            continue
        lines.append(f"\n{name}: real-only external AUC {number(table['auc_real'].mean())}.")
        width = max(len(a) for a in table["arm"])
        for row in table.sort_values("delta_auc", ascending=False).itertuples():
            failed = f", {row.n_failed} failed" if row.n_failed else ""
            lines.append(
                f"  {row.arm:<{width}}  ΔAUC {signed(row.delta_auc)} "
                f"{interval(row.delta_auc_ci_low, row.delta_auc_ci_high)}  {row.decision} "
                f"({row.n_improved} of {row.n_repetitions} repetitions up{failed})"
            )
        improved = table[table["decision"] == "improved"]
        generator_rows = analysis.generator_pairs(table)
        if (table["delta_auc"] == 0).all():
            lines.append(
                "  No arm differs from real-only training: every ΔAUC is exactly 0 (the added rows did not "
                "change how the classifier orders the external patients; with one feature a logistic "
                "regression orders them by that feature alone)."
            )
        elif len(generator_rows):
            up = improved[improved["arm"].isin(generator_rows["arm"])]
            if len(up):
                lines.append(
                    "  Improved the external AUC: "
                    + ", ".join(
                        f"{r.arm} by {signed(r.delta_auc)} {interval(r.delta_auc_ci_low, r.delta_auc_ci_high)}"
                        for r in up.itertuples()
                    )
                    + "."
                )
            else:
                best = generator_rows.loc[generator_rows["delta_auc"].idxmax()]
                largest = (
                    f"largest mean gain: {best['arm']}, {signed(best['delta_auc'])}"
                    if best["delta_auc"] > 0
                    else f"no generator has a mean gain; the largest mean ΔAUC: {best['arm']}, {signed(best['delta_auc'])}"
                )
                lines.append(f"  No generator improved the external AUC with {level}% confidence ({largest}).")
        lines.extend(_ranking_lines(ranks, classifier, dataset.name))
    failed_arms = arms.groupby("arm")["n_failed"].max()
    if (failed_arms > 0).any():
        lines.append(
            "\nFailed arms (see the 'error' column of the records): "
            + ", ".join(f"{arm} ({n} repetitions)" for arm, n in failed_arms[failed_arms > 0].items())
        )
    if reps < 5:
        lines.append(
            f"\nWith {reps} repetitions the intervals are wide; use more (--set repetitions=10) "
            "before drawing conclusions."
        )
    return "\n".join(lines) + "\n"


def _ranking_lines(ranks: pd.DataFrame, classifier: str, dataset: str) -> list[str]:
    own = ranks[(ranks["classifier"] == classifier) & (ranks["dataset"] == dataset)].set_index("metric")
    if not len(own) or COMPOSITE not in own.index or own.loc[COMPOSITE, "n_generators"] < 2:
        return ["  Quality ranking: needs 2 or more generators with valid repetitions."]
    comp = own.loc[COMPOSITE]
    n = int(comp["n_generators"])
    rho = comp["rho"]
    if np.isfinite(rho):
        same = "the same order" if rho == 1 else "the reverse order" if rho == -1 else "a partly different order"
        corr = f"Spearman ρ(composite quality, ΔAUC) over the {n} generators = {signed(rho, 2)}: {same}"
    else:
        corr = f"ρ not computed ({n} generators, or ties)"
    picks = "the best-ΔAUC generator" if comp["same_best"] else f"not the best-ΔAUC generator ({comp['best_by_delta']})"
    singles = own.drop(index=COMPOSITE)
    n_right = int(singles["same_best"].sum())
    lines = [
        f"  Did quality predict the gain? Best composite quality: {comp['best_by_quality']}, {picks}; {corr}.",
        f"    quality order: {comp['quality_order']};  ΔAUC order: {comp['delta_order']}.",
        f"    {n_right} of {len(singles)} single metrics ranked the best-ΔAUC generator first "
        f"({', '.join(singles.index[singles['same_best']]) or 'none'}).",
    ]
    return lines


def render_collection_verdict(
    numbers: Mapping[str, Mapping[str, Any]],
    results: Mapping[str, Mapping[str, pd.DataFrame]],
    arms: pd.DataFrame,
    datasets: Sequence[Dataset],
    config: Config,
    alpha: float = 0.05,
) -> str:
    """The plain-language verdict of a several-table audit (the study on the user's collection)."""
    level = int(round(100 * (1 - alpha)))
    lines = [
        f"Verdict for {len(datasets)} tables ({', '.join(d.name for d in datasets)}); profile {config.profile}, "
        f"{config['repetitions']} repetitions, generators {', '.join(config['synthesis']['generators']) or 'none'}; "
        f"configuration {config.hash}"
    ]
    for label, n in numbers.items():
        res = results[label]
        lines.append(
            f"\n{label}: {n['n_pairs']} table-generator pairs; undefined external AUC in "
            f"{n['evaluations_undefined']} of {n['evaluations_total']} external evaluations (table x repetition x fold)."
        )
        for row in res["meta_generators"].itertuples():
            lines.append(
                f"  {row.generator}: pooled ΔAUC {signed(row.estimate)} {interval(row.ci_low, row.ci_high)} "
                f"(random-effects over {row.k} tables) - {interval_decision(row.ci_low, row.ci_high)}"
            )
        within = (
            f"within generators {signed(n['within_rho_min'], 2)} to {signed(n['within_rho_max'], 2)} "
            f"({n['n_within_significant']} of {n['n_within_tests']} with q < {alpha})"
            if n["n_within_tests"]
            else "within generators: too few tables (3 or more per generator)"
        )
        lines.append(
            f"  Quality vs ΔAUC, Spearman ρ over the five metrics: pooled over generators "
            f"{signed(n['pooled_rho_min'], 2)} to {signed(n['pooled_rho_max'], 2)} "
            f"({n['n_pooled_significant']} of 5 with q < {alpha}); {within}."
        )
        lines.append(
            f"  Choosing per table the generator of best composite quality: mean ΔAUC "
            f"{signed(n['selection_mean_delta'])} {interval(n['selection_ci_low'], n['selection_ci_high'])} "
            f"({level}% t-interval over tables); it picked the best-ΔAUC generator in "
            f"{n['n_selected_equals_oracle']} of {n['selection_n_datasets']} tables "
            f"(oracle mean {signed(n['oracle_mean_delta'])}, SMOTE {signed(n['smote_mean_delta'])})."
        )
    if not numbers:
        lines.append("\nNo generator arm with valid repetitions: the analyses of quality vs ΔAUC need generators.")
    improved = arms[(arms["decision"] == "improved") & (arms["classifier"] == "logreg")]
    lines.append(
        "\nPer table (logistic regression), arms whose ΔAUC interval lies above 0: "
        + ("; ".join(f"{r.dataset}: {r.arm} {signed(r.delta_auc)}" for r in improved.itertuples()) or "none")
        + "."
    )
    return "\n".join(lines) + "\n"


def render_run(grid: GridResult, datasets: Sequence[Dataset], problems: Sequence[str] = ()) -> str:
    """Which run a verdict describes, and what of it did not finish.

    Lists the failed tasks (with the first line of their error), the tables without any
    finished task (left out of every analysis), the outputs that could not be made, and
    the run: its finishing time and configuration, the last entry of ``manifest.json``'s
    ``runs``, so a reader can tell that the verdict and the records belong together.
    """
    manifest = grid.manifest
    lines = []
    failed = manifest.get("tasks_failed", {})
    if failed:
        lines.append("\nTasks that did not finish (left out of everything above; manifest.json, tasks_failed):")
        lines += [f"  {task}: {(error.splitlines() or [''])[0]}" for task, error in failed.items()]
    finished = set(grid.records["dataset"]) if len(grid.records) else set()
    unfinished = [d.name for d in datasets if d.name not in finished]
    if unfinished:
        lines.append(f"\nTables without a finished task, left out of every analysis: {', '.join(unfinished)}.")
    if problems:
        lines.append("\nOutputs that could not be made (everything else was written):")
        lines += [f"  {problem}" for problem in problems]
    run = manifest["runs"][-1] if manifest.get("runs") else {}
    lines.append(
        f"\nThis verdict describes the run finished {run.get('finished', 'at an unknown time')} (configuration "
        f"{manifest['config_hash']}, the last entry of manifest.json's runs): {grid.summary()}."
    )
    return "\n".join(lines) + "\n"
