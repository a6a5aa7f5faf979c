"""Specifications: the pre-registered curve's set, names, validation, one synthesis for all."""

import pytest

from radlib.config import ConfigError, load_config
from radlib.specifications import specification_configs, specification_name, specification_overrides


@pytest.fixture
def curve(offline_config):
    """The smoke profile with the full profile's (pre-registered) curve."""
    return offline_config.with_overrides({"specifications": load_config("full")["specifications"]})


def test_the_curve_is_two_full_factorials_and_two_one_factor_sets(curve):
    overrides = specification_overrides(curve)
    assert list(overrides)[0] == "default" and overrides["default"] == {}
    names = set(overrides) - {"default"}
    # 5 ratios x 3 severities for each logistic regression; 1 + 4 + 2 for each tree model.
    assert len(names) == 2 * 15 + 2 * 7 == 44
    assert {specification_name("logreg_strong", r, s) for r in (0.25, 0.5, 1, 2, 4) for s in (0, 0.1, 0.3)} <= names
    assert "rf_r4_s0.1" in names and "hgb_r1_s0.3" in names and "rf_r4_s0.3" not in names
    # The predictors are computed for logreg at the profile's severity, at every ratio, and nowhere else.
    with_predictors = {n for n, o in overrides.items() if o.get("evaluation.predictor_classifiers")}
    assert with_predictors == {f"logreg_r{r:g}_s0.1" for r in (0.25, 0.5, 1, 2, 4)}


def test_every_specification_shares_the_synthesis(curve):
    configs = specification_configs(curve)
    assert {c.synthesis_hash for c in configs.values()} == {curve.synthesis_hash}
    assert len({c.hash for c in configs.values()}) == len(configs)
    assert configs["hgb_r2_s0.1"].evaluated_classifiers() == {"hgb": curve["classifiers"]["hgb"]}
    assert configs["default"].hash == curve.hash


def test_the_full_profile_evaluates_the_curve_and_none_is_the_default_alone(offline_config):
    assert len(specification_configs(load_config("full"))) == 45
    assert list(specification_configs(offline_config.with_overrides({"specifications.design": "none"}))) == ["default"]


def test_an_unknown_specification_names_the_known_ones(curve):
    with pytest.raises(ConfigError, match="unknown specification.*logreg_r9_s0.*has default, logreg_r0.25_s0"):
        specification_configs(curve, ["logreg_r9_s0"])


def test_a_ratio_above_the_stored_sample_is_refused(curve):
    with pytest.raises(ConfigError, match="exceeds 'synthesis.max_ratio'"):
        specification_configs(curve.with_overrides({"synthesis.max_ratio": 2.0}))
