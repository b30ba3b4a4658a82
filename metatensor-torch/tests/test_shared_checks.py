"""The checks of blocks and maps are written once (``metatensor._checks``): the same
bad inputs give the same messages in metatensor-core, in eager metatensor.torch
and in compiled metatensor.torch, each package raising upstream's class"""

import re
import subprocess
import sys
from typing import List

import numpy as np
import pytest
import torch
from _utils import JIT_WARNINGS, script

import metatensor
import metatensor.torch as mtt
from metatensor import _checks

pytestmark = JIT_WARNINGS


# the tables below build their arguments with the builders of one package (`ns`)


class Core:
    """Builders of metatensor-core objects with numpy arrays"""

    Labels = metatensor.Labels
    TensorBlock = metatensor.TensorBlock
    TensorMap = metatensor.TensorMap
    # upstream's class for the errors of the data layer
    DataError = metatensor.MetatensorError

    @staticmethod
    def labels(names, rows):
        rows = np.array(rows, dtype=np.int32).reshape(len(rows), len(names))
        return metatensor.Labels(names, rows)

    @staticmethod
    def array(shape, dtype="f64"):
        return np.zeros(shape, dtype={"f64": np.float64, "f32": np.float32}[dtype])


class Torch:
    """Builders of metatensor.torch objects"""

    Labels = mtt.Labels
    TensorBlock = mtt.TensorBlock
    TensorMap = mtt.TensorMap
    DataError = RuntimeError

    @staticmethod
    def labels(names, rows):
        rows = torch.tensor(rows, dtype=torch.int32).reshape(len(rows), len(names))
        return mtt.Labels(names, rows)

    @staticmethod
    def array(shape, dtype="f64"):
        return torch.zeros(
            shape, dtype={"f64": torch.float64, "f32": torch.float32}[dtype]
        )


# ==================================================================================== #
# builders of the arguments


def block(ns, n_samples=2, components=(), properties=("p",), n_properties=2):
    """A block with samples ``s``, the given components (name => size) and
    properties"""
    component_labels = [ns.Labels.range(name, size) for name, size in components]
    shape = [n_samples] + [size for _, size in components] + [n_properties]
    rows = [[i] * len(properties) for i in range(n_properties)]
    return ns.TensorBlock(
        ns.array(shape),
        ns.Labels.range("s", n_samples),
        component_labels,
        ns.labels(list(properties), rows),
    )


def gradient(ns, names=("sample",), rows=((0,),), components=(), dtype="f64"):
    """A gradient block for :py:func:`block` (properties ``p``, 2 entries)"""
    samples = ns.labels(list(names), [list(row) for row in rows])
    component_labels = [ns.Labels.range(name, size) for name, size in components]
    shape = [len(samples)] + [size for _, size in components] + [2]
    return ns.TensorBlock(
        ns.array(shape, dtype), samples, component_labels, ns.Labels.range("p", 2)
    )


def with_gradient(ns, parameter="g", sample_names=("sample",), **kwargs):
    result = block(ns, **kwargs)
    rows = [[0] * len(sample_names)]
    result.add_gradient(parameter, gradient(ns, sample_names, rows))
    return result


def tensor(ns, blocks=None):
    """A map with keys ``(a, b)`` = (0, 0), (0, 1), (1, 0)"""
    if blocks is None:
        blocks = [block(ns) for _ in range(3)]
    return ns.TensorMap(ns.labels(["a", "b"], [[0, 0], [0, 1], [1, 0]]), blocks)


# ==================================================================================== #
# the table: operation, arguments (built for a package), the kind of error (data
# errors are MetatensorError in core and RuntimeError in torch) and upstream's
# pattern (compat/messages.md) where there is one


DATA = "data"


# devices need torch tensors, also in metatensor-core


def _torch_values_block(ns, device="cpu"):
    """Arguments of a block with torch values on ``device`` and labels on the
    CPU"""
    values = torch.zeros((2, 2), dtype=torch.float64, device=device)
    return (values, ns.Labels.range("s", 2), [], ns.Labels.range("p", 2))


def _to_meta(block):
    if isinstance(block, metatensor.TensorBlock):
        return block.to(arrays="torch").to(device="meta")
    return block.to(device="meta")


def _meta_gradient(ns):
    block = ns.TensorBlock(*_torch_values_block(ns))
    return (block, "g", _to_meta(gradient(ns)))


