"""The unconditional game: noise -> one generator -> one critic (today's behaviour)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from torch import Tensor, nn

from ..errors import ConfigError
from ..losses import AdversarialLoss
from ..registry import LOSSES, REGULARIZERS
from ..regularizers import Regularizer
from ._base import GAMES, Game, Phase

__all__ = ["Unconditional"]


@GAMES.register("unconditional")
class Unconditional(Game):
    """One generator against one critic (Goodfellow et al. 2014): the critic phase
    minimises ``loss.critic_loss(C(x), C(G(z)))`` plus the regularizers' penalties, the
    generator phase ``loss.generator_loss(C(G(z)))``.

    ``Trainer(G, D, loss=..., regularizers=...)`` builds this game.

    Args:
        generator: Maps ``(batch, latent_dim)`` noise to samples.
        critic: Maps samples to scores.
        loss: A loss strategy or its registry name.
        regularizers: Regularizers or their registry names.

    Example:
        >>> import ganzoo
        >>> G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
        >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
        >>> game = ganzoo.games.Unconditional(G, D, loss="wasserstein", regularizers=["gradient_penalty"])
        >>> [p.name for p in game.phases]
        ['critic', 'generator']
    """

    phases = (
        Phase("critic", ("critic",), repeats="critic_steps", critic=True),
        Phase("generator", ("generator",)),
    )

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        loss: AdversarialLoss | str = "bce",
        regularizers: Iterable[Regularizer | str] | Regularizer | str = (),
    ) -> None:
        if not isinstance(generator, nn.Module) or not isinstance(critic, nn.Module):
            raise ConfigError(
                "generator and critic must be torch.nn.Module instances; build them with "
                "ganzoo.create_generator(...) / ganzoo.create_critic(...) or write your own"
            )
        self.generator = generator
        self.critic = critic
        self.loss: AdversarialLoss = LOSSES.create(loss) if isinstance(loss, str) else loss
        if isinstance(regularizers, (str, Regularizer)):
            regularizers = [regularizers]
        self.regularizers: list[Regularizer] = [
            REGULARIZERS.create(r) if isinstance(r, str) else r for r in regularizers
        ]

    def networks(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, "critic": self.critic}

    def sample(self, n: int, **kwargs: Any) -> Tensor:
        raise NotImplementedError("use Trainer.sample(n) for the unconditional game")
