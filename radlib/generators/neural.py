"""Torch machinery shared by the deep generators (WGAN-GP, CVAE, TabDDPM) and the ctgan peers.

- :func:`resolve_device`: ``"cpu"`` or ``"cuda"``, falling back to the CPU with a warning
  when CUDA is configured but absent;
- :func:`torch_session`: a context that limits torch's threads (``synthesis.torch_threads``,
  so parallel workers do not oversubscribe the cores), seeds torch from a forked random
  state (the caller's global state is left untouched) and asks for deterministic
  algorithms;
- :func:`mlp`: the multilayer perceptrons the models are made of;
- :class:`TorchGenerator`: the base of the three deep generators. It optionally maps the
  features to normal scores with a quantile transform fitted on the training rows
  (radiomics features are often skewed and heavy-tailed; the inverse transform puts the
  samples back on the real marginals; measured gains in each generator's docstring),
  moves data to the device, runs the training loop with the divergence guard, and draws
  samples. A subclass implements :meth:`~TorchGenerator._build`,
  :meth:`~TorchGenerator._train_step` and :meth:`~TorchGenerator._generate`.

Divergence: a NaN or infinite training loss, or a NaN or infinite raw sample, raises
:class:`~radlib.generators.base.GeneratorError` naming the generator and the stage
(``fit`` or ``sample``). There is no automatic retry: a diverging configuration should be
seen, not hidden behind a second seed.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from scipy.stats import norm
from sklearn.preprocessing import QuantileTransformer
from torch import nn

from radlib.generators.base import CLASSES, Generator

__all__ = ["resolve_device", "torch_session", "mlp", "TorchGenerator"]


def resolve_device(device: str) -> torch.device:
    """The torch device for ``synthesis.device``; CUDA falls back to the CPU with a warning.

    Parameters
    ----------
    device : {"cpu", "cuda"}
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            "synthesis.device is 'cuda' but CUDA is not available; using the CPU", RuntimeWarning, stacklevel=2
        )
        return torch.device("cpu")
    return torch.device(device)


@contextlib.contextmanager
def torch_session(seed: int, threads: int, device: torch.device) -> Iterator[None]:
    """Run a block with ``threads`` torch threads, torch seeded with ``seed``, deterministic kernels.

    Everything is restored on exit: the thread count, the global random state of the CPU
    (and of ``device`` when it is a GPU) and the deterministic-algorithms flag.

    Parameters
    ----------
    seed : int
    threads : int
        ``torch.set_num_threads`` value inside the block.
    device : torch.device
    """
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    gpus = [device.index or 0] if device.type == "cuda" else []
    torch.set_num_threads(threads)
    # warn_only: on CUDA a few kernels have no deterministic version; warn rather than fail.
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with torch.random.fork_rng(devices=gpus):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)


def mlp(n_in: int, width: int, depth: int, n_out: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with ``activation``, then a linear output layer."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, width), activation()]
    layers.append(nn.Linear(width if depth else n_in, n_out))
    return nn.Sequential(*layers)


class TorchGenerator(Generator):
    """Base of the torch generators: preprocessing, device, seeded training loop, sampling.

    Every subclass takes these parameters (and adds its own).

    Parameters
    ----------
    steps : int
        Optimiser steps (of the generator, for a GAN).
    batch_size : int
        Rows per step, drawn with replacement.
    device : {"cpu", "cuda"}
    torch_threads : int
    quantile_transform : bool
        Train on normal scores of a ``QuantileTransformer`` fitted on the training rows.
    """

    def __init__(
        self, *, steps: int, batch_size: int, device: str, torch_threads: int, quantile_transform: bool
    ) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.device = device
        self.torch_threads = torch_threads
        self.quantile_transform = quantile_transform

    # -- what a subclass implements ---------------------------------------------------
    def _build(self, x: torch.Tensor) -> None:
        """Create the networks and optimisers for the (transformed) training rows ``x``.

        Called inside the seeded session, before the first training step.
        """
        raise NotImplementedError

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One training step, drawing its minibatches from ``x``, ``y``; returns the loss."""
        raise NotImplementedError

    def _generate(self, labels: torch.Tensor) -> torch.Tensor:
        """Rows in the model's (transformed) feature space for the given labels, without gradients."""
        raise NotImplementedError

    # -- shared machinery ---------------------------------------------------------------
    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """Float one-hot codes of 0/1 labels, the conditioning input of WGAN-GP and CVAE."""
        return nn.functional.one_hot(labels, len(CLASSES)).float()

    def draw_batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A minibatch of ``batch_size`` rows drawn with replacement from the torch random state."""
        rows = torch.randint(len(x), (self.batch_size,), device=x.device)
        return x[rows], y[rows]

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.device_ = resolve_device(self.device)
        self.transformer_ = None
        if self.quantile_transform:
            # n_quantiles = n: every training row is a quantile (the default 1000 exceeds n and warns).
            self.transformer_ = QuantileTransformer(
                n_quantiles=min(len(X), 1000), output_distribution="normal", random_state=seed % 2**32
            )
            # sklearn maps each feature's minimum and maximum to +-5.2 (its 1e-7 bound), so every
            # feature has two far outliers, and with collinear radiomics features they are the same
            # rows. Winsorise at the normal score of the most extreme of n rows at the usual
            # plotting position (n - 1/2) / n, i.e. Phi^-1(1 - 1/(2n)): 2.8 for n = 100. On
            # Hosny2018A this took TabDDPM's mean KS from 0.09-0.17 to 0.05-0.11.
            extreme = float(norm.ppf(1 - 1 / (2 * len(X))))
            X = np.clip(self.transformer_.fit_transform(X), -extreme, extreme)
        with torch_session(seed, self.torch_threads, self.device_):
            x = torch.as_tensor(X, dtype=torch.float32, device=self.device_)
            labels = torch.as_tensor(y, dtype=torch.long, device=self.device_)
            self._build(x)
            for step in range(self.steps):
                loss = float(self._train_step(x, labels))
                if not math.isfinite(loss):
                    raise self.fail("fit", f"training diverged: loss {loss} at step {step + 1} of {self.steps}")

    def _sample_class(self, label: int, n: int, seed: int) -> np.ndarray:
        with torch_session(seed, self.torch_threads, self.device_), torch.no_grad():
            labels = torch.full((n,), label, dtype=torch.long, device=self.device_)
            rows = self._generate(labels).cpu().double().numpy()
        # Checked before the inverse transform, which would clip infinite values to the range.
        if not np.all(np.isfinite(rows)):
            raise self.fail("sample", f"class {label}: the model produced NaN or infinite values")
        return self.transformer_.inverse_transform(rows) if self.transformer_ is not None else rows
