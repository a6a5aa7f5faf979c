"""The six answers: numbers taken from the tables, a missing table named, the summary rendered with them."""

import json

import pandas as pd

from radlib import answers, report
from radlib.analysis import gain_predictors, power
from radlib.records import POOLED


def _correlations():
    rows = [
        ("pooled", m, 129, rho, q, sig)
        for m, rho, q, sig in [
            ("wasserstein", 0.31, 0.001, True),
            ("ks", 0.33, 0.0005, True),
            ("mmd2", 0.30, 0.002, True),
            ("corr_diff", 0.05, 0.6, False),
            ("detection_auc", -0.02, 0.8, False),
        ]
    ]
    rows.append(("pooled", "composite", 129, 0.25, 0.004, True))
    frame = pd.DataFrame(rows, columns=["group", "metric", "n", "rho", "q_value", "significant"])
    return frame.assign(ci_low=frame["rho"] - 0.1, ci_high=frame["rho"] + 0.1)


def test_pooled_answer_reads_the_pooled_rows():
    text = answers.answer_pooled(_correlations())
    # Hand count: 3 of the five metrics have q < 0.05; the range is -0.02 to +0.33 (the composite is apart).
    assert "It appears" in text and "3 of 5 with BH q < 0.05 (3 of them positive" in text
    assert "from -0.02 to +0.33" in text and "composite ρ = +0.25 [+0.15, +0.35] (q = 0.004)" in text
    assert "129 dataset-generator pairs" in text


def test_missing_tables_name_the_notebook_to_run():
    assert answers.answer_pooled(None).startswith("Not answered") and "notebook 05" in answers.answer_pooled(None)
    assert "notebook 06" in answers.answer_ladder(None)
    assert "notebook 07" in answers.answer_power(None, None)


def test_ladder_answer_lists_every_set_and_the_verdict():
    ladder = {"verdict_sentence": "No association at any spread (composite, S3).", "verdict_eta2": 0.5}
    for k, name in enumerate(("S1", "S2", "S3")):
        ladder |= {f"{name}_eta2": 0.1 * (k + 1), f"{name}_pooled_rho": 0.01 * k}
        for term in ("between", "within"):
            ladder |= {f"{name}_{term}_slope": 0.002, f"{name}_{term}_ci_low": -0.01, f"{name}_{term}_ci_high": 0.01}
    text = answers.answer_ladder(ladder)
    assert "S1: η² = 0.10" in text and "S3: η² = 0.30, pooled ρ = +0.02" in text
    assert "between-configuration slope in S3 is +0.002 [-0.010, +0.010]" in text
    assert text.endswith("No association at any spread (composite, S3).")


def _write_summary_without_analyses(folder):
    """A ``summary.json`` of a smoke run before notebooks 05-07 (no analyses)."""
    document = {
        "run": {
            "profile": "smoke",
            "config_hash": "abc",
            "datasets_requested": 4,
            "datasets_skipped": 0,
            "repetitions": 2,
            "generators": ["cvae"],
            "tasks_ok": 8,
            "tasks_total": 8,
        },
        "analyses": [],
    }
    (folder / "summary.json").write_text(json.dumps(document))


def test_write_answers_renders_them_into_the_summary(tmp_path):
    _write_summary_without_analyses(tmp_path)
    written = answers.write_answers(tmp_path)
    assert len(written["answers"]) == 6 and written["side_by_side"] is None  # no study tables here
    assert "notebook 08" in written["answers"][4] and "notebook 09" in written["answers"][5]
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert stored["answers"] == written["answers"]
    text = (tmp_path / "summary.md").read_text()
    assert "## Answers" in text and "1. Not answered" in text
    assert text == report.render_summary(stored)


def _power():
    family = power.bh_family(3)
    rows = [
        # classifier, metric, effect_on, power_pooled (± se), size_pooled (unadjusted), power_within (unadjusted)
        ("logreg", "composite", "true values", 0.41, 0.016, 0.14, 0.23, 0.12, 0.16),
        ("logreg", "composite", "pair means", 0.83, 0.012, 0.13, 0.22, 0.37, 0.45),
        ("logreg", "ks", "pair means", 0.99, 0.001, 0.99, 0.99, 0.99, 0.99),
        ("rf", "composite", "pair means", 0.99, 0.001, 0.99, 0.99, 0.99, 0.99),
    ]
    columns = ["classifier", "metric", "effect_on", "power_pooled", "power_pooled_se", "size_pooled"]
    columns += ["size_pooled_unadjusted", "power_within", "power_within_unadjusted"]
    return pd.DataFrame(rows, columns=columns).assign(rho=0.30, bh_family=family)


def _reliability():
    rows = [("logreg", "delta_auc", "pooled", 0.26, 0.1, 0.4), ("rf", "delta_auc", "pooled", 0.05, -0.1, 0.2)]
    return pd.DataFrame(rows, columns=["classifier", "quantity", "group", "reliability", "ci_low", "ci_high"])


