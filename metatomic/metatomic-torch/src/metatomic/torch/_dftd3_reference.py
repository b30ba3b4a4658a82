"""The data of the D3 dispersion model (reference coordination numbers and C6
coefficients, r4/r2 expectation values, covalent radii) and the D3(BJ) damping
parameters of density functionals, shipped in ``data/dftd3.npz`` (converted from
tad-dftd3 by ``scripts/convert_dftd3_reference.py``); and the checks of the
``damping_params`` and ``d3_params`` given to :py:class:`DFTD3`.

Everything here is in atomic units (bohr, hartree), as in the source, and indexed
by atomic number.
"""

import functools
import math
import numbers
import os
from typing import Dict, List

import numpy as np
import torch

_DATA = os.path.join(os.path.dirname(__file__), "data", "dftd3.npz")

# the keys of `d3_params`, with the number of dimensions of each table
D3_TABLES = {"c6_reference": 4, "cn_reference": 2, "r4r2": 1, "covalent_radii": 1}
# the D3(BJ) damping parameters, in the order of the shipped table
DAMPING_KEYS = ("s6", "s8", "a1", "a2")
# s6 scales the C6 term, it is 1.0 for most functionals
DEFAULT_S6 = 1.0


@functools.lru_cache(maxsize=1)
def _archive() -> Dict[str, np.ndarray]:
    with np.load(_DATA, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def default_d3_params() -> Dict[str, torch.Tensor]:
    """The reference data of the D3 model shipped with metatomic-torch (from
    tad-dftd3), as float64 tensors indexed by atomic number (the index 0 and
    elements after the last one with data have no references), in atomic
    units.

    :return: a dictionary with

        * ``"c6_reference"``, shape ``(n_elements, n_elements, n_references,
          n_references)``: C6 coefficients between the reference systems of two
          elements (hartree bohr^6);
        * ``"cn_reference"``, shape ``(n_elements, n_references)``: coordination
          numbers of the reference systems, -1 for unused slots;
        * ``"r4r2"``, shape ``(n_elements,)``: ``sqrt(0.5 <r^4>/<r^2>
          sqrt(Z))``, giving ``C8 = 3 C6 r4r2[i] r4r2[j]``;
        * ``"covalent_radii"``, shape ``(n_elements,)``: D3 covalent radii
          scaled by 4/3 (bohr), for the coordination numbers.

    >>> params = default_d3_params()
    >>> params["c6_reference"].shape
    torch.Size([104, 104, 7, 7])
    >>> round(float(params["c6_reference"][1, 1, 0, 0]), 4)  # H-H, both CN 0.9118
    3.0267

    .. versionadded:: 0.1.19
    """
    data = _archive()
    n_references = data["n_references"].astype(np.int64)
    n_elements = len(n_references)
    n_slots = int(n_references.max())
    offsets = np.concatenate([[0], np.cumsum(n_references)])

    size = int(offsets[-1])
    matrix = np.zeros((size, size))
    matrix[np.triu_indices(size)] = data["c6"]
    matrix = matrix + np.triu(matrix, 1).T

    c6 = np.zeros((n_elements, n_elements, n_slots, n_slots))
    cn = np.full((n_elements, n_slots), -1.0)
    for i in range(n_elements):
        rows = slice(offsets[i], offsets[i + 1])
        cn[i, : n_references[i]] = data["reference_cn"][rows]
        for j in range(n_elements):
            columns = slice(offsets[j], offsets[j + 1])
            c6[i, j, : n_references[i], : n_references[j]] = matrix[rows, columns]

    return {
        "c6_reference": torch.from_numpy(c6),
        "cn_reference": torch.from_numpy(cn),
        "r4r2": torch.from_numpy(data["r4r2"].copy()),
        "covalent_radii": torch.from_numpy(data["covalent_radii"].copy()),
    }


def functional_names() -> List[str]:
    """Names of the functionals with shipped D3(BJ) damping parameters (lower
    case, without hyphens; other accepted spellings are aliases)"""
    return [str(name) for name in _archive()["functionals"]]


def _functional_parameters(name: str) -> Dict[str, float]:
    data = _archive()
    normalized = name.lower().replace("-", "")
    aliases = {str(alias): str(target) for alias, target in data["aliases"]}
    normalized = aliases.get(normalized, normalized)
    names = functional_names()
    if normalized not in names:
        raise ValueError(
            f"unknown functional {name!r} in `damping_params`: give the D3(BJ) "
            "parameters as a dict {'s6': ..., 's8': ..., 'a1': ..., 'a2': ...}, or "
            f"the name of one of the {len(names)} functionals with known "
            "parameters (`metatomic.torch.dftd3.functional_names()`)"
        )
    values = data["functional_parameters"][names.index(normalized)]
    return {key: float(value) for key, value in zip(DAMPING_KEYS, values)}


def _real(value, what: str) -> float:
    """``value`` (a Python or numpy number, or a 0-d tensor) as a finite float"""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    return value


def damping_parameters(damping_params) -> Dict[str, float]:
    """Check ``damping_params`` (a dict or a functional name) and return the
    D3(BJ) parameters ``s6``, ``s8``, ``a1`` (dimensionless) and ``a2`` (bohr)"""
    if isinstance(damping_params, str):
        return _functional_parameters(damping_params)
    if not isinstance(damping_params, dict):
        raise TypeError(
            "`damping_params` must be a dict or the name of a functional, got "
            f"{type(damping_params).__name__}"
        )
    unknown = sorted(str(key) for key in damping_params if key not in DAMPING_KEYS)
    if unknown:
        raise ValueError(
            f"unknown key(s) {unknown} in `damping_params`: expected 's8', 'a1', "
            "'a2' and optionally 's6' (only the two-body D3(BJ) term is computed, "
            "there is no three-body term)"
        )
    missing = [key for key in DAMPING_KEYS[1:] if key not in damping_params]
    if missing:
        raise ValueError(
            f"missing key(s) {missing} in `damping_params`: the D3(BJ) term needs "
            "'s8', 'a1' and 'a2' ('s6' defaults to 1.0)"
        )
    parameters = {"s6": DEFAULT_S6}
    for key, value in damping_params.items():
        parameters[key] = _real(value, f"`damping_params['{key}']`")
    return parameters


def check_d3_params(d3_params) -> Dict[str, torch.Tensor]:
    """Check the user's reference data (see :py:func:`default_d3_params` for the
    layout) and return it as float64 tensors on the CPU"""
    if not isinstance(d3_params, dict):
        raise TypeError(
            f"`d3_params` must be a dict of tensors, got {type(d3_params).__name__}"
        )
    keys = sorted(D3_TABLES)
    if sorted(d3_params) != keys:
        raise ValueError(
            f"`d3_params` must have exactly the keys {keys}, got "
            f"{sorted(str(key) for key in d3_params)}"
        )
    tables = {}
    for key, n_dimensions in D3_TABLES.items():
        table = torch.as_tensor(d3_params[key])
        if not table.is_floating_point() or table.dim() != n_dimensions:
            raise ValueError(
                f"`d3_params['{key}']` must be a floating point tensor with "
                f"{n_dimensions} dimension(s), got dtype {table.dtype} and shape "
                f"{list(table.shape)}"
            )
        tables[key] = table.detach().to(device="cpu", dtype=torch.float64)

    n_elements, n_slots = tables["cn_reference"].shape
    expected = {
        "c6_reference": [n_elements, n_elements, n_slots, n_slots],
        "r4r2": [n_elements],
        "covalent_radii": [n_elements],
    }
    for key, shape in expected.items():
        if list(tables[key].shape) != shape:
            raise ValueError(
                f"`d3_params['{key}']` must have the shape {shape} (from the shape "
                f"of `d3_params['cn_reference']`), got {list(tables[key].shape)}"
            )
    return tables


def elements_with_data(tables: Dict[str, torch.Tensor]) -> List[int]:
    """The atomic numbers that have at least one reference system"""
    has_reference = torch.any(tables["cn_reference"] >= 0, dim=1)
    return [int(z) for z in torch.nonzero(has_reference).reshape(-1) if z > 0]
