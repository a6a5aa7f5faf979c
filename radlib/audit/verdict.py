"""The plain-language verdict of an audit, with its numbers: one table, or a collection of tables."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radlib import analysis
from radlib.audit.inputs import describe_dataset
from radlib.audit.summaries import best_arm_by_repetition, interval_decision
from radlib.config import Config, load_config
from radlib.data import Dataset
from radlib.formatting import interval, number, signed
from radlib.grid import GridResult
from radlib.records import CLASSIFIER_LABELS, COMPOSITE

__all__ = [
    "RECOMMENDED_PROFILE",
    "RECOMMENDED_PROFILE_TIME",
    "profile_lines",
    "render_verdict",
    "render_collection_verdict",
    "render_run",
    "verdict_html",
]


#: The profile whose numbers are results, recommended at the top of every other profile's verdict.
RECOMMENDED_PROFILE = "full"
#: Its time, measured: ``radlib audit --profile full`` (10 repetitions x 5 site-folds, the three
#: generators at three snapshots, SMOTE, both classifiers) on scikit-learn's breast-cancer table,
#: 569 patients x 30 features, 2 workers on a 2-core machine shared with other jobs: 10 min 13 s
#: (2026-12-02; 10 tasks, about 1 min each).
RECOMMENDED_PROFILE_TIME = "about 10 minutes for a table of 569 patients and 30 features on 2 cores"


def _training_steps(config: Config, generators: Sequence[str]) -> str:
    """The training steps of ``generators`` in ``config``: ``"30 to 150"``, or ``""`` without a step budget."""
    params = config["synthesis"]["params"]
    steps = sorted({params[g]["steps"] for g in generators if "steps" in params.get(g, {})})
    if not steps:
        return ""
    return f"{steps[0]}" if len(steps) == 1 else f"{steps[0]} to {steps[-1]}"


def profile_lines(config: Config) -> list[str]:
    """What the profile's numbers are, in a sentence or two, and which profile gives results.

    ``smoke``: a check that the audit runs, not a result (its generators barely trained);
    ``quick``: indicative; ``full``: the study's protocol; a user's YAML: their own settings.
    Every profile but ``full`` recommends it with its measured time (:data:`RECOMMENDED_PROFILE_TIME`).
    """
    reps = config["repetitions"]
    recommend = (
        f"For results, run the {RECOMMENDED_PROFILE} profile (the default, --profile {RECOMMENDED_PROFILE}: "
        f"10 repetitions, fully trained generators); it took {RECOMMENDED_PROFILE_TIME}, longer for larger tables."
    )
    if config.profile == "smoke":
        generators = config["synthesis"]["generators"]
        steps = _training_steps(config, generators)
        full_steps = _training_steps(load_config(RECOMMENDED_PROFILE), generators)
        trained = (
            f"its generators are barely trained ({steps} training steps instead of {full_steps}) and " if steps else ""
        )
        return [
            f"Profile smoke: a quick check that the audit runs on your table, not a result: {trained}it has "
            f"{reps} repetition{'s' if reps != 1 else ''}, so these numbers say nothing yet about synthetic data for "
            f"your patients. {recommend}"
        ]
    if config.profile == "quick":
        return [
            f"Profile quick: {reps} repetitions, so the numbers are indicative and their intervals wide. {recommend}"
        ]
    if config.profile == RECOMMENDED_PROFILE:
        return [f"Profile {RECOMMENDED_PROFILE}: the study's protocol on your table ({reps} repetitions)."]
    return [f"Profile {config.profile}: your own settings ({reps} repetitions). {recommend}"]


def _in_short(table: pd.DataFrame, ranks: pd.DataFrame, classifier: str, dataset: str, best: pd.Series) -> str:
    """The verdict for one classifier in plain words: the baseline, what helped or hurt, quality, stability."""
    label = CLASSIFIER_LABELS[classifier]
    sentences = [
        f"In short ({label}): trained on your patients alone, the model's AUC at a simulated new hospital is "
        f"{number(table['auc_real'].mean())} (1: it ranks every patient with the outcome above every patient "
        "without; 0.5: chance)."
    ]
    up = table[table["decision"] == "improved"].sort_values("delta_auc", ascending=False)
    down = table[table["decision"] == "worsened"].sort_values("delta_auc")
    if len(up):
        sentences.append(
            "Adding synthetic patients clearly helped with "
            + ", ".join(f"{r.arm} ({signed(r.delta_auc)})" for r in up.itertuples())
            + "."
        )
    else:
        top = table.loc[table["delta_auc"].idxmax()]
        sentences.append(
            f"No way of adding synthetic patients clearly helped: the largest mean gain, {signed(top['delta_auc'])} "
            f"({top['arm']}), is within the noise."
            if top["delta_auc"] > 0
            else "No way of adding synthetic patients helped, not even on average."
        )
    if len(down):
        sentences.append(
            "It clearly hurt with " + ", ".join(f"{r.arm} ({signed(r.delta_auc)})" for r in down.itertuples()) + "."
        )
    own = ranks[(ranks["classifier"] == classifier) & (ranks["dataset"] == dataset)].set_index("metric")
    if len(own) and COMPOSITE in own.index and own.loc[COMPOSITE, "n_generators"] >= 2:
        comp = own.loc[COMPOSITE]
        looked = f"The generator whose synthetic data looked most like your data ({comp['best_by_quality']})"
        if comp["same_best"]:
            sentences.append(f"{looked} was also the generator that did best.")
        else:
            sentences.append(
                f"{looked} was not the generator that did best ({comp['best_by_delta']}): choosing a generator by "
                "these quality scores would have picked the wrong one."
            )
        if comp["rho"] == -1:
            sentences.append("The quality scores ranked the generators in the reverse order of their benefit.")
    if len(best):
        top_arm = table.loc[table["delta_auc"].idxmax(), "arm"]
        counts = best.value_counts()
        others = ", ".join(f"{arm} {n}" for arm, n in counts.items() if arm != top_arm)
        sentences.append(
            f"How stable: {top_arm}, best on average, was the best arm in {int(counts.get(top_arm, 0))} of "
            f"{len(best)} repetitions" + (f" (the others: {others})" if others else "") + "."
        )
    return " ".join(sentences)


def _no_change_reason(records: pd.DataFrame | None, dataset: Dataset) -> str:
    """Why every ΔAUC is exactly 0: no synthetic row was added, or one feature orders the patients alone."""
    if records is not None and "n_synthetic" in records:
        synthetic = records[(records["dataset"] == dataset.name) & (records["arm"] != "real")]
        if len(synthetic) and (synthetic["n_synthetic"] == 0).all():
            return "no synthetic row was added (every synthetic arm made 0 rows), so every arm trained on the real rows alone"
    if dataset.p == 1:
        return "with one feature a logistic regression orders them by that feature alone"
    return "the added rows did not change the order in which the classifier ranks the external patients"


def render_verdict(
    arms: pd.DataFrame,
    ranks: pd.DataFrame,
    dataset: Dataset,
    config: Config,
    alpha: float = 0.05,
    records: pd.DataFrame | None = None,
) -> str:
    """The verdict of a one-table audit: plain words first, the numbers beneath.

    At the top: the table, what the profile's numbers are and which profile gives results
    (:func:`profile_lines`), and what cleaning did (:func:`radlib.audit.describe_dataset`).
    Then, per classifier, the verdict in plain words: the real-only AUC at the simulated new
    hospital, which arms clearly helped or hurt, whether the best-looking generator helped
    most, and how often the best arm was best over the repetitions (from ``records``, see
    :func:`radlib.audit.best_arm_by_repetition`). Then the details: each arm's mean ΔAUC
    with its 95% t-interval and the call (improved / worsened / no clear change: whether the
    interval excludes 0), and whether the quality metrics ranked the generators like their
    ΔAUC (the composite's best generator vs the best-ΔAUC generator, Spearman ρ over the
    generators, and how many of the single metrics pick the best-ΔAUC generator). Only the
    study's arms are shown; the snapshot arms are in ``tables/audit_quantities``.
    """
    level = int(round(100 * (1 - alpha)))
    reps = config["repetitions"]
    gens = list(config["synthesis"]["generators"])
    lines = [
        f"Verdict for {dataset.name}: {dataset.n} patients, {dataset.p} features; generators {', '.join(gens) or 'none'}"
        f"{' + SMOTE' if config['synthesis']['smote'] else ''}, {reps} repetition{'s' if reps != 1 else ''} "
        f"(profile {config.profile}).",
        *profile_lines(config),
        "",
        describe_dataset(dataset),
    ]
    details = [
        "\nDetails. ΔAUC = external AUC with synthetic training rows added − external AUC of real-only training, "
        f"mean over the valid external evaluations [{level}% t-interval over the repetitions' means, whose "
        "site-folds share one split]."
    ]
    for classifier in config.evaluated_classifiers():
        table = arms[(arms["classifier"] == classifier) & (arms["dataset"] == dataset.name)]
        name = CLASSIFIER_LABELS[classifier].capitalize()
        if not len(table):
            lines.append(
                f"\n{name}: no valid repetition (every external site held a single class, so its AUC is "
                "undefined, or the tasks failed): no ΔAUC to report."
            )
            continue
        best = (
            best_arm_by_repetition(records, classifier, dataset.name)
            if records is not None
            else pd.Series(dtype=object)
        )
        lines.append("\n" + _in_short(table, ranks, classifier, dataset.name, best))
        details.extend(_arm_lines(table, ranks, classifier, dataset, records, level))
    failed_arms = arms.groupby("arm")["n_failed"].max()
    if (failed_arms > 0).any():
        details.append(
            "\nFailed arms (see the 'error' column of the records): "
            + ", ".join(f"{arm} ({n} repetitions)" for arm, n in failed_arms[failed_arms > 0].items())
        )
    if reps < 5:
        details.append(
            f"\nWith {reps} repetitions the intervals are wide; use more (--set repetitions=10) "
            "before drawing conclusions."
        )
    return "\n".join(lines + details) + "\n"


def _arm_lines(
    table: pd.DataFrame,
    ranks: pd.DataFrame,
    classifier: str,
    dataset: Dataset,
    records: pd.DataFrame | None,
    level: int,
) -> list[str]:
    """One classifier's details: each arm's ΔAUC, interval and call, what improved, the quality ranking."""
    name = CLASSIFIER_LABELS[classifier].capitalize()
    lines = [f"\n{name}: real-only external AUC {number(table['auc_real'].mean())}."]
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
            "  No arm differs from real-only training: every ΔAUC is exactly 0 ("
            + _no_change_reason(records, dataset)
            + ")."
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
    return lines


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
    """The plain-language verdict of a several-table audit (the study on the user's collection).

    At the top, as for one table: what the profile's numbers are (:func:`profile_lines`) and
    what cleaning did to each table.
    """
    level = int(round(100 * (1 - alpha)))
    lines = [
        f"Verdict for {len(datasets)} tables ({', '.join(d.name for d in datasets)}); profile {config.profile}, "
        f"{config['repetitions']} repetitions, generators {', '.join(config['synthesis']['generators']) or 'none'}.",
        *profile_lines(config),
        "",
        "\n\n".join(describe_dataset(d) for d in datasets),
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
    the run that computed the records: the last entry of ``manifest.json``'s ``runs`` (its
    finishing time) and the configuration, so a reader can tell that the verdict and the
    records belong together. An audit that computed nothing (every task reused) says so: the
    records, and so the verdict, are then those of the earlier run named.
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
    finished = run.get("finished", "at an unknown time")
    computed = manifest["tasks_ok"] - manifest["tasks_reused"]
    if computed or not manifest["tasks_reused"]:
        lines.append(
            f"\nThis verdict describes the run finished {finished} (configuration {manifest['config_hash']}, the "
            f"last entry of manifest.json's runs): {grid.summary()}."
        )
    else:
        lines.append(
            f"\nThis audit computed nothing new: it reused all {manifest['tasks_reused']} finished tasks, whose records "
            f"were computed by the run finished {finished} (configuration {manifest['config_hash']}, the last entry of "
            "manifest.json's runs); this verdict describes those records."
        )
    return "\n".join(lines) + "\n"


def verdict_html(verdict: str, figures: Sequence[Path], title: str) -> str:
    """A self-contained HTML page of a verdict: its text, and each PNG figure embedded (no file, no network).

    Parameters
    ----------
    verdict : str
        The verdict's text (``verdict.md``), shown as it is.
    figures : sequence of Path
        PNG files, embedded as base64 ``data:`` URIs in the order given, each under its file name.
    title : str
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "pre{white-space:pre-wrap;font-size:0.95em}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<pre>{html.escape(verdict)}</pre>",
    ]
    for figure in figures:
        data = base64.b64encode(Path(figure).read_bytes()).decode()
        name = html.escape(Path(figure).name)
        parts.append(f'<h2>{name}</h2>\n<img alt="{name}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
