"""Torch machinery shared by the deep generators (WGAN-GP, CVAE, TabDDPM) and the ctgan peers.

- :func:`resolve_device`: ``"cpu"`` or ``"cuda"``, falling back to the CPU with a warning
  when CUDA is configured but absent;
- :func:`torch_session`: a context that limits torch's threads (``synthesis.torch_threads``,
  so parallel workers do not oversubscribe the cores), optionally seeds torch from a forked
  random state (the caller's global state is left untouched) and asks for deterministic
  algorithms;
- :class:`ModelStreams`, :class:`StackedMLP` and :class:`TrainingBatch`: K independent
  models trained as one batched network (below);
- :class:`TorchGenerator`: the base of the three deep generators.

Batched training
----------------
The study fits one generator per external site-fold of a dataset and repetition
(docs/protocol.md, step 2; K = 5 folds by default). The deep generators train those K
models together, as one network whose every weight has a leading model dimension: a
layer's weights are (K, in, out), its inputs (K, B, in), and it is one ``torch.baddbmm``.
Per step this costs one set of Python and dispatch overhead for all K models, while the
arithmetic grows with K. Everything else stays per model:

- rows: the folds' (transformed) rows are padded to (K, n_max, p); model k draws its
  minibatch indices as ``floor(u * n_k)`` from its own uniforms, so the padding is never
  read and the other folds' row counts do not matter;
- randomness: one ``torch.Generator`` per model, seeded with that fold's seed, draws its
  initial weights, minibatches and noise (:class:`ModelStreams`);
- preprocessing: one quantile transformer per fold;
- gradients: the per-model losses are summed, so each model's gradient is that of its own
  loss, and the optimisers (Adam, AdamW) update every weight elementwise: one optimiser
  over the stacked weights is K optimisers. Nothing else couples the models (no gradient
  clipping, no normalisation across rows, the learning-rate schedule depends only on the
  step). So changing fold j's rows or seed leaves model k bit-identical on the CPU
  (tested in ``tests/test_generators_batched.py``);
- divergence: a NaN or infinite loss of model j is recorded with its step, model j's loss
  is masked out of the sum from then on, and fold j's result is a
  :class:`~radlib.generators.base.GeneratorError`; the other models finish their training.
  There is no automatic retry: a diverging configuration should be seen, not hidden behind
  a second seed.

A single :meth:`~radlib.generators.base.Generator.fit` is the batch of one model: there is
one code path. CUDA stays optional (``synthesis.device``), the CPU is the default, and on
the CPU a fit is deterministic.

Snapshots: a fit can keep copies of the weights that samples are drawn from at fractions
of the budget (step ``max(1, round(fraction * steps))``), at no extra training; each copy
is a fitted generator of its own.

What batching buys, measured
----------------------------
``benchmarks/results/generators.md``; Hosny2018A split into 5 folds (internal sets of 234
rows x 32 features), the full profile's budgets, one thread of an idle Xeon core: the five
fold-models batched took 12.9 s (WGAN-GP), 13.9 s (CVAE) and 14.2 s (TabDDPM), against
22.5, 18.0 and 17.4 s fitted one after another, and 4.1, 3.8 and 4.8 s for one fit of v1's
code: 2.7-4.0 times one fit, so "batched K = 5 at most twice one fit" is not reached on a
CPU. The same fits with ``width=8``, which keep the per-step work (Python, dispatch,
optimiser, random draws) and drop the arithmetic, say why: the per-step overhead is
32-52% of one fit but 14-26% of a batched one; the rest is matrix arithmetic, which grows
with K and already runs near the core's peak (a 128 x 256 x 256 product takes 181 us,
about 93 GFLOP/s, on one core of the 2-core EPYC machine). Batching saves the overhead of
K - 1 fits, not their arithmetic. On an H200 GPU (``synthesis.device: cuda``), where every
fit is bound by kernel launches, five batched models took 0.8-1.1 times one fit, and
they passed the same learning checks.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from numbers import Integral
from typing import Any

import numpy as np
import torch
from scipy.stats import norm
from sklearn.preprocessing import QuantileTransformer

from radlib.generators.base import Generator, GeneratorError, check_folds, check_snapshots

__all__ = [
    "resolve_device",
    "torch_session",
    "ModelStreams",
    "StackedMLP",
    "TrainingBatch",
    "rows_of",
    "TorchGenerator",
]

Weights = dict[str, torch.Tensor]


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
def torch_session(seed: int | None, threads: int, device: torch.device) -> Iterator[None]:
    """Run a block with ``threads`` torch threads, deterministic kernels, and torch seeded with ``seed``.

    Everything is restored on exit: the thread count, the global random state of the CPU
    (and of ``device`` when it is a GPU) and the deterministic-algorithms flag.

    Parameters
    ----------
    seed : int or None
        Seed of torch's global random state inside the block; None leaves it as it is
        (for code that draws from its own ``torch.Generator``).
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
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)


