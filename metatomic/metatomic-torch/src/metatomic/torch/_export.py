"""Exported models on disk: saving an :py:class:`AtomisticModel` as a TorchScript
archive with metadata, and loading, checking and inspecting such archives.

An exported model is a standard TorchScript archive (a ZIP file) whose
``<stem>/extra/`` folder holds text records, in upstream's layout so that tools
reading them without loading the model keep working:

* ``torch-version``: ``torch.__version__`` at export;
* ``metatomic-version``: the version of metatomic-torch at export; its presence
  marks the file as a metatomic model;
* ``extensions`` and ``extensions-deps``: JSON lists of ``{"name", "sha256",
  "path"}`` for the TorchScript extensions loaded at export (other than
  metatensor's and metatomic's) and their known dependencies;
* ``export-metadata``: JSON with the export ``date`` (UTC), the ``platform``
  and, when extensions were collected, the ``extensions_directory``;
* ``model-metadata``: the :py:class:`ModelMetadata` as JSON.
"""

import collections
import contextlib
import copy
import ctypes
import datetime
import hashlib
import json
import os
import platform
import shutil
import site
import sys
import sysconfig
import tempfile
import threading
import warnings
import zipfile
from typing import Dict, List, Optional

import torch

from metatensor.io._atomic import atomic_file

from ._jit import no_deprecation_warning
from ._metadata import ModelMetadata, metadata_from_json, metadata_to_json
from ._model import AtomisticModel
from ._rehome import is_foreign, rehome
from ._version import __version__
from .utils import version_compatible

# TorchScript extensions that are part of metatensor and metatomic themselves
_OWN_EXTENSIONS = ("metatensor_torch", "metatomic_torch")
# shared libraries that known extensions depend on, loaded before them
_KNOWN_DEPENDENCIES = {
    "featomic_torch": ["featomic"],
    "sphericart_torch": ["sphericart"],
    "deepmd_torch": ["deepmd_cc", "deepmd_op_pt"],
}


# ==================================================================================== #
#                                        saving                                        #
# ==================================================================================== #


def _library_name(path: str) -> str:
    """``/a/b/libfoo.so.1`` => ``foo``"""
    name = os.path.basename(path)
    for suffix in (".so", ".dylib", ".dll"):
        if suffix in name:
            name = name[: name.index(suffix)]
    if name.startswith("lib"):
        name = name[3:]
    return name


def _relative_path(path: str) -> str:
    """``path`` relative to site-packages or ``sys.prefix`` when it is inside one,
    so that the record works in another environment"""
    bases = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    bases += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    bases.append(sys.prefix)
    resolved = os.path.realpath(path)
    for base in bases:
        base = os.path.realpath(base)
        if resolved.startswith(base + os.sep):
            return os.path.relpath(resolved, base)
    return resolved


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _loaded_shared_libraries() -> List[str]:
    """Paths of the shared libraries loaded in this process (Linux: from
    ``/proc/self/maps``; elsewhere only the TorchScript extensions)"""
    paths = set(torch.ops.loaded_libraries)
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and ".so" in os.path.basename(parts[5]):
                    paths.add(parts[5].strip())
    except OSError:
        pass
    return sorted(paths)


def _record(path: str) -> dict:
    return {"name": _library_name(path), "sha256": _sha256(path), "path": path}


def _collect_extensions() -> List[dict]:
    """Records of the TorchScript extensions loaded in this process"""
    records = []
    for path in sorted(torch.ops.loaded_libraries):
        name = _library_name(path)
        if any(own in name for own in _OWN_EXTENSIONS):
            continue
        records.append(_record(path))
    return records


def _collect_dependencies(extensions: List[dict]) -> List[dict]:
    """Records of the loaded libraries that the ``extensions`` are known to need"""
    wanted = []
    for extension in extensions:
        wanted.extend(_KNOWN_DEPENDENCIES.get(extension["name"], []))
    records = []
    for path in _loaded_shared_libraries():
        if _library_name(path) in wanted:
            records.append(_record(path))
    return records


def _copy_libraries(records: List[dict], directory: str):
    """Copy the libraries into ``directory`` (emptied first), keeping the paths of
    the records relative to it"""
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for record in records:
        relative = record["relative"]
        if os.path.isabs(relative):
            relative = os.path.basename(relative)
            record["relative"] = relative
        target = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(record["path"], target)


# the attributes of an AtomisticModel that its compiled version holds too
_WRAPPER_ATTRIBUTES = [
    "_capabilities",
    "_metadata",
    "_model_capabilities_outputs_names",
    "_requested_neighbor_lists",
    "_requested_inputs",
    "_model_dtype",
]


