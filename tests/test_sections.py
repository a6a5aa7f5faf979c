"""Tests of radlib.sections.read_section: the three forms a stage may be given."""

from __future__ import annotations

import pytest

from radlib.config import load_config
from radlib.sections import read_section


def test_config_params_and_section_give_the_same_mapping():
    config = load_config("smoke")
    keys = ("strategy", "folds")
    from_config = read_section(config, "shift", keys)
    assert from_config == config.params["shift"]
    assert read_section(config.params, "shift", keys) == from_config
    assert read_section(config.params["shift"], "shift", keys) == from_config


def test_missing_keys_are_named():
    with pytest.raises(KeyError, match=r"profile section 'shift' lacks folds, severity; it needs strategy, folds"):
        read_section({"strategy": "site"}, "shift", ("strategy", "folds", "severity"))
