"""One rank of the distributed training of test_distributed.py: trains a
ModuleMap with DistributedDataParallel over a DataLoader with a
DistributedSampler, and saves the final parameters.

Usage: python _ddp_worker.py RANK WORLD_SIZE PORT OUTPUT
"""

import datetime
import sys

import numpy as np
import torch
import torch.distributed

import metatensor
from metatensor import Labels, TensorBlock, TensorMap
from metatensor.learn import DataLoader, Dataset, nn

rank, world_size, port, output = sys.argv[1:]
rank, world_size = int(rank), int(world_size)

torch.distributed.init_process_group(
    "gloo",
    init_method=f"tcp://127.0.0.1:{port}",
    rank=rank,
    world_size=world_size,
    timeout=datetime.timedelta(seconds=60),
)

# the same data on every rank: 24 systems with 2 to 4 atoms of types 1 and 8,
# and a target that is a linear function of the features
generator = np.random.default_rng(0)
keys = Labels(["center_type"], np.array([[1], [8]]))
weights = {1: np.array([1.0, -2.0, 0.5]), 8: np.array([0.3, 0.2, -1.0])}
features, targets = [], []
for system in range(24):
    blocks, target_blocks = [], []
    for center_type in (1, 8):
        n_atoms = int(generator.integers(2, 5))
        samples = Labels(
            ["system", "atom"], np.array([[system, atom] for atom in range(n_atoms)])
        )
        values = generator.normal(size=(n_atoms, 3))
        blocks.append(
            TensorBlock(torch.tensor(values), samples, [], Labels.range("feature", 3))
        )
        target = values @ weights[center_type]
        target_blocks.append(
            TensorBlock(
                torch.tensor(target.reshape(-1, 1)),
                samples,
                [],
                Labels.range("energy", 1),
            )
        )
    features.append(TensorMap(keys, blocks))
    targets.append(TensorMap(keys, target_blocks))
dataset = Dataset(features=features, targets=targets)

sampler = torch.utils.data.distributed.DistributedSampler(
    dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=3
)
loader = DataLoader(dataset, batch_size=4, sampler=sampler)

# different initial parameters on each rank: DDP broadcasts those of rank 0
torch.manual_seed(rank)
model = nn.Linear(keys, 3, 1, dtype=torch.float64)
ddp = torch.nn.parallel.DistributedDataParallel(model)
optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)

seen = []
losses = []
for epoch in range(10):
    sampler.set_epoch(epoch)
    for batch in loader:
        if epoch == 0:
            systems = batch.features.block(0).samples.column("system")
            seen.extend(systems.tolist())
        optimizer.zero_grad()
        prediction = ddp(batch.features)
        loss = sum(
            ((prediction.block(i).values - batch.targets.block(i).values) ** 2).mean()
            for i in range(len(keys))
        )
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

torch.save(
    {
        "parameters": {name: p.detach() for name, p in model.named_parameters()},
        "systems": sorted(set(seen)),
        "losses": losses,
    },
    output,
)
torch.distributed.barrier()
torch.distributed.destroy_process_group()
metatensor  # noqa: B018 (imported for the wiring of metatensor.learn)
