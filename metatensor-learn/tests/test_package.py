"""Import names, the backends of the two flavours, version checks"""

import os
import subprocess
import sys

import pytest

import metatensor_learn
from metatensor_learn.nn import _backend as core_backend
from metatensor_operations._version_check import version_error
from metatensor_torch import _learn_backend as torch_backend


def test_names():
    import metatensor.learn
    import metatensor.torch.learn
    from metatensor.learn.nn import Linear
    from metatensor.torch.learn.nn import Linear as TorchLinear

    assert metatensor.learn is metatensor_learn
    assert Linear is metatensor_learn.nn.Linear is metatensor.learn.Linear
    assert TorchLinear is metatensor.torch.learn.Linear
    assert TorchLinear is not Linear
    # the data helpers handle both kinds of TensorMap: one module for both
    assert metatensor.torch.learn.data is metatensor.learn.data
    assert metatensor.torch.learn.Dataset is metatensor_learn.Dataset
    assert metatensor.learn.__version__ == metatensor_learn.__version__


@pytest.mark.parametrize(
    "statements",
    [
        "import metatensor.learn; import metatensor_learn",
        "import metatensor_learn; import metatensor.learn",
        "import metatensor.torch; metatensor.torch.learn; import metatensor.learn",
        "import metatensor.torch.learn.nn; import metatensor.learn.nn",
    ],
)
def test_import_order(statements):
    """Whatever the import order, each module exists once"""
    check = (
        "import sys, metatensor, metatensor_learn, metatensor.torch;"
        "assert metatensor.learn is metatensor_learn;"
        "assert sys.modules['metatensor.learn.nn'] is metatensor_learn.nn;"
        "assert metatensor.torch.learn.nn is sys.modules['metatensor.torch.learn.nn'];"
        "assert metatensor.torch.learn.data is metatensor_learn.data"
    )
    subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            "-c",
            f"{statements}; {check}",
        ],
        check=True,
        timeout=120,
    )


def test_backends_define_the_same_names():
    assert sorted(core_backend.__all__) == sorted(torch_backend.__all__)
    for name in core_backend.__all__:
        assert hasattr(core_backend, name), name
        assert hasattr(torch_backend, name), name


def test_version_check():
    assert (
        version_error(
            "metatensor-core", "0.2.3", (0, 2, 0), (0, 3, 0), package="metatensor-learn"
        )
        == ""
    )
    message = version_error(
        "metatensor-operations",
        "0.6.1",
        (0, 5, 0),
        (0, 6, 0),
        package="metatensor-learn",
    )
    assert message == (
        "metatensor-learn needs metatensor-operations >=0.5.0,<0.6.0, but 0.6.1 is "
        'installed: run `pip install "metatensor-operations >=0.5.0,<0.6.0"`'
    )


def test_version_check_on_import(tmp_path):
    """An out-of-range metatensor-operations makes the import fail with
    instructions"""
    (tmp_path / "sitecustomize.py").write_text(
        "import importlib.metadata\n"
        "_version = importlib.metadata.version\n"
        "def version(name):\n"
        "    return '0.6.1' if name == 'metatensor-operations' else _version(name)\n"
        "importlib.metadata.version = version\n"
    )
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    result = subprocess.run(
        [sys.executable, "-c", "import metatensor_learn"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert (
        "ImportError: metatensor-learn needs metatensor-operations >=0.5.0,<0.6.0, "
        "but 0.6.1 is installed" in result.stderr
    )