@contextlib.contextmanager
def _rehomed_submodules(model: torch.nn.Module):
    """In this block, the compiled submodules of ``model`` loaded from a file are
    replaced by copies that TorchScript code compiled here can call (see
    ``_rehome.py``), so that ``model`` can be compiled"""
    copies: Dict[int, torch.jit.ScriptModule] = {}
    replaced = []
    parents = [model]
    while len(parents) != 0:
        parent = parents.pop()
        for name, child in parent._modules.items():
            if is_foreign(child):
                if id(child) not in copies:
                    copies[id(child)] = rehome(child)
                replaced.append((parent, name, child))
            elif child is not None and not isinstance(child, torch.jit.ScriptModule):
                parents.append(child)
    for parent, name, child in replaced:
        parent._modules[name] = copies[id(child)]
    try:
        yield
    finally:
        for parent, name, child in replaced:
            parent._modules[name] = child


def save_model(model: AtomisticModel, file, collect_extensions: Optional[str]):
    """:py:meth:`AtomisticModel.save`"""
    if not torch.jit._state._enabled:
        raise RuntimeError(
            "can not save the model: TorchScript is disabled (PYTORCH_JIT=0 in the "
            "environment), unset PYTORCH_JIT"
        )
    if model.capabilities().length_unit == "":
        warnings.warn(
            "this model has no length unit (`capabilities.length_unit` is empty): "
            "engines will not convert lengths for it",
            stacklevel=3,
        )
    model.eval()
    scripted = model._compiled_wrapper
    if scripted is not None and scripted.module is model.module:
        for name in _WRAPPER_ATTRIBUTES:
            setattr(scripted, name, getattr(model, name))
    else:
        with _rehomed_submodules(model):
            try:
                with no_deprecation_warning():
                    scripted = torch.jit.script(model)
            except Exception as error:
                raise RuntimeError(
                    f"could not convert the module to TorchScript: {error}"
                ) from error

    extensions = _collect_extensions()
    dependencies = _collect_dependencies(extensions)
    export_metadata: Dict[str, str] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "platform": f"{platform.machine()}-{platform.system()}",
    }
    for record in extensions + dependencies:
        record["relative"] = _relative_path(record["path"])
    if collect_extensions is not None:
        _copy_libraries(extensions + dependencies, str(collect_extensions))
        export_metadata["extensions_directory"] = str(collect_extensions)

    def records(entries):
        return json.dumps(
            [
                {"name": e["name"], "sha256": e["sha256"], "path": e["relative"]}
                for e in entries
            ]
        )

    extra_files = {
        "torch-version": torch.__version__,
        "metatomic-version": __version__,
        "extensions": records(extensions),
        "extensions-deps": records(dependencies),
        "export-metadata": json.dumps(export_metadata),
        "model-metadata": metadata_to_json(model.metadata()),
    }
    # `torch.jit.save` would call `scripted.save`, which is AtomisticModel.save.
    # torch names the folder inside the archive after the file: the model is
    # saved under the same name in a temporary folder, then written next to the
    # target and renamed over it, so that a crash never leaves a partial file
    target = os.path.realpath(str(file))
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as directory:
        temporary = os.path.join(directory, os.path.basename(target))
        scripted.to("cpu")._c.save(temporary, _extra_files=extra_files)
        with open(temporary, "rb") as saved, atomic_file(target) as output:
            shutil.copyfileobj(saved, output)


# ==================================================================================== #
#                                 reading the archive                                  #
# ==================================================================================== #