CASES = {
    # TensorBlock constructor
    "component with two dimensions": (
        "block",
        lambda ns: (
            ns.array((2, 1, 2)),
            ns.Labels.range("s", 2),
            [ns.labels(["a", "b"], [[0, 0]])],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "duplicated component names": (
        "block",
        lambda ns: (
            ns.array((2, 3, 3, 2)),
            ns.Labels.range("s", 2),
            [ns.Labels.range("xyz", 3), ns.Labels.range("xyz", 3)],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "values dimensions": (
        "block",
        lambda ns: (
            ns.array((2, 2)),
            ns.Labels.range("s", 2),
            [ns.Labels.range("xyz", 3)],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "samples size": (
        "block",
        lambda ns: (
            ns.array((3, 2)),
            ns.Labels.range("s", 2),
            [],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "component size": (
        "block",
        lambda ns: (
            ns.array((2, 4, 2)),
            ns.Labels.range("s", 2),
            [ns.Labels.range("xyz", 3)],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "properties size": (
        "block",
        lambda ns: (
            ns.array((2, 5)),
            ns.Labels.range("s", 2),
            [],
            ns.Labels.range("p", 2),
        ),
        DATA,
        None,
    ),
    "labels device": (
        "block",
        lambda ns: _torch_values_block(ns, "meta"),
        DATA,
        "invalid parameter: invalid block: values and samples must be on the same "
        "device, got 'ExtDev:0' and 'CPU:0'",
    ),
    # TensorBlock.add_gradient
    "gradient samples without dimensions": (
        "gradient",
        lambda ns: (block(ns), "g", gradient(ns, [], [])),
        DATA,
        "invalid parameter: gradients samples must have at least one dimension, "
        "named 'sample', we got none",
    ),
    "gradient samples first dimension": (
        "gradient",
        lambda ns: (block(ns), "g", gradient(ns, ["atom"], [[0]])),
        DATA,
        None,
    ),
    "negative gradient sample": (
        "gradient",
        lambda ns: (block(ns), "g", gradient(ns, ["sample"], [[-3]])),
        DATA,
        "invalid parameter: invalid value for the 'sample' dimension in gradient "
        "samples: all values should be positive, but we got -3",
    ),
    "gradient sample out of range": (
        "gradient",
        lambda ns: (block(ns), "g", gradient(ns, ["sample"], [[42]])),
        DATA,
        "invalid parameter: invalid value for the 'sample' dimension in gradient "
        "samples: we got 42, but the values contain 2 samples",
    ),
    "gradient components": (
        "gradient",
        lambda ns: (
            block(ns, components=[("xyz", 3)]),
            "g",
            gradient(ns, components=[("other", 3)]),
        ),
        DATA,
        None,
    ),
    "gradient properties": (
        "gradient",
        lambda ns: (block(ns, properties=("n",)), "g", gradient(ns)),
        DATA,
        None,
    ),
    "gradient dtype": (
        "gradient",
        lambda ns: (block(ns), "g", gradient(ns, dtype="f32")),
        DATA,
        "invalid parameter: the gradient values have dtype 'f32' but the block "
        "values have dtype 'f64'",
    ),
    "gradient device": (
        "gradient",
        _meta_gradient,
        DATA,
        "invalid parameter: the gradient values are on device 'ExtDev:0' but the "
        "block values are on device 'CPU:0'",
    ),
    # TensorMap constructor
    "blocks count": (
        "map",
        lambda ns: (ns.labels(["k"], [[0], [1]]), [block(ns)]),
        DATA,
        None,
    ),
    "blocks dtypes": (
        "map",
        lambda ns: (
            ns.labels(["k"], [[0], [1]]),
            [block(ns), block(ns).to(dtype=ns.array((1,), "f32").dtype)],
        ),
        DATA,
        "invalid parameter: invalid tensor map: got blocks with different dtypes, "
        "at least 'f64' and 'f32' were detected",
    ),
    "blocks device": (
        "map",
        lambda ns: (ns.labels(["k"], [[0]]), [_to_meta(block(ns))]),
        DATA,
        None,
    ),
    "sample names": (
        "map",
        lambda ns: (
            ns.labels(["k"], [[0], [1]]),
            [
                block(ns),
                ns.TensorBlock(
                    ns.array((1, 2)),
                    ns.labels(["other"], [[0]]),
                    [],
                    ns.Labels.range("p", 2),
                ),
            ],
        ),
        DATA,
        None,
    ),
    "component names": (
        "map",
        lambda ns: (
            ns.labels(["k"], [[0], [1]]),
            [block(ns, components=[("x", 1)]), block(ns, components=[("y", 1)])],
        ),
        DATA,
        None,
    ),
    "property names": (
        "map",
        lambda ns: (
            ns.labels(["k"], [[0], [1]]),
            [block(ns), block(ns, properties=("n",))],
        ),
        DATA,
        None,
    ),
    "gradient parameters": (
        "map",
        lambda ns: (ns.labels(["k"], [[0], [1]]), [with_gradient(ns), block(ns)]),
        DATA,
        None,
    ),
    "gradient sample names": (
        "map",
        lambda ns: (
            ns.labels(["k"], [[0], [1]]),
            [
                with_gradient(ns, sample_names=("sample", "atom")),
                with_gradient(ns, sample_names=("sample", "system")),
            ],
        ),
        DATA,
        None,
    ),
    # keys_to_samples, keys_to_properties, components_to_properties
    "no key to move": (
        "keys_to_samples",
        lambda ns: (tensor(ns), []),
        ValueError,
        None,
    ),
    "duplicated keys to move": (
        "keys_to_properties",
        lambda ns: (tensor(ns), ["a", "a"]),
        ValueError,
        None,
    ),
    "missing key": (
        "keys_to_samples",
        lambda ns: (tensor(ns), ["missing"]),
        DATA,
        None,
    ),
    "empty map": (
        "keys_to_samples",
        lambda ns: (ns.TensorMap(ns.Labels.empty(["a"]), []), ["a"]),
        DATA,
        "invalid parameter: there are no keys to move in an empty TensorMap",
    ),
    "keys to samples with entries": (
        "keys_to_samples",
        lambda ns: (tensor(ns), ns.labels(["b"], [[0], [1]])),
        NotImplementedError,
        None,
    ),
    "merged components": (
        "keys_to_samples",
        lambda ns: (
            tensor(
                ns,
                [
                    block(ns, components=[("x", 1)]),
                    block(ns, components=[("x", 2)]),
                    block(ns, components=[("x", 1)]),
                ],
            ),
            ["b"],
        ),
        DATA,
        None,
    ),
    "merged properties with entries": (
        "keys_to_properties",
        lambda ns: (
            tensor(ns, [block(ns), block(ns, n_properties=3), block(ns)]),
            ns.labels(["b"], [[0], [1]]),
        ),
        DATA,
        None,
    ),
    "moved values not in the entries": (
        "keys_to_properties",
        lambda ns: (tensor(ns), ns.labels(["b"], [[0]])),
        DATA,
        None,
    ),
    "no dimension to move": (
        "components_to_properties",
        lambda ns: (tensor(ns), []),
        ValueError,
        None,
    ),
    "duplicated dimensions": (
        "components_to_properties",
        lambda ns: (
            tensor(ns, [block(ns, components=[("x", 1)]) for _ in range(3)]),
            ["x", "x"],
        ),
        ValueError,
        None,
    ),
    "missing component": (
        "components_to_properties",
        lambda ns: (tensor(ns), ["x"]),
        DATA,
        None,
    ),
}


# ==================================================================================== #
# the operations, called in Python and in compiled code


def call(ns, operation: str, arguments: tuple):
    if operation == "block":
        return ns.TensorBlock(*arguments)
    elif operation == "gradient":
        return arguments[0].add_gradient(arguments[1], arguments[2])
    elif operation == "map":
        return ns.TensorMap(*arguments)
    return getattr(arguments[0], operation)(arguments[1])


def _block(
    values: torch.Tensor,
    samples: mtt.Labels,
    components: List[mtt.Labels],
    properties: mtt.Labels,
) -> mtt.TensorBlock:
    return mtt.TensorBlock(values, samples, components, properties)


def _gradient(block: mtt.TensorBlock, parameter: str, gradient: mtt.TensorBlock):
    block.add_gradient(parameter, gradient)


def _map(keys: mtt.Labels, blocks: List[mtt.TensorBlock]) -> mtt.TensorMap:
    return mtt.TensorMap(keys, blocks)


def _keys_to_samples(tensor: mtt.TensorMap, names: List[str]) -> mtt.TensorMap:
    return tensor.keys_to_samples(names)


def _keys_to_samples_labels(tensor: mtt.TensorMap, names: mtt.Labels) -> mtt.TensorMap:
    # Union arguments do not accept TorchScript classes from Python
    return tensor.keys_to_samples(names)


def _keys_to_properties(tensor: mtt.TensorMap, names: List[str]) -> mtt.TensorMap:
    return tensor.keys_to_properties(names)


def _keys_to_properties_labels(
    tensor: mtt.TensorMap, names: mtt.Labels
) -> mtt.TensorMap:
    # Union arguments do not accept TorchScript classes from Python
    return tensor.keys_to_properties(names)


def _components_to_properties(
    tensor: mtt.TensorMap, dimensions: List[str]
) -> mtt.TensorMap:
    return tensor.components_to_properties(dimensions)


COMPILED = {}


def compiled(operation: str):
    """The scripted function calling ``operation`` (compiled on first use)"""
    if operation not in COMPILED:
        COMPILED[operation] = script(globals()["_" + operation])
    return COMPILED[operation]


def compiled_error(operation: str, arguments: tuple):
    """Class name and message of the error raised by compiled code"""
    if operation.startswith("keys_to") and isinstance(arguments[1], mtt.Labels):
        operation += "_labels"
    with pytest.raises(torch.jit.Error) as info:
        compiled(operation)(*arguments)
    match = re.search(r"\nbuiltins\.(\w+): (.*)\n$", str(info.value), re.DOTALL)
    assert match is not None, str(info.value)
    return match.group(1), match.group(2)


def _expected(ns, kind):
    return ns.DataError if kind == DATA else kind


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_messages(case):
    operation, arguments, kind, pattern = CASES[case]

    with pytest.raises(Exception) as core:
        call(Core, operation, arguments(Core))
    with pytest.raises(Exception) as eager:
        call(Torch, operation, arguments(Torch))
    name, message = compiled_error(operation, arguments(Torch))

    # each package raises upstream's class
    assert type(core.value) is _expected(Core, kind), core.value
    assert type(eager.value) is _expected(Torch, kind), eager.value
    assert name == _expected(Torch, kind).__name__
    # with the same message
    assert str(eager.value) == str(core.value)
    assert message == str(core.value)
    if pattern is not None:
        assert re.search(re.escape(pattern), message) is not None, message


def test_checks_compile():
    # every function of the shared module is TorchScript code
    functions = [
        value
        for value in vars(_checks).values()
        if callable(value) and getattr(value, "__module__", "") == _checks.__name__
    ]
    assert len(functions) > 20
    for function in functions:
        compiled = script(function)
        assert compiled.code


class Model(torch.nn.Module):
    """Builds a TensorMap with gradients from plain tensors, returns the sum of
    its values and of its gradient values"""

    def forward(self, values: torch.Tensor, n_samples: int) -> List[torch.Tensor]:
        samples = mtt.Labels(
            ["s"], torch.arange(n_samples, dtype=torch.int32).reshape(-1, 1)
        )
        properties = mtt.Labels.range("p", values.shape[1])
        block = mtt.TensorBlock(values, samples, [], properties)
        gradient_samples = mtt.Labels(
            ["sample"], torch.arange(values.shape[0], dtype=torch.int32).reshape(-1, 1)
        )
        block.add_gradient(
            "g", mtt.TensorBlock(2 * values, gradient_samples, [], properties)
        )
        tensor = mtt.TensorMap(mtt.Labels.range("k", 1), [block])
        block = tensor.block_by_id(0)
        return [block.values.sum(), block.gradient("g").values.sum()]


BLOCKED = """
import re, sys, warnings

class Blocker:
    # refuses every import of our packages
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("metatensor", "metatensor_torch"):
            raise ImportError("importing " + name + " is blocked in this test")
        return None

sys.meta_path.insert(0, Blocker())
warnings.simplefilter("ignore")
import torch

model = torch.jit.load(sys.argv[1])
print([value.item() for value in model(torch.ones(3, 2, dtype=torch.float64), 3)])
try:
    model(torch.ones(3, 2, dtype=torch.float64), 4)
except torch.jit.Error as error:
    print(re.search(r"builtins\\.(.*)\\n$", str(error)).group(1))
print(sorted(n for n in sys.modules if n.startswith("metatensor")))
"""


def test_saved_model_runs_without_metatensor(tmp_path):
    path = str(tmp_path / "model.pt")
    torch.jit.save(torch.jit.script(Model()), path)
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED, path], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[6.0, 12.0]",
        "RuntimeError: " + _checks.block_shape([3, 2], [4, 2], []),
        "[]",
    ]
