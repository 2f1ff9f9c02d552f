"""Generator and critic families. Importing this package registers them."""

from __future__ import annotations

from ._layers import dcgan_init
from .cyclegan import PatchGANCritic, ResnetGenerator, patchgan_output_size
from .dcgan import DCGANCritic, DCGANGenerator, dcgan_layout
from .mlp import MLPCritic, MLPGenerator

__all__ = ["DCGANGenerator", "DCGANCritic", "MLPGenerator", "MLPCritic", "dcgan_init", "dcgan_layout", "ResnetGenerator", "PatchGANCritic", "patchgan_output_size"]
