"""Evaluation specifications: named overrides of the evaluation settings, evaluated from one synthesis.

A *specification* changes only what :func:`radlib.experiment.evaluate_task` computes from the
stored samples (:data:`radlib.config.EVALUATION_KEYS`: the synthetic ratio, the evaluated
classifiers, the acquisition shift's severity, the predictors, the metrics' settings), never
the samples, so every specification of a profile shares one synthesis hash and no generator is
refitted. The profile's own evaluation settings are the specification ``default``.

The profile's ``specifications`` section names the others by a design:

``none``
    the default alone;
``curve``
    Science v3's specification curve (docs/protocol.md, version-3 pre-registration): for
    each classifier of ``factorial_classifiers``, every ratio of ``ratios`` crossed with every
    severity of ``severities``; for each of ``one_factor_classifiers``, the default point
    (ratio 1, the profile's severity) and one factor at a time around it. Each curve
    specification evaluates one classifier on the study's arms; its name says its choices, e.g.
    ``logreg_strong_r2_s0.3`` (:func:`specification_name`). The predictors of the gain
    (``ext_`` metrics, TSTR, naive internal ΔAUC) are computed in the specifications of the
    first factorial classifier at the profile's severity, as far as the profile computes them (the
    default's predictors across ratios).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radlib.config import EVALUATION_KEYS, Config, ConfigError
from radlib.experiment import DEFAULT_SPECIFICATION

__all__ = [
    "DEFAULT_SPECIFICATION",
    "specification_name",
    "specification_overrides",
    "specification_configs",
    "specification_choices",
]


def specification_name(classifier: str, ratio: float, severity: float) -> str:
    """The name of a curve specification: ``<classifier>_r<ratio>_s<severity>``, e.g. ``rf_r0.5_s0.1``."""
    return f"{classifier}_r{ratio:g}_s{severity:g}"


def _curve(config: Config) -> dict[str, dict[str, Any]]:
    section = config["specifications"]
    default_ratio, default_severity = 1.0, config["shift"]["severity"]
    points: list[tuple[str, float, float]] = []
    for classifier in section["factorial_classifiers"]:
        points += [(classifier, r, s) for r in section["ratios"] for s in section["severities"]]
    for classifier in section["one_factor_classifiers"]:
        points += [(classifier, default_ratio, default_severity)]
        points += [(classifier, r, default_severity) for r in section["ratios"] if r != default_ratio]
        points += [(classifier, default_ratio, s) for s in section["severities"] if s != default_severity]
    predictor_classifier = (section["factorial_classifiers"] or [None])[0]
    evaluation = config["evaluation"]
    overrides = {}
    for classifier, ratio, severity in points:
        # The profile's predictors, for the first factorial classifier at the profile's severity.
        with_predictors = classifier == predictor_classifier and severity == default_severity
        overrides[specification_name(classifier, ratio, severity)] = {
            "synthesis.ratio": float(ratio),
            "shift.severity": float(severity),
            "evaluation.classifiers": [classifier],
            f"classifiers.{classifier}.arms": "study",  # the curve compares the study's arms only
            "evaluation.external_metrics": with_predictors and evaluation["external_metrics"],
            "evaluation.predictor_classifiers": [classifier]
            if with_predictors and evaluation["predictor_classifiers"]
            else [],
        }
    return overrides


def specification_overrides(config: Config) -> dict[str, dict[str, Any]]:
    """Every specification of ``config``'s ``specifications`` section as dotted-key overrides.

    Returns
    -------
    dict
        Name -> overrides of :data:`radlib.config.EVALUATION_KEYS`, the default (``{}``) first.
    """
    overrides: dict[str, dict[str, Any]] = {DEFAULT_SPECIFICATION: {}}
    if config["specifications"]["design"] == "curve":
        overrides.update(_curve(config))
    return overrides


def specification_configs(config: Config, names: list[str] | None = None) -> dict[str, Config]:
    """The configuration of each named specification (all by default), validated.

    Raises
    ------
    ConfigError
        An unknown name (the message lists the known ones), an override outside the evaluation
        settings, or one that fails validation (e.g. a ratio above ``synthesis.max_ratio``).
    """
    every = specification_overrides(config)
    unknown = [name for name in names or () if name not in every]
    if unknown:
        raise ConfigError(
            f"unknown specification(s) {', '.join(unknown)}; the profile '{config.profile}' has "
            f"{', '.join(every)} (its `specifications.design` is {config['specifications']['design']!r})"
        )
    configs = {}
    for name in names or list(every):
        outside = [key for key in every[name] if key not in EVALUATION_KEYS]
        if outside:
            raise ConfigError(f"specification {name!r} overrides {outside}, which are not evaluation settings")
        configs[name] = config.with_overrides(every[name])
        if configs[name].synthesis_hash != config.synthesis_hash:  # kept true by EVALUATION_KEYS; checked anyway
            raise ConfigError(f"specification {name!r} changes the samples, not only their evaluation")
    return configs


def specification_choices(config: Config) -> Mapping[str, Any]:
    """A specification's choices for tables and the indicator panel: ratio, classifier(s), severity."""
    return {
        "ratio": config["synthesis"]["ratio"],
        "classifiers": "+".join(config["evaluation"]["classifiers"]),
        "severity": config["shift"]["severity"],
    }
