"""A small conditional GAN that makes defect images (paper 3.1.2, Table 1: image generation).

A DCGAN-style generator and a projection discriminator, both conditioned on
the defect type, sized for the recipe's image size (32 to 256 px). Defect images are scarce, so the discriminator sees real and generated
images alike through a random shift and brightness change (differentiable
augmentation, Zhao et al. 2020): without it a discriminator memorises a
dozen images within a few hundred steps and the generator stops learning.
Hinge loss and spectral normalisation keep training steady on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

LATENT = 64
ARCHITECTURE = "gan:dcgan-projection"


@dataclass(frozen=True)
class GanConfig:
    """GAN training settings.

    Attributes:
        steps: Generator updates.
        batch_size: Real images per step.
        lr: Adam learning rate of both networks.
        width: Channels of the first generator block (later blocks halve it).
        seed: Seeds initialisation, batches and noise.
        device: ``cpu`` or ``cuda``.
    """

    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    width: int = 128
    seed: int = 0
    device: str = "cpu"


def layout(size: int) -> tuple[int, int]:
    """``(base, doublings)``: the networks work at ``base`` x ``base`` and double (or halve) ``doublings`` times.

    Raises:
        ValueError: a size the networks cannot make.
    """
    base, doublings = size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, doublings = base // 2, doublings + 1
    if not 32 <= size <= 256 or base > 8:
        raise ValueError(f"the GAN makes square images of 32 to 256 px whose side halves down to 8 or less "
                         f"(e.g. 64, 96, 128, 224), not {size}")
    return base, doublings


def check_size(size: int) -> None:
    """Refuse an image size the networks cannot make.

    Raises:
        ValueError: see :func:`layout`.
    """
    layout(size)


def build_generator(size: int, classes: int, width: int) -> "torch.nn.Module":
    """The generator: noise and a class → a ``size`` x ``size`` RGB image in [-1, 1]."""
    import torch
    from torch import nn

    base, doublings = layout(size)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.size, self.classes, self.width = size, classes, width
            self.embed = nn.Embedding(classes, 32)
            self.project = nn.Linear(LATENT + 32, width * base * base)
            blocks, ch = [], width
            for _ in range(doublings):
                out = max(ch // 2, 16)
                blocks += [nn.Upsample(scale_factor=2), nn.Conv2d(ch, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
                ch = out
            self.blocks = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), *blocks, nn.Conv2d(ch, 3, 3, padding=1), nn.Tanh())

        def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            h = self.project(torch.cat([z, self.embed(y)], dim=1)).view(len(z), self.width, base, base)
            return self.blocks(h)

    return Generator()


def build_discriminator(size: int, classes: int, width: int) -> "torch.nn.Module":
    """The critic: an image and its class → one real/fake score (projection conditioning)."""
    import torch
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    base, doublings = layout(size)

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, ch = [], 3
            for i in range(doublings):  # halve the side down to base x base
                out = min(width, 32 * 2 ** i)
                layers += [spectral_norm(nn.Conv2d(ch, out, 4, 2, 1)), nn.LeakyReLU(0.2)]
                ch = out
            self.body = nn.Sequential(*layers)
            self.score = spectral_norm(nn.Linear(ch * base * base, 1))
            self.embed = spectral_norm(nn.Embedding(classes, ch * base * base))

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            h = self.body(x).flatten(1)
            return self.score(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)

    return Discriminator()


@dataclass
class GanResult:
    """What GAN training produced.

    Attributes:
        generator: The trained generator, in eval mode.
        history: Per reported step: step, d_loss, g_loss.
        seconds: Wall time.
    """

    generator: Any
    history: list[dict[str, float]]
    seconds: float


def train_gan(images: "torch.Tensor", classes: "torch.Tensor", n_classes: int, cfg: GanConfig,
              on_progress: Callable[[int, int], None] | None = None) -> GanResult:
    """Train a conditional GAN on uint8 ``(N, 3, S, S)`` images with class indices ``classes``."""
    import torch

    torch.manual_seed(cfg.seed)
    size = int(images.shape[-1])
    gen, disc = build_generator(size, n_classes, cfg.width).to(cfg.device), build_discriminator(size, n_classes, cfg.width).to(cfg.device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.0, 0.9))
    real_all = (images.float() / 127.5 - 1.0).to(cfg.device)  # [-1, 1], as the generator's tanh
    labels_all = classes.to(cfg.device)
    rng = torch.Generator().manual_seed(cfg.seed)
    history, started = [], time.perf_counter()
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(images), (cfg.batch_size,), generator=rng)
        real, y = real_all[idx], labels_all[idx]
        d_loss = _d_step(gen, disc, opt_d, real, y)
        g_loss = _g_step(gen, disc, opt_g, y)
        if step % 50 == 0 or step == cfg.steps:
            history.append({"step": float(step), "d_loss": d_loss, "g_loss": g_loss})
        if on_progress:
            on_progress(step, cfg.steps)
    gen.eval()
    return GanResult(gen, history, time.perf_counter() - started)


def _d_step(gen: Any, disc: Any, opt: Any, real: "torch.Tensor", y: "torch.Tensor") -> float:
    import torch

    with torch.no_grad():
        fake = gen(torch.randn(len(real), LATENT, device=real.device), y)
    loss = torch.relu(1.0 - disc(diff_augment(real), y)).mean() + torch.relu(1.0 + disc(diff_augment(fake), y)).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _g_step(gen: Any, disc: Any, opt: Any, y: "torch.Tensor") -> float:
    import torch

    fake = gen(torch.randn(len(y), LATENT, device=y.device), y)
    loss = -disc(diff_augment(fake), y).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def diff_augment(x: "torch.Tensor") -> "torch.Tensor":
    """A random brightness change per image and a shift of up to 1/8 of the side per batch (differentiable)."""
    import torch

    n, _, h, w = x.shape
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5) * 0.4
    pad = max(1, h // 8)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx, dy = torch.randint(0, 2 * pad + 1, (2,)).tolist()
    return padded[:, :, dy:dy + h, dx:dx + w]


def generate(generator: Any, classes: "torch.Tensor", seed: int, device: str, batch_size: int = 64) -> "torch.Tensor":
    """uint8 ``(N, 3, S, S)`` images of the given class indices."""
    import torch

    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    generator.eval()
    with torch.inference_mode():
        for start in range(0, len(classes), batch_size):
            y = classes[start:start + batch_size].to(device)
            z = torch.randn(len(y), LATENT, generator=gen).to(device)
            img = generator(z, y).float().clamp(-1, 1)
            out.append(((img + 1) * 127.5).round().to(torch.uint8).cpu())
    size = generator.size
    return torch.cat(out) if out else torch.zeros((0, 3, size, size), dtype=torch.uint8)