def test_power_answer_quotes_size_unadjusted_power_and_the_bh_family():
    text = answers.answer_power(_power(), _reliability())
    # The composite's logistic-regression rows, numbers as set above.
    assert (
        "for ρ = 0.30 between the observed pair means, 0.83 (± 0.01) pooled against a size of 0.13 at ρ = 0 "
        "(0.22 unadjusted) and 0.37 within one generator (0.45 unadjusted)" in text
    )
    assert (
        "for ρ = 0.30 between true values, 0.41 (± 0.02) pooled" in text and "0.12 within one generator (0.16" in text
    )
    assert "(BH over the score's 4 tests, pooled and 3 generators; analysis 1 adjusts over 24 = 6 scores x 4" in text
    assert "reliability of a pair's mean ΔAUC is 0.26 [0.10, 0.40]" in text and "0.99" not in text


def test_power_answer_names_the_columns_an_older_table_lacks():
    old = _power().drop(columns=["size_pooled", "size_pooled_unadjusted", "bh_family"])
    text = answers.answer_power(old, _reliability())
    assert text.startswith("Not answered") and "bh_family, size_pooled, size_pooled_unadjusted" in text
    assert "notebook 07" in text


def _curve_table():
    # Four specifications by hand: the headline appears in one (logreg at ratio 4), so 1 of 4 = 25 %.
    return pd.DataFrame(
        {
            "specification": ["logreg_r1_s0.1", "logreg_r4_s0.1", "rf_r1_s0.1", "rf_r4_s0.1"],
            "ratio": [1.0, 4.0, 1.0, 4.0],
            "classifier": ["logreg", "logreg", "rf", "rf"],
            "severity": [0.1] * 4,
            "rho": [-0.05, 0.31, 0.02, -0.10],
            "ci_low": [-0.2] * 4,
            "ci_high": [0.1, 0.52, 0.2, 0.1],
            "q_value": [0.9, 0.01, 0.9, 0.9],
            "appears": [False, True, False, False],
        }
    )


def test_answer_curve_states_the_verdict_where_the_headline_appears_and_the_joint_null():
    joint = pd.DataFrame(
        [
            {
                "observed_median_rho": -0.015,
                "p_median": 0.41,
                "observed_count": 1,
                "p_count": 0.046,
                "n_permutations": 1000,
            }
        ]
    )
    text = answers.answer_curve(_curve_table(), joint)
    # The pre-registered rule as radlib.analysis.curve applies it (docs/protocol.md: |ρ| ≥ 0.20, 4 of 5 metrics).
    assert "|ρ| ≥ 0.20, at least 4 of the 5 metrics" in text and "robust when under 5%" in text
    # By hand: 1 appearance of 4 specifications = 25 %, not below 5 %: not robust; carried by ratio 4
    # (1 of 2) and logreg (1 of 2), and severity 0.1 (1 of 4); ρ from -0.10 to +0.31.
    assert "appears in 1 of 4 pre-registered specifications (25%" in text and "**not robust**" in text
    assert "ratio 4.0 (1 of 2)" in text and "classifier logreg (1 of 2)" in text and "severity 0.1 (1 of 4)" in text
    assert (
        "from −0.10 to +0.31 over the curve, median −0.01" in text
        or "from -0.10 to +0.31 over the curve, median -0.01" in text
    )
    assert "p = 0.41" in text and "1000 permutations" in text
    # The specifications with a composite q < 0.05 are named with their ρ and CI, then the joint test.
    assert (
        "1 specifications have a composite q < 0.05: logreg_r4_s0.1 ρ = +0.31 [-0.20, +0.52] "
        "(joint permutation test p = 0.046; 1000 permutations)" in text
    )
    robust = _curve_table().assign(appears=False)
    assert "**robust**" in answers.answer_curve(robust, joint) and "where it appears" not in answers.answer_curve(
        robust, joint
    )
    assert "notebook 08" in answers.answer_curve(None, joint)


