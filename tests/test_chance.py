"""Tests of radlib.chance: chance tests, the cached chance table and the sensitivity subset.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from radlib import chance


def test_chance_test_separates_signal_from_noise():
    rng = np.random.default_rng(6)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 8))
    X[:, 0] += 2.5 * y
    X[3, 2] = np.nan  # imputed inside the pipeline
    params = {"sensitivity": {"permutations": 39, "alpha": 0.05, "cv_folds": 3}, "features": {"k": 4}}
    signal = chance.chance_test(X, y, params, seed=1)
    # With 39 permutations the smallest p is 1/40 = 0.025 (sklearn's (C + 1)/(n + 1)).
    assert signal["p_value"] == pytest.approx(1 / 40) and signal["significant"] and signal["auc"] > 0.9
    noise = chance.chance_test(rng.normal(size=(60, 8)), y, params["sensitivity"], seed=1)
    assert not noise["significant"]
    table = chance.assess_chance({"signal": (X, y)}, params, seed=1)
    assert table.loc[0, "dataset"] == "signal" and table.loc[0, "significant"]


def test_chance_test_reads_the_profile():
    from radlib.config import load_config

    config = load_config("smoke")
    rng = np.random.default_rng(8)
    y = np.repeat([0, 1], 20)
    result = chance.chance_test(rng.normal(size=(40, 5)), y, config, seed=0)
    assert result["n_permutations"] == config["sensitivity"]["permutations"]
    assert result["cv_folds"] == config["sensitivity"]["cv_folds"]


# --- the cached chance table ----------------------------------------------------------------


@dataclass
class FakeDataset:
    """What chance_table reads of a dataset besides the data: its name and content fingerprint."""

    name: str
    fingerprint: str


@pytest.fixture
def counted_chance(monkeypatch):
    """assess_chance replaced by a recorder: A significant, B not; returns the list of calls."""
    calls = []

    def fake_assess(datasets, config, seed, n_jobs=1):
        names = [d.name for d in datasets]
        calls.append((seed, names))
        return pd.DataFrame({"dataset": names, "auc": 0.8, "p_value": 0.5, "significant": [n == "A" for n in names]})

    monkeypatch.setattr(chance, "assess_chance", fake_assess)
    return calls


def test_chance_table_is_cached_per_configuration(offline_config, monkeypatch, counted_chance):
    loaded = ([FakeDataset("A", "f1"), FakeDataset("B", "f2")], {"C": "missing"})
    monkeypatch.setattr(chance, "load_datasets", lambda config: loaded)
    table = chance.chance_table(offline_config)
    assert counted_chance == [(offline_config["base_seed"], ["A", "B"])] and table.attrs["skipped"] == {"C": "missing"}
    path = offline_config.path("interim") / chance.CHANCE_FILE
    assert path.exists() and [p.name for p in path.parent.iterdir()] == [chance.CHANCE_FILE]  # no partial file left
    again = chance.chance_table(offline_config)
    assert len(counted_chance) == 1 and again.attrs["cached"]
    assert chance.sensitivity_subset(again) == ["A"]
    assert list(again["dataset_fingerprint"]) == ["f1", "f2"] and (again["config_hash"] == offline_config.hash).all()
    changed = offline_config.with_overrides({"sensitivity.alpha": 0.01})  # another configuration hash
    chance.chance_table(changed)
    assert len(counted_chance) == 2
    chance.chance_table(changed, refresh=True)
    assert len(counted_chance) == 3


def test_chance_table_is_kept_when_only_settings_it_does_not_read_change(offline_config, monkeypatch, counted_chance):
    # The chance tests read the datasets, base seed, features, sensitivity and logreg settings alone
    # (chance.chance_key): a new generator setting, shift or metric must not recompute them (the
    # configuration hash changes and, keyed by it, the table was recomputed: 52 min for the full profile).
    monkeypatch.setattr(chance, "load_datasets", lambda config: ([FakeDataset("A", "f1")], {}))
    chance.chance_table(offline_config)
    changed = offline_config.with_overrides({"shift.severity": 0.3, "classifiers.rf.n_estimators": 7})
    assert changed.hash != offline_config.hash
    assert chance.chance_table(changed).attrs["cached"] and len(counted_chance) == 1
    assert chance.chance_key(changed) == chance.chance_key(offline_config)
    for setting, value in [
        ("features.k", 3),
        ("classifiers.logreg.C", 0.5),
        ("base_seed", 1),
        ("sensitivity.cv_folds", 3),
    ]:
        assert chance.chance_key(offline_config.with_overrides({setting: value})) != chance.chance_key(offline_config)


def test_committed_chance_table_belongs_to_the_full_profile():
    # make check-regeneration reruns notebooks 04-05 of the full profile on the committed tables: the
    # committed chance table must be the current full profile's, or the rerun recomputes it from raw data.
    from radlib.config import load_config

    full = load_config("full")
    committed = pd.read_parquet(full.path("tables") / chance.CHANCE_FILE)
    assert (committed["chance_key"] == chance.chance_key(full)).all()


def test_chance_table_of_given_datasets_is_recomputed_when_they_change(offline_config, counted_chance):
    first = [FakeDataset("A", "f1"), FakeDataset("B", "f2")]
    chance.chance_table(offline_config, first, n_jobs=1)
    assert chance.chance_table(offline_config, [FakeDataset("A", "f1"), FakeDataset("B", "f2")]).attrs["cached"]
    assert len(counted_chance) == 1
    chance.chance_table(offline_config, [FakeDataset("A", "f1"), FakeDataset("B", "edited")])  # same name, new content
    chance.chance_table(offline_config, [FakeDataset("A", "f1")])  # fewer datasets
    assert [names for _, names in counted_chance] == [["A", "B"], ["A", "B"], ["A"]]


def test_chance_table_on_a_real_dataset(mirror_config):
    config = mirror_config.with_overrides({"datasets": ["Ahn2021"], "sensitivity.permutations": 10})
    table = chance.chance_table(config, n_jobs=1)
    assert list(table["dataset"]) == ["Ahn2021"] and (table["config_hash"] == config.hash).all()
    assert table.loc[0, "n_permutations"] == 10 and 0 < table.loc[0, "p_value"] <= 1
    from radlib.data import load_datasets

    datasets = load_datasets(config)[0]
    direct = chance.assess_chance(datasets, config, config["base_seed"])
    pd.testing.assert_frame_equal(table.drop(columns=["dataset_fingerprint", "config_hash", "chance_key"]), direct)
    assert table.loc[0, "dataset_fingerprint"] == datasets[0].fingerprint
