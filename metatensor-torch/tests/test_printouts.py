"""Printouts of Labels, LabelsEntry, TensorBlock and TensorMap, byte-identical to
upstream's, in eager Python and from TorchScript: data/printouts/printouts.txt is
upstream's compatibility script with metatensor.torch as a doctest, expecting the
output upstream printed (printouts-upstream.txt, kept with the metatensor-operations
tests, which run the same script with metatensor-core)"""

import doctest
import os
import re
from typing import List

import numpy as np
import pytest
import torch

import metatensor
from metatensor.torch import Labels, TensorBlock, TensorMap

HERE = os.path.dirname(__file__)
UPSTREAM = os.path.join(
    HERE, "..", "..", "metatensor-operations", "tests", "data", "printouts"
)


def printouts_doctest() -> doctest.DocTest:
    path = os.path.join(HERE, "data", "printouts", "printouts.txt")
    with open(path) as fd:
        text = fd.read()
    return doctest.DocTestParser().get_doctest(text, {}, "printouts.txt", path, 0)


def upstream_output() -> str:
    with open(os.path.join(UPSTREAM, "printouts-upstream.txt")) as fd:
        return fd.read()


def run(test: doctest.DocTest):
    """Run the doctest, keeping the objects it created in ``test.globs``"""
    report = []
    runner = doctest.DocTestRunner(optionflags=0)
    runner.run(test, out=report.append, clear_globs=False)
    assert runner.failures == 0, "".join(report)
    assert runner.tries == len(test.examples)


def test_expected_outputs_are_upstream_output():
    wants = "".join(example.want for example in printouts_doctest().examples)
    assert wants.replace("<BLANKLINE>", "") == upstream_output()


def printouts(
    labels: Labels, block: TensorBlock, tensor: TensorMap, single: TensorMap
) -> List[str]:
    """The printouts of the script, in order, without the checks switch (which
    is not a TorchScript object)"""
    return [
        str(labels),
        labels.__repr__(),
        labels.print(max_entries=3, indent=2),
        str(Labels.single()),
        str(Labels.empty(["a", "b"])),
        labels.entry(3).__repr__(),
        str(labels.entry(3)),
        str(block),
        block.__repr__(),
        str(block.gradient("positions")),
        str(tensor),
        tensor.__repr__(),
        str(single),
    ]


def test_printouts_eager_and_torchscript():
    test = printouts_doctest()
    run(test)
    # the objects the doctest printed, printed again from TorchScript
    objects = [test.globs[name] for name in ("l", "b", "t", "t1")]
    # the text printed under each "== title" line, but the last (checks switch)
    expected = re.split(r"^== .*\n", upstream_output(), flags=re.MULTILINE)[1:-1]
    assert torch.jit.script(printouts)(*objects) == [e[:-1] for e in expected]


def print_labels(labels: Labels, max_entries: int, indent: int) -> str:
    return labels.print(max_entries, indent)


@pytest.mark.parametrize("max_entries", [-1, 0, 1, 2, 3, 6])
@pytest.mark.parametrize("n_entries", [0, 1, 5])
def test_labels_print_as_core(n_entries, max_entries):
    # the entries shown are picked here and by metatensor-core, which share the
    # formatting itself
    values = torch.tensor([[-12, 3 * i] for i in range(n_entries)], dtype=torch.int32)
    values = values.reshape(n_entries, 2)
    labels = Labels(["a", "long_name"], values)
    core = metatensor.Labels(["a", "long_name"], values.numpy())
    expected = core.print(max_entries, indent=2)
    assert labels.print(max_entries, indent=2) == expected
    assert torch.jit.script(print_labels)(labels, max_entries, 2) == expected


def nested_gradient_block(labels, block, array):
    """A block with a gradient, which has a gradient of its own"""
    gradient_samples = labels(["sample"], array(np.array([[0]], dtype=np.int32)))
    result = block(
        array(np.zeros((2, 3))), labels.range("s", 2), [], labels.range("p", 3)
    )
    gradient = block(
        array(np.zeros((1, 3))), gradient_samples, [], labels.range("p", 3)
    )
    gradient.add_gradient(
        "cell",
        block(array(np.zeros((1, 3))), gradient_samples, [], labels.range("p", 3)),
    )
    result.add_gradient("positions", gradient)
    return result


def print_gradients(block: TensorBlock) -> List[str]:
    gradient = block.gradient("positions")
    return [str(block), str(gradient), str(gradient.gradient("cell"))]


def test_gradient_blocks_print_as_core():
    core = nested_gradient_block(
        metatensor.Labels, metatensor.TensorBlock, lambda array: array
    )
    gradient = core.gradient("positions")
    expected = [str(core), str(gradient), str(gradient.gradient("cell"))]
    block = nested_gradient_block(Labels, TensorBlock, torch.from_numpy)
    assert print_gradients(block) == expected
    assert torch.jit.script(print_gradients)(block) == expected
