"""The study's published numbers next to the compendium's: the table "quantity | study | this compendium".

The study's numbers live in a literature file with its citation
(``radlib/literature/garcia_hidalgo_2026.yaml``, :func:`load_study`): one row per published
number, as the abstract states it, with what the abstract leaves ambiguous about it. For each
row, :func:`side_by_side` computes the same quantity from the compendium's analyses
(:func:`radlib.analysis.run_analyses` of the primary analysis, the random-forest replication and
the sensitivity subset) and writes it with its CI where there is one. A row of the file without a
computation here is an error, so the table always holds every published number.

Readings of the study's numbers (each also in the file's ``ambiguity`` column):

* BH family: 5 metrics x (pooled + each generator), the composite left out, so the compendium's
  counts of surviving correlations use that family (q-values recomputed over it), not analysis
  1's family, which includes the composite.
* "Unexpected direction": better quality with smaller ΔAUC, a negative ρ of the quality score.
* Undefined AUCs count external evaluations (dataset x repetition x fold).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from radlib.analysis.association import adjust_fdr
from radlib.analysis.options import ALPHA
from radlib.analysis.pairs import generators_of
from radlib.analysis.run import summarize
from radlib.formatting import interval, number, p_value, signed
from radlib.markdown import markdown_table
from radlib.outputs import ANALYSES
from radlib.records import COMPOSITE, POOLED

__all__ = [
    "STUDY_FILE",
    "PRIMARY",
    "REPLICATION",
    "SENSITIVITY",
    "COLUMNS",
    "load_study",
    "citation_text",
    "side_by_side",
    "side_by_side_markdown",
    "COMPUTATIONS",
    "family_label",
]

#: The literature file of the study, inside the package.
STUDY_FILE = "literature/garcia_hidalgo_2026.yaml"
#: The analyses the table draws on, named by their table prefix (:func:`radlib.report.table_prefix`).
PRIMARY, REPLICATION, SENSITIVITY = ANALYSES
#: The columns of the table.
COLUMNS = ("quantity", "study", "compendium", "ambiguity")
# The significance level of every count in the table, the study's.
_ALPHA = ALPHA


def load_study(path: str | None = None) -> dict[str, Any]:
    """The study's published numbers and citation: the literature file (default :data:`STUDY_FILE`).

    Returns
    -------
    dict
        ``citation`` (``authors``, ``journal``, ``year``, ``doi``, ``url``, ``source``) and
        ``rows`` (each ``key``, ``quantity``, ``study``, ``value``, ``ambiguity``).
    """
    if path is None:
        text = resources.files("radlib").joinpath(STUDY_FILE).read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    study = yaml.safe_load(text)
    if not isinstance(study, dict) or "citation" not in study or "rows" not in study:
        raise ValueError(f"{path or STUDY_FILE}: expected the sections 'citation' and 'rows'")
    for row in study["rows"]:
        missing = [field for field in ("key", "quantity", "study") if field not in row]
        if missing:
            raise ValueError(f"{path or STUDY_FILE}: a row lacks {missing}: {row}")
    return study


def citation_text(study: Mapping[str, Any]) -> str:
    """``García-Hidalgo et al., European Radiology 2026, doi:10.1007/...`` from the file's citation."""
    c = study["citation"]
    return f"{c['authors']}, {c['journal']} {c['year']}, doi:{c['doi']}"


# --- the compendium's side ------------------------------------------------------------------------


def _study_family(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Analysis 1's rows of the five metrics (composite out), with BH q-values over these rows alone."""
    correlations = results["correlations"]
    family = correlations[correlations["metric"] != COMPOSITE].copy()
    family["q_value"], family["significant"] = adjust_fdr(family["p_value"], alpha=_ALPHA)
    return family


def _pooled(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["group"] == POOLED) & (table["metric"] != COMPOSITE)]


def _within(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["group"] != POOLED) & (table["metric"] != COMPOSITE)]


def _span(values: pd.Series, digits: int = 2, sign: bool = True) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    low, high = number(values.min(), digits, sign), number(values.max(), digits, sign)
    return low if low == high else f"{low} to {high}"


