"""Tests of radlib.generators: sample quality on a known distribution, the interface contract,
SMOTE's small-class fallback, the divergence guard, the registry and the ctgan peers.

The known distribution and the quality check are in ``generator_checks.py``; the batched
training of several folds and its snapshots are tested in ``test_generators_batched.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import DEEP, N_SYNTH, TINY, X_TRAIN, Y_TRAIN, P, check_synthetic

from radlib import generators
from radlib.config import load_config
from radlib.generators import Generator, GeneratorError


class NoiseGenerator(Generator):
    """Broken on purpose: standard normal noise, whatever the data and the label."""

    name = "noise"

    def _fit(self, X, y, seed):
        pass

    def _sample_class(self, label, n, seed):
        return np.random.default_rng(seed).standard_normal((n, self.n_features_))


class LabelBlindGenerator(Generator):
    """Broken on purpose: resamples real rows of either class, whatever label is asked for."""

    name = "label_blind"

    def _fit(self, X, y, seed):
        self.X_ = X

    def _sample_class(self, label, n, seed):
        return self.X_[np.random.default_rng(seed).integers(0, len(self.X_), n)]


@pytest.fixture(scope="module")
def deep_samples():
    """Each deep generator at its default budget, fitted once on the known training set."""
    return {name: generators.make(name).fit(X_TRAIN, Y_TRAIN, seed=7).sample(N_SYNTH) for name in DEEP}


# --- Quality on the known distribution ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", DEEP)
def test_deep_generator_reproduces_known_distribution(deep_samples, name):
    report = check_synthetic(*deep_samples[name])
    assert not report["failures"], f"{name}: {report['failures']} ({report})"


@pytest.mark.parametrize("broken", [NoiseGenerator, LabelBlindGenerator])
def test_quality_check_fails_for_broken_generators(broken):
    report = check_synthetic(*broken().fit(X_TRAIN, Y_TRAIN, seed=0).sample(N_SYNTH))
    assert any("mean" in failure for failure in report["failures"]), report
    if broken is NoiseGenerator:
        assert any("covariance" in failure for failure in report["failures"]), report
        assert any("KS" in failure for failure in report["failures"]), report
    else:
        assert any("TSTR" in failure for failure in report["failures"]), report


@pytest.mark.slow
@pytest.mark.parametrize("name", DEEP)
def test_samples_follow_the_requested_label(deep_samples, name):
    X_synth, y_synth = deep_samples[name]
    real_means = [X_TRAIN[Y_TRAIN == c].mean(axis=0) for c in (0, 1)]
    for c in (0, 1):
        synth_mean = X_synth[y_synth == c].mean(axis=0)
        distances = [np.linalg.norm(synth_mean - m) for m in real_means]
        assert distances[c] < distances[1 - c] / 3, f"{name} class {c}: distances to class means {distances}"


# --- The interface contract -----------------------------------------------------------------

FAST = ["wgan_gp", "cvae", "tabddpm", "smote"]


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("counts", [{0: 7, 1: 3}, {0: 0, 1: 5}, {0: 4, 1: 0}, {0: 0, 1: 0}])
def test_exact_counts(name, counts):
    model = generators.make(name, **TINY[name]).fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    X_synth, y_synth = model.sample(counts)
    assert X_synth.shape == (sum(counts.values()), P)
    assert {c: int(np.sum(y_synth == c)) for c in (0, 1)} == counts
    assert np.all(np.isfinite(X_synth))


@pytest.mark.parametrize("name", FAST)
def test_same_seed_same_samples_different_seed_different(name):
    def run(seed):
        return generators.make(name, **TINY[name]).fit(X_TRAIN[::4], Y_TRAIN[::4], seed=seed).sample({0: 6, 1: 6})

    first, again, other = run(3), run(3), run(4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0])


def test_sample_is_a_pure_function_of_the_fitted_model():
    model = generators.make("cvae", **TINY["cvae"]).fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    first, _ = model.sample({0: 5, 1: 5})
    np.testing.assert_array_equal(first, model.sample({0: 5, 1: 5})[0])
    # Each class has its own stream: class 1's rows do not depend on class 0's count.
    np.testing.assert_array_equal(first[5:], model.sample({0: 0, 1: 5})[0])
    assert not np.allclose(first, model.sample({0: 5, 1: 5}, seed=99)[0])


def test_fit_leaves_global_random_state_and_threads_alone():
    import torch

    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    generators.make("wgan_gp", **TINY["wgan_gp"], torch_threads=1).fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.where(np.eye(4, 3) > 0, np.nan, 1.0), [0, 1, 0, 1], "NaN"),
        (np.ones((4, 3)), [0, 1, 2, 1], "0/1"),
        (np.ones((4, 3)), [0, 0, 0, 0], "class 1 has no rows"),
        (np.ones((4, 3)), [0, 1, 0], "one label per row"),
        (np.ones(4), [0, 1, 0, 1], "2-D"),
    ],
)
def test_invalid_training_data_is_a_clear_error(X, y, message):
    with pytest.raises(GeneratorError, match=message):
        generators.make("smote").fit(X, y, seed=0)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({0: -1, 1: 2}, "non-negative"),
        ({0: 1.5, 1: 2}, "non-negative integer"),
        ({0: 1, 2: 2}, "unknown labels"),
        ([3, 4], "mapping"),
    ],
)
def test_invalid_counts_are_a_clear_error(counts, message):
    model = generators.make("smote").fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    with pytest.raises(GeneratorError, match=message):
        model.sample(counts)


def test_sample_before_fit_is_a_clear_error():
    with pytest.raises(GeneratorError, match="call fit before sample"):
        generators.make("cvae").sample({0: 1, 1: 1})


# --- SMOTE ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_small", [1, 2, 3])
def test_smote_small_class_fallback(n_small):
    X = np.vstack([X_TRAIN[Y_TRAIN == 0][:30], X_TRAIN[Y_TRAIN == 1][:n_small]])
    y = np.repeat([0, 1], [30, n_small])
    X_synth, y_synth = generators.make("smote", k_neighbors=5).fit(X, y, seed=0).sample({0: 10, 1: 12})
    assert np.sum(y_synth == 1) == 12
    small = X_synth[y_synth == 1]
    real = X[y == 1]
    if n_small == 1:
        # Jitter of 1% of each feature's SD around the only row.
        assert np.all(np.abs(small - real[0]) < 0.1 * X.std(axis=0))
    else:
        # Every SMOTE row lies inside the box spanned by the class's real rows.
        assert np.all((small >= real.min(axis=0) - 1e-9) & (small <= real.max(axis=0) + 1e-9))
    assert not any(np.any(np.all(np.isclose(small, row), axis=1)) for row in real), "SMOTE returned a real row"


# --- Divergence guard -----------------------------------------------------------------------


@pytest.mark.parametrize("name", DEEP)
def test_divergent_fit_raises(name):
    # A learning rate of 1e12 blows the weights up within a few steps.
    model = generators.make(name, **{**TINY[name], "steps": 20, "lr": 1e12})
    with pytest.raises(GeneratorError, match=rf"{name} \(fit\): training diverged"):
        model.fit(X_TRAIN, Y_TRAIN, seed=0)


def test_non_finite_samples_raise(monkeypatch):
    import torch

    model = generators.make("cvae", **TINY["cvae"]).fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    monkeypatch.setattr(
        type(model), "_generate", lambda self, weights, labels, streams: torch.full((1, labels.shape[1], P), torch.nan)
    )
    with pytest.raises(GeneratorError, match=r"cvae \(sample\)"):
        model.sample({0: 3, 1: 3})


def test_huge_data_values_raise_instead_of_returning_nan():
    # Values beyond float32's range (3.4e38) become infinite in the models' float32 tensors;
    # without its quantile transform WGAN-GP sees them raw, and the guard must stop the fit.
    X = X_TRAIN * 1e38
    with pytest.raises(GeneratorError, match="wgan_gp"):
        generators.make("wgan_gp", steps=5, quantile_transform=False).fit(X, Y_TRAIN, seed=0)


# --- Registry and configuration -------------------------------------------------------------


def test_available_lists_the_built_in_generators():
    assert set(generators.available()) >= {"wgan_gp", "cvae", "tabddpm", "smote", "ctgan", "tvae"}


def test_make_unknown_name_lists_the_available_ones():
    with pytest.raises(GeneratorError, match="unknown generator 'gan'.*wgan_gp, cvae, tabddpm"):
        generators.make("gan")


def test_make_unknown_parameter_is_a_clear_error():
    with pytest.raises(GeneratorError, match="unknown parameter.*stepz.*accepted: steps"):
        generators.make("cvae", stepz=3)


def test_register_a_users_generator(monkeypatch):
    monkeypatch.setattr(generators, "_REGISTRY", dict(generators._REGISTRY))

    class MeanGenerator(Generator):
        """Returns each class's mean."""

        def __init__(self, *, scale: float = 1.0):
            self.scale = scale

        def _fit(self, X, y, seed):
            self.means_ = {c: X[y == c].mean(axis=0) for c in (0, 1)}

        def _sample_class(self, label, n, seed):
            return np.tile(self.scale * self.means_[label], (n, 1))

    generators.register("class_mean", MeanGenerator)
    assert "class_mean" in generators.available()
    config = load_config("smoke", {"synthesis.params": {"class_mean": {"scale": 2.0}}})
    model = generators.from_config("class_mean", config)
    assert model.scale == 2.0 and model.name == "class_mean"
    X_synth, y_synth = model.fit(X_TRAIN, Y_TRAIN, seed=0).sample({0: 2, 1: 3})
    np.testing.assert_allclose(X_synth[-1], 2 * X_TRAIN[Y_TRAIN == 1].mean(axis=0))
    with pytest.raises(GeneratorError, match="already registered"):
        generators.register("class_mean", MeanGenerator)
    with pytest.raises(GeneratorError, match="subclass"):
        generators.register("not_a_generator", dict)