class ModelStreams:
    """One seeded ``torch.Generator`` per model of a batch; every draw is stacked along a leading model dimension.

    Model k's numbers depend only on its seed and on the sequence of draws, so the other
    models' seeds cannot change them.

    Parameters
    ----------
    seeds : sequence of int
        One seed per model.
    device : torch.device
    """

    def __init__(self, seeds: Sequence[int], device: torch.device) -> None:
        self.device = device
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def uniform(self, *shape: int) -> torch.Tensor:
        """Uniform numbers in [0, 1), shape (K, *shape)."""
        return torch.stack([torch.rand(shape, generator=g, device=self.device) for g in self.generators])

    def normal(self, *shape: int) -> torch.Tensor:
        """Standard normal numbers, shape (K, *shape)."""
        return torch.stack([torch.randn(shape, generator=g, device=self.device) for g in self.generators])

    def below(self, bounds: torch.Tensor, size: int) -> torch.Tensor:
        """``size`` integers per model, uniform on 0, ..., bounds[k] - 1 (floor(u * n_k)); shape (K, size)."""
        limits = bounds[:, None]
        # min(): float32 rounding can carry u * n up to n itself when u is within 2^-24 of 1.
        return torch.minimum((self.uniform(size) * limits).long(), limits - 1)

    def symmetric(self, bound: float, *shape: int) -> torch.Tensor:
        """Uniform numbers on [-bound, bound), shape (K, *shape): torch's default initialisation of a layer."""
        return (2 * self.uniform(*shape) - 1) * bound


