"""Tests of radlib.report: tables, the generated summary, its agreement check and the README block."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_records

from radlib import analysis as A
from radlib import answers
from radlib import report as R
from radlib.markdown import row_cells, table_problems

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "results").glob("*/summary.json"))
MANIFEST = {
    "profile": "test",
    "config_hash": "abc123",
    "config": {"repetitions": 3, "synthesis": {"generators": ["wgan_gp", "cvae", "tabddpm"]}},
    "datasets_requested": 10,
    "datasets_skipped": {},
    "tasks_total": 30,
    "tasks_ok": 30,
    "undefined_external_folds": 1,
    "external_folds": 150,
}


def make_records():
    """Records of 3 generators and SMOTE; one repetition of D0 has an undefined external AUC."""
    return synthetic_records.make_records(rf_scale=0.5, undefined_first=True)


@pytest.fixture(scope="module")
def records():
    return make_records()


@pytest.fixture
def written(tmp_path, records):
    """A results folder as notebook 05 leaves it after two runs (logreg/all and rf/all)."""
    numbers = {}
    for classifier in ("logreg", "rf"):
        results = A.run_analyses(records, classifier, n_boot=50)
        R.write_tables(results, tmp_path, R.table_prefix(classifier, "all"))
        numbers[classifier] = A.summarize(results)
        R.update_summary(numbers[classifier], tmp_path, classifier, "all", MANIFEST)
    return tmp_path, numbers


def test_names():
    assert R.table_prefix("logreg", "all") == "logreg_all"
    assert R.table_prefix("rf", "sensitivity") == "rf_sensitivity"
    assert R.analysis_label("logreg", "sensitivity") == "logreg, sensitivity subset"
    with pytest.raises(ValueError, match="subset"):
        R.table_prefix("logreg", "some")


def test_every_table_is_written_as_csv_and_markdown(tmp_path, records):
    results = A.run_analyses(records, "logreg", n_boot=20)
    paths = R.write_tables(results, tmp_path, "logreg_all")
    assert set(results) == set(R.TABLES)
    assert sorted(p.name for p in paths) == sorted(f"logreg_all_{n}.{ext}" for n in R.TABLES for ext in ("csv", "md"))
    back = R.read_tables(tmp_path, "logreg_all")
    # every number survives the CSV round trip (empty notes come back as NaN)
    pd.testing.assert_frame_equal(
        back["correlations"].drop(columns="note"), results["correlations"].drop(columns="note"), check_dtype=False
    )
    pd.testing.assert_frame_equal(back["selection_summary"], results["selection_summary"], check_dtype=False)
    markdown = (tmp_path / "logreg_all_correlations.md").read_text()
    assert markdown.startswith("| group") and "wasserstein" in markdown


def test_summary_covers_every_run_and_agrees_with_the_tables(written):
    folder, numbers = written
    assert R.check_summary_agrees(folder) == []
    document = json.loads((folder / "summary.json").read_text())
    assert [a["label"] for a in document["analyses"]] == ["logreg", "rf"]
    assert document["run"]["config_hash"] == "abc123"
    text = (folder / "summary.md").read_text()
    n = numbers["logreg"]
    # numbers come from summarize(), formatted, not typed
    assert f"{n['evaluations_undefined']} of {n['evaluations_total']}" in text and n["evaluations_undefined"] == 1
    assert f"{n['selection_mean_delta']:+.3f} [{n['selection_ci_low']:+.3f}, {n['selection_ci_high']:+.3f}]" in text
    assert f"{n['pooled_rho_min']:+.2f} to {n['pooled_rho_max']:+.2f}" in text
    assert f"{n['n_pairs']} ({n['n_datasets']} × {n['n_generators']})" in text
    header = next(line for line in text.splitlines() if line.startswith("|"))
    assert row_cells(header) == ["", "logreg", "rf"]
    assert table_problems(text) == []


def test_altered_table_is_reported(written):
    folder, numbers = written
    path = folder / "logreg_all_correlations.csv"
    table = pd.read_csv(path)
    row = table.index[(table["group"] == "pooled") & (table["metric"] == "ks")][0]
    table.loc[row, "rho"] = 0.99  # larger than any pooled ρ of the five metrics
    table.to_csv(path, index=False)
    problems = R.check_summary_agrees(folder)
    assert len(problems) == 1
    assert problems[0].startswith("logreg: pooled_rho_max") and "0.99" in problems[0]


def test_altered_selection_and_missing_table_are_reported(written):
    folder, _ = written
    path = folder / "rf_all_selection_summary.csv"
    table = pd.read_csv(path)
    table.loc[table["comparison"] == "selected", "ci_low"] -= 0.01
    table.to_csv(path, index=False)
    (folder / "logreg_all_roc.csv").unlink()
    problems = R.check_summary_agrees(folder)
    assert any(p.startswith("rf: selection_ci_low") for p in problems)
    assert any(p.startswith("logreg: table missing") and "logreg_all_roc.csv" in p for p in problems)


def test_hand_edited_summary_is_reported(written):
    folder, _ = written
    path = folder / "summary.md"
    path.write_text(path.read_text().replace("Key numbers", "Key numbers (edited)", 1))
    assert R.check_summary_agrees(folder) == [
        "summary.md is not what summary.json renders to (edited by hand, or stale)"
    ]


def test_summary_of_another_configuration_is_left_out(written, records):
    folder, _ = written
    other = dict(MANIFEST, config_hash="other")
    results = A.run_analyses(records, "logreg", datasets=["D1", "D2", "D3"], n_boot=20)
    R.write_tables(results, folder, "logreg_sensitivity")
    with pytest.warns(UserWarning, match="configuration abc123, not other"):
        R.update_summary(A.summarize(results), folder, "logreg", "sensitivity", other, ["D1", "D2", "D3"])
    document = json.loads((folder / "summary.json").read_text())
    assert [a["label"] for a in document["analyses"]] == ["logreg, sensitivity subset"]
    assert document["analyses"][0]["datasets"] == ["D1", "D2", "D3"]
    assert R.check_summary_agrees(folder) == []


def test_rerunning_notebook_05_keeps_the_answers_of_its_configuration(written):
    folder, numbers = written
    answers.write_answers(folder)  # as `make all` does after notebooks 05-07
    with_answers = (folder / R.SUMMARY_MD).read_text()
    assert "## Answers" in with_answers
    answers.update_summary_and_answers(numbers["logreg"], folder, "logreg", "all", MANIFEST)  # notebook 05 again
    assert (folder / R.SUMMARY_MD).read_text() == with_answers
    with pytest.warns(UserWarning, match="not other"):
        answers.update_summary_and_answers(
            numbers["logreg"], folder, "logreg", "all", MANIFEST | {"config_hash": "other"}
        )
    assert "## Answers" not in (folder / R.SUMMARY_MD).read_text()  # another configuration's answers are not kept


def test_write_summary_orders_and_renders_missing_values(tmp_path, records):
    results = A.run_analyses(records, "logreg", datasets=["D1", "D2"], metrics=("mmd2",), n_boot=20)
    numbers = A.summarize(results)
    assert np.isnan(numbers["within_rho_min"])  # 2 datasets: no within-generator ρ
    R.write_tables(results, tmp_path, "logreg_sensitivity")
    R.write_summary({"logreg, sensitivity subset": numbers}, MANIFEST, tmp_path / "summary.md")
    document = json.loads((tmp_path / "summary.json").read_text())
    assert document["analyses"][0]["prefix"] == "logreg_sensitivity"
    assert document["analyses"][0]["numbers"]["within_rho_min"] is None
    rows = [row_cells(line) for line in (tmp_path / "summary.md").read_text().splitlines() if line.startswith("|")]
    assert ["within-generator ρ, five metrics (range)", "n/a"] in rows
    assert R.check_summary_agrees(tmp_path) == []


def test_numbers_are_formatted_the_one_way(written):
    """summary.md formats with radlib.formatting: signs on ΔAUC and ρ, q below 0.001 as "< 0.001", "[no CI]"."""
    folder, _ = written
    document = json.loads((folder / "summary.json").read_text())
    numbers = document["analyses"][0]["numbers"]
    numbers.update(composite_pooled_rho=0.4567, composite_pooled_q=0.0004, selection_mean_delta=0.01234)
    numbers.update(selection_ci_low=None, pooled_rho_min=-0.1, pooled_rho_max=0.25)
    text = R.render_summary(document)
    assert "| composite score: pooled ρ (q) | +0.46 (< 0.001) |" in text
    assert "| quality-guided selection: mean ΔAUC [95% CI] | +0.012 [no CI] |" in text
    assert "| pooled ρ, five metrics (range) | -0.10 to +0.25 |" in text


@pytest.mark.parametrize("summary", COMMITTED, ids=lambda p: p.parent.name)
def test_committed_summary_agrees_with_committed_tables(summary):
    """results/<profile>/summary.* as `make all` wrote them agree with the tables beside them."""
    assert R.check_summary_agrees(summary.parent) == []


def test_embed_summary_replaces_only_the_marked_block(tmp_path):
    from radlib.report import README_END, README_START, embed_summary, embedded_summary

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold numbers\n{README_END}\noutro\n")
    summary = tmp_path / "summary.md"
    summary.write_text("| pairs | 129 |\n")
    embed_summary(readme, summary)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert embedded_summary(text) == "| pairs | 129 |"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no summary markers"):
        embed_summary(readme, summary)


def test_readme_shows_the_committed_full_summary():
    """The README's results block is the generated results/full/summary.md, verbatim."""
    from radlib.report import embedded_summary

    root = Path(__file__).resolve().parents[1]
    summary = root / "results" / "full" / "summary.md"
    if not summary.exists():
        pytest.skip("no committed full-profile summary yet")
    assert embedded_summary((root / "README.md").read_text()) == summary.read_text().strip()


def test_key_numbers_are_written_with_the_published_digits_and_nan_as_null(tmp_path):
    path = R.write_numbers(
        {"rho": 2 / 3, "missing": float("nan"), "n": np.int64(4), "label": "S3"}, tmp_path / "k.json"
    )
    assert json.loads(path.read_text()) == {"rho": 0.666666666667, "missing": None, "n": 4, "label": "S3"}
