r"""Class conditioning shared by the model families.

* Generators embed the label and concatenate it to the noise (Mirza & Osindero 2014,
  "Conditional Generative Adversarial Nets"): :math:`G(z, y) = G'([z; E_G(y)])`.
* Critics add the projection term (Miyato & Koyama 2018, "cGANs with Projection
  Discriminator", eq. 3): :math:`D(x, y) = \psi(\phi(x)) + \langle E_D(y), \phi(x)\rangle`,
  where :math:`\phi(x)` is the feature vector the critic's last layer reads and :math:`\psi`
  that last layer.

Labels are class indices: an integer tensor of shape ``(batch,)`` with values in
``[0, num_classes)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_int_at_least
from ..errors import ConfigError

__all__ = ["check_labels", "check_num_classes", "projection_embedding", "label_embedding"]


def check_num_classes(num_classes: int | None) -> int | None:
    """``num_classes`` if it is None (unconditional) or an integer >= 1."""
    if num_classes is None:
        return None
    return check_int_at_least("num_classes", num_classes, 1)


def label_embedding(num_classes: int, embed_dim: int | None, default: int) -> nn.Embedding:
    """The generator's label embedding (``embed_dim`` defaults to ``default``; N(0, 1) init)."""
    dim = default if embed_dim is None else check_int_at_least("embed_dim", embed_dim, 1)
    return nn.Embedding(num_classes, dim)


def projection_embedding(num_classes: int, dim: int) -> nn.Embedding:
    """The critic's projection embedding :math:`E_D`, one ``dim``-vector per class, N(0, 0.02)."""
    embedding = nn.Embedding(num_classes, dim)
    with torch.no_grad():
        nn.init.normal_(embedding.weight, 0.0, 0.02)
    return embedding


def check_labels(labels: object, num_classes: int | None, batch_size: int, where: str) -> Tensor | None:
    """Validate the labels passed to a conditional (or unconditional) network.

    Args:
        labels: What the caller passed.
        num_classes: The network's ``num_classes`` (None: unconditional).
        batch_size: Rows of the network's other input.
        where: How to call the network, for the message (e.g. ``"DCGANGenerator(z, labels)"``).

    Returns:
        The labels (None for an unconditional network).

    Raises:
        ConfigError: Labels missing, given to an unconditional network, not an integer
            tensor of shape ``(batch,)``, or (for CPU tensors: no device sync) outside
            ``[0, num_classes)``.
    """
    if num_classes is None:
        if labels is not None:
            raise ConfigError(
                f"labels were passed to {where.split('(')[0]}, which is unconditional; build it "
                "with num_classes=N for a class-conditional network, or call it without labels"
            )
        return None
    if labels is None:
        raise ConfigError(
            f"{where.split('(')[0]} is class-conditional (num_classes={num_classes}): call it as "
            f"{where} with labels an int64 tensor of shape (batch,) in [0, {num_classes})"
        )
    if not isinstance(labels, Tensor):
        raise ConfigError(
            f"labels must be a torch tensor of class indices, got {type(labels).__name__}; "
            "use torch.as_tensor(labels, dtype=torch.long)"
        )
    if labels.is_floating_point() or labels.is_complex() or labels.dtype is torch.bool:
        raise ConfigError(
            f"labels have dtype {labels.dtype}; class labels are integer indices in "
            f"[0, {num_classes}): convert them with labels.long()"
            + (" (one-hot rows: labels.argmax(1))" if labels.dim() == 2 else "")
        )
    if labels.dim() != 1 or labels.shape[0] != batch_size:
        hint = " (one-hot rows? use labels.argmax(1))" if labels.dim() == 2 and labels.shape[-1] > 1 else (
            " (use labels.reshape(-1))" if labels.numel() == batch_size else "")
        raise ConfigError(
            f"labels have shape {tuple(labels.shape)} but must be ({batch_size},): one class "
            f"index per sample{hint}"
        )
    if labels.device.type == "cpu" and labels.numel():
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ConfigError(
                f"label {bad} is outside [0, {num_classes}) (num_classes={num_classes}); map your "
                f"classes to 0..{num_classes - 1} or build the networks with a larger num_classes"
            )
    return labels