def test_answer_predictors_names_those_that_inform_the_decision_against_the_comparators():
    names = [p.name for p in gain_predictors.PREDICTORS]
    decisions = pd.DataFrame(
        {
            "rule": [*names, "never augment", "oracle", "best source on average (leave one dataset out)"],
            "mean_delta_auc": [0.001] * len(names) + [0.0, 0.02, 0.004],
            "ci_low": [-0.002] * len(names) + [0.0, 0.01, -0.001],
            "ci_high": [0.004] * len(names) + [0.0, 0.03, 0.009],
            "informs": [False] * len(names) + [False, True, False],
        }
    )
    decisions.loc[1, ["mean_delta_auc", "ci_low", "ci_high", "informs"]] = [0.006, 0.002, 0.010, True]
    association = pd.DataFrame(
        {
            "label": ["a", "b", "a (smote)"],
            "group": [POOLED, POOLED, "smote"],
            "rho": [0.12, -0.40, 0.9],
            "ci_low": [0.02, -0.55, 0.7],
            "ci_high": [0.22, -0.2, 1.0],
            "q_value": [0.5, 0.003, 0.01],
            "tracks": [True, False, True],
        }
    )
    text = answers.answer_predictors(decisions, association)
    assert "1 of 2 track the gain (pooled ρ's CI above 0: a +0.12 [+0.02, +0.22])" in text
    assert text.endswith("only external validation tells is **not supported**.")
    none_informs = decisions.assign(informs=decisions["rule"] == "oracle")
    assert "0 of" in answers.answer_predictors(none_informs, association)
    assert answers.answer_predictors(none_informs, association).endswith(
        "**supported** (pre-registered: no predictor informs the decision)."
    )
    assert text.count("inform") == 1 and f"1 of {len(names)} predictors" in text
    label = gain_predictors.PREDICTORS[1].label
    assert f"CI above 0: {label})" in text and f"the best of them, {label}, gains +0.006 [+0.002, +0.010]" in text
    assert "oracle: +0.020 [+0.010, +0.030]" in text
    assert "most correlated with the gain over datasets and arms is b (ρ −0.40" in text or "is b (ρ -0.40" in text
    assert "notebook 09" in answers.answer_predictors(None, association)
    assert "notebook 09" in answers.answer_predictors(decisions[decisions["rule"] == "oracle"], association)
    assert "notebook 08" in answers.answer_curve(_curve_table(), pd.DataFrame())


def test_curve_by_level_table_renames_its_columns_and_signs_the_median():
    by_level = pd.DataFrame(
        [
            {
                "factor": "ratio",
                "level": "0.25",
                "specifications": 8,
                "appearances": 0,
                "median_rho": 0.0412,
                "significant": 1,
            },
            {
                "factor": "classifier",
                "level": "hgb",
                "specifications": 7,
                "appearances": 0,
                "median_rho": -0.027,
                "significant": 2,
            },
        ]
    )
    text = answers.curve_by_level_markdown(by_level)
    assert "| factor | level | specifications | headline appears | median composite ρ | composite q < 0.05 |" in text
    assert "| classifier | hgb | 7 | 0 | -0.03 | 2 |" in text and "| ratio | 0.25 | 8 | 0 | +0.04 | 1 |" in text
    assert answers.curve_by_level_markdown(None) is None


def test_predictors_table_joins_association_and_decision_and_lists_the_comparators(tmp_path):
    """Question 6's table: a predictor's pooled association row beside its decision row; comparators
    have decision columns only. Expected cells are the inputs formatted by hand."""
    decisions = pd.DataFrame(
        {
            "rule": ["tstr_auc_logreg", "never augment", "oracle"],
            "mean_delta_auc": [0.0042, 0.0, 0.021],
            "ci_low": [0.0011, 0.0, 0.012],
            "ci_high": [0.0075, 0.0, 0.03],
            "improved": [20, 0, 30],
            "harmed": [9, 0, 0],
            "informs": [True, False, True],
        }
    )
    association = pd.DataFrame(
        {
            "predictor": ["tstr_auc_logreg", "tstr_auc_logreg"],
            "label": ["TSTR AUC", "TSTR AUC (smote)"],
            "group": [POOLED, "smote"],
            "rho": [0.214, 0.9],
            "ci_low": [0.031, 0.5],
            "ci_high": [0.38, 1.0],
            "q_value": [0.0004, 0.2],
            "roc_auc": [0.61, None],
            "rho_disattenuated": [0.43, None],
            "tracks": [True, False],
        }
    )
    lines = answers.predictors_markdown(decisions, association).splitlines()
    assert lines[0].startswith("| predictor or rule | pooled ρ [95 % CI] | q | ROC AUC (ΔAUC > 0) |")
    assert (
        lines[2]
        == "| TSTR AUC | +0.21 [+0.03, +0.38] | < 0.001 | 0.61 | +0.43 | yes | +0.004 [+0.001, +0.007] | 20 / 9 | yes |"
    )
    assert lines[3] == "| never augment | — | — | — | — | — | +0.000 [+0.000, +0.000] | 0 / 0 | no |"
    assert lines[4].startswith("| oracle | — |") and len(lines) == 5
    assert answers.predictors_markdown(None, association) is None
    _write_summary_without_analyses(tmp_path)
    decisions.to_csv(tmp_path / "predictors_decisions.csv", index=False)
    association.to_csv(tmp_path / "predictors_association.csv", index=False)
    answers.write_answers(tmp_path)
    assert "## What predicts the gain (question 6)\n\n" + "\n".join(lines) in (tmp_path / "summary.md").read_text()
