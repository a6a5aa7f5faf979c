"""TabDDPM for numeric features (Kotelnikov et al. 2023).

As in the paper's numerical branch:

- the features are mapped to normal scores by sklearn's
  ``QuantileTransformer(output_distribution="normal")`` fitted on the training rows, and
  samples are mapped back by its inverse;
- Gaussian diffusion over ``timesteps`` steps with the cosine schedule of Nichol &
  Dhariwal (2021);
- the denoiser is the paper's MLP: the rows projected to ``width`` units, plus a
  sinusoidal timestep embedding passed through a small MLP, plus a learned label
  embedding, then ``depth`` ReLU layers; it is trained to predict the added noise (MSE),
  with AdamW and a learning rate annealed linearly to zero, as in the reference code;
- samples are drawn by ancestral sampling from x_T ~ N(0, I) with the requested label,
  using the posterior variance of q(x_{t-1} | x_t, x_0), with the predicted x_0 clipped
  to the range of the training rows' normal scores (which are winsorised, see
  :class:`~radlib.generators.neural.TorchGenerator`).

Batched training and snapshots
------------------------------
The K fold-models train as one batched network (:mod:`radlib.generators.neural`), one
AdamW over the stacked weights, each model's predicted x_0 clipped to its own fold's
range. The timestep embedding depends on t alone, so each step evaluates its MLP on the
T timesteps and looks the rows up, instead of evaluating it on every row of the batch
(same values; a quarter less arithmetic per step at the defaults). Snapshots keep the
denoiser's weights; as the learning rate is annealed over the whole budget, the snapshot
at a fraction f is not the model a training of f x steps gives (that one would have
annealed to 0 sooner). Measured as in :mod:`radlib.generators.neural`: one fit 3.6 s,
five batched 14.2 s (17.4 s one after another; v1's one fit 4.8 s). On the known test
distribution the 0.0625 snapshot fails 3-4 checks (class means off by 0.43-0.64 SD), the
full model none.

Default budget, chosen by measurement
-------------------------------------
Measured with v1's code as described in :mod:`radlib.generators`: (a) fit seconds, (b)
the known test distribution, (c) three real datasets.

Chosen: 800 steps, batch 128, 50 diffusion steps, width 256, depth 2, learning rate 2e-3
(AdamW, weight decay 1e-4): 2.4 s per fit; on (c) KS 0.106, TSTR 0.711. What the sweeps showed:

- width 128 (1.5 s): KS 0.143 (0.178 on Hosny2018A), TSTR 0.684. The selected radiomics
  features are nearly collinear (Hosny2018A: one principal component holds 31.8 of 32
  units of variance), and the small denoiser does not learn to remove the noise across
  the null directions within the budget (before the winsorising of the normal scores its
  samples were 2.5 times too spread); width 256 does;
- 100 diffusion steps instead of 50: KS 0.120, TSTR 0.678; 1000 training steps instead
  of 800: 25% slower, no clear gain; batch 64 with 1200 steps or learning rate 3e-3: worse;
- an exponential moving average of the denoiser's weights (0.99, 0.995): no gain, not used;
- the clipping of predicted x_0 (in :meth:`TabDDPM._generate`) is needed: without it the
  ancestral sampler diverged (sample SD in the thousands) whenever the noise prediction near
  t = T was slightly off.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

from radlib.generators.base import CLASSES
from radlib.generators.neural import ModelStreams, StackedMLP, TorchGenerator, TrainingBatch, Weights, rows_of

__all__ = ["TabDDPM", "cosine_schedule", "timestep_embedding"]


def cosine_schedule(timesteps: int, offset: float = 0.008) -> torch.Tensor:
    """Noise levels beta_t of the cosine schedule (Nichol & Dhariwal 2021, eq. 17), clipped at 0.999.

    Parameters
    ----------
    timesteps : int
        Number of diffusion steps T.
    offset : float
        The small offset s that keeps beta_t from vanishing near t = 0.

    Returns
    -------
    torch.Tensor of shape (timesteps,), float64
    """
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    alpha_bar = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017; as in TabDDPM's code).

    Parameters
    ----------
    t : torch.Tensor of shape (n,)
    dim : int
        Embedding size (even).
    max_period : float
        Longest wavelength.
    """
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class _Denoiser:
    """K copies of TabDDPM's MLPDiffusion: predict the noise from (x_t, t, y).

    The timestep embedding is a function of t alone, so it is computed once per step for
    the T timesteps, (K, T, width), and looked up per row: the same values as embedding
    every row's t, for T = 50 instead of ``batch_size`` rows of the two width x width layers.
    """

    def __init__(self, n_features: int, width: int, depth: int, timesteps: int) -> None:
        self.width = width
        self.project = StackedMLP("project", [n_features, width], torch.relu)
        self.time = StackedMLP("time", [width, width, width], nn.functional.silu)
        self.body = StackedMLP("body", [width] + [width] * depth + [n_features], torch.relu)
        self.sinusoids = timestep_embedding(torch.arange(timesteps), width)

    def init(self, streams: ModelStreams) -> Weights:
        """Weights drawn as torch draws them for the layers and ``nn.Embedding(2, width)``."""
        weights = {**self.project.init(streams), **self.time.init(streams)}
        weights["label_embedding"] = streams.normal(len(CLASSES), self.width).requires_grad_()
        return {**weights, **self.body.init(streams)}

    def time_table(self, weights: Weights) -> torch.Tensor:
        """The embedding (K, T, width) of every timestep."""
        models = len(weights["label_embedding"])
        sinusoids = self.sinusoids.to(weights["label_embedding"].device).expand(models, -1, -1)
        return self.time(weights, sinusoids)

    def __call__(self, weights: Weights, x: torch.Tensor, time: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Predicted noise (K, B, p) for rows x_t (K, B, p), their timesteps' embeddings (K, B or 1, width), labels (K, B)."""
        embedding = time + nn.functional.silu(rows_of(weights["label_embedding"], labels))
        return self.body(weights, self.project(weights, x) + embedding)


def diffusion_schedule(timesteps: int, device: torch.device) -> dict[str, torch.Tensor]:
    """The coefficients (T,) of q(x_t | x_0) and of the posterior q(x_{t-1} | x_t, x_0), float32 on ``device``.

    The posterior is N(c0 x_0 + ct x_t, std^2) (Ho et al. 2020, eq. 7).
    """
    betas = cosine_schedule(timesteps)
    alpha_bar = torch.cumprod(1 - betas, dim=0)
    alpha_bar_previous = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
    schedule = {
        "sqrt_alpha_bar": alpha_bar.sqrt(),
        "sqrt_one_minus_alpha_bar": (1 - alpha_bar).sqrt(),
        "posterior_c0": betas * alpha_bar_previous.sqrt() / (1 - alpha_bar),
        "posterior_ct": (1 - alpha_bar_previous) * (1 - betas).sqrt() / (1 - alpha_bar),
        "posterior_std": (betas * (1 - alpha_bar_previous) / (1 - alpha_bar)).sqrt(),
    }
    return {name: values.float().to(device) for name, values in schedule.items()}


class TabDDPM(TorchGenerator):
    """Class-conditional Gaussian diffusion on quantile-normalised features.

    Parameters
    ----------
    steps : int
        Optimiser steps.
    batch_size : int
    timesteps : int
        Diffusion steps T.
    width, depth : int
        Units of the embeddings and hidden layers, and number of hidden layers.
    lr : float
        Initial AdamW learning rate, annealed linearly to 0.
    weight_decay : float
        AdamW weight decay.
    device : {"cpu", "cuda"}
    torch_threads : int
    """

    name = "tabddpm"

    def __init__(
        self,
        *,
        steps: int = 800,
        batch_size: int = 128,
        timesteps: int = 50,
        width: int = 256,
        depth: int = 2,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        device: str = "cpu",
        torch_threads: int = 1,
    ) -> None:
        # The quantile transform is part of TabDDPM, not an option.
        super().__init__(
            steps=steps, batch_size=batch_size, device=device, torch_threads=torch_threads, quantile_transform=True
        )
        self.timesteps = timesteps
        self.width = width
        self.depth = depth
        self.lr = lr
        self.weight_decay = weight_decay

    def _train(self, batch: TrainingBatch) -> Iterator[tuple[torch.Tensor, Weights]]:
        schedule = diffusion_schedule(self.timesteps, batch.device)
        denoiser = _Denoiser(batch.n_features, self.width, self.depth, self.timesteps)
        streams, size = batch.streams, self.batch_size
        weights = denoiser.init(streams)
        optimizer = torch.optim.AdamW(weights.values(), lr=self.lr, weight_decay=self.weight_decay, fused=True)
        lr_schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / self.steps)
        # Each model's predicted x_0 is clipped to the range of its training rows' normal scores (padding is 0).
        sampling = {**weights, "x0_bound": batch.rows.abs().amax(dim=(1, 2), keepdim=True)}
        timesteps = torch.full((len(batch),), self.timesteps, device=batch.device)
        for _ in range(self.steps):
            rows, labels = batch.draw(size)
            t = streams.below(timesteps, size)
            noise = streams.normal(size, batch.n_features)
            noisy = schedule["sqrt_alpha_bar"][t, None] * rows + schedule["sqrt_one_minus_alpha_bar"][t, None] * noise
            predicted = denoiser(weights, noisy, rows_of(denoiser.time_table(weights), t), labels)
            losses = ((predicted - noise) ** 2).mean(dim=(1, 2))
            optimizer.zero_grad()
            batch.total(losses).backward()
            optimizer.step()
            lr_schedule.step()
            yield losses.detach(), sampling

    def _generate(self, weights: Weights, labels: torch.Tensor, streams: ModelStreams) -> torch.Tensor:
        s = diffusion_schedule(self.timesteps, labels.device)
        denoiser = _Denoiser(self.n_features_, self.width, self.depth, self.timesteps)
        time_table, bound = denoiser.time_table(weights), weights["x0_bound"]
        x = streams.normal(labels.shape[1], self.n_features_)
        for step in reversed(range(self.timesteps)):
            noise = denoiser(weights, x, time_table[:, step : step + 1], labels)
            # Predict x_0 and clip it to the range of the training rows' normal scores: near t = T,
            # where alpha_bar ~ 0, a small error in the predicted noise would otherwise blow x_0 up
            # and every later step with it (the usual clipping of DDPM samplers).
            x0 = (x - s["sqrt_one_minus_alpha_bar"][step] * noise) / s["sqrt_alpha_bar"][step]
            x = s["posterior_c0"][step] * torch.clamp(x0, -bound, bound) + s["posterior_ct"][step] * x
            if step > 0:
                x = x + s["posterior_std"][step] * streams.normal(*x.shape[1:])
        return x