def test_profile_defaults_equal_constructor_defaults():
    # defaults.yaml documents every budget; the classes must not disagree with it.
    params = load_config("full")["synthesis"]["params"]
    for name in ("wgan_gp", "cvae", "tabddpm", "smote", "ctgan", "tvae"):
        defaults = generators.default_params(name)
        runtime = {key: defaults.pop(key) for key in ("device", "torch_threads") if key in defaults}
        assert params[name] == defaults, name
        assert runtime in ({}, {"device": "cpu", "torch_threads": 1}), name


def test_ctgan_defaults_are_ctgans_own():
    import inspect

    from ctgan import CTGAN, TVAE

    for name, cls in (("ctgan", CTGAN), ("tvae", TVAE)):
        own = inspect.signature(cls).parameters
        for key in ("epochs", "batch_size"):
            assert generators.default_params(name)[key] == own[key].default


def test_from_config_takes_the_profile_settings():
    config = load_config("full", {"synthesis.params": {"cvae": {"steps": 17}}, "synthesis.torch_threads": 2})
    model = generators.from_config("cvae", config)
    assert (model.steps, model.torch_threads, model.device) == (17, 2, "cpu")
    assert generators.make("cvae", config, steps=3).steps == 3


def test_cuda_falls_back_to_cpu_with_a_warning(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = generators.make("cvae", **TINY["cvae"], device="cuda")
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        model.fit(X_TRAIN[::4], Y_TRAIN[::4], seed=0)
    assert model.device_.type == "cpu"


# --- ctgan peers (slow models: one tiny fit each) ---------------------------------------------


@pytest.mark.parametrize("name", ["ctgan", "tvae"])
def test_ctgan_peers_exact_counts_and_determinism(name):
    X, y = X_TRAIN[::4, :4], Y_TRAIN[::4]
    counts = {0: 6, 1: 9}
    first = generators.make(name, **TINY[name]).fit(X, y, seed=0).sample(counts)
    again = generators.make(name, **TINY[name]).fit(X, y, seed=0).sample(counts)
    assert {c: int(np.sum(first[1] == c)) for c in (0, 1)} == counts
    assert first[0].shape == (15, 4)
    np.testing.assert_array_equal(first[0], again[0])
