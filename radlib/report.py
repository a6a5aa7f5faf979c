"""Tables and the generated summary of the analyses: what readers see without running anything.

Notebook 05 runs once per analysis (logistic regression on all datasets, random forest on
all datasets, logistic regression on the sensitivity subset). Each run

1. writes every table of :func:`radlib.analysis.run_analyses` as CSV and Markdown
   (:func:`write_tables`, files ``<prefix>_<table>.csv`` / ``.md``, prefix from
   :func:`table_prefix`, e.g. ``logreg_all``);
2. stores its key numbers (:func:`radlib.analysis.summarize`) in
   ``summary_<prefix>.json`` and rewrites ``summary.md`` / ``summary.json`` from every
   ``summary_*.json`` of the same configuration hash found in the folder
   (:func:`update_summary`), so the last run's summary covers all analyses.

Every number of ``summary.md`` is formatted from ``summary.json`` by :func:`render_summary`,
never typed. :func:`check_summary_agrees` re-derives the numbers from the CSV tables
(``radlib.analysis.summarize`` on the tables read back) and re-renders the Markdown, and
lists every disagreement; the test suite runs it on the committed results.

The sensitivity subset (datasets whose real-only classifier beats chance) comes from
:func:`radlib.chance.chance_table` and :func:`radlib.chance.sensitivity_subset`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from radlib import analysis
from radlib.files import write_text_atomically
from radlib.formatting import CSV_FLOAT_FORMAT, interval, p_value, published_float, signed, value_range
from radlib.markdown import markdown_table
from radlib.outputs import ANALYSIS_TABLES, SUMMARY_JSON, SUMMARY_MD
from radlib.records import CLASSIFIERS

__all__ = [
    "embed_summary",
    "embedded_summary",
    "TABLES",
    "SUBSETS",
    "table_prefix",
    "analysis_label",
    "write_tables",
    "read_tables",
    "write_numbers",
    "save_label_summary",
    "collect_summaries",
    "render_summary",
    "write_summary",
    "update_summary",
    "check_summary_agrees",
]

#: The tables of :func:`radlib.analysis.run_analyses`, in the order they are written.
TABLES = ANALYSIS_TABLES
#: Values of notebook 05's ``subset`` parameter.
SUBSETS = ("all", "sensitivity")

_LABEL_GLOB = "summary_*.json"
# Relative tolerance of the agreement check: CSV round trips of doubles are exact or nearly so.
_RTOL, _ATOL = 1e-9, 1e-12


# --- names -------------------------------------------------------------------------------


def _check_subset(subset: str) -> None:
    if subset not in SUBSETS:
        raise ValueError(f"unknown subset '{subset}'; use one of {SUBSETS}")


def table_prefix(classifier: str, subset: str = "all") -> str:
    """File prefix of one analysis: ``"<classifier>_<subset>"``, e.g. ``"logreg_all"``."""
    _check_subset(subset)
    return f"{classifier}_{subset}"


def analysis_label(classifier: str, subset: str = "all") -> str:
    """Human label of one analysis: ``"logreg"``, ``"rf"``, ``"logreg, sensitivity subset"``."""
    _check_subset(subset)
    return classifier if subset == "all" else f"{classifier}, {subset} subset"


def _sort_key(entry: Mapping) -> tuple:
    classifier, subset = entry.get("classifier", ""), entry.get("subset", "")
    rank_c = CLASSIFIERS.index(classifier) if classifier in CLASSIFIERS else 99
    rank_s = SUBSETS.index(subset) if subset in SUBSETS else 99
    return (rank_s, rank_c, entry.get("label", ""))


# --- tables ------------------------------------------------------------------------------


def write_tables(
    results: Mapping[str, pd.DataFrame], folder: str | os.PathLike, prefix: str, floatfmt: str = ".4g"
) -> list[Path]:
    """Write every table of ``results`` as ``<folder>/<prefix>_<name>.csv`` and ``.md``.

    The CSV holds every float to :data:`radlib.formatting.PUBLISHED_DIGITS` significant digits
    (the source of truth that :func:`check_summary_agrees` reads; the same bytes on any
    machine); the Markdown is for reading (:func:`radlib.markdown.markdown_table`, numbers to
    ``floatfmt``).

    Returns
    -------
    list of Path
        The files written, CSV then Markdown per table.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in results.items():
        csv_path, md_path = folder / f"{prefix}_{name}.csv", folder / f"{prefix}_{name}.md"
        table.to_csv(csv_path, index=False, float_format=CSV_FLOAT_FORMAT)
        md_path.write_text(markdown_table(table, floatfmt=floatfmt) + "\n")
        paths += [csv_path, md_path]
    return paths


