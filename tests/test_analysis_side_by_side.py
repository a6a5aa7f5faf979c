"""Tests of radlib.analysis.side_by_side: every published number of the study gets the compendium's.

The compendium's side comes from radlib.analysis.run_analyses on ladder records of
tests/ladder_records.py (engine-v2 records: 12 datasets x 2 repetitions x 2 folds; the study
arms only enter the study's analyses), with one external evaluation made undefined. Expected
numbers are computed independently in each test: scipy's spearmanr on the pair table,
statsmodels' multipletests over the study's 20 tests, pandas counts on the records.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from ladder_records import make_ladder_records
from scipy import stats
from statsmodels.stats.multitest import multipletests

from radlib import analysis as A
from radlib.analysis import side_by_side as S
from radlib.records import COMPOSITE, POOLED

N_BOOT = 100


@pytest.fixture(scope="module")
def records():
    records = make_ladder_records("between")
    undefined = (records["dataset"] == "D02") & (records["repetition"] == 1) & (records["fold"] == 0)
    records.loc[undefined, "undefined"] = True
    return records


@pytest.fixture(scope="module")
def results(records):
    subset = [f"D{i:02d}" for i in range(8)]
    return {
        S.PRIMARY: A.run_analyses(records, "logreg", n_boot=N_BOOT, seed=1),
        S.REPLICATION: A.run_analyses(records, "rf", n_boot=N_BOOT, seed=1),
        S.SENSITIVITY: A.run_analyses(records, "logreg", datasets=subset, n_boot=N_BOOT, seed=1),
    }


@pytest.fixture(scope="module")
def table(results, records):
    return S.side_by_side(results, records)


def test_the_literature_file_holds_the_published_numbers_and_the_citation():
    study = S.load_study()
    assert study["citation"]["doi"] == "10.1007/s00330-026-12703-4"
    assert S.citation_text(study) == "García-Hidalgo et al., European Radiology 2026, doi:10.1007/s00330-026-12703-4"
    rows = {row["key"]: row for row in study["rows"]}
    assert rows["undefined"]["value"] == {"count": 30, "total": 2500, "percent": 1.2}
    assert rows["selection_delta"]["value"] == {"estimate": -0.0051, "ci_low": -0.0083, "ci_high": -0.0019}
    assert rows["bh_survivors"]["value"] == {"count": 5, "total": 20}
    assert "folds" in rows["undefined"]["ambiguity"]  # 2,500: evaluations or arm records
    # every published number has a computation and every computation a published number
    assert set(rows) == set(S.COMPUTATIONS)


def test_table_has_every_study_row_in_order(table):
    study = S.load_study()
    assert list(table.index) == [row["key"] for row in study["rows"]]
    assert list(table.columns) == list(S.COLUMNS)
    assert list(table["study"]) == [row["study"] for row in study["rows"]]
    assert table["compendium"].str.len().gt(0).all()
    assert "not run" not in set(table["compendium"])
    assert table.attrs["citation"].startswith("García-Hidalgo et al.")


def test_design_rows_count_the_records(table, records):
    assert table.loc["datasets", "compendium"] == "12"
    assert table.loc["pairs", "compendium"] == "36"
    assert table.loc["generators", "compendium"] == "3 (cvae, tabddpm, wgan_gp)"
    assert table.loc["repetitions", "compendium"] == "2 (x 2 site-folds = 4 external evaluations per dataset)"
    evaluations = records.groupby(["dataset", "repetition", "fold"])["undefined"].any()
    assert (
        table.loc["undefined", "compendium"]
        == f"{int(evaluations.sum())} of {len(evaluations)} external evaluations (2.1 %)"
    )


def test_pooled_rho_row_is_the_range_of_the_five_metrics(table, results):
    pairs = A.generator_pairs(results[S.PRIMARY]["pairs"])
    rhos = [abs(stats.spearmanr(-pairs[m], pairs["delta_auc"]).statistic) for m in ("wasserstein", "ks", "mmd2")]
    text = table.loc["pooled_rho", "compendium"]
    low, high = re.match(r"\|ρ\| ([\d.]+)(?: to ([\d.]+))?", text).groups()
    low, high = float(low), float(high or low)  # one value when every metric gives the same |ρ|
    # the distances are linear in one planted distance: the same |ρ|, inside the range
    assert all(low - 0.005 <= rho <= high + 0.005 for rho in rhos)
    assert "95 % CIs within [" in text


def test_bh_rows_use_the_study_family_of_twenty(table, results):
    correlations = results[S.PRIMARY]["correlations"]
    family = correlations[correlations["metric"] != COMPOSITE]
    assert len(family) == 20
    reject = multipletests(family["p_value"], method="fdr_bh")[0]  # statsmodels, the 20 tests alone
    assert table.loc["bh_survivors", "compendium"].startswith(f"{int(reject.sum())} of 20 (")
    pooled = family["group"] == POOLED
    assert f"{int(reject[pooled.to_numpy()].sum())} pooled" in table.loc["bh_survivors", "compendium"]
    unexpected = reject & ~pooled.to_numpy() & (family["rho"] < 0).to_numpy()
    assert table.loc["unexpected_direction", "compendium"].split(" ")[0] == str(int(unexpected.sum()))


def test_within_p_row_counts_raw_p_values(table, results):
    correlations = results[S.PRIMARY]["correlations"]
    within = correlations[(correlations["group"] != POOLED) & (correlations["metric"] != COMPOSITE)]
    assert table.loc["within_p", "compendium"].endswith(f"{int((within['p_value'] < 0.05).sum())} of 15 p < 0.05")


def test_selection_rows_come_from_the_selection_summary(table, results):
    summary = results[S.PRIMARY]["selection_summary"].set_index("comparison")
    text = table.loc["selection_delta", "compendium"]
    assert text.startswith(f"{summary.at['selected', 'mean']:+.4f} (95 % CI [{summary.at['selected', 'ci_low']:+.4f}")
    selected = results[S.PRIMARY]["selection"]
    assert table.loc["selection_improved", "compendium"] == f"{int((selected['selected_delta'] > 0).sum())} of 12"
    assert table.loc["oracle_improved", "compendium"] == f"{int((selected['oracle_delta'] > 0).sum())} of 12"


def test_replication_and_sensitivity_rows(table, results):
    rf = results[S.REPLICATION]["correlations"]
    pooled = rf[(rf["group"] == POOLED) & (rf["metric"] != COMPOSITE)]
    assert table.loc["rf_pooled_p", "compendium"].startswith("p ")
    assert str(round(pooled["p_value"].max(), 3))[:4] in table.loc["rf_pooled_p", "compendium"]
    assert table.loc["sensitivity_datasets", "compendium"] == "8 of 12 datasets"
    assert re.match(
        r"(the same|different): pooled \d+ of 5 and within \d+ of 15",
        table.loc["sensitivity_conclusions", "compendium"],
    )


def test_missing_analyses_read_not_run(results):
    table = S.side_by_side({S.PRIMARY: results[S.PRIMARY]})
    for key in ("rf_pooled_p", "sensitivity_datasets", "sensitivity_conclusions"):
        assert table.loc[key, "compendium"] == "not run"
    assert table.loc["repetitions", "compendium"] == "4 external evaluations per dataset"


def test_bad_inputs_are_named(results):
    with pytest.raises(ValueError, match="primary analysis 'logreg_all'"):
        S.side_by_side({S.REPLICATION: results[S.REPLICATION]})
    study = S.load_study()
    study = {**study, "rows": [*study["rows"], {"key": "effect_size", "quantity": "x", "study": "1"}]}
    with pytest.raises(ValueError, match="effect_size"):
        S.side_by_side(results, study=study)


def test_markdown_holds_every_row_and_the_citation(table):
    text = S.side_by_side_markdown(table)
    for quantity in table["quantity"]:
        assert quantity in text
    assert "doi:10.1007/s00330-026-12703-4" in text
    assert np.sum([line.startswith("|") for line in text.splitlines()]) == len(table) + 2
