"""The specification curve: the pre-registered rule, a planted specification effect, the joint null's size."""

import numpy as np
import pandas as pd
import pytest
from synthetic_records import make_records

from radlib.analysis.association import correlate_quality
from radlib.analysis.curve import (
    analyse_specification,
    curve_table,
    headline_appears,
    joint_null,
    robustness,
    specification_pair_table,
)
from radlib.records import COMPOSITE, POOLED

N_BOOT = 200


def _null(records, seed):
    """The same records with ΔAUC replaced by noise: no link between quality and the gain."""
    rng = np.random.default_rng(seed)
    out = records.copy()
    synthetic = out["arm"] != "real"
    for classifier in ("logreg", "rf"):
        out.loc[synthetic, f"delta_auc_{classifier}"] = rng.normal(0, 0.02, synthetic.sum())
        out[f"auc_{classifier}"] = 0.7 + out[f"delta_auc_{classifier}"]
    return out


def _planted_curve():
    """Six specifications; the headline (a between-generator association) is planted where classifier = B."""
    specs, choices = {}, {}
    for i, (classifier, ratio) in enumerate([(c, r) for c in ("A", "B") for r in (0.5, 1.0, 2.0)]):
        records = make_records(n_datasets=30, n_reps=3, seed=i, smote=False)
        specs[f"{classifier}_r{ratio:g}"] = records if classifier == "B" else _null(records, seed=100 + i)
        choices[f"{classifier}_r{ratio:g}"] = {"ratio": ratio, "classifier": classifier, "severity": 0.1}
    return specs, choices


@pytest.fixture(scope="module")
def planted():
    specs, choices = _planted_curve()
    analyses = {name: analyse_specification(records, "logreg", n_boot=N_BOOT) for name, records in specs.items()}
    return specs, choices, analyses


def test_the_headline_planted_in_one_level_appears_there_and_nowhere_else(planted):
    _, choices, analyses = planted
    table = curve_table(analyses, choices)
    appeared = set(table.loc[table["appears"], "specification"])
    assert {"B_r0.5", "B_r1", "B_r2"} <= appeared
    # A null specification shows the headline by chance at about 6 % (|ρ| >= 0.2 at 90 pairs, with the
    # five metrics moving together), so at most one of the three null ones may (P(two or more) ≈ 1 %).
    assert len(appeared - {"B_r0.5", "B_r1", "B_r2"}) <= 1
    verdict = robustness(table)
    assert not verdict["robust"]
    levels = verdict["by_level"].set_index(["factor", "level"])["appearances"]
    assert levels[("classifier", "B")] == 3 and levels[("classifier", "A")] <= 1
    assert table.loc[table["classifier"] == "B", "rho"].min() > table.loc[table["classifier"] == "A", "rho"].max()


def test_levels_carry_the_median_composite_rho_and_the_significant_count():
    # By hand: classifier A holds ρ -0.1, 0.0, 0.3 (median 0.0) with one q < 0.05 (0.01); B holds 0.2
    # (median 0.2) with q 0.05, not below 0.05.
    table = pd.DataFrame(
        {
            "ratio": [1.0, 2.0, 4.0, 1.0],
            "classifier": ["A", "A", "A", "B"],
            "severity": [0.1] * 4,
            "rho": [-0.1, 0.0, 0.3, 0.2],
            "q_value": [0.5, 0.9, 0.01, 0.05],
            "appears": [False] * 4,
        }
    )
    levels = robustness(table)["by_level"].set_index(["factor", "level"])
    assert levels.loc[("classifier", "A"), "median_rho"] == 0.0 and levels.loc[("classifier", "B"), "median_rho"] == 0.2
    assert levels.loc[("classifier", "A"), "significant"] == 1 and levels.loc[("classifier", "B"), "significant"] == 0
    assert levels.loc[("severity", 0.1), "specifications"] == 4


def test_the_rule_needs_every_condition():
    """A hand-made analysis-1 table: each condition broken in turn removes the appearance."""
    rows = [
        {"group": POOLED, "metric": m, "rho": 0.4, "q_value": 0.01}
        for m in ("wasserstein", "ks", "mmd2", "corr_diff", "detection_auc", COMPOSITE)
    ]
    rows += [{"group": g, "metric": COMPOSITE, "rho": 0.1, "q_value": 0.6} for g in ("cvae", "tabddpm")]
    table = pd.DataFrame(rows)
    assert headline_appears(table)
    weak = table.assign(rho=np.where(table["metric"] == COMPOSITE, 0.15, table["rho"]))
    assert not headline_appears(weak)
    two_metrics_off = table.copy()
    two_metrics_off.loc[two_metrics_off["metric"].isin(["ks", "mmd2"]), "q_value"] = 0.2
    assert not headline_appears(two_metrics_off)
    one_off = table.copy()
    one_off.loc[one_off["metric"] == "ks", "q_value"] = 0.2
    assert headline_appears(one_off)
    opposite = table.copy()
    opposite.loc[opposite["metric"].isin(["ks", "mmd2"]), "rho"] = -0.4
    assert not headline_appears(opposite)
    within = table.copy()
    within.loc[within["group"] == "cvae", "q_value"] = 0.01
    assert not headline_appears(within)


def test_the_joint_nulls_statistics_match_correlate_quality(planted):
    specs, _, analyses = planted
    pairs = {name: specification_pair_table(records, "logreg") for name, records in specs.items()}
    result = joint_null(pairs, n_permutations=5, seed=0)
    observed = [
        correlate_quality(p, n_boot=0).query("group == @POOLED and metric == @COMPOSITE").iloc[0]
        for p in pairs.values()
    ]
    assert result["observed_median_rho"] == pytest.approx(np.median([row["rho"] for row in observed]), abs=1e-12)
    assert result["observed_count"] == sum(row["q_value"] < 0.05 for row in observed) >= 3


def test_the_joint_null_has_its_nominal_size_on_planted_nulls():
    """Null curves (no link anywhere, specifications sharing their quality scores): p_median < 0.05 in
    about 5 % of replicates; 40 replicates allow up to 6 rejections (binomial 95th percentile is 5)."""
    rejections = 0
    for replicate in range(40):
        base = make_records(n_datasets=20, n_reps=2, seed=1000 + replicate, smote=False)
        pairs = {f"s{k}": specification_pair_table(_null(base, seed=replicate * 10 + k), "logreg") for k in range(3)}
        rejections += joint_null(pairs, n_permutations=99, seed=replicate)["p_median"] < 0.05
    assert rejections <= 6
