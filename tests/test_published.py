"""The committed study reads right: the counts of the report pages, summary.md and README agree with the manifest and the tables.

These tests read the committed files of the full profile (``report/``, ``results/full/``,
``README.md``), as a reader sees them, and check every count they print against the run's
manifest (``results/full/manifest.json``), the records and the CSV tables, computed here
independently (plain pandas and statsmodels, not the functions that wrote the pages).
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from radlib.markdown import row_cells
from radlib.report import embedded_summary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "full"
REPORT = ROOT / "report"
FALLACY_PAGES = sorted(REPORT.glob("05_ecological_fallacy_*.html"))

pytestmark = pytest.mark.skipif(not (RESULTS / "manifest.json").exists(), reason="no committed full results")


class _Text(HTMLParser):
    """The visible text of a page: scripts and styles left out."""

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def _page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text())
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def manifest():
    return json.loads((RESULTS / "manifest.json").read_text())


@pytest.fixture(scope="module")
def records():
    return pd.read_parquet(RESULTS / "records.parquet")


@pytest.fixture(scope="module")
def summary():
    return (RESULTS / "summary.md").read_text()


def _key_numbers(summary: str) -> dict[str, dict[str, str]]:
    """The key-numbers table of summary.md: row label -> {analysis label: cell}."""
    after = summary[summary.index("## Key numbers of the study's analyses") :].splitlines()
    first = next(i for i, line in enumerate(after) if line.startswith("|"))
    lines = []
    for line in after[first:]:
        if not line.startswith("|"):
            break
        lines.append(line)
    header = row_cells(lines[0])
    return {row[0]: dict(zip(header[1:], row[1:])) for row in map(row_cells, lines[2:])}


def test_the_manifest_agrees_with_the_committed_records(manifest, records):
    evaluations = records.groupby(["dataset", "repetition", "fold"])["undefined"].agg(["any", "all"])
    assert (evaluations["any"] == evaluations["all"]).all()  # every arm of an evaluation shares its site
    assert manifest["records"] == len(records)
    assert manifest["external_folds"] == len(evaluations)
    assert manifest["undefined_external_folds"] == int(evaluations["any"].sum())
    assert manifest["tasks_ok"] == records[["dataset", "repetition"]].drop_duplicates().shape[0]
    assert manifest["datasets_requested"] - len(manifest["datasets_skipped"]) == records["dataset"].nunique()


def test_page_04_counts_undefined_aucs_per_external_evaluation(manifest, records):
    text = _page_text(REPORT / "04_external_validation.html")
    found = re.findall(r"undefined external AUC: (\d+) of (\d+) ([^\n,]+)", text)
    assert found, "page 04 states no count of undefined external AUCs"
    assert found == [
        (
            str(manifest["undefined_external_folds"]),
            str(manifest["external_folds"]),
            "external evaluations (dataset × repetition × fold)",
        )
    ]
    records_line = re.search(
        r"records: configuration (\w+), (\d+) records \((\d+) of (\d+) tasks, (\d+) external", text
    )
    assert records_line and records_line.groups() == (
        manifest["config_hash"],
        str(len(records)),
        str(manifest["tasks_ok"]),
        str(manifest["tasks_total"]),
        str(manifest["external_folds"]),
    )
    skipped = re.search(r"(\d+) of (\d+) datasets skipped", text)
    assert skipped and skipped.groups() == (str(len(manifest["datasets_skipped"])), str(manifest["datasets_requested"]))


@pytest.mark.parametrize("name", ["05_ecological_fallacy_logreg_all", "06_fidelity_ladder", "07_reliability_power"])
def test_every_records_page_names_the_records_it_used(name, manifest, records):
    text = _page_text(REPORT / f"{name}.html")
    assert f"records: configuration {manifest['config_hash']}, {len(records)} records" in text


def test_summary_states_the_run_of_the_manifest(manifest, summary):
    run = re.search(
        r"configuration `(\w+)`: (\d+) datasets requested \((\d+) unavailable\), (\d+) repetitions.*?; (\d+) of (\d+) tasks ran",
        summary,
    )
    assert run and run.groups() == (
        manifest["config_hash"],
        str(manifest["datasets_requested"]),
        str(len(manifest["datasets_skipped"])),
        str(manifest["config"]["repetitions"]),
        str(manifest["tasks_ok"]),
        str(manifest["tasks_total"]),
    )


@pytest.mark.parametrize(
    ("label", "prefix"),
    [("logreg", "logreg_all"), ("rf", "rf_all"), ("logreg, sensitivity subset", "logreg_sensitivity")],
)
def test_key_numbers_count_what_the_tables_hold(label, prefix, summary, manifest, records):
    numbers = {row: cells[label] for row, cells in _key_numbers(summary).items()}
    exclusions = pd.read_csv(RESULTS / f"{prefix}_exclusions.csv").iloc[0]
    pairs = pd.read_csv(RESULTS / f"{prefix}_pairs.csv")
    generators = manifest["config"]["synthesis"]["generators"]
    generator_pairs = pairs[pairs["arm"].isin(generators)]
    assert numbers["dataset-generator pairs (datasets × generators)"] == (
        f"{len(generator_pairs)} ({generator_pairs['dataset'].nunique()} × {generator_pairs['arm'].nunique()})"
    )
    undefined = numbers["undefined external AUC (external evaluations: dataset × repetition × fold)"]
    assert undefined == f"{exclusions['evaluations_undefined']} of {exclusions['evaluations_total']}"
    # The records of the analysis: the study's arms except real-only, of the analysis's datasets.
    datasets = pairs["dataset"].unique()
    study_arms = records["arm"].isin([*generators, "smote"]) & records["dataset"].isin(datasets)
    used = records[study_arms]
    assert exclusions["records_total"] == len(used)
    assert exclusions["records_undefined"] == int(used["undefined"].sum())
    assert numbers["records used / total (undefined, failed, missing AUC)"] == (
        f"{exclusions['records_valid']} / {exclusions['records_total']} ({exclusions['records_undefined']}, "
        f"{exclusions['records_failed']}, {exclusions['records_missing_auc']})"
    )
    if prefix.endswith("_all"):  # every dataset: the manifest's count
        assert undefined == f"{manifest['undefined_external_folds']} of {manifest['external_folds']}"


def test_the_pooled_q_values_say_which_family_they_are_adjusted_over(summary):
    correlations = pd.read_csv(RESULTS / "logreg_all_correlations.csv")
    analysis_1 = correlations.dropna(subset=["p_value"])
    study_family = analysis_1[analysis_1["metric"] != "composite"].copy()
    study_family["q"] = multipletests(study_family["p_value"], method="fdr_bh")[1]
    pooled_study = study_family[study_family["group"] == "pooled"]["q"]
    pooled_analysis_1 = analysis_1[(analysis_1["group"] == "pooled") & (analysis_1["metric"] != "composite")]

    def span(values):
        low, high = f"{values.min():.3f}", f"{values.max():.3f}"
        return low if low == high else f"{low} to {high}"

    key_row = next(row for row in _key_numbers(summary) if row.startswith("pooled q (range"))
    assert "analysis 1" in key_row
    assert _key_numbers(summary)[key_row]["logreg"].startswith(span(pooled_analysis_1["q_value"]) + ";")
    side_by_side = next(line for line in summary.splitlines() if line.startswith("| Pooled correlations, adjusted p"))
    cell = row_cells(side_by_side)[2]
    assert cell.startswith(f"q {span(pooled_study)} (BH over the study's family: 5 metrics x 4 groups)")


@pytest.mark.parametrize("page", FALLACY_PAGES, ids=lambda p: p.stem)
def test_the_study_side_by_side_is_a_table_on_every_05_page(page):
    html = page.read_text()
    section = html[html.index('id="The-study-side-by-side"') :]
    assert "<table>" in section[:2000] and "<p>| quantity" not in section
    assert re.search(r"<th[^>]*>study \(abstract\)</th>", section)


def test_the_readme_embeds_the_summary_verbatim(summary):
    assert embedded_summary((ROOT / "README.md").read_text()) == summary.strip()


# An absolute path as a page would print it: "/" at the start of a word, then folders.
_ABSOLUTE_PATH = re.compile(r"(?:^|[\s(='\"])(/(?:[\w.-]+/)+[\w.-]*)")


@pytest.mark.parametrize("page", sorted(REPORT.glob("*.html")), ids=lambda p: p.stem)
def test_report_pages_carry_nothing_of_the_machine_that_wrote_them(page):
    html = page.read_text()
    assert _ABSOLUTE_PATH.findall(_page_text(page)) == []
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html
    assert "application/vnd.jupyter.widget-state+json" not in html
    assert "application/vnd.jupyter.widget-view+json" not in html
