"""The ctgan library's CTGAN and TVAE (Xu et al. 2019) as peers: the speed and quality reference.

Both are fitted on the features plus the label as a discrete column, at ctgan's own
default budgets (300 epochs, batch 500; other ctgan options pass through as keyword
arguments). Exact per-class counts are reached by rejection: rows are drawn in rounds and
those whose generated label is the requested class are kept, until there are enough.
CTGAN's rounds are conditioned on the requested label (its ``condition_column`` /
``condition_value``), which makes most rows acceptable; TVAE has no conditioning and draws
unconditionally. A class still short after :data:`MAX_ROUNDS` rounds raises
:class:`~radlib.generators.base.GeneratorError` (the model has effectively lost that class).

Seeds: ctgan draws from numpy's and torch's global random states; its ``set_random_state``
seeds both for the fit and for each draw, inside :func:`~radlib.generators.neural.torch_session`,
which also limits the threads. ``enable_gpu`` follows ``synthesis.device``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ctgan import CTGAN, TVAE

from radlib.generators.base import Generator
from radlib.generators.neural import resolve_device, torch_session

__all__ = ["CTGANPeer", "TVAEPeer", "MAX_ROUNDS"]

# Rounds of rejection sampling before giving up on a class; each round draws at least
# twice the rows still missing, so even a class the model generates 5% of the time is
# filled within a few rounds.
MAX_ROUNDS = 50
LABEL_COLUMN = "label"


class _CtganPeer(Generator):
    """A ctgan synthesizer behind the radlib interface; subclasses set the model class."""

    model_class: type

    def __init__(
        self, *, epochs: int = 300, batch_size: int = 500, device: str = "cpu", torch_threads: int = 1, **options
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.torch_threads = torch_threads
        self.options = options

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.device_ = resolve_device(self.device)
        self.model_ = self.model_class(
            epochs=self.epochs, batch_size=self.batch_size, enable_gpu=self.device_.type == "cuda", **self.options
        )
        self.columns_ = [f"x{j}" for j in range(X.shape[1])]
        frame = pd.DataFrame(X, columns=self.columns_).assign(**{LABEL_COLUMN: y})
        self.model_.set_random_state(seed)
        with torch_session(seed, self.torch_threads, self.device_):
            self.model_.fit(frame, discrete_columns=[LABEL_COLUMN])

    def _draw(self, label: int, n: int) -> pd.DataFrame:
        """``n`` rows from the model, conditioned on ``label`` where the model supports it."""
        raise NotImplementedError

    def _sample_class(self, label: int, n: int, seed: int) -> np.ndarray:
        self.model_.set_random_state(seed)
        kept, missing = [], n
        with torch_session(seed, self.torch_threads, self.device_):
            for _ in range(MAX_ROUNDS):
                frame = self._draw(label, max(2 * missing, 100))
                rows = frame.loc[frame[LABEL_COLUMN].astype(int) == label, self.columns_].to_numpy(float)
                kept.append(rows[:missing])
                missing -= len(kept[-1])
                if missing == 0:
                    return np.vstack(kept)
        raise self.fail(
            "sample", f"only {n - missing} of {n} rows of class {label} after {MAX_ROUNDS} rounds of rejection sampling"
        )


class CTGANPeer(_CtganPeer):
    """ctgan.CTGAN with the label as a discrete column; draws conditioned on the label.

    Parameters
    ----------
    epochs, batch_size : int
        ctgan's defaults (300, 500).
    device : {"cpu", "cuda"}
    torch_threads : int
    **options
        Other ``ctgan.CTGAN`` arguments (``generator_dim``, ``pac``, ...).
    """

    name = "ctgan"
    model_class = CTGAN

    def _draw(self, label: int, n: int) -> pd.DataFrame:
        return self.model_.sample(n, condition_column=LABEL_COLUMN, condition_value=label)


class TVAEPeer(_CtganPeer):
    """ctgan.TVAE with the label as a discrete column; draws unconditionally and keeps the requested class.

    Parameters
    ----------
    epochs, batch_size : int
        ctgan's defaults (300, 500).
    device : {"cpu", "cuda"}
    torch_threads : int
    **options
        Other ``ctgan.TVAE`` arguments (``compress_dims``, ``loss_factor``, ...).
    """

    name = "tvae"
    model_class = TVAE

    def _draw(self, label: int, n: int) -> pd.DataFrame:
        return self.model_.sample(n)
