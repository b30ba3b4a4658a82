"""Throughput of ``metatensor_learn.data.DataLoader`` with its default collate
function (``group_and_join``), for metatensor-core and metatensor-torch TensorMaps.

The dataset holds ``--structures`` per-structure feature maps, like the output
of a descriptor calculator: one block per atomic type present in the structure
(keys ``center_type``, so batches join maps with different keys), samples
``["system", "atom"]`` (5 to 20 atoms per structure), ``--properties``
properties, float64 torch values and optionally ``positions`` gradients. The
script prints the batches per second of one pass over the DataLoader
(``num_workers=0``, no shuffling), best of ``--repeat`` passes.

    python metatensor-learn/bench/collate_throughput.py [--gradients] [--profile]
"""

import argparse
import cProfile
import pstats
import time

import numpy as np
import torch

import metatensor
from metatensor_learn.data import DataLoader, Dataset

ATOMIC_TYPES = [1, 6, 7, 8]


def structures(n_structures: int, seed: int):
    """Random atom counts and atomic types of each structure"""
    rng = np.random.default_rng(seed)
    for system in range(n_structures):
        n_atoms = int(rng.integers(5, 21))
        types = rng.choice(ATOMIC_TYPES, size=n_atoms, p=[0.5, 0.3, 0.1, 0.1])
        yield system, types


def features(system, types, n_properties, gradients, classes):
    """One per-structure TensorMap, built with ``classes`` (a module with Labels,
    TensorBlock and TensorMap: metatensor or metatensor.torch)"""
    Labels, TensorBlock, TensorMap = (
        classes.Labels,
        classes.TensorBlock,
        classes.TensorMap,
    )
    torch_labels = classes is not metatensor

    def labels(names, values):
        values = np.ascontiguousarray(values, dtype=np.int32)
        if torch_labels:
            values = torch.from_numpy(values)
        return Labels(names, values)

    keys = []
    blocks = []
    n_atoms = len(types)
    properties = labels(["n"], np.arange(n_properties).reshape(-1, 1))
    for atomic_type in ATOMIC_TYPES:
        atoms = np.nonzero(types == atomic_type)[0]
        if len(atoms) == 0:
            continue
        keys.append(atomic_type)
        block = TensorBlock(
            values=torch.rand(len(atoms), n_properties, dtype=torch.float64),
            samples=labels(
                ["system", "atom"],
                np.stack([np.full_like(atoms, system), atoms], axis=1),
            ),
            components=[],
            properties=properties,
        )
        if gradients:
            # each atom's feature depends on the positions of all atoms
            n_rows = len(atoms) * n_atoms
            rows = np.stack(
                [
                    np.repeat(np.arange(len(atoms)), n_atoms),
                    np.full(n_rows, system),
                    np.tile(np.arange(n_atoms), len(atoms)),
                ],
                axis=1,
            )
            block.add_gradient(
                "positions",
                TensorBlock(
                    values=torch.rand(len(rows), 3, n_properties, dtype=torch.float64),
                    samples=labels(["sample", "system", "atom"], rows),
                    components=[labels(["xyz"], np.arange(3).reshape(-1, 1))],
                    properties=properties,
                ),
            )
        blocks.append(block)
    return TensorMap(labels(["center_type"], np.array(keys).reshape(-1, 1)), blocks)


def throughput(dataset, batch_size, repeat, max_batches):
    """Best batches per second over ``repeat`` passes"""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    best = 0.0
    for _ in range(repeat):
        n_batches = 0
        start = time.perf_counter()
        for _ in loader:
            n_batches += 1
            if n_batches == max_batches:
                break
        best = max(best, n_batches / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--structures", type=int, default=10_000)
    parser.add_argument("--properties", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--gradients", action="store_true", help="add gradients")
    parser.add_argument("--repeat", type=int, default=3, help="passes, best is kept")
    parser.add_argument(
        "--max-batches", type=int, default=-1, help="stop each pass after this many"
    )
    parser.add_argument("--flavour", choices=["core", "torch", "both"], default="both")
    parser.add_argument(
        "--profile", action="store_true", help="print the top of a cProfile run"
    )
    args = parser.parse_args()

    flavours = ["core", "torch"] if args.flavour == "both" else [args.flavour]
    rows = []
    for flavour in flavours:
        if flavour == "core":
            classes = metatensor
        else:
            try:
                import metatensor_torch as classes
            except ImportError:
                print("metatensor-torch is not installed: skipping its TensorMaps")
                continue
        start = time.perf_counter()
        tensors = [
            features(system, types, args.properties, args.gradients, classes)
            for system, types in structures(args.structures, seed=0)
        ]
        dataset = Dataset(features=tensors, energy=torch.rand(args.structures, 1))
        build = time.perf_counter() - start

        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            throughput(dataset, args.batch_size, 1, args.max_batches)
            profile.disable()
            print(f"--- profile, {flavour} TensorMaps ---")
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            continue

        rate = throughput(dataset, args.batch_size, args.repeat, args.max_batches)
        rows.append((flavour, build, rate))

    if rows:
        gradients = "with" if args.gradients else "without"
        print(
            f"{args.structures} structures, batch size {args.batch_size}, "
            f"{args.properties} properties, {gradients} gradients"
        )
        print(
            f"{'TensorMap':<20} {'build (s)':>10} {'batches/s':>10} {'samples/s':>10}"
        )
        for flavour, build, rate in rows:
            name = "metatensor" if flavour == "core" else "metatensor.torch"
            print(
                f"{name:<20} {build:>10.2f} {rate:>10.1f} "
                f"{rate * args.batch_size:>10.0f}"
            )


if __name__ == "__main__":
    main()