def write_numbers(numbers: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write key numbers (a flat mapping) as JSON, floats to the published digits, NaN as null (atomically).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(json.dumps({key: _plain(value) for key, value in numbers.items()}, indent=2) + "\n", path)
    return path


def read_tables(folder: str | os.PathLike, prefix: str, names=TABLES) -> dict[str, pd.DataFrame]:
    """Read back the CSV tables written by :func:`write_tables` (missing files raise)."""
    tables = {}
    for name in names:
        path = Path(folder) / f"{prefix}_{name}.csv"
        try:
            tables[name] = pd.read_csv(path, keep_default_na=True)
        except pd.errors.EmptyDataError:
            tables[name] = pd.DataFrame()
    return tables


# --- the summary -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-safe value: NaN / inf -> None, numpy scalars -> Python, floats to the published digits."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return published_float(value) if math.isfinite(value) else None
    return value


def _manifest_fields(manifest: Mapping) -> dict:
    config = manifest.get("config", {})
    return {
        "profile": manifest.get("profile"),
        "config_hash": manifest.get("config_hash"),
        "repetitions": config.get("repetitions"),
        "generators": list(config.get("synthesis", {}).get("generators", [])),
        "datasets_requested": manifest.get("datasets_requested"),
        "datasets_skipped": len(manifest.get("datasets_skipped") or {}),
        "tasks_total": manifest.get("tasks_total"),
        "tasks_ok": manifest.get("tasks_ok"),
        "undefined_external_folds": manifest.get("undefined_external_folds"),
        "external_folds": manifest.get("external_folds"),
    }


def save_label_summary(
    numbers: Mapping[str, Any],
    folder: str | os.PathLike,
    classifier: str,
    subset: str,
    manifest: Mapping,
    datasets=None,
) -> Path:
    """Store one analysis's key numbers as ``<folder>/summary_<prefix>.json``.

    Parameters
    ----------
    numbers : mapping
        :func:`radlib.analysis.summarize` of the analysis.
    classifier, subset : str
        Which analysis (``subset`` one of :data:`SUBSETS`).
    manifest : mapping
        The run manifest (``data/processed/<profile>/manifest.json``); its configuration
        hash ties the numbers to the records they came from.
    datasets : sequence of str, optional
        The datasets of the subset (stored for the record).
    """
    entry = {
        "label": analysis_label(classifier, subset),
        "prefix": table_prefix(classifier, subset),
        "classifier": classifier,
        "subset": subset,
        "config_hash": manifest.get("config_hash"),
        "datasets": None if datasets is None else sorted(datasets),
        "numbers": {key: _plain(value) for key, value in numbers.items()},
    }
    path = Path(folder) / f"summary_{entry['prefix']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry, indent=2) + "\n")
    return path


def collect_summaries(folder: str | os.PathLike, config_hash: str | None = None) -> list[dict]:
    """The per-analysis summaries (``summary_*.json``) of ``folder``, in report order.

    Summaries of another configuration hash than ``config_hash`` (when given) are left
    out with a warning: they describe other records.
    """
    entries = []
    for path in sorted(Path(folder).glob(_LABEL_GLOB)):
        entry = json.loads(path.read_text())
        if config_hash is not None and entry.get("config_hash") != config_hash:
            warnings.warn(
                f"{path.name} is for configuration {entry.get('config_hash')}, not {config_hash}; "
                "left out of the summary",
                stacklevel=2,
            )
            continue
        entries.append(entry)
    return sorted(entries, key=_sort_key)


def _rows_for(n: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(row label, formatted value) of the key numbers of one analysis."""

    def get(key):
        return n.get(key)

    generators = sorted(
        key[len("meta_") : -len("_estimate")] for key in n if key.startswith("meta_") and key.endswith("_estimate")
    )
    rows = [
        (
            "dataset-generator pairs (datasets × generators)",
            f"{get('n_pairs')} ({get('n_datasets')} × {get('n_generators')})",
        ),
        (
            "undefined external AUC (external evaluations: dataset × repetition × fold)",
            f"{get('evaluations_undefined')} of {get('evaluations_total')}",
        ),
        (
            "records used / total (undefined, failed, missing AUC)",
            f"{get('records_valid')} / {get('records_total')} ({get('records_undefined')}, "
            f"{get('records_failed')}, {get('records_missing_auc')})",
        ),
        ("pooled ρ, five metrics (range)", value_range(get("pooled_rho_min"), get("pooled_rho_max"))),
        (
            "pooled q (range, BH over analysis 1's metrics × groups); FDR-significant",
            f"{value_range(get('pooled_q_min'), get('pooled_q_max'), 3, sign=False)}; "
            f"{get('n_pooled_significant')} of {len(analysis.METRICS)}",
        ),
        ("within-generator ρ, five metrics (range)", value_range(get("within_rho_min"), get("within_rho_max"))),
        (
            "within-generator smallest q; FDR-significant",
            f"{p_value(get('within_q_min'))}; {get('n_within_significant')} of {get('n_within_tests')}",
        ),
        (
            "composite score: pooled ρ (q)",
            f"{signed(get('composite_pooled_rho'), 2)} ({p_value(get('composite_pooled_q'))})",
        ),
        (
            "pooled ROC AUC for ΔAUC > 0, five metrics (range)",
            value_range(get("pooled_roc_auc_min"), get("pooled_roc_auc_max"), 2, sign=False),
        ),
        (
            f"within-between: slopes with p < 0.05, between / within (of {len(analysis.METRICS)})",
            f"{get('n_between_significant')} / {get('n_within_slope_significant')}",
        ),
    ]
    for g in generators:
        i2 = get(f"meta_{g}_i2")
        i2_text = "n/a" if i2 is None else f"{100 * i2:.0f}%"
        rows.append((f"meta-analysis {g}: pooled ΔAUC (I²)", f"{signed(get(f'meta_{g}_estimate'))} ({i2_text})"))
    rows += [
        ("subgroup difference between generators, p", p_value(get("meta_q_between_p"))),
        (
            "quality-guided selection: mean ΔAUC [95% CI]",
            f"{signed(get('selection_mean_delta'))} {interval(get('selection_ci_low'), get('selection_ci_high'))}",
        ),
        (
            "datasets improved: selection / oracle",
            f"{get('selection_n_improved')} / {get('oracle_n_improved')} of {get('selection_n_datasets')}",
        ),
        (
            "selection picks the oracle's generator",
            f"{get('n_selected_equals_oracle')} of {get('selection_n_datasets')}",
        ),
        (
            "mean ΔAUC: oracle / random pick / SMOTE",
            f"{signed(get('oracle_mean_delta'))} / {signed(get('random_mean_delta'))} / "
            f"{signed(get('smote_mean_delta'))}",
        ),
        ("selection − oracle, mean ΔAUC", signed(get("selected_minus_oracle_mean"))),
    ]
    return rows


def render_summary(document: Mapping[str, Any]) -> str:
    """The Markdown of ``summary.md`` from the content of ``summary.json`` (pure formatting)."""
    run = document["run"]
    analyses = document["analyses"]
    lines = [
        "# Key numbers",
        "",
        "<!-- generated by radlib.report from summary.json; do not edit by hand -->",
        "",
        f"Profile **{run['profile']}**, configuration `{run['config_hash']}`: {run['datasets_requested']} datasets "
        f"requested ({run['datasets_skipped']} unavailable), {run['repetitions']} repetitions, generators "
        f"{', '.join(run['generators'])}; {run['tasks_ok']} of {run['tasks_total']} tasks ran.",
        "",
        "ρ is Spearman's correlation of a quality score (oriented so that higher = closer to the real data) "
        "with ΔAUC = AUC(real + synthetic) − AUC(real only) at the simulated external site; a positive ρ "
        "means better quality goes with a larger gain. q-values are Benjamini-Hochberg over all metrics × "
        "groups (pooled and each generator) of one analysis, the composite included; the side by side adjusts "
        "over the study's family (the five metrics without the composite) and says so in its rows. "
        '"Pooled" treats all dataset-generator pairs together; "within" is computed inside each generator.',
        "",
    ]
    if document.get("answers"):  # radlib.answers, once notebooks 05-07 have run
        lines += ["## Answers", "", *(f"{number}. {text}" for number, text in enumerate(document["answers"], 1)), ""]
        lines += ["## Key numbers of the study's analyses", ""]
    lines += _key_number_lines(analyses) if analyses else ["No analysis has been run yet."]
    if document.get("curve_by_level"):
        lines += ["", "## The specification curve by factor level (question 5)", "", document["curve_by_level"]]
    if document.get("predictors"):
        lines += ["", "## What predicts the gain (question 6)", "", document["predictors"]]
    if document.get("side_by_side"):
        lines += ["", "## The study side by side", "", document["side_by_side"].rstrip("\n")]
    return "\n".join(lines) + "\n"


def _key_number_lines(analyses: list[Mapping[str, Any]]) -> list[str]:
    """The key-numbers table of ``summary.md``, one column per analysis, and a line naming each analysis's files."""
    table_rows = [_rows_for(a["numbers"]) for a in analyses]
    labels = [label for label, _ in table_rows[0]]
    for rows in table_rows[1:]:  # generators may differ between analyses: union, in order
        labels += [label for label, _ in rows if label not in labels]
    values = [dict(rows) for rows in table_rows]
    key_numbers = pd.DataFrame(
        [[label, *[v.get(label, "n/a") for v in values]] for label in labels],
        columns=["", *[a["label"] for a in analyses]],
    )
    align = ("left", *["right"] * len(analyses))
    lines = [markdown_table(key_numbers, align=align), ""]
    for a in analyses:
        subset = (
            "all datasets" if a["datasets"] is None else f"{len(a['datasets'])} datasets: {', '.join(a['datasets'])}"
        )
        lines.append(f"- **{a['label']}** ({subset}): tables `{a['prefix']}_*.csv`, figures `05_{a['prefix']}_*.png`.")
    return lines


def write_summary(
    summaries: Mapping[str, Mapping[str, Any]],
    manifest: Mapping,
    path: str | os.PathLike,
    prefixes: Mapping[str, str] | None = None,
    datasets: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``summary.md`` (at ``path``) and ``summary.json`` beside it.

    Parameters
    ----------
    summaries : mapping
        Analysis label -> :func:`radlib.analysis.summarize` dict, in report order.
    manifest : mapping
        The run manifest (profile, configuration hash, tasks, ...).
    path : path
        The Markdown file; the JSON goes to the same folder as ``summary.json``.
    prefixes : mapping, optional
        Label -> table prefix (where :func:`check_summary_agrees` finds the tables);
        default :func:`table_prefix` of the summary's classifier and subset flag.
    datasets : mapping, optional
        Label -> list of the subset's datasets (None = all).

    Returns
    -------
    Path
        The Markdown file.
    """
    path = Path(path)
    analyses = []
    for label, numbers in summaries.items():
        subset = "sensitivity" if numbers.get("subset") else "all"
        prefix = (prefixes or {}).get(label) or table_prefix(numbers["classifier"], subset)
        analyses.append(
            {
                "label": label,
                "prefix": prefix,
                "classifier": numbers["classifier"],
                "subset": subset,
                "datasets": (datasets or {}).get(label),
                "numbers": {key: _plain(value) for key, value in numbers.items()},
            }
        )
    document = {"run": _manifest_fields(manifest), "analyses": analyses}
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / SUMMARY_JSON).write_text(json.dumps(document, indent=2) + "\n")
    path.write_text(render_summary(document))
    return path


def update_summary(
    numbers: Mapping[str, Any],
    folder: str | os.PathLike,
    classifier: str,
    subset: str,
    manifest: Mapping,
    datasets=None,
) -> Path:
    """Store one analysis's numbers and rewrite ``summary.md``/``summary.json`` from all stored ones.

    Notebook 05 calls this once per run (through :func:`radlib.answers.update_summary_and_answers`,
    which keeps the answers); after the last of its runs the summary covers every analysis
    of the configuration in ``manifest``.
    """
    save_label_summary(numbers, folder, classifier, subset, manifest, datasets)
    entries = collect_summaries(folder, manifest.get("config_hash"))
    path = write_summary(
        {e["label"]: e["numbers"] for e in entries},
        manifest,
        Path(folder) / SUMMARY_MD,
        prefixes={e["label"]: e["prefix"] for e in entries},
        datasets={e["label"]: e["datasets"] for e in entries},
    )
    return path


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=_RTOL, abs_tol=_ATOL)


def check_summary_agrees(folder: str | os.PathLike) -> list[str]:
    """Check that ``summary.json`` and ``summary.md`` of ``folder`` agree with its CSV tables.

    For each analysis of ``summary.json``: read its tables (``<prefix>_<table>.csv``),
    recompute the key numbers with :func:`radlib.analysis.summarize`, and compare them
    with the stored numbers (relative tolerance 1e-9; NaN equals a stored null). Then
    check that ``summary.md`` is exactly what :func:`render_summary` makes of
    ``summary.json``.

    Returns
    -------
    list of str
        One line per disagreement; empty when everything agrees.
    """
    folder = Path(folder)
    problems: list[str] = []
    json_path, md_path = folder / SUMMARY_JSON, folder / SUMMARY_MD
    if not json_path.exists():
        return [f"{json_path} is missing"]
    document = json.loads(json_path.read_text())
    if not document.get("analyses"):
        problems.append(f"{json_path.name} lists no analysis")
    for entry in document.get("analyses", []):
        label, prefix = entry["label"], entry["prefix"]
        try:
            tables = read_tables(folder, prefix)
        except FileNotFoundError as exc:
            problems.append(f"{label}: table missing: {exc.filename}")
            continue
        try:
            derived = {key: _plain(value) for key, value in analysis.summarize(tables).items()}
        except Exception as exc:  # a malformed table is a disagreement, not a crash
            problems.append(f"{label}: the tables {prefix}_*.csv cannot be summarised: {exc!r}")
            continue
        stored = entry["numbers"]
        for key in sorted(set(stored) | set(derived)):
            if key not in derived:
                problems.append(f"{label}: '{key}' is in {json_path.name} but not derived from the tables")
            elif key not in stored:
                problems.append(f"{label}: '{key}' derived from the tables is missing from {json_path.name}")
            elif not _same(stored[key], derived[key]):
                problems.append(
                    f"{label}: {key} = {stored[key]!r} in {json_path.name}, "
                    f"{derived[key]!r} from the tables {prefix}_*.csv"
                )
    if not md_path.exists():
        problems.append(f"{md_path} is missing")
    elif md_path.read_text() != render_summary(document):
        problems.append(f"{md_path.name} is not what {json_path.name} renders to (edited by hand, or stale)")
    return problems


README_START = "<!-- summary:start (generated by `make all` from results/full/summary.md; do not edit) -->"
README_END = "<!-- summary:end -->"


def embedded_summary(readme_text: str) -> str:
    """The text between the summary markers of the README (empty when absent)."""
    if README_START not in readme_text or README_END not in readme_text:
        return ""
    return readme_text.split(README_START, 1)[1].split(README_END, 1)[0].strip("\n")


def embed_summary(readme: str | os.PathLike, summary: str | os.PathLike) -> None:
    """Replace the README's summary block with the generated ``summary.md``, verbatim.

    The README shows the results by including the generated file, never by retyping them.
    """
    readme, summary = Path(readme), Path(summary)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no summary markers {README_START!r} ... {README_END!r}")
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    readme.write_text(f"{before}{README_START}\n{summary.read_text().strip()}\n{README_END}{after}")
