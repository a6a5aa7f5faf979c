"""Tests of radlib.analysis.within_between: the within-between decomposition (analysis 7).

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_records import SCENARIO_GENERATORS as GENERATORS
from synthetic_records import scenario_results, small_pairs

from radlib import analysis as A
from radlib.analysis import within_between


def test_within_between_slopes_match_numpy_lstsq():
    rng = np.random.default_rng(5)
    rows = [(f"D{i}", gen, rng.normal(), rng.uniform() + k) for i in range(10) for k, gen in enumerate(GENERATORS)]
    pairs = small_pairs(rows)
    table = A.decompose_within_between(pairs, ["wasserstein"], cov_type="nonrobust").iloc[0]
    q = -pairs["wasserstein"]
    z = (q - q.mean()) / q.std(ddof=1)
    between = z.groupby(pairs["arm"]).transform("mean")
    design = np.column_stack([np.ones(len(z)), between, z - between])
    coef, *_ = np.linalg.lstsq(design, pairs["delta_auc"], rcond=None)  # numpy
    assert table["between_slope"] == pytest.approx(coef[1])
    assert table["within_slope"] == pytest.approx(coef[2])
    clustered = A.decompose_within_between(pairs, ["wasserstein"], n_boot=100).iloc[0]
    assert clustered["within_slope"] == pytest.approx(coef[2])  # same point estimate
    assert clustered["cov_type"] == "cluster" and clustered["n_boot_used"] == 100
    # The bootstrap refit with every pair once reproduces lstsq; with counts 2, 0, 1, ... it
    # reproduces lstsq on the expanded table (standardisation and generator means recomputed).
    arm = pd.factorize(pairs["arm"])[0]
    ones = np.ones((1, len(pairs)))
    np.testing.assert_allclose(
        within_between.bootstrap_within_between(q.to_numpy(), pairs["delta_auc"].to_numpy(), arm, ones)[0], coef[1:]
    )
    counts = np.random.default_rng(0).integers(0, 3, len(pairs))
    qe, ye, ae = np.repeat(q, counts), np.repeat(pairs["delta_auc"], counts), np.repeat(pairs["arm"], counts)
    ze = (qe - qe.mean()) / qe.std(ddof=1)
    be = ze.groupby(ae.to_numpy()).transform("mean")
    coef_e, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(ze)), be, ze - be]), ye, rcond=None)
    np.testing.assert_allclose(
        within_between.bootstrap_within_between(
            q.to_numpy(), pairs["delta_auc"].to_numpy(), arm, counts[None, :].astype(float)
        )[0],
        coef_e[1:],
    )


def test_decomposition_separates_between_from_within():
    between_results = scenario_results("between")
    within_results = scenario_results("within")
    b = between_results["within_between"].query("metric in @A.METRICS")
    assert (b["between_p"] < 0.05).all() and (b["between_ci_low"] > 0).all()
    assert ((b["within_ci_low"] < 0) & (b["within_ci_high"] > 0)).all()
    w = within_results["within_between"].query("metric in @A.METRICS")
    assert (w["within_p"] < 0.05).all() and (w["within_ci_low"] > 0).all()
    assert ((w["between_ci_low"] < 0) & (w["between_ci_high"] > 0)).all()
