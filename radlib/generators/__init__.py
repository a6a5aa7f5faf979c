"""Synthetic-data generators behind one seeded interface, and their registry.

Every generator is fitted on real rows and samples exact per-class counts::

    from radlib import generators
    model = generators.from_config("tabddpm", config)   # the profile's parameters
    model.fit(X, y, seed=config.seed("Ahn2021", 0, "tabddpm"))
    X_synth, y_synth = model.sample({0: 60, 1: 40})

The study fits one model per external site-fold of a repetition (docs/protocol.md, step 2)
with :meth:`Generator.fit_folds`, which also returns snapshots taken along the training
(``synthesis.snapshots``; docs/protocol.md, step 4)::

    fitted = model.fit_folds(folds, seeds, snapshots=config["synthesis"]["snapshots"])
    fitted[k][0.0625].sample(...)   # fold k's model after 1/16 of its budget; [1.0]: fully trained

WGAN-GP, CVAE and TabDDPM train the K fold-models as one batched network
(:mod:`radlib.generators.neural`); the others fit the folds one after another.

Built in (see each module's docstring for the design and how its default budget was chosen):

========== ============================================== ==============================
name       model                                          module
========== ============================================== ==============================
wgan_gp    class-conditional WGAN-GP                      :mod:`radlib.generators.wgan_gp`
cvae       conditional VAE                                :mod:`radlib.generators.cvae`
tabddpm    TabDDPM (quantile transform + diffusion)       :mod:`radlib.generators.tabddpm`
smote      imbalanced-learn's SMOTE as an augmenter       :mod:`radlib.generators.smote`
ctgan      ctgan.CTGAN, label as a discrete column        :mod:`radlib.generators.ctgan_peers`
tvae       ctgan.TVAE, label as a discrete column         :mod:`radlib.generators.ctgan_peers`
========== ============================================== ==============================

A user's own generator, a subclass of :class:`Generator`, joins with :func:`register`
without editing radlib; its parameters can then live in the profile under
``synthesis.params.<name>``.

How the default budgets were chosen
-----------------------------------
The grid of v1 fitted 43 datasets x 10 repetitions x 3 generators on 2 cores in at most
an hour, so each deep generator had to fit ~200 rows x 32 features in about 3 s on one
thread, at most half the time of ctgan's CTGAN, with samples at least as good. Each
module's docstring gives the sweep behind its defaults, measured with v1's code (one
model at a time) on one torch thread as:

(a) the fit time on 200 rows x 32 features;
(b) the known two-class distribution of ``tests/generator_checks.py`` (16 correlated
    Gaussian features, 400 training rows): class-mean and covariance errors, mean KS,
    TSTR vs TRTR AUC (0.837 there);
(c) three radMLBench datasets (Hosny2018A, WORC-Lipo, Granata2024; 3 stratified 70/30
    splits each, k=32 features): mean KS against the training rows and TSTR AUC on the
    test rows (TRTR 0.713). On (c) ctgan's CTGAN at its defaults took 14.6 s with KS
    0.307 and TSTR 0.627; TVAE 3.6 s, KS 0.208, TSTR 0.680.

``benchmarks/bench_generators.py`` measures the final defaults side by side, and the
batched fits of K = 5 folds against one fit (``benchmarks/results/generators.md``).
"""

from __future__ import annotations

import inspect

from radlib.config import Config
from radlib.generators.base import Generator, GeneratorError
from radlib.generators.ctgan_peers import CTGANPeer, TVAEPeer
from radlib.generators.cvae import CVAE
from radlib.generators.smote import SMOTEAugmenter
from radlib.generators.tabddpm import TabDDPM
from radlib.generators.wgan_gp import WGANGP

__all__ = [
    "Generator",
    "GeneratorError",
    "available",
    "generator_class",
    "default_params",
    "from_config",
    "make",
    "register",
]

_REGISTRY: dict[str, type[Generator]] = {
    "wgan_gp": WGANGP,
    "cvae": CVAE,
    "tabddpm": TabDDPM,
    "smote": SMOTEAugmenter,
    "ctgan": CTGANPeer,
    "tvae": TVAEPeer,
}

# Run-time settings of the profile's `synthesis` section, passed to every generator that takes them.
_RUNTIME_SETTINGS = ("device", "torch_threads")


def available() -> list[str]:
    """Names of the registered generators, built-in ones first."""
    return list(_REGISTRY)


def register(name: str, cls: type[Generator], *, replace: bool = False) -> None:
    """Add a generator class to the registry under ``name``.

    Parameters
    ----------
    name : str
        Registry name (used by :func:`make`, the profile's ``synthesis.generators`` and
        ``synthesis.params``).
    cls : type
        A subclass of :class:`Generator`.
    replace : bool
        Allow replacing an existing entry, built-in ones included.

    Raises
    ------
    GeneratorError
        ``cls`` is not a :class:`Generator` subclass, or ``name`` is taken and
        ``replace`` is false.
    """
    if not isinstance(name, str) or not name:
        raise GeneratorError(f"a generator name must be a non-empty string, got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise GeneratorError(
            f"cannot register {cls!r} as '{name}': it must be a subclass of radlib.generators.Generator"
        )
    if name in _REGISTRY and not replace:
        raise GeneratorError(
            f"a generator named '{name}' is already registered ({_REGISTRY[name].__name__}); "
            "pass replace=True to replace it"
        )
    _REGISTRY[name] = cls


def generator_class(name: str) -> type[Generator]:
    """The class registered under ``name``; GeneratorError listing the available names otherwise."""
    if name not in _REGISTRY:
        raise GeneratorError(f"unknown generator '{name}'; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def default_params(name: str) -> dict:
    """The constructor defaults of a registered generator (what ``make(name)`` uses)."""
    parameters = inspect.signature(generator_class(name)).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def make(name: str, config: Config | None = None, **params) -> Generator:
    """Build a registered generator.

    Parameters
    ----------
    name : str
        One of :func:`available`.
    config : radlib.config.Config, optional
        Takes the profile's ``synthesis.params[name]`` and the run-time settings
        ``synthesis.device`` and ``synthesis.torch_threads``.
    **params
        Override both the profile's values and the constructor defaults.

    Returns
    -------
    Generator
        Unfitted; its ``name`` is the registry name.

    Raises
    ------
    GeneratorError
        Unknown generator or parameter name.
    """
    cls = generator_class(name)
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    settings: dict = {}
    if config is not None:
        synthesis = config["synthesis"]
        settings.update({key: synthesis[key] for key in _RUNTIME_SETTINGS if key in accepted})
        settings.update(synthesis["params"].get(name, {}))
    settings.update(params)
    unknown = sorted(set(settings) - set(accepted))
    if unknown and not takes_any:
        raise GeneratorError(
            f"unknown parameter(s) {', '.join(unknown)} for generator '{name}'; accepted: {', '.join(accepted)}"
        )
    generator = cls(**settings)
    generator.name = name
    return generator


def from_config(name: str, config: Config) -> Generator:
    """Build a generator with the parameters of a profile (:func:`make` with ``config``)."""
    return make(name, config)
