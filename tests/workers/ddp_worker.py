"""Run by tests/test_distributed.py under `torchrun --nproc_per_node=2` (gloo, CPU).

Usage: python -m torch.distributed.run --standalone --nproc_per_node=2 ddp_worker.py OUT_DIR [RESUME_CKPT]
Each rank writes OUT_DIR/rank{r}.json and tensors OUT_DIR/rank{r}.pt for the test to compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

import ganzoo
import ganzoo.regularizers as regs
from ganzoo.distributed import get_rank

torch.set_num_threads(1)
out = Path(sys.argv[1])
resume = sys.argv[2] if len(sys.argv) > 2 else None
report: dict = {}
tensors: dict = {}


def mlp_pair(seed: int = 0):
    torch.manual_seed(seed)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(32, 32))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(32, 32))
    return G, D


# 1. WGAN-GP on the 2-D grid through the Trainer (process group created by the Trainer).
G, D = mlp_pair()
trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=7, device="cpu", critic_steps=2, log_every=2)
rank, world = trainer.dist.rank, trainer.dist.world_size
report.update(rank=rank, world=world, get_rank=get_rank())
report["wrapped"] = type(trainer._train["critic"]).__name__
data = ganzoo.data.grid().sampler(64, seed=100 + rank)  # each process its own stream
history = trainer.fit(data, steps=6)
report["history_len"] = len(history)
report["finite"] = all(v == v for v in history.column("critic_loss"))
tensors["grid_generator"] = [p.detach().clone() for p in trainer.generator.parameters()]
written = trainer.save(out / "grid.pt")
report["wrote_checkpoint"] = written is not None
report["last_checkpoint"] = str(trainer.last_checkpoint)

# 2. The gradient penalty through the DDP-wrapped critic equals the single-process value and
#    gradient on the union of both processes' batches (same interpolation points).
global_gen = torch.Generator().manual_seed(11)
B = 8
real_all = torch.randn(B * world, 2, generator=global_gen)
fake_all = torch.randn(B * world, 2, generator=global_gen)
alpha_all = torch.rand(B * world, 1, generator=global_gen)
shard = slice(rank * B, (rank + 1) * B)
alpha_iter = iter([alpha_all[shard], alpha_all])


def fixed_interpolate(real, fake):
    alpha = next(alpha_iter)
    return torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)


original_interpolate, regs._interpolate = regs._interpolate, fixed_interpolate
_, critic = mlp_pair(seed=5)
reference = __import__("copy").deepcopy(critic)
ddp_critic = torch.nn.parallel.DistributedDataParallel(critic)
gp = ganzoo.create_regularizer("gradient_penalty", weight=10.0)
loss = ganzoo.create_loss("wasserstein")
real, fake = real_all[shard], fake_all[shard]
penalty = gp.penalty(ddp_critic, real, fake)
total = loss.critic_loss(ddp_critic(real), ddp_critic(fake)) + penalty
total.backward()
penalty_mean = penalty.detach().clone()
dist.all_reduce(penalty_mean)
penalty_mean /= world
ref_penalty = gp.penalty(reference, real_all, fake_all)
(loss.critic_loss(reference(real_all), reference(fake_all)) + ref_penalty).backward()
report["penalty_ddp"] = penalty_mean.item()
report["penalty_single"] = ref_penalty.item()
report["max_grad_diff"] = max(
    (a.grad - b.grad).abs().max().item() for a, b in zip(critic.parameters(), reference.parameters())
)
report["max_grad"] = max(b.grad.abs().max().item() for b in reference.parameters())
# negative control: the local shard alone (what a missing all-reduce would give) is far off
alpha_iter = iter([alpha_all[shard]])
local = __import__("copy").deepcopy(reference)
local.zero_grad()
(loss.critic_loss(local(real), local(fake)) + gp.penalty(local, real, fake)).backward()
report["max_grad_diff_local"] = max(
    (a.grad - b.grad).abs().max().item() for a, b in zip(local.parameters(), reference.parameters())
)
regs._interpolate = original_interpolate

# 3. Tiny synthetic faces: a shuffling DataLoader is sharded with a DistributedSampler.
faces = ganzoo.data.SyntheticFaces(size=32, length=64, seed=3)
loader = torch.utils.data.DataLoader(faces, batch_size=8, shuffle=True)
image_trainer = ganzoo.recipes.wgan_gp(image_size=32, channels=3, width=4, latent_dim=8, seed=1, device="cpu",
                                       critic_steps=1, log_every=2)
image_trainer.fit(loader, steps=4)
sampler = image_trainer._stream._source.sampler
report["image_sampler"] = type(sampler).__name__
seen = [int(i) for i in list(iter(sampler))]
report["image_indices"] = seen
tensors["image_generator"] = [p.detach().clone() for p in image_trainer.generator.parameters()]

# 4. The other recipes' mechanisms under DDP: spectral-norm parametrizations, batch-norm buffers.
G, D = mlp_pair(seed=2)
sn = ganzoo.recipes.sngan(generator=G, critic=D, seed=2, device="cpu", critic_steps=2)
sn.fit(ganzoo.data.grid().sampler(32, seed=300 + rank), steps=3)
tensors["sngan_critic"] = [t.detach().clone() for t in sn.critic.state_dict().values()]
dc = ganzoo.recipes.dcgan(image_size=32, channels=3, width=4, latent_dim=8, seed=4, device="cpu")
dc.fit(loader, steps=3)
tensors["dcgan_generator"] = [t.detach().clone().float() for t in dc.generator.state_dict().values()]

# 6. The FID callback under DDP: every rank samples its share, the features are gathered, the
#    score is computed once and every rank records it. Needs the metrics extra (torch-fidelity).
if __import__("importlib").util.find_spec("torch_fidelity") is not None:
    torch.manual_seed(0)
    fid_features = torch.nn.Sequential(torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(3 * 16, 4))
    with torch.no_grad():
        fid_features[-1].weight.mul_(100.0)  # the tiny generator barely varies yet: spread its features
    fid_real = torch.rand(48, 3, 32, 32, generator=torch.Generator().manual_seed(9)) * 2 - 1
    fid_trainer = ganzoo.recipes.dcgan(image_size=32, channels=3, width=4, latent_dim=8, seed=6, device="cpu")

    class RecordingFID(ganzoo.callbacks.FID):
        def _fake_features(self, trainer, count, rank):
            self.last_own = super()._fake_features(trainer, count, rank)
            return self.last_own

    fid_cb = RecordingFID(fid_real, every=2, n=40, features=fid_features, cache=False, at_end=False)
    fid_trainer.fit(loader, steps=4, callbacks=[fid_cb])
    report["fid_values"] = fid_cb.values
    report["fid_history"] = [v for v in fid_trainer.history.column("fid") if v == v]
    report["fid_world"] = fid_trainer.dist.world_size
    # this rank's share of the last evaluation's samples (20 of 40), and the real features
    tensors["fid_fake_features"] = fid_cb.last_own
    tensors["fid_real_features"] = fid_cb._real_features_now()

# 5. Resume a checkpoint written by a single process, now with two.
if resume:
    resumed = ganzoo.Trainer.load(resume, device="cpu")
    report["resumed_step"] = resumed.step
    resumed.fit(ganzoo.data.grid().sampler(64, seed=200 + rank), steps=3)
    report["resumed_step_after"] = resumed.step
    tensors["resumed_generator"] = [p.detach().clone() for p in resumed.generator.parameters()]

(out / f"rank{rank}.json").write_text(json.dumps(report))
torch.save(tensors, out / f"rank{rank}.pt")
