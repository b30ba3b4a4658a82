"""Using a compiled module loaded from a file inside a new compiled module.

A model loaded with ``torch.jit.load`` is compiled against the TorchScript
classes (``System``, ``TensorMap``...) defined by the code of its file, which are
different types from the classes of this process even though they have the same
names: a module compiled here can not call it. :py:func:`rebind` gives a copy of
the loaded module compiled against the classes of this process, as upstream's
C++ classes would be: the module is saved to memory, the definitions of the
TorchScript classes that this process already has are removed from its code, the
other names (its own module types and functions) are moved to a new namespace so
that they can not clash with the code compiled here, and the result is loaded
into the compilation unit of this process.
"""

import ast
import io
import itertools
import pickletools
import re
import struct
import zipfile
from typing import Callable, Set

import torch

from .._jit import no_deprecation_warning

_QUALIFIED_NAME = re.compile(r"__torch__(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_COUNTER = itertools.count()


def _shared_classes(files: dict) -> Set[str]:
    """Qualified names of the TorchScript classes (not modules) defined in the
    code ``files`` that this process has compiled too"""
    compilation_unit = torch.jit._state._python_cu
    shared = set()
    for path, source in files.items():
        prefix = path[: -len(".py")].replace("/", ".")
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef) and len(node.bases) == 0:
                name = f"{prefix}.{node.name}"
                if compilation_unit.get_class(name) is not None:
                    shared.add(name)
    return shared


def _renamer(shared: Set[str], namespace: str) -> Callable[[str], str]:
    """A function moving qualified names under ``__torch__.<namespace>``, except
    those of (or inside) the ``shared`` classes"""

    def rename(name: str) -> str:
        parts = name.split(".")
        for end in range(2, len(parts) + 1):
            if ".".join(parts[:end]) in shared:
                return name
        return "__torch__." + namespace + name[len("__torch__") :]

    return rename


def _renamed_source(source: str, path: str, shared: Set[str], rename) -> str:
    """``source`` without the definitions of the ``shared`` classes, with the
    other qualified names renamed"""
    prefix = path[: -len(".py")].replace("/", ".")
    lines = source.splitlines(keepends=True)
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.ClassDef) and f"{prefix}.{node.name}" in shared:
            del lines[node.lineno - 1 : node.end_lineno]
    text = "".join(lines)
    return _QUALIFIED_NAME.sub(lambda match: rename(match.group(0)), text)


def _renamed_pickle(data: bytes, rename) -> bytes:
    """The pickle ``data`` (protocol 2, as written by TorchScript) with the
    qualified names of the classes and type tags renamed"""
    output = bytearray()
    operations = list(pickletools.genops(data))
    for i, (opcode, argument, position) in enumerate(operations):
        end = operations[i + 1][2] if i + 1 < len(operations) else len(data)
        if opcode.name == "GLOBAL" and argument.startswith("__torch__"):
            module, name = argument.split(" ")
            renamed = rename(f"{module}.{name}")
            module, name = renamed.rsplit(".", 1)
            output += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        elif opcode.name == "BINUNICODE" and "__torch__" in argument:
            text = _QUALIFIED_NAME.sub(lambda m: rename(m.group(0)), argument)
            encoded = text.encode("utf-8")
            output += b"X" + struct.pack("<I", len(encoded)) + encoded
        elif opcode.name in ("SHORT_BINUNICODE", "UNICODE") and "__torch__" in argument:
            raise NotImplementedError(
                f"unexpected {opcode.name} opcode in a TorchScript archive"
            )
        else:
            output += data[position:end]
    return bytes(output)


def rebind(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """A copy of the compiled ``module`` (e.g. from a file loaded with
    ``torch.jit.load``) using the TorchScript classes of this process, which
    other modules compiled here can call.

    :raises RuntimeError: when the code of the module does not match the classes
        of this process (it was saved by an incompatible version of
        metatensor-torch or metatomic-torch)
    """
    buffer = io.BytesIO()
    with no_deprecation_warning():
        torch.jit.save(module, buffer)

    namespace = f"___loaded_{next(_COUNTER)}"
    with zipfile.ZipFile(buffer) as archive:
        root = archive.namelist()[0].split("/")[0]
        code = f"{root}/code/"
        files = {
            name[len(code) :]: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith(code) and name.endswith(".py")
        }
        shared = _shared_classes(files)
        rename = _renamer(shared, namespace)

        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as rebound:
            for path, source in files.items():
                text = _renamed_source(source, path, shared, rename)
                target = path.replace("__torch__/", f"__torch__/{namespace}/", 1)
                rebound.writestr(f"{root}/code/{target}", text)
            for info in archive.infolist():
                name = info.filename
                if name.startswith(code):
                    continue  # the code (and its debug information) is above
                content = archive.read(name)
                if name.endswith(".pkl"):
                    content = _renamed_pickle(content, rename)
                rebound.writestr(info, content)

    try:
        with no_deprecation_warning():
            compiled = torch._C.import_ir_module_from_buffer(
                torch.jit._state._python_cu, output.getvalue(), None, {}, False
            )
    except RuntimeError as error:
        raise RuntimeError(
            "could not use this compiled module with the TorchScript classes of "
            "this process, was it saved by another version of metatensor-torch or "
            f"metatomic-torch? The error was: {error}"
        ) from error
    return torch.jit._recursive.wrap_cpp_module(compiled)
