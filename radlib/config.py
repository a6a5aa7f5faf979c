"""Profiles, paths and seeds: the one place that says how a run is configured.

A *profile* is a YAML file of overrides on top of ``profiles/defaults.yaml``, which
holds every protocol parameter of docs/protocol.md. The shipped profiles are ``smoke``,
``quick``, ``full`` and ``internal`` (the full study's internal-validation grid); a path to a user's
own YAML file works the same way.
Overrides can be given per run as a mapping with dotted keys
(``{"shift.severity": 0.2}``) or on the command line (``--set shift.severity=0.2``).

Every key is checked against the defaults: an unknown key or a value of the wrong
type raises :class:`ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radlib.records import CLASSIFIERS

__all__ = [
    "Config",
    "ConfigError",
    "PROFILES",
    "load_config",
    "derive_seed",
    "project_root",
    "parse_override",
]

PROFILES = ("smoke", "quick", "full", "internal")

# Sections that say where and how to run; they do not change any record, so they are
# left out of the configuration hash (cached results stay valid when they change).
NON_PROTOCOL_SECTIONS = ("data", "run", "paths", "specifications", "design_analyses")
# The evaluation settings: they change what is computed from the stored samples, never the samples
# themselves, so they are left out of the synthesis hash (Config.synthesis_hash) and a specification
# may override them (radlib.specifications).
EVALUATION_KEYS = (
    "synthesis.ratio",
    "shift.severity",
    "evaluation.classifiers",
    "evaluation.external_metrics",
    "evaluation.predictor_classifiers",
    "metrics.detection_folds",
    "metrics.mmd_max_rows",
    *(f"classifiers.{name}.arms" for name in CLASSIFIERS),
)
# Protocol sections that only evaluation reads.
EVALUATION_SECTIONS = ("classifiers", "evaluation", "metrics", "sensitivity")

# Values restricted to a fixed set, by dotted key.
CHOICES = {
    "shift.strategy": ("site", "random", "cluster"),
    "synthesis.device": ("cpu", "cuda"),
    **{f"classifiers.{name}.arms": ("study", "all") for name in CLASSIFIERS},
    "specifications.design": ("none", "curve"),
}
# Keys whose value may take one of several types, by dotted key.
ALTERNATIVE_TYPES: dict[str, tuple[type, ...]] = {"datasets": (str, list), "run.scheduler": (type(None), str)}
# Mappings whose keys are open: user generators and classifiers may add entries.
OPEN_MAPPINGS = ("synthesis.params",)
# The range of every numeric setting, by dotted key, in interval notation: "[" and "]" include
# the bound, "(" and ")" exclude it. Every number of a configuration, these and the generators'
# parameters alike, must also be finite (NaN passes every comparison, so it is refused first).
# The upper bounds keep a run within one machine: 1000 repetitions of the full grid's 33 s per
# task are 9 hours per table; a ratio of 100 makes training sets of 101 times the real rows;
# MMD's kernel matrix of 20,000 rows per side takes 3.2 GB.
NUMERIC_RANGES = {
    "repetitions": "[1, 1000]",
    "base_seed": "[0, 9223372036854775807]",
    "shift.folds": "[1, 100]",
    "shift.external_fraction": "(0, 1)",
    "shift.n_components": "[1, 1000]",
    "shift.n_clusters": "[2, 100]",
    "shift.severity": "[0, 10]",
    "features.k": "[1, 100000]",
    "synthesis.ratio": "(0, 100]",
    "synthesis.max_ratio": "(0, 100]",
    "synthesis.torch_threads": "[1, 1024]",
    "classifiers.logreg.C": "(0, 1000000]",
    "classifiers.logreg.max_iter": "[1, 1000000]",
    "classifiers.rf.n_estimators": "[1, 10000]",
    "classifiers.rf.min_samples_leaf": "[1, 100000]",
    "classifiers.logreg_strong.C": "(0, 1000000]",
    "classifiers.logreg_strong.max_iter": "[1, 1000000]",
    "classifiers.hgb.max_iter": "[1, 100000]",
    "metrics.detection_folds": "[2, 100]",
    "metrics.mmd_max_rows": "[2, 20000]",
    "sensitivity.permutations": "[1, 100000]",
    "sensitivity.alpha": "(0, 1)",
    "sensitivity.cv_folds": "[2, 100]",
    "design_analyses.power_simulations": "[1, 100000]",
    "design_analyses.control_replicates": "[1, 10000]",
    "run.n_jobs": "[1, 1024]",
    "run.scheduler_timeout": "[1, 3600]",
}


class ConfigError(ValueError):
    """A profile or override that does not fit the schema of ``defaults.yaml``."""


def project_root() -> Path:
    """Return the project root: ``$RADLIB_ROOT`` or the folder holding ``pyproject.toml``.

    Falls back to the current directory for a non-editable install.
    """
    if os.environ.get("RADLIB_ROOT"):
        return Path(os.environ["RADLIB_ROOT"]).resolve()
    candidate = Path(__file__).resolve().parents[1]
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd().resolve()


def derive_seed(base_seed: int, *parts: Any) -> int:
    """Derive a 32-bit seed from a base seed and any labels (dataset, repetition, stage).

    Uses SHA-256 of the joined labels, so the seed is the same in every process and on
    every machine (unlike Python's salted ``hash()``).

    Examples
    --------
    >>> derive_seed(1, "Ahn2021", 0) == derive_seed(1, "Ahn2021", 0)
    True
    """
    text = "|".join(str(p) for p in (base_seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that ``1e-3`` and ``2E5`` are numbers.

    PyYAML follows YAML 1.1, whose floats need a dot and a signed exponent, so it reads
    ``1e-3`` as the string ``'1e-3'``; YAML 1.2 (and every user) reads a number.
    """


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _load_yaml(text) -> Any:
    """Parse YAML text or a stream with :class:`_YamlLoader`."""
    return yaml.load(text, Loader=_YamlLoader)


def _read_yaml(path: Path) -> dict:
    try:
        with open(path) as fh:
            data = _load_yaml(fh)
    except yaml.YAMLError as exc:
        raise ConfigError(f"profile file {path} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"profile file {path} is not a text file (cannot decode: {exc.reason})") from exc
    except OSError as exc:
        raise ConfigError(f"profile {path} cannot be read as a file: {exc.strerror or exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"profile file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def _defaults() -> dict:
    return _read_yaml(Path(str(resources.files("radlib") / "profiles" / "defaults.yaml")))


def _type_ok(value: Any, default: Any, key: str) -> bool:
    if key in ALTERNATIVE_TYPES:
        return isinstance(value, ALTERNATIVE_TYPES[key])
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _merge(base: dict, override: Mapping, prefix: str = "") -> dict:
    """Deep-merge ``override`` into a copy of ``base``, validating keys and types."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            if prefix.rstrip(".") in OPEN_MAPPINGS:
                if not isinstance(value, dict):
                    raise ConfigError(f"'{dotted}' must be a mapping of parameters, got {value!r}")
                merged[key] = copy.deepcopy(value)
                continue
            if prefix.rstrip(".") == "classifiers":
                raise ConfigError(f"unknown classifier '{dotted}'; allowed: {', '.join(CLASSIFIERS)}")
            close = difflib.get_close_matches(str(key), list(base), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"unknown configuration key '{dotted}'{hint}; allowed keys here: {', '.join(map(str, base))}"
            )
        default = base[key]
        if isinstance(default, dict) and default and prefix.rstrip(".") not in OPEN_MAPPINGS:
            if not isinstance(value, dict):
                raise ConfigError(f"'{dotted}' must be a mapping with keys {', '.join(default)}, got {value!r}")
            merged[key] = _merge(default, value, dotted + ".")
            continue
        if isinstance(default, dict):  # open parameter mappings: any keys
            if not isinstance(value, dict):
                raise ConfigError(f"'{dotted}' must be a mapping of parameters, got {value!r}")
            merged[key] = {**default, **copy.deepcopy(value)}
            continue
        if not _type_ok(value, default, dotted):
            expected = ALTERNATIVE_TYPES.get(dotted, (type(default),))
            names = " or ".join(t.__name__ for t in expected)
            raise ConfigError(f"'{dotted}' must be of type {names}, got {value!r} ({type(value).__name__})")
        if dotted in CHOICES and value not in CHOICES[dotted]:
            raise ConfigError(f"'{dotted}' must be one of {', '.join(CHOICES[dotted])}, got {value!r}")
        merged[key] = copy.deepcopy(value)
    return merged


def _undot(overrides: Mapping[str, Any]) -> dict:
    """Turn ``{"shift.severity": 0.2}`` into ``{"shift": {"severity": 0.2}}``."""
    nested: dict = {}
    for dotted, value in overrides.items():
        node = nested
        *parents, leaf = str(dotted).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a command-line override ``key.sub=value``; the value is read as YAML.

    Numbers in scientific notation are numbers (``1e-3``), as in YAML 1.2. YAML that does not
    parse, a tag (``!!python/...``) and an alias (``*name``, which can expand a short text into
    gigabytes) are refused with :class:`ConfigError`.

    Examples
    --------
    >>> parse_override("shift.severity=0.2")
    ('shift.severity', 0.2)
    >>> parse_override("shift.severity=1e-3")
    ('shift.severity', 0.001)
    """
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key=value, e.g. shift.severity=0.2")
    key, raw = text.split("=", 1)
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(raw, Loader=_YamlLoader)):
            raise ConfigError(
                f"override '{key.strip()}': YAML aliases (*name) are not accepted in --set; write the value out"
            )
        return key.strip(), _load_yaml(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"override '{key.strip()}': the value {raw!r} is not valid YAML here ({problem})") from exc


def _numbers(node: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a nested configuration, as (dotted key, value); list items as ``key[i]``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{prefix.rstrip('.')}[{i}].")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield prefix.rstrip("."), node


def _check_numbers(params: dict) -> None:
    """Every number finite, every setting of :data:`NUMERIC_RANGES` in its range; else :class:`ConfigError`."""
    for key, number in _numbers(params):
        if not math.isfinite(number):
            raise ConfigError(f"'{key}' must be a finite number, got {number}")
    for key, interval in NUMERIC_RANGES.items():
        value: Any = params
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:  # a classifier the profile leaves out
            continue
        low, high = (float(bound) for bound in interval[1:-1].split(","))
        above = low < value if interval[0] == "(" else low <= value
        below = value < high if interval[-1] == ")" else value <= high
        if not (above and below):
            raise ConfigError(f"'{key}' must lie in {interval}, got {value}")


def _check_semantics(params: dict) -> None:
    _check_numbers(params)
    snapshots = params["synthesis"]["snapshots"]
    numeric = all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in snapshots)
    if not numeric or not all(0 < f <= 1 for f in snapshots) or sorted(set(snapshots)) != list(snapshots):
        raise ConfigError(
            f"'synthesis.snapshots' must be increasing fractions of the training budget in (0, 1], got {snapshots}"
        )
    if not snapshots or snapshots[-1] != 1.0:
        raise ConfigError(
            f"'synthesis.snapshots' must end with 1.0 (the study's fully trained generator), got {snapshots}"
        )
    design = params["design_analyses"]["control_design"]
    if not (len(design) == 3 and all(isinstance(n, int) and not isinstance(n, bool) for n in design)) or not (
        3 <= design[0] <= 1000 and 1 <= design[1] <= 100 and 1 <= design[2] <= 100
    ):
        raise ConfigError(
            "'design_analyses.control_design' must be [datasets, repetitions, folds], integers in [3, 1000], "
            f"[1, 100] and [1, 100], got {design}"
        )
    if isinstance(params["datasets"], str) and params["datasets"] != "all":
        raise ConfigError("'datasets' must be \"all\" or a list of dataset names")
    _check_classifier_lists(params)
    if not params["synthesis"]["max_ratio"] > 0:
        raise ConfigError(f"'synthesis.max_ratio' must be > 0, got {params['synthesis']['max_ratio']}")
    if params["synthesis"]["ratio"] > params["synthesis"]["max_ratio"]:
        raise ConfigError(
            f"'synthesis.ratio' ({params['synthesis']['ratio']}) exceeds 'synthesis.max_ratio' "
            f"({params['synthesis']['max_ratio']}), the size of the stored sample; raise max_ratio"
        )


def _check_classifier_lists(params: dict) -> None:
    """Every classifier list names known classifiers; the predictors' are evaluated ones."""
    evaluated = params["evaluation"]["classifiers"]
    lists = {
        "evaluation.classifiers": evaluated,
        "evaluation.predictor_classifiers": params["evaluation"]["predictor_classifiers"],
        "specifications.factorial_classifiers": params["specifications"]["factorial_classifiers"],
        "specifications.one_factor_classifiers": params["specifications"]["one_factor_classifiers"],
    }
    for key, names in lists.items():
        unknown = [name for name in names if name not in params["classifiers"]]
        if unknown or len(set(names)) != len(names):
            raise ConfigError(
                f"'{key}' must list distinct classifiers of {', '.join(params['classifiers'])}, got {names}"
            )
    if not evaluated:
        raise ConfigError("'evaluation.classifiers' must name at least one of " + ", ".join(params["classifiers"]))
    not_evaluated = [name for name in lists["evaluation.predictor_classifiers"] if name not in evaluated]
    if not_evaluated:
        raise ConfigError(
            f"'evaluation.predictor_classifiers' names {not_evaluated}, which 'evaluation.classifiers' "
            f"({evaluated}) does not evaluate"
        )


def _apply_environment(params: dict) -> None:
    if os.environ.get("RADLIB_RADMLBENCH_DIR"):
        params["data"]["mirror_dir"] = os.environ["RADLIB_RADMLBENCH_DIR"]
    if os.environ.get("RADLIB_OFFLINE", "").lower() in ("1", "true", "yes"):
        params["data"]["download"] = False


@dataclass(frozen=True)
class Config:
    """The effective configuration of one run.

    Attributes
    ----------
    profile : str
        Profile name (``smoke``, ``quick``, ``full``) or the stem of a user's YAML file.
    params : dict
        Every parameter, defaults merged with the profile and the overrides.
    root : Path
        Project root that relative paths are resolved against.
    """

    profile: str
    params: dict
    root: Path = field(default_factory=project_root)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @property
    def protocol(self) -> dict:
        """The parameters that determine the records (everything but :data:`NON_PROTOCOL_SECTIONS`)."""
        return {k: v for k, v in self.params.items() if k not in NON_PROTOCOL_SECTIONS}

    @property
    def hash(self) -> str:
        """A stable 12-hex-digit hash of :attr:`protocol`; identifies a run's records."""
        text = json.dumps(self.protocol, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def synthesis_hash(self) -> str:
        """A stable 12-hex-digit hash of the settings that change the stored samples.

        The protocol without the evaluation settings (:data:`EVALUATION_KEYS`, the sections
        only evaluation reads) and without ``datasets`` and ``repetitions`` (a task's samples
        are keyed by its dataset and repetition): changing a classifier, the shift severity, the
        synthetic ratio or a metric never refits a generator.
        """
        kept = {
            key: value
            for key, value in self.protocol.items()
            if key not in (*EVALUATION_SECTIONS, "datasets", "repetitions")
        }
        kept = copy.deepcopy(kept)
        for dotted in EVALUATION_KEYS:
            section, _, leaf = dotted.partition(".")
            kept.get(section, {}).pop(leaf, None)
        text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def evaluated_classifiers(self) -> dict[str, dict]:
        """The evaluated classifiers (``evaluation.classifiers``) with their sections, in that order."""
        return {name: self.params["classifiers"][name] for name in self.params["evaluation"]["classifiers"]}

    def path(self, name: str) -> Path:
        """Absolute path of ``paths.<name>`` with ``{profile}`` filled in."""
        if name not in self.params["paths"]:
            raise ConfigError(f"unknown path '{name}'; known: {', '.join(self.params['paths'])}")
        path = Path(self.params["paths"][name].format(profile=self.profile))
        return path if path.is_absolute() else self.root / path

    @property
    def mirror_dir(self) -> Path | None:
        """The radMLBench mirror folder, or None when unset."""
        raw = self.params["data"]["mirror_dir"]
        if not raw:
            return None
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (self.root / path).resolve()

    def seed(self, *parts: Any) -> int:
        """Seed for one random step, derived from ``base_seed`` and the given labels."""
        return derive_seed(self.params["base_seed"], *parts)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """Return a copy with dotted-key overrides applied and validated."""
        params = _merge(self.params, _undot(overrides))
        _check_semantics(params)
        return Config(self.profile, params, self.root)


def load_config(profile: str | os.PathLike = "full", overrides: Mapping[str, Any] | None = None) -> Config:
    """Load a profile, apply the environment and the overrides, and validate.

    Parameters
    ----------
    profile : str or path
        ``smoke``, ``quick``, ``full``, or the path of a YAML file of overrides.
    overrides : mapping, optional
        Dotted keys to values, applied last, e.g. ``{"repetitions": 3}``.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Unknown profile, unknown key, or a value of the wrong type or range.
    """
    profile_str = str(profile)
    if profile_str in PROFILES:
        name = profile_str
        profile_data = _read_yaml(Path(str(resources.files("radlib") / "profiles" / f"{name}.yaml")))
    elif profile_str.endswith((".yaml", ".yml")):
        path = Path(profile_str)
        if not path.exists():
            raise ConfigError(f"profile file {path} does not exist")
        name = path.stem
        profile_data = _read_yaml(path)
    else:
        raise ConfigError(
            f"unknown profile '{profile_str}'; use one of {', '.join(PROFILES)} or a path to a .yaml file"
        )
    params = _merge(_defaults(), profile_data)
    _apply_environment(params)
    if overrides:
        params = _merge(params, _undot(overrides))
    _check_semantics(params)
    return Config(name, params)
