"""Exported models: the archive and its records, loading and checking, TorchScript
extensions, and models running in a process that can not import our packages"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from typing import Dict, List, Optional

import pytest
import torch
from _utils import (
    PairPotential,
    add_neighbors,
    atomistic_model,
    evaluation_options,
    metadata,
    system,
)

import metatomic.torch as mta
from metatensor.torch import Labels, TensorMap
from metatomic.torch import ModelOutput, System
from metatomic.torch._export import _CACHE

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")

RECORDS = [
    "torch-version",
    "metatomic-version",
    "extensions",
    "extensions-deps",
    "export-metadata",
    "model-metadata",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "pair-potential.pt"
    atomistic_model().save(str(path))
    return str(path)


def _energies(model, sample_kind="atom"):
    reference = system()
    add_neighbors(reference, PairPotential().requested_neighbor_lists()[0])
    options = evaluation_options(sample_kind)
    return model([reference], options, check_consistency=True)["energy"].block()


def _records(path) -> Dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name.split("/")[-1]: archive.read(name).decode()
            for name in archive.namelist()
            if name.split("/")[1:2] == ["extra"]
        }


def test_round_trip(exported):
    loaded = mta.load_atomistic_model(exported)
    assert isinstance(loaded, mta.AtomisticModel)
    assert isinstance(loaded.module, torch.jit.RecursiveScriptModule)
    expected = _energies(atomistic_model())
    block = _energies(loaded)
    assert torch.equal(block.values, expected.values)
    assert block.samples == expected.samples

    assert str(loaded.metadata()) == str(metadata())
    capabilities = loaded.capabilities()
    assert capabilities.length_unit == "angstrom"
    assert capabilities.outputs["energy"].sample_kind == "atom"
    options = loaded.requested_neighbor_lists()
    assert [o.requestors() for o in options] == [["PairPotential"]]
    assert options[0].length_unit == "angstrom"

    # saved again, and loaded again, also after wrapping it again with new
    # metadata
    path = os.path.join(os.path.dirname(exported), "again.pt")
    loaded.save(path)
    again = mta.load_atomistic_model(path)
    assert torch.equal(_energies(again).values, expected.values)

    renamed = mta.ModelMetadata(name="renamed")
    mta.AtomisticModel(loaded, renamed, loaded.capabilities()).save(path)
    assert mta.read_model_metadata(path).name == "renamed"
    again = mta.load_atomistic_model(path)
    assert again.metadata().name == "renamed"
    assert torch.equal(_energies(again).values, expected.values)


def test_archive_records(exported):
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
    assert all(name.startswith("pair-potential/") for name in names)
    assert "pair-potential/data.pkl" in names
    records = _records(exported)
    assert sorted(records) == sorted(RECORDS)
    assert records["torch-version"] == torch.__version__
    assert records["metatomic-version"] == mta.__version__
    assert json.loads(records["extensions"]) == []
    assert json.loads(records["extensions-deps"]) == []
    export = json.loads(records["export-metadata"])
    assert sorted(export) == ["date", "platform"]
    assert export["date"].endswith("+00:00")

    text = records["model-metadata"]
    assert not text.endswith("\n")
    assert json.loads(text) == {
        "class": "ModelMetadata",
        "name": "pair-potential",
        "description": "a Lennard-Jones-like pair potential for the tests",
        "authors": ["metatomic tests"],
        "references": {"architecture": ["https://doi.org/10.1098/rspa.1924.0082"]},
        "extra": {},
    }
    assert text.startswith('{\n    "authors": [\n        "metatomic tests"\n    ],')


def test_save_replaces_files_whole(tmp_path):
    # the model is written next to the target, then renamed over it: the previous
    # file is never truncated, and nothing is left behind
    path = tmp_path / "model.pt"
    path.write_bytes(b"previous content")
    inode = os.stat(path).st_ino
    atomistic_model().save(str(path))
    assert os.stat(path).st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    with zipfile.ZipFile(path) as archive:
        assert all(name.startswith("model/") for name in archive.namelist())
    assert mta.load_atomistic_model(str(path)) is not None


def test_read_model_metadata(exported):
    assert str(mta.read_model_metadata(exported)) == str(metadata())


def _rewrite(source, target, changes: Dict[str, Optional[str]]):
    """Copy the archive ``source`` to ``target``, replacing (or removing, for
    None) the given records"""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            name = info.filename.split("/")[-1]
            if info.filename.split("/")[1:2] == ["extra"] and name in changes:
                if changes[name] is not None:
                    new.writestr(info, changes[name])
            else:
                new.writestr(info, old.read(info.filename))


def test_version_mismatch_warns(exported, tmp_path):
    path = tmp_path / "old.pt"
    _rewrite(exported, path, {"metatomic-version": "0.0.3"})
    with pytest.warns(UserWarning, match="proceed at your own risk"):
        mta.check_atomistic_model(path)
    with pytest.warns(UserWarning, match="exported with metatomic-torch 0.0.3"):
        mta.load_atomistic_model(path)

    _rewrite(exported, path, {"metatomic-version": "0.1.2"})
    mta.check_atomistic_model(path)  # same minor version: no warning


def test_not_a_model(exported, tmp_path):
    with pytest.raises(ValueError, match="no file at"):
        mta.load_atomistic_model(tmp_path / "missing.pt")

    text = tmp_path / "text.pt"
    text.write_text("hello")
    message = "does not contain a metatomic model: it is not a TorchScript archive"
    for function in (
        mta.load_atomistic_model,
        mta.check_atomistic_model,
        mta.load_model_extensions,
        mta.read_model_metadata,
    ):
        with pytest.raises(ValueError, match=message):
            function(text)

    # a TorchScript module, but not a metatomic model (e.g. exported by the old
    # metatensor.torch.atomistic, which had no metatomic-version record)
    plain = tmp_path / "plain.pt"
    _rewrite(exported, plain, {"metatomic-version": None})
    with pytest.raises(ValueError, match="has no 'extra/metatomic-version' record"):
        mta.load_atomistic_model(plain)

    no_metadata = tmp_path / "no-metadata.pt"
    _rewrite(exported, no_metadata, {"model-metadata": None})
    with pytest.raises(ValueError, match="metatensor-torch >=0.5.4"):
        mta.read_model_metadata(no_metadata)

    broken = tmp_path / "broken.pt"
    _rewrite(exported, broken, {"extensions": "{not json"})
    with pytest.raises(ValueError, match="invalid 'extensions' record"):
        mta.load_atomistic_model(broken)


def test_missing_extension_warns(exported, tmp_path):
    path = tmp_path / "extension.pt"
    record = [{"name": "not_there", "sha256": "0", "path": "lib/libnot_there.so"}]
    _rewrite(exported, path, {"extensions": json.dumps(record)})
    with pytest.warns(UserWarning) as caught:
        mta.load_atomistic_model(path, extensions_directory=str(tmp_path))
    messages = [str(w.message) for w in caught]
    assert any("could not load the library 'not_there'" in m for m in messages)
    assert any("extension 'not_there', which is not loaded" in m for m in messages)


def test_load_cache(exported, tmp_path):
    first = mta.load_atomistic_model(exported)
    second = mta.load_atomistic_model(exported)
    assert first.module is not second.module
    assert any(key[0] == os.path.realpath(exported) for key in _CACHE)

    # copies do not share tensors
    path = tmp_path / "model.pt"
    shutil.copyfile(exported, path)
    model = mta.load_atomistic_model(path)
    model.module._sigma = 2.0
    assert mta.load_atomistic_model(path).module._sigma == PairPotential()._sigma

    # a file changed on disk is loaded again
    other = atomistic_model(PairPotential(sigma=1.0))
    other.save(str(path))
    assert mta.load_atomistic_model(path).module._sigma == 1.0


class NotScriptable(PairPotential):
    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        return {name: print for name in outputs}  # noqa: T201


def test_save_errors_and_warnings(tmp_path):
    with pytest.raises(
        RuntimeError, match="could not convert the module to TorchScript"
    ):
        atomistic_model(NotScriptable()).save(str(tmp_path / "model.pt"))

    with pytest.warns(UserWarning, match="no length unit"):
        atomistic_model(length_unit="").save(str(tmp_path / "model.pt"))

    with pytest.warns(DeprecationWarning, match="export\\(\\)` is deprecated"):
        atomistic_model().export(str(tmp_path / "model.pt"))
    assert mta.load_atomistic_model(tmp_path / "model.pt") is not None


def _run(script: str, *arguments, env=None, cwd=None):
    environment = dict(os.environ)
    environment.pop("PYTHONPATH", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=cwd,
    )


def test_pytorch_jit_disabled(tmp_path):
    script = """
        import sys
        sys.path.insert(0, sys.argv[2])
        import _utils
        try:
            _utils.atomistic_model().save(sys.argv[1])
        except RuntimeError as error:
            print(error)
    """
    tests = os.path.dirname(__file__)
    result = _run(script, str(tmp_path / "m.pt"), tests, env={"PYTORCH_JIT": "0"})
    assert result.returncode == 0, result.stderr
    assert "TorchScript is disabled (PYTORCH_JIT=0" in result.stdout


BLOCKED = """
    import sys

    class Blocker:
        # refuses every import of our packages
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("metatensor", "metatensor_torch", "metatomic"):
                raise ImportError(f"importing {name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    import warnings
    warnings.simplefilter("ignore")
    import torch

    for name in ("metatensor", "metatomic"):
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise AssertionError(name + " should not be importable here")

    model = torch.jit.load(sys.argv[1])
    assert model.original_name == "AtomisticModel"
    data = torch.load(sys.argv[2])
    positions = data["positions"].requires_grad_(True)
    values = model.forward_tensors(
        data["types"], positions, data["cell"], data["pbc"], [data["pairs"]],
        ["energy"], ["meV"], [True], None, "angstrom",
    )
    values["energy"].sum().backward()
    torch.save({"energies": values["energy"], "forces": -positions.grad}, sys.argv[3])
    print(model.neighbor_list_requests("angstrom"))
    print(sorted(n for n in sys.modules if n.startswith(("metatensor", "metatomic"))))
"""


def test_runs_without_our_packages(exported, tmp_path):
    reference = system(positions_requires_grad=True)
    options = PairPotential().requested_neighbor_lists()[0]
    block = add_neighbors(reference, options)
    model = mta.load_atomistic_model(exported)
    energies = model([reference], evaluation_options("atom", "meV"), False)
    energies = energies["energy"].block().values
    energies.sum().backward()

    inputs = tmp_path / "inputs.pt"
    torch.save(
        {
            "types": reference.types,
            "positions": reference.positions.detach(),
            "cell": reference.cell,
            "pbc": reference.pbc,
            "pairs": block.samples.values.to(torch.int64),
        },
        inputs,
    )
    outputs = tmp_path / "outputs.pt"
    result = _run(BLOCKED, exported, str(inputs), str(outputs), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[(3.0, False, True)]", "[]"]
    computed = torch.load(outputs)
    torch.testing.assert_close(computed["energies"], energies.detach())
    torch.testing.assert_close(computed["forces"], -reference.positions.grad)


FAKE_EXTENSION = "int fake_extension_answer(void) { return 42; }\n"

EXTENSION_EXPORT = """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    sys.path.insert(0, sys.argv[4])
    import torch
    torch.ops.load_library(sys.argv[1])
    import _utils
    _utils.atomistic_model().save(sys.argv[2], collect_extensions=sys.argv[3])
"""

EXTENSION_LOAD = """
    import sys, warnings
    import torch
    import metatomic.torch as mta
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="`torch.jit.[a-z]*` is deprecated")
        mta.load_atomistic_model(sys.argv[1], extensions_directory=sys.argv[2])
    print([path.split("/")[-1] for path in torch.ops.loaded_libraries])
"""


def test_extensions(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build a fake TorchScript extension")
    source = tmp_path / "fake.c"
    source.write_text(FAKE_EXTENSION)
    library = tmp_path / "build" / "libfake_ext.so"
    library.parent.mkdir()
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True
    )

    model = tmp_path / "model.pt"
    collected = tmp_path / "collected"
    tests = os.path.dirname(__file__)
    result = _run(EXTENSION_EXPORT, str(library), str(model), str(collected), tests)
    assert result.returncode == 0, result.stderr

    records = _records(model)
    extensions = json.loads(records["extensions"])
    assert [e["name"] for e in extensions] == ["fake_ext"]
    # relative to sys.prefix when the library is inside it (as in a nox session,
    # where the temporary directory is), the file name otherwise
    path = extensions[0]["path"]
    assert path.endswith("libfake_ext.so") and not os.path.isabs(path)
    assert len(extensions[0]["sha256"]) == 64
    assert (collected / path).read_bytes() == library.read_bytes()
    assert json.loads(records["export-metadata"])["extensions_directory"] == str(
        collected
    )

    # the library is found in the directory it was collected to
    shutil.rmtree(library.parent)
    result = _run(EXTENSION_LOAD, str(model), str(collected))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['libfake_ext.so']"
