"""What predicts the gain: decision value by hand on 3 datasets, association against scipy, the positive control."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radlib.analysis.gain_predictors import (
    NO_AUGMENTATION,
    Predictor,
    associate_predictors,
    comparators,
    decision_value,
    predictor_control,
)

# Three datasets x four sources: the external ΔAUC and two predictors (hand-made).
DELTA = {
    "A": {"wgan_gp": 0.02, "cvae": -0.01, "tabddpm": 0.00, "smote": 0.05},
    "B": {"wgan_gp": -0.03, "cvae": -0.02, "tabddpm": -0.04, "smote": -0.01},
    "C": {"wgan_gp": 0.01, "cvae": 0.03, "tabddpm": -0.02, "smote": 0.00},
}
FIDELITY = {  # picks the best-scored source, always augments
    "A": {"wgan_gp": -0.1, "cvae": -0.3, "tabddpm": -0.2, "smote": -0.4},  # wgan_gp
    "B": {"wgan_gp": -0.2, "cvae": -0.1, "tabddpm": -0.3, "smote": -0.2},  # cvae
    "C": {"wgan_gp": -0.5, "cvae": -0.2, "tabddpm": -0.2, "smote": -0.9},  # tie cvae/tabddpm -> cvae (order)
}
GAIN = {  # picks the largest predicted gain if positive
    "A": {"wgan_gp": 0.01, "cvae": 0.00, "tabddpm": -0.01, "smote": 0.04},  # smote
    "B": {"wgan_gp": -0.01, "cvae": -0.02, "tabddpm": -0.01, "smote": -0.03},  # none
    "C": {"wgan_gp": 0.02, "cvae": 0.01, "tabddpm": 0.00, "smote": 0.00},  # wgan_gp
}


def _pairs():
    rows = [
        {"dataset": d, "arm": a, "delta_auc": DELTA[d][a], "fid": FIDELITY[d][a], "gain": GAIN[d][a]}
        for d in DELTA
        for a in DELTA[d]
    ]
    return pd.DataFrame(rows)


def test_decision_value_matches_a_hand_calculation():
    fidelity = decision_value(_pairs(), Predictor("fid", "fidelity", "fid"), n_boot=0)
    assert fidelity["choices"].tolist() == ["wgan_gp", "cvae", "cvae"]
    # Hand: A wgan_gp 0.02, B cvae -0.02, C cvae 0.03 -> mean 0.01; improved 2, harmed 1.
    assert fidelity["mean_delta_auc"] == pytest.approx((0.02 - 0.02 + 0.03) / 3)
    assert (fidelity["improved"], fidelity["harmed"], fidelity["augmented"]) == (2, 1, 3)
    gain = decision_value(_pairs(), Predictor("gain", "gain", "gain"), n_boot=0)
    assert gain["choices"].tolist() == ["smote", NO_AUGMENTATION, "wgan_gp"]
    # Hand: A smote 0.05, B none 0, C wgan_gp 0.01 -> mean 0.02.
    assert gain["mean_delta_auc"] == pytest.approx((0.05 + 0 + 0.01) / 3)
    assert (gain["improved"], gain["harmed"], gain["augmented"]) == (2, 0, 2)


def test_comparators_match_a_hand_calculation():
    table = comparators(_pairs(), n_boot=0).set_index("rule")["mean_delta_auc"]
    assert table["never augment"] == 0
    # Leave one out: without A the best mean over B, C is cvae's (0.005), so A gets cvae's -0.01; without B,
    # smote's 0.025, so B gets -0.01; without C, smote's 0.02, so C gets 0.00.
    assert table["best source on average (leave one dataset out)"] == pytest.approx((-0.01 - 0.01 + 0.00) / 3)
    # Random: the mean of the five options (no augmentation = 0) per dataset.
    random = np.mean([sum(DELTA[d].values()) / 5 for d in DELTA])
    assert table["random choice (expected)"] == pytest.approx(random)
    assert table["oracle"] == pytest.approx((0.05 + 0 + 0.03) / 3)


def test_the_ci_of_a_decision_is_a_dataset_bootstrap_of_its_outcomes():
    result = decision_value(_pairs(), Predictor("gain", "gain", "gain"), n_boot=4000, seed=1)
    outcomes = np.array([0.05, 0.0, 0.01])
    rng = np.random.default_rng(1)  # the same resamples, computed here
    means = outcomes[rng.integers(0, 3, size=(4000, 3))].mean(axis=1)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))


def test_the_pooled_association_is_scipys_spearman():
    pairs = _pairs().rename(columns={"fid": "wasserstein"})
    table = associate_predictors(pairs, predictors=[Predictor("wasserstein", "fidelity", "w")], n_boot=50)
    pooled = table[table["group"] == "pooled"].iloc[0]
    expected = stats.spearmanr(pairs["wasserstein"], pairs["delta_auc"])
    assert pooled["rho"] == pytest.approx(expected.statistic) and pooled["p_value"] == pytest.approx(expected.pvalue)
    assert set(table["group"]) == {"pooled", "wgan_gp", "cvae", "tabddpm", "smote"}


def _design(n_datasets=43, seed=0):
    """A pair table at roughly the full profile's design: 43 datasets x 4 sources, ΔAUC spread 0.02."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "dataset": f"D{i}",
            "arm": a,
            "delta_auc": rng.normal(0, 0.02),
            "delta_auc_rep_var": 0.01**2 * 10,
            "n_repetitions": 10,
        }
        for i in range(n_datasets)
        for a in ("wgan_gp", "cvae", "tabddpm", "smote")
    ]
    return pd.DataFrame(rows)


def test_the_positive_control_finds_a_planted_predictor_and_not_a_null_one():
    pairs = _design()
    useful = predictor_control(pairs, 0.8, replicates=30, n_boot=200, seed=1)
    null = predictor_control(pairs, 0.0, replicates=60, n_boot=200, seed=2)
    assert useful["found"] >= 0.9 and useful["informs"] >= 0.5
    # A null predictor's CI lies above 0 in about 2.5 % of replicates: at most 5 of 60 (binomial 99th pct).
    assert null["found"] <= 5 / 60


@pytest.mark.slow
def test_notebook_09_reads_an_internal_validation_grid_by_ratio(tmp_path):
    """Notebook 09's internal-validation path (`internal_profile`, the full study's `internal`) on the smoke
    grid that `make test` runs first: given the site grid's own records as the "internal" grid, the
    internal-validation ΔAUC is the external ΔAUC itself, so its pooled ρ is 1 and its choices are the
    oracle's (expected values by construction)."""
    import papermill

    from radlib.config import load_config
    from radlib.outputs import PREDICTORS_PREFIX, output_folders

    papermill.execute_notebook(
        "notebooks/09_what_predicts_the_gain.ipynb",
        tmp_path / "09.ipynb",
        parameters={"internal_profile": "smoke", "n_boot": 100, "replicates": 10, "control_n_boot": 20},
        progress_bar=False,
    )
    tables = output_folders(load_config("smoke"), publish=False).tables
    association = pd.read_csv(tables / f"{PREDICTORS_PREFIX}_association.csv")
    internal = association[(association["predictor"] == "internal_validation_delta_auc")]
    assert internal.set_index("group").loc["pooled", "rho"] == pytest.approx(1.0)
    decisions = pd.read_csv(tables / f"{PREDICTORS_PREFIX}_decisions.csv").set_index("rule")
    columns = ["mean_delta_auc", "improved", "harmed", "augmented"]
    assert decisions.loc["internal_validation_delta_auc", columns].tolist() == decisions.loc["oracle", columns].tolist()
