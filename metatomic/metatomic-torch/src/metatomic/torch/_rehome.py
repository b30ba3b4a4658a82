"""Compiling a module loaded from a file again, against the TorchScript classes of
this process, so that new TorchScript code can call it.

``torch.jit.load`` compiles the code of a file in a compilation unit of its own:
the classes of a loaded model (``System``, ``TensorMap``...) are other types than
the classes of the installed packages, even with the same names, and a module
compiled here (a wrapper saved by :py:meth:`AtomisticModel.save`) can not call
it. :py:func:`rehome` gives a copy of such a module that it can call:

1. the module is saved to memory by the installed torch (archives written by
   other torch versions are converted by ``torch.jit.load`` first);
2. the classes of the archive that this process compiled too, with a compatible
   definition (same attributes and state methods, every method of the archive
   with the same signature), are removed from its code: their names resolve to
   the classes of this process, whose methods the module then uses;
3. every other qualified name (module types, functions, other classes) moves
   under a new prefix, ``__torch__.___rehomed_<n>``, so that it can not clash
   with code compiled here; the TorchScript classes of extensions
   (``__torch__.torch.classes``) and operators (``ops.<namespace>``) keep their
   names, string literals are not changed;
4. the pickles (module attributes and constants) are rewritten to match: class
   names in ``GLOBAL`` (and ``STACK_GLOBAL``, ``INST``) opcodes, and in the type
   tags of lists and dicts; a string naming a moved class anywhere else is an
   error rather than a silently different model;
5. the result is imported in the compilation unit of this process.
"""

import ast
import io
import itertools
import pickletools
import re
import shutil
import struct
import zipfile
from typing import Callable, Dict, List, Optional, Set, Tuple

import torch

# qualified names in code, and string literals to skip (the printed code has no
# comments and no multi-line strings)
_CODE_TOKEN = re.compile(
    r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|(?<![\w.])__torch__(?:\.\w+)+"
)
_QUALIFIED_NAME = re.compile(r"(?<![\w.])__torch__(?:\.\w+)+")
_ITEM = re.compile(r"^(class|def) (\w+)", re.MULTILINE)
_OTHER_TOP_LEVEL = re.compile(r"^(?!class |def )\S.*$", re.MULTILINE)
_PLAIN_CLASS = re.compile(r"class \w+:")
_STATE_METHODS = ("__getstate__", "__setstate__")
_COUNTER = itertools.count()


