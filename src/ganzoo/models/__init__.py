"""Generator and critic families. Importing this package registers them."""

from __future__ import annotations

from ._layers import dcgan_init
from .dcgan import DCGANCritic, DCGANGenerator, dcgan_layout
from .mlp import MLPCritic, MLPGenerator

__all__ = ["DCGANGenerator", "DCGANCritic", "MLPGenerator", "MLPCritic", "dcgan_init", "dcgan_layout"]