def _p_span(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    low, high = p_value(values.min()), p_value(values.max())
    return low if low == high else f"{low} to {high}"


def _hull(rows: pd.DataFrame, sign: bool = True) -> str:
    """The smallest interval holding the rows' bootstrap CIs: "95 % CIs within [low, high]"."""
    lows, highs = rows["ci_low"].dropna(), rows["ci_high"].dropna()
    if lows.empty or highs.empty:
        return "no bootstrap CIs"
    return f"95 % CIs within [{number(lows.min(), 2, sign)}, {number(highs.max(), 2, sign)}]"


def _count(part: int, total: int) -> str:
    return f"{part} of {total}"


def _design(context: Mapping[str, Any], key: str) -> str:
    numbers = context["numbers"]
    if key == "datasets":
        return str(numbers["n_datasets"])
    if key == "generators":
        return f"{numbers['n_generators']} ({', '.join(generators_of(context['results'][PRIMARY]['pairs']))})"
    return str(numbers["n_pairs"])


def _repetitions(context: Mapping[str, Any]) -> str:
    records = context["records"]
    numbers = context["numbers"]
    per_dataset = numbers["evaluations_total"] / max(numbers["n_datasets"], 1)
    if records is None:
        return f"{per_dataset:g} external evaluations per dataset"
    repetitions = int(records["repetition"].nunique())
    folds = int(records["fold"].nunique()) if "fold" in records.columns else 1
    if folds == 1:
        return f"{repetitions} (one external site each: {repetitions} external evaluations per dataset)"
    return f"{repetitions} (x {folds} site-folds = {repetitions * folds} external evaluations per dataset)"


def _undefined(context: Mapping[str, Any]) -> str:
    numbers = context["numbers"]
    total, undefined = numbers["evaluations_total"], numbers["evaluations_undefined"]
    share = 100 * undefined / total if total else np.nan
    return f"{_count(undefined, total)} external evaluations ({number(share, 1, False)} %)"


def _pooled_rho(context: Mapping[str, Any]) -> str:
    pooled = _pooled(context["results"][PRIMARY]["correlations"])
    return f"|ρ| {_span(pooled['rho'].abs(), sign=False)} (ρ {_span(pooled['rho'])}; {_hull(pooled)})"


def family_label(family: pd.DataFrame) -> str:
    """Which BH family a q-value of the side by side is adjusted over, e.g. "the study's family: 5 metrics x 4 groups".

    Analysis 1 adjusts over its metrics and the composite; the side by side's counts follow the
    study (the five metrics alone), so its q-values differ from analysis 1's in the last digits
    and say so wherever they are printed.
    """
    return f"BH over the study's family: {family['metric'].nunique()} metrics x {family['group'].nunique()} groups"


def _pooled_p(context: Mapping[str, Any]) -> str:
    family = context["family"]
    pooled = _pooled(family)
    return (
        f"q {_p_span(pooled['q_value'])} ({family_label(family)}); "
        f"{_count(int(pooled['significant'].sum()), len(pooled))} q < 0.05"
    )


def _within_p(context: Mapping[str, Any]) -> str:
    within = _within(context["family"])
    tested = within.dropna(subset=["p_value"])
    below = int((tested["p_value"] < _ALPHA).sum())
    return f"p {_p_span(tested['p_value'])}; {_count(below, len(tested))} p < 0.05"


def _names(rows: pd.DataFrame) -> str:
    return ", ".join(f"{group} {metric}" for group, metric in zip(rows["group"], rows["metric"]))


def _bh_survivors(context: Mapping[str, Any]) -> str:
    family = context["family"]
    tested = family.dropna(subset=["p_value"])
    survivors = tested[tested["significant"]]
    pooled = int((survivors["group"] == POOLED).sum())
    within = survivors[survivors["group"] != POOLED]
    detail = f"{pooled} pooled, {len(within)} within a generator"
    if len(within):
        detail += f": {_names(within)}"
    return f"{_count(len(survivors), len(tested))} ({detail})"


def _unexpected(context: Mapping[str, Any]) -> str:
    within = _within(context["family"])
    unexpected = within[within["significant"] & (within["rho"] < 0)]
    return f"{len(unexpected)}" + (f" ({_names(unexpected)})" if len(unexpected) else "")


def _roc(context: Mapping[str, Any]) -> str:
    roc = context["results"][PRIMARY]["roc"]
    pooled, within = _pooled(roc), _within(roc)
    return (
        f"pooled {_span(pooled['auc'], sign=False)} ({_hull(pooled, sign=False)}); "
        f"within a generator {_span(within['auc'], sign=False)}"
    )


def _selection(context: Mapping[str, Any]) -> str:
    numbers = context["numbers"]
    ci = interval(numbers["selection_ci_low"], numbers["selection_ci_high"], 4)
    return f"{signed(numbers['selection_mean_delta'], 4)} (95 % CI {ci}; mean over datasets, t-interval)"


def _improved(context: Mapping[str, Any], who: str) -> str:
    numbers = context["numbers"]
    return _count(numbers[f"{who}_n_improved"], numbers["selection_n_datasets"])


def _rf_pooled_p(context: Mapping[str, Any]) -> str:
    results = context["results"].get(REPLICATION)
    if results is None:
        return "not run"
    pooled = _pooled(results["correlations"])
    return f"p {_p_span(pooled['p_value'])}; |ρ| {_span(pooled['rho'].abs(), sign=False)}"


def _sensitivity_datasets(context: Mapping[str, Any]) -> str:
    results = context["results"].get(SENSITIVITY)
    if results is None:
        return "not run"
    return f"{_count(int(results['pairs']['dataset'].nunique()), context['numbers']['n_datasets'])} datasets"


def _conclusions(results: Mapping[str, pd.DataFrame]) -> tuple[int, int, int, int]:
    family = _study_family(results)
    pooled, within = _pooled(family), _within(family)
    return (
        int(pooled["significant"].sum()),
        int(pooled["p_value"].notna().sum()),
        int(within["significant"].sum()),
        int(within["p_value"].notna().sum()),
    )


def _sensitivity_conclusions(context: Mapping[str, Any]) -> str:
    results = context["results"].get(SENSITIVITY)
    if results is None:
        return "not run"
    subset, everything = _conclusions(results), _conclusions(context["results"][PRIMARY])
    same = (subset[0] > 0) == (everything[0] > 0) and (subset[2] > 0) == (everything[2] > 0)
    return (
        f"{'the same' if same else 'different'}: pooled {_count(subset[0], subset[1])} and within "
        f"{_count(subset[2], subset[3])} correlations survive BH (all datasets: {_count(everything[0], everything[1])} "
        f"and {_count(everything[2], everything[3])})"
    )


#: The compendium's computation of each row of the literature file, by key.
COMPUTATIONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "datasets": lambda c: _design(c, "datasets"),
    "generators": lambda c: _design(c, "generators"),
    "pairs": lambda c: _design(c, "pairs"),
    "repetitions": _repetitions,
    "undefined": _undefined,
    "pooled_rho": _pooled_rho,
    "pooled_p": _pooled_p,
    "within_p": _within_p,
    "bh_survivors": _bh_survivors,
    "unexpected_direction": _unexpected,
    "roc_auc": _roc,
    "selection_delta": _selection,
    "selection_improved": lambda c: _improved(c, "selection"),
    "oracle_improved": lambda c: _improved(c, "oracle"),
    "rf_pooled_p": _rf_pooled_p,
    "sensitivity_datasets": _sensitivity_datasets,
    "sensitivity_conclusions": _sensitivity_conclusions,
}