def _read_records(path) -> Dict[str, str]:
    """The ``extra/`` records of the archive at ``path``, by name"""
    path = str(path)
    if not os.path.exists(path):
        raise ValueError(f"no file at '{path}'")
    try:
        with zipfile.ZipFile(path) as archive:
            records = {}
            for name in archive.namelist():
                parts = name.split("/")
                if len(parts) == 3 and parts[1] == "extra":
                    records[parts[2]] = archive.read(name).decode("utf-8")
            return records
    except (zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise ValueError(
            f"file at '{path}' does not contain a metatomic model: it is not a "
            "TorchScript archive"
        ) from error


def _metatomic_records(path) -> Dict[str, str]:
    records = _read_records(path)
    if "metatomic-version" not in records:
        raise ValueError(
            f"file at '{path}' does not contain a metatomic model: it has no "
            "'extra/metatomic-version' record (models exported by the older "
            "`metatensor.torch.atomistic` must be exported again with metatomic)"
        )
    return records


def _json_records(records: Dict[str, str], name: str, path) -> list:
    try:
        entries = json.loads(records.get(name, "[]"))
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid '{name}' record in '{path}': {error}") from error
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        raise ValueError(
            f"invalid '{name}' record in '{path}': expected a list of "
            "{'name', 'sha256', 'path'} objects"
        )
    return entries


def read_model_metadata(path) -> ModelMetadata:
    """The :py:class:`ModelMetadata` of the model exported at ``path``, read
    without loading the model"""
    records = _read_records(path)
    if "model-metadata" not in records:
        raise ValueError(
            f"the file at '{path}' does not contain model metadata, did you export "
            "your model with metatensor-torch >=0.5.4?"
        )
    return metadata_from_json(records["model-metadata"])


def _debug(message: str):
    if os.environ.get("METATOMIC_DEBUG_EXTENSIONS_LOADING", "") not in ("", "0"):
        warnings.warn(f"[metatomic extensions] {message}", stacklevel=3)


def _loaded(name: str) -> bool:
    return any(name in os.path.basename(p) for p in _loaded_shared_libraries())


def _candidates(path: str, directory: Optional[str]) -> List[str]:
    candidates = []
    if os.path.isabs(path):
        candidates.append(path)
    else:
        bases = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
        bases.append(sys.prefix)
        candidates.extend(os.path.join(base, path) for base in bases)
    if directory is not None:
        candidates.append(os.path.join(str(directory), path))
    candidates.append(os.path.basename(path))
    return candidates


def load_model_extensions(path, extensions_directory: Optional[str] = None):
    """Load the TorchScript extensions (and their dependencies) recorded in the
    model at ``path``, looking for each at its recorded path, then in
    ``extensions_directory``, then by name; a library that can not be loaded
    gives a warning (the model may still load if it does not need it)"""
    records = _metatomic_records(path)
    for kind in ("extensions-deps", "extensions"):
        for entry in _json_records(records, kind, path):
            name = entry["name"]
            if _loaded(name):
                _debug(f"'{name}' is already loaded")
                continue
            for candidate in _candidates(entry.get("path", name), extensions_directory):
                try:
                    if kind == "extensions":
                        torch.ops.load_library(candidate)
                    else:
                        ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
                    _debug(f"loaded '{name}' from '{candidate}'")
                    break
                except OSError as error:
                    _debug(f"could not load '{name}' from '{candidate}': {error}")
            else:
                warnings.warn(
                    f"could not load the library '{name}' used by the model at "
                    f"'{path}': install the package providing it, or give the "
                    "directory where it was collected as `extensions_directory`",
                    stacklevel=2,
                )


def check_atomistic_model(path):
    """Check that the model at ``path`` was exported by a compatible version of
    metatomic and that the extensions it uses are loaded; problems are warnings"""
    records = _metatomic_records(path)
    exported = records["metatomic-version"].strip()
    if not version_compatible(exported, __version__):
        warnings.warn(
            f"the model at '{path}' was exported with metatomic-torch {exported}, "
            f"which is not compatible with the installed version ({__version__}): "
            "proceed at your own risk",
            stacklevel=2,
        )
    for entry in _json_records(records, "extensions", path):
        if not _loaded(entry["name"]):
            warnings.warn(
                f"the model at '{path}' uses the TorchScript extension "
                f"'{entry['name']}', which is not loaded: load it with "
                "`load_model_extensions` or import the package defining it",
                stacklevel=2,
            )


def load_atomistic_model(path, extensions_directory=None) -> AtomisticModel:
    """Load a model exported with :py:meth:`AtomisticModel.save`.

    :param path: the exported file
    :param extensions_directory: where to look for the TorchScript extensions the
        model uses, if they are not found where they were at export
    :return: the model, ready to run (an :py:class:`AtomisticModel`)
    """
    path = str(path)
    load_model_extensions(path, extensions_directory)
    check_atomistic_model(path)
    scripted = _load_scripted(path)
    return AtomisticModel(scripted, scripted.metadata(), scripted.capabilities())


# Compiling the TorchScript code of an archive takes most of the time of loading a
# model (about 0.3 s for the code of metatensor-torch's and metatomic's classes),
# so the models loaded in this process are kept, and loading the same file again
# returns a deep copy (which shares the compiled code but no tensor). Only small
# archives are kept: for large ones, reading the weights dominates anyway.
_CACHE: "collections.OrderedDict[tuple, torch.jit.ScriptModule]" = (
    collections.OrderedDict()
)
_CACHE_ENTRIES = 4
_CACHE_LOCK = threading.Lock()
_CACHE_MAX_BYTES = 64 * 1024 * 1024


def _load_scripted(path: str) -> torch.jit.ScriptModule:
    status = os.stat(path)
    key = (os.path.realpath(path), status.st_size, status.st_mtime_ns, status.st_ino)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return copy.deepcopy(cached)
    try:
        with no_deprecation_warning():
            scripted = torch.jit.load(path)
    except RuntimeError as error:
        message = str(error)
        if (
            "Unknown type name '__torch__.torch.classes." in message
            or "Unknown builtin op" in message
        ):
            raise RuntimeError(
                f"could not load the model at '{path}': it uses a TorchScript "
                "extension that is not loaded. Install and import the package "
                "defining it, or give `extensions_directory`. The error was: "
                f"{message}"
            ) from error
        raise
    if status.st_size <= _CACHE_MAX_BYTES:
        with _CACHE_LOCK:
            _CACHE[key] = copy.deepcopy(scripted)
            while len(_CACHE) > _CACHE_ENTRIES:
                _CACHE.popitem(last=False)
    return scripted
