"""On CPU with a fixed seed, an interrupted-and-resumed run ends bitwise identical to an
uninterrupted one - shuffling DataLoaders, epochs and random transforms included."""

from __future__ import annotations


import pytest
import torch

import ganzoo
from ganzoo._stream import BatchStream, initial_position
from ganzoo.checkpoint import load_checkpoint


class RandomFlip(torch.utils.data.Dataset):
    """A dataset with a random transform drawn from torch's global generator."""

    def __init__(self, points: torch.Tensor) -> None:
        self.points = points

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.points[i] * (1 if torch.rand(()) < 0.5 else -1)


POINTS = ganzoo.data.grid().sample(120, torch.Generator().manual_seed(0))
LOADERS = {
    "shuffle": lambda: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(POINTS), batch_size=16, shuffle=True),
    "shuffle_own_generator": lambda: torch.utils.data.DataLoader(
        POINTS, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(5)),
    "random_transform_drop_last": lambda: torch.utils.data.DataLoader(
        RandomFlip(POINTS), batch_size=16, shuffle=True, drop_last=True),
    "toy_sampler": lambda: ganzoo.data.grid().sampler(16, seed=1),
}


def build(seed: int = 3, **kwargs) -> ganzoo.Trainer:
    torch.manual_seed(seed)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16, 16))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16, 16))
    return ganzoo.recipes.wgan_gp(generator=G, critic=D, device="cpu", seed=seed, critic_steps=2, log_every=4, **kwargs)


def assert_same(a: ganzoo.Trainer, b: ganzoo.Trainer) -> None:
    for x, y in zip([*a.generator.parameters(), *a.critic.parameters()], [*b.generator.parameters(), *b.critic.parameters()]):
        assert torch.equal(x, y)
    assert a.history.column("critic_loss") == b.history.column("critic_loss")
    assert (a.step, a.critic_updates, a.epoch) == (b.step, b.critic_updates, b.epoch)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_resumed_run_is_bitwise_identical(kind, tmp_path):
    straight = build()
    straight.fit(LOADERS[kind](), steps=20)  # 20 steps x 2 critic batches: several passes
    first = build()
    first.fit(LOADERS[kind](), steps=9)  # stops mid-pass
    first.save(tmp_path / "ckpt.pt")
    del first
    resumed = ganzoo.Trainer.load(tmp_path / "ckpt.pt")
    resumed.fit(LOADERS[kind](), steps=11)  # a new loader object, as in a new process
    assert_same(straight, resumed)


def test_without_the_data_position_the_run_differs(tmp_path):
    """Control: the test above would fail if the position were not restored."""
    straight = build()
    straight.fit(LOADERS["shuffle"](), steps=12)
    first = build()
    first.fit(LOADERS["shuffle"](), steps=5)
    first.save(tmp_path / "ckpt.pt")
    state = load_checkpoint(tmp_path / "ckpt.pt")
    del state["data"]  # what a checkpoint without the sampler position would give
    resumed = build()
    resumed.load_state_dict(state)
    resumed.fit(LOADERS["shuffle"](), steps=7)
    differs = any(not torch.equal(x, y) for x, y in zip(straight.generator.parameters(), resumed.generator.parameters()))
    assert differs


def test_two_fit_calls_equal_one(tmp_path):
    straight = build()  # trainers draw from torch's global generator: build each just before use
    straight.fit(LOADERS["shuffle"](), steps=10)
    split = build()
    loader = LOADERS["shuffle"]()
    split.fit(loader, steps=3)
    split.fit(loader, steps=7)
    assert_same(straight, split)


def test_resume_in_epoch_mode(tmp_path):
    straight = build()
    straight.fit(LOADERS["shuffle"](), epochs=3)  # 8 batches per pass, 2 per step: 4 steps per pass
    assert straight.epoch == 3 and straight.step == 12
    first = build()
    first.fit(LOADERS["shuffle"](), steps=5)  # one pass and a bit
    first.save(tmp_path / "ckpt.pt")
    resumed = ganzoo.Trainer.load(tmp_path / "ckpt.pt")
    resumed.fit(LOADERS["shuffle"](), epochs=3 - resumed.epoch)  # the partial pass counts as one
    assert_same(straight, resumed)


def test_worker_processes_resume_exactly(tmp_path):
    loader = lambda: torch.utils.data.DataLoader(RandomFlip(POINTS), batch_size=30, shuffle=True, num_workers=1)  # noqa: E731
    straight = build()
    straight.fit(loader(), steps=5)
    first = build()
    first.fit(loader(), steps=3)
    assert first._stream is None  # workers are not kept alive between fit calls
    first.save(tmp_path / "ckpt.pt")
    resumed = ganzoo.Trainer.load(tmp_path / "ckpt.pt")
    resumed.fit(loader(), steps=2)
    assert_same(straight, resumed)


def test_data_does_not_consume_the_training_random_stream():
    """The trainer's random numbers are the same whatever the loader draws from torch's RNG."""
    build().fit(LOADERS["shuffle"](), steps=2)
    after_shuffle = torch.get_rng_state()
    build().fit(LOADERS["random_transform_drop_last"](), steps=2)  # draws a number per sample
    assert torch.equal(after_shuffle, torch.get_rng_state())


# ------------------------------------------------------------------ BatchStream positions
def numbered(n: int = 10, batch_size: int = 2) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.arange(float(n)), batch_size=batch_size, shuffle=True)


def test_stream_position_round_trip_mid_pass_and_across_passes():
    for used in (0, 3, 5, 7, 12):
        stream = BatchStream(numbered(), initial_position(9))
        for _ in range(used):
            stream.next()
        position = stream.position()
        expected = [stream.next().tolist() for _ in range(8)]
        again = BatchStream(numbered(), position)
        assert [again.next().tolist() for _ in range(8)] == expected
        assert position["pass"] == used // 5 and position["batches"] == used % 5


def test_stream_position_is_rescaled_for_another_process_count():
    stream = BatchStream(numbered(20), {**initial_position(1), "batches": 2, "world_size": 2})
    assert stream.batches_in_pass == 4  # 2 batches on each of 2 processes = 4 on one


def test_stream_on_other_data_starts_the_pass_again_with_a_warning():
    stream = BatchStream(numbered(10), initial_position(1))
    stream.next(), stream.next()
    with pytest.warns(RuntimeWarning, match="differs from the data.*first batch"):
        other = BatchStream(numbered(12), stream.position())
    assert other.batches_in_pass == 0


def test_switching_data_starts_the_new_data_from_its_first_batch_silently(recwarn):
    trainer = build()
    trainer.fit(ganzoo.data.grid().sampler(16, seed=1), steps=3)
    other = ganzoo.data.grid().sampler(16, seed=2)  # other seed: other data
    trainer.fit(other, steps=1)
    assert trainer._stream.batches_in_pass == 2 and not [w for w in recwarn if "differs" in str(w.message)]


def test_one_shot_iterators_are_not_skipped():
    stream = BatchStream(iter([torch.zeros(2), torch.ones(2)]), {**initial_position(0), "batches": 5})
    assert torch.equal(stream.next(), torch.zeros(2))
