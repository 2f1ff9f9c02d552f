"""Run by tests/test_games_contract.py under torchrun (2 processes, gloo): every game named on
the command line trains 3 steps with DDP; each rank writes a hash of every network's weights."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from games_zoo import build

torch.set_num_threads(1)
out, names = Path(sys.argv[1]), sys.argv[2:]
report = {}
for name in names:
    trainer, data = build(name, seed=5)
    first = []
    trainer.fit(data, steps=3)
    batch = trainer._stream.data  # the rank's shard of the loader
    sampler = getattr(trainer._stream._source, "sampler", None)
    weights = {}
    for net, module in trainer.networks.items():
        digest = hashlib.sha256()
        for p in module.parameters():
            digest.update(p.detach().contiguous().numpy().tobytes())
        weights[net] = digest.hexdigest()
    indices = list(iter(sampler)) if sampler is not None else []
    report[name] = {"world": trainer.dist.world_size, "steps": trainer.step, "weights": weights,
                    "wrapped": type(trainer._train[trainer.game.phases[0].networks[0]]).__name__,
                    "indices": indices}
rank = trainer.dist.rank
(out / f"rank{rank}.json").write_text(json.dumps(report))
torch.distributed.barrier()
if rank == 0:  # each rank's sampler must give it other samples than the other's
    other = json.loads((out / "rank1.json").read_text())
    for name in names:
        report[name]["batches_differ"] = report[name]["indices"] != other[name]["indices"]
        other[name]["batches_differ"] = report[name]["batches_differ"]
    (out / "rank0.json").write_text(json.dumps(report))
    (out / "rank1.json").write_text(json.dumps(other))
torch.distributed.barrier()
