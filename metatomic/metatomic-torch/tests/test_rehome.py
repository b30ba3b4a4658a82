"""``_rehome``: compiling a module loaded from a file again against the
TorchScript classes of this process (shared classes, renamed names in code and
pickles, custom operators), and saving models holding such modules"""

import pickletools
import struct
import zipfile
from typing import Dict, List, Optional

import pytest
import torch
from _utils import (
    PairPotential,
    atomistic_model,
    capabilities,
    metadata,
    pair_energy_reference,
    system,
)
from test_export import _energies

import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import ModelOutput, System
from metatomic.torch._rehome import (
    _items,
    _renamed_code,
    _renamed_pickle,
    _renamer,
    is_foreign,
    rehome,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")

torch.library.define("metatomic_tests::scale", "(Tensor x, float factor) -> Tensor")


@torch.library.impl("metatomic_tests::scale", "CompositeImplicitAutograd")
def _scale(x, factor):
    return x * factor


class Factor:
    """A TorchScript class of the model (not of our packages)"""

    def __init__(self, value: float):
        self.value = value


class Scaled(torch.nn.Module):
    """:py:class:`PairPotential` with its energy multiplied by the product of
    ``factors`` (a list of TorchScript objects: a type tag in the pickle),
    through a custom operator, and with properties stored as an attribute (a
    pickled object of our classes)"""

    factors: List[Factor]

    def __init__(self):
        super().__init__()
        self.inner = PairPotential()
        self.factors = [Factor(2.0), Factor(1.5)]
        self.properties = Labels("energy", torch.tensor([[0]]))

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results = self.inner(systems, outputs, selected_atoms)
        if "energy" not in results:
            return results
        factor = 1.0
        for item in self.factors:
            factor *= item.value
        block = results["energy"].block()
        values = torch.ops.metatomic_tests.scale(block.values, factor)
        scaled = TensorBlock(values, block.samples, block.components, self.properties)
        return {"energy": TensorMap(results["energy"].keys, [scaled])}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("rehome") / "pair-potential.pt"
    atomistic_model().save(str(path))
    return str(path)


def _code_files(path) -> Dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name.split("/code/", 1)[1]: archive.read(name).decode()
            for name in archive.namelist()
            if "/code/" in name and name.endswith(".py")
        }


def test_is_foreign(exported):
    loaded = mta.load_atomistic_model(exported)
    assert is_foreign(loaded.module)
    assert is_foreign(torch.jit.load(exported))
    assert not is_foreign(PairPotential())
    assert not is_foreign(torch.jit.script(PairPotential()))

    rehomed = rehome(loaded.module)
    assert not is_foreign(rehomed)
    assert rehomed is not loaded.module
    # the classes of metatomic and metatensor are those of this process
    schema = str(rehomed.forward.schema)
    assert "__torch__.metatomic.torch._system.System[] systems" in schema
    assert "-> Dict(str, __torch__.metatensor_torch._tensor.TensorMap)" in schema
    assert schema.startswith("forward(__torch__.___rehomed_")
    # rehoming twice gives two copies that do not clash
    again = rehome(loaded.module)
    assert again._c._type().qualified_name() != rehomed._c._type().qualified_name()
    expected = _energies(atomistic_model()).values
    for module in (rehomed, again):
        model = mta.AtomisticModel(module, metadata(), capabilities())
        assert torch.equal(_energies(model).values, expected)


def test_save_a_loaded_module(exported, tmp_path):
    # a new AtomisticModel around the module of a loaded model, and a loaded
    # model whose module was replaced
    loaded = mta.load_atomistic_model(exported)
    renamed = mta.ModelMetadata(name="renamed")
    path = str(tmp_path / "again.pt")
    mta.AtomisticModel(loaded.module, renamed, capabilities()).save(path)
    again = mta.load_atomistic_model(path)
    assert again.metadata().name == "renamed"
    assert torch.equal(_energies(again).values, _energies(atomistic_model()).values)
    assert is_foreign(loaded.module)  # the module of `loaded` is kept

    loaded.module = torch.jit.script(PairPotential(epsilon=0.5)).eval()
    loaded.save(path)
    expected = _energies(atomistic_model(PairPotential(epsilon=0.5))).values
    assert torch.equal(_energies(mta.load_atomistic_model(path)).values, expected)


