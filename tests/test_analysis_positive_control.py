"""Tests of radlib.analysis.positive_control: records with a planted structure, and its recovery.

The planted structures are recovered by the study's own analyses (radlib.analysis.run_analyses)
at fixed seeds; the simulated records are checked against the variance components they were
built from (radlib.analysis.power.design_parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_records import make_records

from radlib import analysis, quality
from radlib.analysis import positive_control as C
from radlib.analysis.power import UnreachableCorrelation, design_parameters
from radlib.analysis.reliability import DELTA_AUC
from radlib.config import derive_seed
from radlib.records import COMPOSITE, valid_mask

GENERATORS = ("cvae", "tabddpm", "wgan_gp")


def component(mean, sigma2_pair, sigma2_repetition, sigma2_fold=0.0, dataset_share=0.5, error_share=0.3):
    """Variance components in the form of design_parameters, for a 10 x 5 design."""
    return {
        "generators": GENERATORS,
        "n_repetitions": 10.0,
        "n_folds": 5.0,
        "mean": mean,
        "sigma2_pair": sigma2_pair,
        "sigma2_repetition": sigma2_repetition,
        "sigma2_fold": sigma2_fold,
        "dataset_share": dataset_share,
        "error_share": error_share,
    }


def parameters(delta_pair=1e-4, delta_repetition=2e-3):
    """ΔAUC with reliability 1e-4 / (1e-4 + 2e-3 / 10 + 1e-3 / 50) = 0.31 by default; metrics about 0.9."""
    metrics = {
        m: component(-0.1 * (i + 1), 1e-3 * (i + 1), 1e-3 * (i + 1), dataset_share=0.8, error_share=0.1)
        for i, m in enumerate(quality.METRICS)
    }
    delta = component(-0.003, delta_pair, delta_repetition, sigma2_fold=1e-3, dataset_share=0.9, error_share=0.3)
    return {"classifier": "logreg", "auc_real": 0.7, DELTA_AUC: delta, **metrics}


def test_simulated_records_have_the_columns_and_design_of_real_records():
    records = C.simulate_records("null", parameters(), n_datasets=6, n_repetitions=3, n_folds=2, seed=0)
    assert len(records) == 6 * 3 * 2 * 4
    assert {"dataset", "repetition", "fold", "arm", "status", "undefined", *quality.METRICS} <= set(records.columns)
    assert valid_mask(records, "logreg").all() and not valid_mask(records, "rf").any()
    real = records[records["arm"] == "real"]
    assert (real["delta_auc_logreg"] == 0).all() and real[list(quality.METRICS)].isna().all().all()
    arms = records[records["arm"] != "real"]
    merged = arms.merge(real[["dataset", "repetition", "fold", "auc_logreg"]], on=["dataset", "repetition", "fold"])
    assert np.allclose(merged["auc_logreg_x"] - merged["auc_logreg_y"], merged["delta_auc_logreg"])
    pairs = analysis.pair_table(records, "logreg")
    assert len(pairs) == 18 and (pairs["n_valid"] == 6).all()
    again = C.simulate_records("null", parameters(), n_datasets=6, n_repetitions=3, n_folds=2, seed=0)
    pd.testing.assert_frame_equal(records, again)
    assert records.attrs == {"structure": "null", "rho": C.TARGET_RHO}


def test_simulated_records_reproduce_the_components_they_were_built_from():
    p = parameters()
    found = [design_parameters(C.simulate_records("null", p, seed=seed), DELTA_AUC, "logreg") for seed in range(4)]
    delta = p[DELTA_AUC]
    mean = {key: np.mean([f[key] for f in found]) for key in ("sigma2_fold", "sigma2_repetition", "sigma2_pair")}
    assert mean["sigma2_fold"] == pytest.approx(delta["sigma2_fold"], rel=0.05)
    assert mean["sigma2_repetition"] == pytest.approx(delta["sigma2_repetition"], rel=0.1)
    assert mean["sigma2_pair"] == pytest.approx(delta["sigma2_pair"], rel=0.5)
    assert np.mean([f["error_share"] for f in found]) == pytest.approx(0.3, abs=0.05)
    ks = design_parameters(C.simulate_records("null", p, seed=9), "ks", "logreg")
    assert ks["sigma2_repetition"] == pytest.approx(p["ks"]["sigma2_repetition"], rel=0.15)
    assert ks["mean"] == pytest.approx(p["ks"]["mean"], abs=0.01)


def test_between_only_is_recovered_as_an_ecological_fallacy():
    records = C.simulate_records("between_only", parameters(), rho=0.5, seed=1)
    found = C.recover_structure(records, n_boot=200, seed=1).set_index("metric")
    assert found["pooled_significant"].all() and (found["pooled_rho"] > 0.3).all()
    assert found["between_significant"].all() and (found["between_slope"] > 0).all()
    assert not found["within_slope_significant"].any()
    assert found.loc[COMPOSITE, "within_significant"] == 0


def test_within_only_is_recovered_within_generators():
    records = C.simulate_records("within_only", parameters(delta_pair=4e-4), rho=0.5, seed=2)
    found = C.recover_structure(records, n_boot=200, seed=2).set_index("metric")
    assert found["any_within_significant"].all()
    assert (found["within_rho"] > 0.3).all()
    assert found.loc[COMPOSITE, "within_slope_significant"]
    assert not found["between_significant"].any()


def test_null_and_planted_rates_over_replicates():
    # Small design, 8 replicates each: the null rejects at about alpha (bound: alpha + 3 binomial SEs,
    # 0.05 + 3 sqrt(0.05 * 0.95 / 8) = 0.28), between_only at about 1.
    table = C.recovery_table(
        parameters(),
        ("between_only", "null"),
        n_replicates=8,
        rho=0.6,
        n_datasets=20,
        n_repetitions=4,
        n_folds=2,
        n_boot=100,
        seed=3,
    )
    summary = C.summarize_recovery(table).set_index("structure")
    assert summary.loc["null", "n_replicates"] == 8
    for criterion in ("pooled_significant", "between_significant", "within_slope_significant"):
        assert summary.loc["null", criterion] <= 0.28
        assert 0 <= summary.loc["null", f"{criterion}_se"] < 0.2
    assert summary.loc["between_only", "pooled_significant"] >= 0.75
    assert summary.loc["between_only", "between_significant"] >= 0.75
    assert abs(summary.loc["null", "mean_pooled_rho"]) < 0.15
    per_metric = C.summarize_recovery(table, "ks")
    assert list(per_metric["structure"]) == ["between_only", "null"]


def test_each_replicate_bootstraps_from_a_seed_of_its_own(monkeypatch):
    # The records of replicate i come from derive_seed(seed, structure, i); the bootstrap must not
    # reuse that stream: it gets derive_seed(that seed, "bootstrap") (radlib.config.derive_seed).
    records_seeds, bootstrap_seeds = [], []
    simulate, recover = C.simulate_records, C.recover_structure

    def simulate_spy(*args, seed, **options):
        records_seeds.append(seed)
        return simulate(*args, seed=seed, **options)

    def recover_spy(records, classifier, *, seed, **options):
        bootstrap_seeds.append(seed)
        return recover(records, classifier, seed=seed, **options)

    monkeypatch.setattr(C, "simulate_records", simulate_spy)
    monkeypatch.setattr(C, "recover_structure", recover_spy)
    C.recovery_table(
        parameters(), ("null",), n_replicates=2, n_datasets=5, n_repetitions=2, n_folds=1, n_boot=5, seed=4
    )
    assert records_seeds == [derive_seed(4, "null", 0), derive_seed(4, "null", 1)]
    assert bootstrap_seeds == [derive_seed(s, "bootstrap") for s in records_seeds]
    assert not set(bootstrap_seeds) & set(records_seeds)


def test_recovery_table_is_the_same_from_two_processes():
    # Each replicate draws from seeds of its own, so running them in parallel changes nothing.
    design = dict(n_replicates=3, n_datasets=6, n_repetitions=2, n_folds=2, n_boot=5, seed=2)
    alone = C.recovery_table(parameters(), ("between_only", "null"), **design)
    parallel = C.recovery_table(parameters(), ("between_only", "null"), **design, n_jobs=2)
    assert list(alone["replicate"].drop_duplicates()) == [0, 1, 2]
    pd.testing.assert_frame_equal(alone, parallel)


def test_within_only_cannot_be_planted_beyond_the_attenuation_ceiling():
    weak = parameters(delta_pair=1e-5)  # ΔAUC reliability about 0.04: ceiling about 0.2
    with pytest.raises(UnreachableCorrelation, match="attenuation ceiling"):
        C.simulate_records("within_only", weak, rho=0.3)
    table = C.recovery_table(weak, ("within_only",), n_replicates=2, seed=0)
    assert len(table) == 1 and "attenuation ceiling" in table["note"].iloc[0]
    summary = C.summarize_recovery(table)
    assert summary["n_replicates"].iloc[0] == 0 and np.isnan(summary["pooled_significant"].iloc[0])


def test_control_parameters_from_records():
    records = make_records(n_datasets=8, n_reps=3)
    p = C.control_parameters(records, "logreg")
    assert p["classifier"] == "logreg" and p["auc_real"] == pytest.approx(0.7)
    assert set(quality.METRICS) | {DELTA_AUC} <= set(p)
    simulated = C.simulate_records("between_only", p, n_datasets=5, n_repetitions=2, n_folds=1, seed=0)
    assert set(simulated["arm"]) == {"real", *GENERATORS}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown structure"):
        C.simulate_records("mixed", parameters())
    with pytest.raises(ValueError, match="2 or more generators"):
        C.generator_positions(1)
    with pytest.raises(ValueError, match="unknown metrics"):
        C.control_parameters(make_records(n_datasets=5, n_reps=2), metrics=["fidelity"])
    positions = C.generator_positions(3)
    assert positions.mean() == pytest.approx(0) and positions.std() == pytest.approx(1)