def side_by_side(
    results: Mapping[str, Mapping[str, pd.DataFrame]],
    records: pd.DataFrame | None = None,
    study: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The table "quantity | study | this compendium | ambiguity of the study's number".

    Parameters
    ----------
    results : mapping
        :func:`radlib.analysis.run_analyses` outputs keyed by their table prefix: :data:`PRIMARY`
        (``"logreg_all"``, required), :data:`REPLICATION` (``"rf_all"``) and :data:`SENSITIVITY`
        (``"logreg_sensitivity"``); a missing one gives "not run" in its rows.
    records : DataFrame, optional
        The records, for the numbers of repetitions and site-folds.
    study : mapping, optional
        :func:`load_study` (default: the packaged file).

    Returns
    -------
    DataFrame
        One row per row of the literature file, in its order, with :data:`COLUMNS`;
        ``attrs["citation"]`` is :func:`citation_text`.
    """
    if PRIMARY not in results:
        raise ValueError(f"side_by_side needs the primary analysis '{PRIMARY}'; got {sorted(results)}")
    study = load_study() if study is None else study
    unknown = [row["key"] for row in study["rows"] if row["key"] not in COMPUTATIONS]
    if unknown:
        raise ValueError(f"no computation for the study's rows {unknown}; known: {sorted(COMPUTATIONS)}")
    context = {
        "results": results,
        "records": records,
        "numbers": summarize(results[PRIMARY]),
        "family": _study_family(results[PRIMARY]),
    }
    rows = [
        {
            "quantity": row["quantity"],
            "study": row["study"],
            "compendium": COMPUTATIONS[row["key"]](context),
            "ambiguity": row.get("ambiguity") or "",
        }
        for row in study["rows"]
    ]
    table = pd.DataFrame(rows, columns=list(COLUMNS), index=[row["key"] for row in study["rows"]])
    table.index.name = "key"
    table.attrs["citation"] = citation_text(study)
    return table


def side_by_side_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, with headers in words and the study's citation under it."""
    headers = {
        "quantity": "quantity",
        "study": "study (abstract)",
        "compendium": "this compendium",
        "ambiguity": "what the study's number leaves open",
    }
    text = markdown_table(table.reset_index(drop=True).rename(columns=headers))
    citation = table.attrs.get("citation")
    return f"{text}\n\nStudy: {citation}.\n" if citation else f"{text}\n"
