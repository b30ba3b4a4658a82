"""The two flavours of the ``nn`` modules: metatensor-core classes holding torch
arrays (``metatensor.learn``) and the TorchScript classes
(``metatensor.torch.learn``), with builders of test data for each"""

import numpy as np
import pytest
import torch

import metatensor
import metatensor.torch as mtt
from metatensor.learn import nn as core_nn
from metatensor.torch.learn import nn as torch_nn

# TorchScript is deprecated in favour of torch.export in recent torch, but it is
# what metatensor-torch and exported models use
JIT_WARNINGS = [
    pytest.mark.filterwarnings(f"ignore:`torch.jit.{name}` is deprecated")
    for name in ("script", "save", "load")
]


class Flavour:
    def __init__(self, name, nn, classes, equal):
        self.name = name
        self.nn = nn
        self.Labels, self.TensorBlock, self.TensorMap = classes
        self.equal = equal

    def __repr__(self):
        return self.name

    def labels(self, names, values):
        values = np.array(values, dtype=np.int32).reshape(-1, len(names))
        if self.name == "torch":
            values = torch.from_numpy(values)
        return self.Labels(names, values)

    def block(self, o3_lambda, n_samples=4, n_properties=3, gradients=True, seed=0):
        """A block of ``2 * o3_lambda + 1`` components with random float64
        values, and (with ``gradients``) random ``positions`` gradients"""
        generator = torch.Generator().manual_seed(seed)
        size = 2 * o3_lambda + 1
        values = torch.randn(
            n_samples, size, n_properties, dtype=torch.float64, generator=generator
        )
        mu = self.labels(["o3_mu"], [[m] for m in range(-o3_lambda, o3_lambda + 1)])
        properties = self.labels(["n"], [[p] for p in range(n_properties)])
        block = self.TensorBlock(
            values,
            self.labels(["system"], [[s] for s in range(n_samples)]),
            [mu],
            properties,
        )
        if gradients:
            rows = [[s % n_samples, s] for s in range(2 * n_samples)]
            gradient = torch.randn(
                len(rows),
                3,
                size,
                n_properties,
                dtype=torch.float64,
                generator=generator,
            )
            block.add_gradient(
                "positions",
                self.TensorBlock(
                    gradient,
                    self.labels(["sample", "atom"], rows),
                    [self.labels(["xyz"], [[0], [1], [2]]), mu],
                    properties,
                ),
            )
        return block

    def keys(self):
        return self.labels(["o3_lambda", "o3_sigma"], [[0, 1], [1, 1], [2, 1]])

    def tensor(self, gradients=True, n_properties=3):
        """A map with the keys ``(o3_lambda, o3_sigma)`` = (0, 1), (1, 1), (2, 1)"""
        blocks = [
            self.block(o3_lambda, 3 + o3_lambda, n_properties, gradients, o3_lambda)
            for o3_lambda in range(3)
        ]
        return self.TensorMap(self.keys(), blocks)


CORE = Flavour(
    "core",
    core_nn,
    (metatensor.Labels, metatensor.TensorBlock, metatensor.TensorMap),
    metatensor.equal,
)
TORCH = Flavour(
    "torch", torch_nn, (mtt.Labels, mtt.TensorBlock, mtt.TensorMap), mtt.equal
)
FLAVOURS = [CORE, TORCH]