def test_own_classes_and_custom_operators(tmp_path, monkeypatch):
    path = str(tmp_path / "scaled.pt")
    atomistic_model(Scaled()).save(path)
    loaded = mta.load_atomistic_model(path)
    expected = 3.0 * pair_energy_reference(system())

    # `Factor` is unknown to the process rehoming the model: it is renamed, in
    # the code and in the type tag of `factors`
    qualified = f"__torch__.{Factor.__module__}.Factor"
    monkeypatch.delitem(torch.jit._state._name_to_pyclass, qualified)
    again = str(tmp_path / "again.pt")
    mta.AtomisticModel(loaded.module, metadata(), capabilities()).save(again)
    monkeypatch.undo()

    files = _code_files(again)
    factor = [name for name, code in files.items() if "class Factor:" in code]
    assert len(factor) == 1
    assert factor[0].startswith("__torch__/___rehomed_")
    assert not any("/___rehomed_" in name and "metatomic" in name for name in files)
    assert any("ops.metatomic_tests.scale" in code for code in files.values())

    for model in (loaded, mta.load_atomistic_model(again)):
        values = _energies(model).values.reshape(-1)
        torch.testing.assert_close(values, torch.from_numpy(expected))


def _edited(path, target, member: str, old: str, new: str):
    """Write at ``target`` the archive at ``path`` with ``old`` replaced by
    ``new`` in the code file ``member`` (and without its debug information)"""
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(target, "w") as edited:
        for info in archive.infolist():
            if info.filename.endswith(f"/code/{member}.debug_pkl"):
                continue
            data = archive.read(info)
            if info.filename.endswith(f"/code/{member}"):
                text = data.decode()
                assert old in text
                data = text.replace(old, new, 1).encode()
            edited.writestr(info, data)


@pytest.mark.parametrize(
    "member, name, reason",
    [
        (
            "__torch__/metatomic/torch/_system.py",
            "System",
            "whose definition differs from the one of this process",
        ),
        (
            "__torch__/metatensor_torch/_labels.py",
            "Labels",
            "which uses '__torch__.metatensor_torch._[a-z_.A-Z]*', (which uses "
            "'__torch__.metatensor_torch._[a-z_.A-Z]*', )*whose definition differs "
            "from the one of this process",
        ),
    ],
)
def test_classes_differing_from_ours(exported, tmp_path, member, name, reason):
    # a model exported with another version of a class of our packages (one
    # more method) runs, but can not be compiled into a new model
    path = str(tmp_path / "edited.pt")
    qualified = member[: -len(".py")].replace("/", ".") + "." + name
    method = f"  def _another_version(self: {qualified}) -> int:\n    return 1\n"
    _edited(exported, path, member, f"class {name}:\n", f"class {name}:\n{method}")

    loaded = mta.load_atomistic_model(path)
    assert torch.equal(_energies(loaded).values, _energies(atomistic_model()).values)
    message = (
        "can not use this compiled module here: `forward` uses the class "
        f"'__torch__.metatomic.torch._system.System' of its file, {reason}. "
        "Save it with the versions of metatensor-torch and metatomic-torch it was "
        "exported with, or export it again with the installed ones"
    )
    wrapper = mta.AtomisticModel(loaded.module, metadata(), capabilities())
    with pytest.raises(ValueError, match=message):
        wrapper.save(str(tmp_path / "again.pt"))


# ==================================================================================== #
#                                  code and pickles                                    #
# ==================================================================================== #

RENAME = _renamer(
    {"__torch__.a.B", "__torch__.a.Shared", "__torch__.a.f"},
    {"__torch__.a.Shared"},
    "__torch__.___rehomed_test",
)


def test_renamed_code():
    code = (
        "def f(x: __torch__.a.B, y: __torch__.a.Shared) -> __torch__.a.B:\n"
        "  _0 = __torch__.a.B.__new__(__torch__.a.B)\n"
        '  _1 = "__torch__.a.B is \\"kept\\"", \'__torch__.a.B\'\n'
        "  _2 = __torch__.a.f(__torch__.a.Shared.__new__(__torch__.a.Shared))\n"
        "  _3 = __torch__.torch.classes.ns.C\n"
    )
    assert _renamed_code(code, RENAME) == (
        "def f(x: __torch__.___rehomed_test.a.B, y: __torch__.a.Shared) -> "
        "__torch__.___rehomed_test.a.B:\n"
        "  _0 = __torch__.___rehomed_test.a.B.__new__(__torch__.___rehomed_test.a.B)\n"
        '  _1 = "__torch__.a.B is \\"kept\\"", \'__torch__.a.B\'\n'
        "  _2 = __torch__.___rehomed_test.a.f(__torch__.a.Shared.__new__("
        "__torch__.a.Shared))\n"
        "  _3 = __torch__.torch.classes.ns.C\n"
    )


