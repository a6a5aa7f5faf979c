"""The four answers: numbers taken from the tables, a missing table named, the summary rendered with them."""

import json

import pandas as pd

from radlib import answers, report
from radlib.analysis import power


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


def test_write_answers_renders_them_into_the_summary(tmp_path):
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
    (tmp_path / "summary.json").write_text(json.dumps(document))
    written = answers.write_answers(tmp_path)
    assert len(written["answers"]) == 4 and written["side_by_side"] is None  # no study tables here
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