def rows_of(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Per-model row lookup: ``table[k, index[k, i]]`` for tables (K, L, W) and indices (K, B); shape (K, B, W)."""
    models = torch.arange(len(table), device=table.device)[:, None]
    return table[models, index]


class StackedMLP:
    """K independent multilayer perceptrons evaluated as one, their weights stacked along a leading model dimension.

    Layer i maps (K, B, sizes[i]) to (K, B, sizes[i + 1]) with ``torch.baddbmm`` over a
    weight (K, sizes[i], sizes[i + 1]) and a bias (K, 1, sizes[i + 1]); ``activation``
    follows every layer but the last (every layer with ``final_activation``). With
    ``n_labels``, the first layer is also conditioned on a label, as if its one-hot code
    were concatenated to the input, but computed as a learned per-label row added to the
    bias (no concatenation).

    Parameters
    ----------
    name : str
        Prefix of the weights' names.
    sizes : sequence of int
        Input size, hidden sizes, output size.
    activation : callable
        Elementwise function, e.g. ``torch.relu``.
    n_labels : int
        Number of labels of the conditioning (0: none).
    final_activation : bool
        Also apply ``activation`` after the last layer.
    """

    def __init__(
        self,
        name: str,
        sizes: Sequence[int],
        activation: Callable[[torch.Tensor], torch.Tensor],
        *,
        n_labels: int = 0,
        final_activation: bool = False,
    ) -> None:
        self.name = name
        self.sizes = list(sizes)
        self.activation = activation
        self.n_labels = n_labels
        self.final_activation = final_activation

    def init(self, streams: ModelStreams) -> Weights:
        """Initial weights of the K models, each drawn from its own stream as ``torch.nn.Linear`` draws them.

        Returns
        -------
        dict
            Name -> leaf tensor with ``requires_grad``, shape (K, ...).
        """
        weights = {}
        for i, (n_in, n_out) in enumerate(pairwise(self.sizes)):
            n_labels = self.n_labels if i == 0 else 0
            # nn.Linear: weight and bias uniform on +-1/sqrt(fan_in); the label rows are part of fan_in.
            bound = 1 / math.sqrt(n_in + n_labels)
            weights[f"{self.name}.{i}.weight"] = streams.symmetric(bound, n_in, n_out)
            if n_labels:
                weights[f"{self.name}.{i}.label"] = streams.symmetric(bound, n_labels, n_out)
            weights[f"{self.name}.{i}.bias"] = streams.symmetric(bound, 1, n_out)
        return {name: w.requires_grad_() for name, w in weights.items()}

    def __call__(self, weights: Weights, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate the K networks on inputs (K, B, sizes[0]), with labels (K, B) when conditioned."""
        last = len(self.sizes) - 2
        for i in range(last + 1):
            bias = weights[f"{self.name}.{i}.bias"]
            if i == 0 and self.n_labels:
                if labels is None:
                    raise ValueError(f"{self.name} is conditioned on labels: pass them")
                bias = bias + rows_of(weights[f"{self.name}.0.label"], labels)
            x = torch.baddbmm(bias, x, weights[f"{self.name}.{i}.weight"])
            if i < last or self.final_activation:
                x = self.activation(x)
        return x


class TrainingBatch:
    """The training rows of K models on one device, their random streams and their divergence record.

    Parameters
    ----------
    rows : list of numpy.ndarray
        Each model's (transformed) rows, (n_k, p) with the same p.
    labels : list of numpy.ndarray
        Each model's 0/1 labels, (n_k,).
    seeds : list of int
        Each model's seed (of its :class:`ModelStreams` generator).
    device : torch.device

    Attributes
    ----------
    rows : torch.Tensor of shape (K, n_max, p)
        Rows padded with zeros (never drawn).
    labels : torch.Tensor of shape (K, n_max)
    counts : torch.Tensor of shape (K,)
        n_k.
    streams : ModelStreams
    alive : torch.Tensor of shape (K,), bool
        Models whose losses have all been finite so far.
    """

    def __init__(
        self, rows: list[np.ndarray], labels: list[np.ndarray], seeds: list[int], device: torch.device
    ) -> None:
        n_max = max(len(r) for r in rows)
        padded = np.zeros((len(rows), n_max, rows[0].shape[1]), dtype=np.float32)
        padded_labels = np.zeros((len(rows), n_max), dtype=np.int64)
        for k, (r, y) in enumerate(zip(rows, labels)):
            # Values beyond float32's range become infinite here; the loss then diverges and that model fails.
            with np.errstate(over="ignore"):
                padded[k, : len(r)] = r
            padded_labels[k, : len(y)] = y
        self.device = device
        self.rows = torch.as_tensor(padded, device=device)
        self.labels = torch.as_tensor(padded_labels, device=device)
        self.counts = torch.as_tensor([len(r) for r in rows], device=device)
        self.streams = ModelStreams(seeds, device)
        self.alive = torch.ones(len(rows), dtype=torch.bool, device=device)
        self.failed_step = torch.zeros(len(rows), dtype=torch.long, device=device)
        self.failed_loss = torch.zeros(len(rows), device=device)
        self._models = torch.arange(len(rows), device=device)[:, None]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_features(self) -> int:
        """Number of features p."""
        return self.rows.shape[2]

    def draw(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A minibatch per model, ``size`` rows drawn with replacement: rows (K, size, p), labels (K, size)."""
        index = self.streams.below(self.counts, size)
        return self.rows[self._models, index], self.labels[self._models, index]

    def total(self, losses: torch.Tensor) -> torch.Tensor:
        """The sum of the living models' losses (K,): its gradient for each model is that of the model's own loss."""
        return torch.where(self.alive, losses, 0.0).sum()

    def record(self, losses: torch.Tensor, step: int) -> None:
        """Note the step and value of each model's first non-finite loss, and mask that model out."""
        finite = torch.isfinite(losses)
        diverged = self.alive & ~finite
        self.failed_step = torch.where(diverged, step, self.failed_step)
        self.failed_loss = torch.where(diverged, losses, self.failed_loss)
        self.alive = self.alive & finite


class TorchGenerator(Generator):
    """Base of the torch generators: preprocessing, device, batched seeded training, snapshots, sampling.

    Every subclass takes these parameters (and adds its own), and implements
    :meth:`_train` (initialise K models and train them, yielding after each step) and
    :meth:`_generate` (rows from one model's weights).

    Parameters
    ----------
    steps : int
        Optimiser steps (of the generator, for a GAN).
    batch_size : int
        Rows per step and model, drawn with replacement.
    device : {"cpu", "cuda"}
    torch_threads : int
    quantile_transform : bool
        Train on normal scores of a ``QuantileTransformer`` fitted on each fold's training
        rows. Radiomics features are often skewed and heavy-tailed; the inverse transform
        puts the samples back on the real marginals (measured gains in each generator's
        docstring).

    Attributes
    ----------
    weights_ : dict
        Of a fitted model: the tensors samples are drawn from, each (1, ...).
    fraction_ : float
        Of a fitted model: the fraction of the budget it was trained for.
    steps_trained_ : int
        Of a fitted model: its optimiser steps, ``max(1, round(fraction_ * steps))``.
    transformer_ : sklearn.preprocessing.QuantileTransformer or None
    device_ : torch.device
    """

    # Set by fitting (the attributes above); declared for the type checker.
    weights_: Weights
    fraction_: float
    steps_trained_: int
    transformer_: Any
    device_: torch.device

    def __init__(
        self, *, steps: int, batch_size: int, device: str, torch_threads: int, quantile_transform: bool
    ) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.device = device
        self.torch_threads = torch_threads
        self.quantile_transform = quantile_transform

    # -- what a subclass implements ---------------------------------------------------
    def _train(self, batch: TrainingBatch) -> Iterator[tuple[torch.Tensor, Weights]]:
        """Initialise K models from ``batch.streams`` and train them for :attr:`steps` steps.

        After each step, yield the per-model losses (K,) and the tensors that samples are
        drawn from, stacked (K, ...); the base class copies them at the snapshot steps.
        Losses enter the backward pass through ``batch.total``.
        """
        raise NotImplementedError

    def _generate(self, weights: Weights, labels: torch.Tensor, streams: ModelStreams) -> torch.Tensor:
        """Rows (1, n, p) in the model's (transformed) feature space for labels (1, n), without gradients."""
        raise NotImplementedError

    # -- batched fitting -----------------------------------------------------------------
    def fit_folds(
        self,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        seeds: Sequence[int],
        snapshots: Sequence[float] = (1.0,),
    ) -> list[dict[float, Generator] | GeneratorError]:
        """Train one model per fold as one batched network, keeping snapshots along the training.

        Parameters
        ----------
        folds : sequence of (X, y)
            The training rows of each fold, as for :meth:`~radlib.generators.base.Generator.fit`.
        seeds : sequence of int
            One seed per fold: its model's initial weights, minibatches, noise and
            quantile transform.
        snapshots : sequence of float
            Fractions of :attr:`steps` at which the weights are kept (at step
            ``max(1, round(fraction * steps))``); 1.0 is the fully trained model.

        Returns
        -------
        list
            Per fold, a dict fraction -> fitted generator, or the
            :class:`~radlib.generators.base.GeneratorError` of that fold (invalid rows, a
            loss that became NaN or infinite), which leaves the other folds' models
            unaffected.

        Raises
        ------
        ValueError
            ``folds`` and ``seeds`` differ in length, or invalid ``snapshots``.
        GeneratorError
            ``steps`` is not a positive integer.
        """
        fractions = check_snapshots(snapshots)
        check_folds(folds, seeds)
        if not isinstance(self.steps, Integral) or isinstance(self.steps, bool) or self.steps < 1:
            raise self.fail("fit", f"steps must be a positive integer, got {self.steps!r}")
        device = resolve_device(self.device)
        fitted: list = [None] * len(folds)
        started = []
        for index, ((X, y), seed) in enumerate(zip(folds, seeds)):
            model = copy.copy(self)
            try:
                X, y = model._start_fit(X, y, seed)
            except GeneratorError as error:
                fitted[index] = error
                continue
            model.device_ = device
            model.transformer_, rows = self._normal_scores(X, model.seed_)
            started.append((index, model, rows, y))
        # Models are stacked along the model dimension, so a batch shares its number of features.
        for n_features in sorted({model.n_features_ for _, model, _, _ in started}):
            group = [entry for entry in started if entry[1].n_features_ == n_features]
            outcomes = self._train_batch(
                [rows for _, _, rows, _ in group],
                [y for *_, y in group],
                [m.seed_ for _, m, _, _ in group],
                fractions,
                device,
            )
            for (index, model, _, _), outcome in zip(group, outcomes):
                if isinstance(outcome, GeneratorError):
                    fitted[index] = outcome
                else:
                    fitted[index] = {
                        fraction: model._snapshot(fraction, weights) for fraction, weights in outcome.items()
                    }
        return fitted

    def _normal_scores(self, X: np.ndarray, seed: int) -> tuple[QuantileTransformer | None, np.ndarray]:
        """The quantile transformer of one fold (None when off) and the rows the model trains on."""
        if not self.quantile_transform:
            return None, X
        # n_quantiles = n: every training row is a quantile (the default 1000 exceeds n and warns).
        transformer = QuantileTransformer(
            n_quantiles=min(len(X), 1000), output_distribution="normal", random_state=seed % 2**32
        )
        # sklearn maps each feature's minimum and maximum to +-5.2 (its 1e-7 bound), so every
        # feature has two far outliers, and with collinear radiomics features they are the same
        # rows. Winsorise at the normal score of the most extreme of n rows at the usual
        # plotting position (n - 1/2) / n, i.e. Phi^-1(1 - 1/(2n)): 2.8 for n = 100. On
        # Hosny2018A this took TabDDPM's mean KS from 0.09-0.17 to 0.05-0.11.
        extreme = float(norm.ppf(1 - 1 / (2 * len(X))))
        return transformer, np.clip(transformer.fit_transform(X), -extreme, extreme)

    def _train_batch(
        self,
        rows: list[np.ndarray],
        labels: list[np.ndarray],
        seeds: list[int],
        fractions: tuple[float, ...],
        device: torch.device,
    ) -> list[dict[float, Weights] | GeneratorError]:
        """Train the models of one batch; per model, its sampling weights at each fraction, or its divergence."""
        snapshot_steps = {fraction: max(1, round(fraction * self.steps)) for fraction in fractions}
        kept: dict[int, Weights] = {}
        with torch_session(None, self.torch_threads, device):
            batch = TrainingBatch(rows, labels, seeds, device)
            for step, (losses, sampling) in enumerate(self._train(batch), start=1):
                batch.record(losses.detach(), step)
                if step in snapshot_steps.values():
                    kept[step] = {name: tensor.detach().clone() for name, tensor in sampling.items()}
            failed_steps = batch.failed_step.tolist()
            failed_losses = batch.failed_loss.tolist()
        outcomes: list[dict[float, Weights] | GeneratorError] = []
        for k, (failed_step, failed_loss) in enumerate(zip(failed_steps, failed_losses)):
            if failed_step:
                outcomes.append(
                    self.fail("fit", f"training diverged: loss {failed_loss} at step {failed_step} of {self.steps}")
                )
            else:
                outcomes.append(
                    {
                        fraction: {name: tensor[k : k + 1].clone() for name, tensor in kept[step].items()}
                        for fraction, step in snapshot_steps.items()
                    }
                )
        return outcomes

    def _snapshot(self, fraction: float, weights: Weights) -> TorchGenerator:
        """A copy of this fold's model that holds its weights at ``fraction`` of the budget."""
        model = copy.copy(self)
        model.weights_ = weights
        model.fraction_ = fraction
        model.steps_trained_ = max(1, round(fraction * self.steps))
        return model

    # -- sampling -------------------------------------------------------------------------
    def _sample_class(self, label: int, n: int, seed: int) -> np.ndarray:
        with torch_session(None, self.torch_threads, self.device_), torch.no_grad():
            labels = torch.full((1, n), label, dtype=torch.long, device=self.device_)
            generated = self._generate(self.weights_, labels, ModelStreams([seed], self.device_))
            rows = generated[0].cpu().double().numpy()
        # Checked before the inverse transform, which would clip infinite values to the range.
        if not np.all(np.isfinite(rows)):
            raise self.fail("sample", f"class {label}: the model produced NaN or infinite values")
        return self.transformer_.inverse_transform(rows) if self.transformer_ is not None else rows
