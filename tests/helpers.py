"""Tiny models and data shared by the tests."""

from __future__ import annotations

import torch

import ganzoo


def toy_pair(hidden: int = 16, latent_dim: int = 2):
    G = ganzoo.create_generator("mlp", latent_dim=latent_dim, out_shape=(2,), hidden=(hidden, hidden))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(hidden, hidden))
    return G, D


def image_pair(size: int = 16, channels: int = 3, width: int = 4, norm: str = "none", latent_dim: int = 8):
    G = ganzoo.create_generator("dcgan", latent_dim=latent_dim, image_size=size, channels=channels, width=width)
    D = ganzoo.create_critic("dcgan", image_size=size, channels=channels, width=width, norm=norm)
    return G, D


def image_loader(n: int = 64, size: int = 16, channels: int = 3, batch_size: int = 16, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(n, channels, size, size, generator=gen) * 2 - 1
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=batch_size)


class CountingLoader:
    """Re-iterable list of batches that counts how many batches were drawn."""

    def __init__(self, batches: int = 10, batch_size: int = 8, dim: int = 2) -> None:
        self.data = [torch.randn(batch_size, dim) for _ in range(batches)]
        self.drawn = 0

    def __iter__(self):
        for batch in self.data:
            self.drawn += 1
            yield batch

    def __len__(self) -> int:
        return len(self.data)