def is_foreign(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a compiled module that TorchScript code compiled in
    this process can not call (its type comes from another compilation unit, as
    for modules loaded with ``torch.jit.load``)"""
    if not isinstance(module, torch.jit.ScriptModule):
        return False
    module_type = module._c._type()
    compiled = torch.jit._state._python_cu.get_class(module_type.qualified_name())
    return compiled != module_type


# ==================================================================================== #
#                                    code and classes                                  #
# ==================================================================================== #


def _items(text: str, path: str) -> Dict[str, str]:
    """The top-level ``class`` and ``def`` items of the printed code ``text`` (the
    file ``path`` of an archive), by name"""
    other = _OTHER_TOP_LEVEL.search(text)
    if other is not None:
        raise ValueError(
            f"can not read the TorchScript code '{path}': unexpected top-level line "
            f"{other.group(0)!r}"
        )
    matches = list(_ITEM.finditer(text))
    ends = [match.start() for match in matches[1:]] + [len(text)]
    items = {}
    for match, end in zip(matches, ends):
        if match.group(2) in items:
            raise ValueError(
                f"can not read the TorchScript code '{path}': '{match.group(2)}' is "
                "defined twice"
            )
        items[match.group(2)] = text[match.start() : end]
    return items


def _code_items(archive: zipfile.ZipFile, root: str) -> Dict[str, Dict[str, str]]:
    """qualifier (``__torch__.a.b``) => items of its code file, for ``archive``"""
    code = f"{root}/code/"
    files = {}
    for name in archive.namelist():
        if name.startswith(code) and name.endswith(".py"):
            qualifier = name[len(code) : -len(".py")].replace("/", ".")
            files[qualifier] = _items(archive.read(name).decode("utf-8"), name)
    return files


class _Interface:
    """What code compiled against a class relies on: its attributes, the code of
    its state methods (the layout of pickled objects), and its method signatures"""

    def __init__(self, item: str):
        (node,) = ast.parse(item).body
        self.fields: List[str] = []
        self.state: Dict[str, str] = {}
        self.methods: Dict[str, str] = {}
        for statement in node.body:
            if not isinstance(statement, ast.FunctionDef):
                self.fields.append(ast.unparse(statement))
            elif statement.name in _STATE_METHODS:
                self.state[statement.name] = ast.dump(statement)
            else:
                returns = ast.unparse(statement.returns) if statement.returns else ""
                self.methods[statement.name] = f"{ast.unparse(statement.args)}{returns}"

    def accepts(self, other: "_Interface") -> bool:
        """Whether code compiled against ``other`` works with this class"""
        return (
            self.fields == other.fields
            and self.state == other.state
            and all(self.methods.get(n) == s for n, s in other.methods.items())
        )

    def names(self) -> Set[str]:
        """The qualified names this interface mentions"""
        text = "\n".join(self.fields + list(self.methods.values()))
        return set(_QUALIFIED_NAME.findall(text))


# qualified name => (Python class, interface), for the classes of this process
_INSTALLED: Dict[str, Tuple[type, _Interface]] = {}


def _installed_interfaces(classes: Dict[str, type]) -> Dict[str, _Interface]:
    """The interfaces of the compiled Python ``classes`` (by qualified name), read
    from the code TorchScript prints for them"""
    missing = [
        name
        for name, cls in classes.items()
        if name not in _INSTALLED or _INSTALLED[name][0] is not cls
    ]
    if len(missing) != 0:
        arguments = ", ".join(f"a{i}: C{i}" for i in range(len(missing)))
        resolve = {f"C{i}": classes[name] for i, name in enumerate(missing)}
        unit = torch.jit.CompilationUnit()
        unit.define(f"def f({arguments}) -> int:\n    return 0\n", rcb=resolve.get)
        buffer = io.BytesIO(unit.find_function("f").save_to_buffer())
        with zipfile.ZipFile(buffer) as archive:
            root = archive.namelist()[0].split("/")[0]
            printed = {
                f"{qualifier}.{name}": item
                for qualifier, items in _code_items(archive, root).items()
                for name, item in items.items()
            }
        for name in missing:
            _INSTALLED[name] = (classes[name], _Interface(printed[name]))
    return {name: _INSTALLED[name][1] for name in classes}


def _shared_classes(
    files: Dict[str, Dict[str, str]], defined: Set[str]
) -> Tuple[Set[str], Dict[str, str]]:
    """The classes of the archive (code ``files`` defining the items
    ``defined``) that this process defines compatibly, and why each other class
    that this process defines too is not shared"""
    archived: Dict[str, _Interface] = {}
    classes: Dict[str, type] = {}
    for qualifier, items in files.items():
        for name, item in items.items():
            qualified = f"{qualifier}.{name}"
            if _PLAIN_CLASS.match(item) is None:
                continue  # modules, named tuples, enums, interfaces and functions
            python_class = torch.jit._state._get_python_class(qualified)
            if python_class is not None:
                archived[qualified] = _Interface(item)
                classes[qualified] = python_class

    installed = _installed_interfaces(classes)
    reasons: Dict[str, str] = {}
    for name, interface in archived.items():
        if not installed[name].accepts(interface):
            reasons[name] = "whose definition differs from the one of this process"
    # a class using a class (or module) of the archive that is not shared can
    # not be shared either
    changed = True
    while changed:
        changed = False
        for name, interface in archived.items():
            if name in reasons:
                continue
            for used in sorted(interface.names()):
                owner = _owner(used, defined)
                if owner is not None and (owner in reasons or owner not in archived):
                    cause = reasons.get(owner, "which this process does not define")
                    reasons[name] = f"which uses '{owner}', {cause}"
                    changed = True
                    break
    return set(archived) - set(reasons), reasons


def _owner(name: str, defined: Set[str]) -> Optional[str]:
    """The longest prefix of the qualified ``name`` that is an item of ``defined``"""
    parts = name.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in defined:
            return prefix
    return None


def _renamer(defined: Set[str], shared: Set[str], prefix: str) -> Callable[[str], str]:
    """A function giving the new name of a qualified name of the archive: names
    inside the items ``defined`` by the archive move under ``prefix``, except
    those inside ``shared`` classes; other names (extension classes) are kept"""

    def rename(name: str) -> str:
        owner = _owner(name, defined)
        if owner is None or owner in shared:
            return name
        return prefix + name[len("__torch__") :]

    return rename


def _renamed_code(text: str, rename: Callable[[str], str]) -> str:
    """The printed code ``text`` with its qualified names renamed"""

    def replace(match):
        token = match.group(0)
        return token if token[0] in "\"'" else rename(token)

    return _CODE_TOKEN.sub(replace, text)


# ==================================================================================== #
#                                       pickles                                        #
# ==================================================================================== #

_STRING_OPCODES = ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE")
_GET_OPCODES = ("GET", "BINGET", "LONG_BINGET")
_PUT_OPCODES = ("PUT", "BINPUT", "LONG_BINPUT")
_TUPLE_SIZES = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_TYPE_TAG = ("global", "torch.jit._pickle.restore_type_tag")


def _encoded_string(text: str) -> bytes:
    """The ``BINUNICODE`` opcode pushing ``text``"""
    encoded = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(encoded)) + encoded


def _renamed_global(module: str, name: str, rename) -> str:
    """The new module of the global ``module.name``"""
    if not module.startswith("__torch__"):
        return module
    return rename(f"{module}.{name}")[: -len(name) - 1]


def _last_mark(stack: List[tuple]) -> int:
    return len(stack) - 1 - stack[::-1].index(("mark",))


def _renamed_pickle(data: bytes, rename: Callable[[str], str], path: str) -> bytes:
    """The pickle ``data`` with the qualified names of classes renamed where
    TorchScript's pickler writes them, and everything else unchanged.

    The stack of the unpickler is followed (abstractly) to find where each
    string goes: the type tags of lists and dicts (``restore_type_tag(object,
    type)``) and the modules of ``STACK_GLOBAL`` are renamed; every other use of
    a string keeps its text, and a string naming a renamed class there is an
    error (a pickle layout this code does not know)."""

    def renamed_text(text: str) -> str:
        return _QUALIFIED_NAME.sub(lambda match: rename(match.group(0)), text)

    operations = list(pickletools.genops(data))
    stack: List[tuple] = []
    memo: Dict[int, tuple] = {}
    # operation index => the text of the string it pushes, and its wanted text
    strings: Dict[int, str] = {}
    wanted: Dict[int, str] = {}
    # put operation index => memo key, and operation pushing the memoized string
    puts: Dict[int, Tuple[int, Optional[int]]] = {}
    for index, (opcode, argument, _) in enumerate(operations):
        name = opcode.name
        if name in _STRING_OPCODES:
            strings[index] = argument
            stack.append(("str", argument, index))
        elif name in _GET_OPCODES:
            value = memo[argument]
            if value[0] == "str":
                strings[index] = value[1]
                value = ("str", value[1], index)
            stack.append(value)
        elif name in _PUT_OPCODES or name == "MEMOIZE":
            key = len(memo) if name == "MEMOIZE" else argument
            memo[key] = stack[-1]
            puts[index] = (key, stack[-1][2] if stack[-1][0] == "str" else None)
        elif name == "GLOBAL":
            stack.append(("global", argument.replace(" ", ".", 1)))
        elif name == "STACK_GLOBAL":
            member, module = stack.pop(), stack.pop()
            if module[0] != "str" or member[0] != "str":
                raise ValueError(f"unexpected STACK_GLOBAL in the pickle '{path}'")
            wanted[module[2]] = _renamed_global(module[1], member[1], rename)
            stack.append(("global", f"{module[1]}.{member[1]}"))
        elif name == "MARK":
            stack.append(("mark",))
        elif name == "DUP":
            stack.append(stack[-1])
        elif name == "TUPLE":
            mark = _last_mark(stack)
            items = stack[mark + 1 :]
            del stack[mark:]
            stack.append(("tuple", items))
        elif name in _TUPLE_SIZES:
            start = len(stack) - _TUPLE_SIZES[name]
            items = stack[start:]
            del stack[start:]
            stack.append(("tuple", items))
        elif name == "REDUCE":
            arguments, function = stack.pop(), stack.pop()
            if (
                function == _TYPE_TAG
                and arguments[0] == "tuple"
                and len(arguments[1]) == 2
                and arguments[1][1][0] == "str"
            ):
                _, text, pushed = arguments[1][1]
                wanted[pushed] = renamed_text(text)
            stack.append(("other",))
        elif isinstance(argument, str) and "__torch__" in argument and name != "INST":
            raise ValueError(
                f"can not use this compiled module here: unexpected {name} opcode "
                f"naming {argument!r} in the pickle '{path}'"
            )
        else:
            before = opcode.stack_before
            if pickletools.markobject in before:
                del stack[_last_mark(stack) :]
                before = before[: before.index(pickletools.markobject)]
            del stack[len(stack) - len(before) :]
            stack.extend([("other",)] * len(opcode.stack_after))

    for index, text in strings.items():
        if index not in wanted and renamed_text(text) != text:
            raise ValueError(
                f"can not use this compiled module here: the pickle '{path}' holds "
                f"the string {text!r}, naming a class which moves to a new name"
            )

    output = bytearray()
    # memo key => the text of the string it holds in the output
    memo_texts: Dict[int, str] = {}
    ends = [position for _, _, position in operations[1:]] + [len(data)]
    for index, ((opcode, argument, position), end) in enumerate(zip(operations, ends)):
        raw = data[position:end]
        if index in strings:
            text = wanted.get(index, strings[index])
            strings[index] = text
            if opcode.name in _STRING_OPCODES:
                changed = text != argument
            else:
                changed = memo_texts[argument] != text
            if changed:
                raw = _encoded_string(text)
        elif index in puts:
            key, pushed = puts[index]
            if pushed is not None:
                memo_texts[key] = strings[pushed]
        elif opcode.name in ("GLOBAL", "INST"):
            module, member = argument.split(" ", 1)
            renamed = _renamed_global(module, member, rename)
            raw = opcode.code.encode("latin-1") + f"{renamed}\n{member}\n".encode()
        output += raw
    return bytes(output)


# ==================================================================================== #
#                                      the archive                                     #
# ==================================================================================== #


def _check_methods(
    module: torch.jit.ScriptModule, prefix: str, reasons: Dict[str, str]
):
    """Refuse a rehomed ``module`` (whose moved names start with ``prefix``)
    if its public methods use a class of its file that differs from the class
    of this process with the same name"""
    for method in module._c._type().method_names():
        if method.startswith("_"):
            continue
        schema = module._c._get_method(method).schema
        for value in schema.arguments[1:] + schema.returns:
            for name in _QUALIFIED_NAME.findall(value.type.annotation_str):
                original = "__torch__" + name[len(prefix) :]
                if name.startswith(prefix + ".") and original in reasons:
                    raise ValueError(
                        f"can not use this compiled module here: `{method}` uses the "
                        f"class '{original}' of its file, {reasons[original]}. "
                        "Save it with the versions of metatensor-torch and "
                        "metatomic-torch it was exported with, or export it again "
                        "with the installed ones"
                    )


def rehome(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """A copy of the compiled ``module`` (loaded from a file) that TorchScript
    code compiled in this process can call (see the documentation of this
    module).

    :param module: the compiled module
    :return: the copy, compiled against the TorchScript classes of this process
    :raises ValueError: if the public methods of ``module`` use classes whose
        definition differs from those of this process, or its archive has a
        layout this function does not know
    """
    prefix = f"__torch__.___rehomed_{next(_COUNTER)}"
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(module.save_to_buffer())) as archive:
        root = archive.namelist()[0].split("/")[0]
        files = _code_items(archive, root)
        defined = {f"{q}.{name}" for q, items in files.items() for name in items}
        shared, reasons = _shared_classes(files, defined)
        rename = _renamer(defined, shared, prefix)

        with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as rehomed:
            for qualifier, items in files.items():
                kept = [
                    _renamed_code(item, rename)
                    for name, item in items.items()
                    if f"{qualifier}.{name}" not in shared
                ]
                if len(kept) != 0:
                    path = (prefix + qualifier[len("__torch__") :]).replace(".", "/")
                    rehomed.writestr(f"{root}/code/{path}.py", "".join(kept))
            for info in archive.infolist():
                name = info.filename
                if name.startswith(f"{root}/code/"):
                    continue  # the code is above, its debug information is dropped
                if name.endswith(".pkl"):
                    data = _renamed_pickle(archive.read(name), rename, name)
                    rehomed.writestr(info, data)
                else:
                    with archive.open(info) as source:
                        with rehomed.open(info, "w") as target:
                            shutil.copyfileobj(source, target)

    compiled = torch._C.import_ir_module_from_buffer(
        torch.jit._state._python_cu, output.getvalue(), None, {}, False
    )
    rehomed_module = torch.jit._recursive.wrap_cpp_module(compiled)
    _check_methods(rehomed_module, prefix, reasons)
    return rehomed_module