def test_items():
    code = "class A:\n  x : int\ndef f(a: int,\n    b: int) -> int:\n  return a\n"
    assert _items(code, "a.py") == {
        "A": "class A:\n  x : int\n",
        "f": "def f(a: int,\n    b: int) -> int:\n  return a\n",
    }
    with pytest.raises(ValueError, match="unexpected top-level line 'import x'"):
        _items("import x\nclass A:\n  x : int\n", "a.py")


def _string(text: str, opcode=b"X") -> bytes:
    encoded = text.encode()
    sizes = {b"X": "<I", b"\x8c": "<B", b"\x8d": "<Q"}
    return opcode + struct.pack(sizes[opcode], len(encoded)) + encoded


def _strings(data: bytes) -> List[str]:
    return [
        argument
        for opcode, argument, _ in pickletools.genops(data)
        if isinstance(argument, str)
    ]


TYPE_TAG = b"ctorch.jit._pickle\nrestore_type_tag\n"


def test_renamed_pickle_like_torch():
    # GLOBAL opcodes and type tags, memoized and used again, as TorchScript writes
    data = (
        b"\x80\x02"
        + b"c__torch__.a\nB\nq\x00)\x81}q\x01b"  # B() with an empty state
        + b"c__torch__.a\nShared\n)\x81}b"
        + TYPE_TAG
        + b"q\x02]"
        + _string("List[__torch__.a.B]")
        + b"q\x03\x86R"
        + b"h\x02]h\x03\x86R"  # the memoized tag
        + TYPE_TAG
        + b"}"
        + _string("Dict[str, __torch__.a.Shared]", b"\x8c")
        + b"\x86R"
        + TYPE_TAG
        + b"]"
        + _string("List[__torch__.a.B]", b"\x8d")
        + b"\x86R"
        + b"(ccollections\nOrderedDict\n"
        + _string("not a class")
        + b"t."
    )
    renamed = _renamed_pickle(data, RENAME, "data.pkl")
    assert _strings(renamed) == [
        "__torch__.___rehomed_test.a B",
        "__torch__.a Shared",
        "torch.jit._pickle restore_type_tag",
        "List[__torch__.___rehomed_test.a.B]",
        "torch.jit._pickle restore_type_tag",
        "Dict[str, __torch__.a.Shared]",
        "torch.jit._pickle restore_type_tag",
        "List[__torch__.___rehomed_test.a.B]",
        "collections OrderedDict",
        "not a class",
    ]
    # the memoized tag holds the new name
    operations = [op.name for op, _, _ in pickletools.genops(renamed)]
    assert operations.count("BINGET") == 2


def test_renamed_pickle_stack_global():
    # protocol 4, as Python writes it: the memoized module string is renamed
    # for one class and not for the other
    data = (
        b"\x80\x04"
        + _string("__torch__.a", b"\x8c")
        + b"\x94"
        + _string("B", b"\x8c")
        + b"\x94\x93\x94)\x81"
        + b"h\x00"
        + _string("Shared", b"\x8c")
        + b"\x94\x93)\x81\x86."
    )
    renamed = _renamed_pickle(data, RENAME, "data.pkl")
    assert _strings(renamed) == [
        "__torch__.___rehomed_test.a",
        "B",
        "__torch__.a",
        "Shared",
    ]


def test_renamed_pickle_errors():
    # a string naming a renamed class as data, or in an opcode this code does
    # not know, is refused
    data = b"\x80\x02}" + _string("key") + _string("__torch__.a.B") + b"s."
    message = "the pickle 'data.pkl' holds the string '__torch__.a.B', naming a class"
    with pytest.raises(ValueError, match=message):
        _renamed_pickle(data, RENAME, "data.pkl")
    data = b"\x80\x02]" + TYPE_TAG + b"]" + _string("__torch__.a.B") + b"q\x00\x86R"
    data += b"h\x00a."  # the memoized tag, used again as data
    with pytest.raises(ValueError, match=message):
        _renamed_pickle(data, RENAME, "data.pkl")

    # strings naming shared or unknown classes are data
    data = b"\x80\x02](" + _string("__torch__.a.Shared") + _string("__torch__.x.Y")
    data += b"e."
    assert _renamed_pickle(data, RENAME, "data.pkl") == data

    data = b"\x80\x02S'__torch__.a.B'\n."
    with pytest.raises(ValueError, match="unexpected STRING opcode naming"):
        _renamed_pickle(data, RENAME, "data.pkl")
