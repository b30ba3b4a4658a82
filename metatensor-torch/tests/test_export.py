"""Models scripted with metatensor.torch are self-contained: they load and run
with torch alone"""

import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from _utils import JIT_WARNINGS, tensor_map

import metatensor.torch as mtt
from metatensor.torch import Labels, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


class Model(torch.nn.Module):
    """Builds a TensorMap from plain tensors, transforms it with operations and
    returns plain tensors; also keeps a TensorMap attribute"""

    def __init__(self, reference: TensorMap):
        super().__init__()
        self.reference = reference

    def forward(self, tensor: TensorMap) -> TensorMap:
        return mtt.sum_over_samples(tensor, ["atom"])

    @torch.jit.export
    def energies(self, values: torch.Tensor, systems: torch.Tensor) -> torch.Tensor:
        samples = Labels(
            ["system", "atom"],
            torch.stack([systems, torch.arange(len(systems))], dim=1),
        )
        block = TensorBlock(
            values.reshape(-1, 1), samples, [], Labels.range("energy", 1)
        )
        tensor = TensorMap(Labels.single(), [block])
        tensor = mtt.multiply(mtt.sum_over_samples(tensor, "atom"), 2.0)
        tensor = mtt.add(tensor, float(self.reference.block(0).values.sum()))
        return tensor.block().values.reshape(-1)

    @torch.jit.export
    def reference_buffer(self) -> torch.Tensor:
        return mtt.save_buffer(self.reference)


def _reference() -> TensorMap:
    block = TensorBlock(
        torch.full((1, 1), 0.25, dtype=torch.float64),
        Labels.range("s", 1),
        [],
        Labels.range("p", 1),
    )
    return TensorMap(Labels.single(), [block])


def _export(path):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.")
        module = torch.jit.script(Model(_reference()))
        module.save(path)
    return module


BLOCKED = textwrap.dedent(
    """
    import sys

    class Blocker:
        # refuses every import of metatensor packages
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0].startswith("metatensor"):
                raise ImportError(f"importing {name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    for name in list(sys.modules):
        if name.startswith("metatensor"):
            del sys.modules[name]

    import warnings
    warnings.simplefilter("ignore")
    import torch

    try:
        import metatensor
    except ImportError:
        pass
    else:
        raise AssertionError("metatensor should not be importable here")

    module = torch.jit.load(sys.argv[1])
    values = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    systems = torch.tensor([0, 0, 1, 1], dtype=torch.int32)
    print(module.energies(values, systems).tolist())
    print(module.reference_buffer().shape[0] > 0)
    print(sorted(name for name in sys.modules if name.startswith("metatensor")))
    """
)


def test_load_without_metatensor(exported, tmp_path):
    module, path = exported
    values = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    systems = torch.tensor([0, 0, 1, 1], dtype=torch.int32)
    expected = module.energies(values, systems).tolist()
    assert expected == [6.25, 14.25]

    script = tmp_path / "run.py"
    script.write_text(BLOCKED)
    environment = dict(os.environ)
    environment.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, str(script), path],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [str(expected), "True", "[]"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "model.pt")
    return _export(path), path


def test_loaded_module_returns_python_classes(exported):
    _, path = exported
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.")
        loaded = torch.jit.load(path)
    tensor = tensor_map()
    result = loaded(tensor)
    assert type(result) is TensorMap
    assert type(result.block(0)) is TensorBlock
    assert type(result.keys) is Labels
    assert mtt.equal(result, mtt.sum_over_samples(tensor, ["atom"]))
    # the eager API works on them
    assert result.block(key_a=1, key_b=0).samples.names == ["system"]
    reference = loaded.reference
    assert type(reference) is TensorMap
    assert mtt.equal(reference, _reference())
