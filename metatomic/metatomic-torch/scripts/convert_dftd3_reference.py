"""Regenerate ``src/metatomic/torch/data/dftd3.npz``, the D3 reference data used by
:py:class:`metatomic.torch.dftd3.DFTD3`, from the tad-dftd3 package.

    python -m venv /tmp/d3 && /tmp/d3/bin/pip install torch tad-dftd3==0.7.0
    /tmp/d3/bin/python scripts/convert_dftd3_reference.py

The data comes from tad-dftd3 (Apache-2.0, https://github.com/dftd3/tad-dftd3),
which ships the reference values of the DFT-D3 model (S. Grimme, J. Antony, S.
Ehrlich and H. Krieg, J. Chem. Phys. 132, 154104 (2010)) and the damping
parameters of s-dftd3's ``parameters.toml``. All values are in atomic units
(bohr, hartree), as in the source, and indexed by atomic number (0 is a dummy
element without data).

Members of the archive (stored with ``numpy.savez_compressed``, no pickle):

* ``source``: the package and version the data was converted from;
* ``n_references`` (int32, ``(n_elements,)``): number of reference systems of
  each element (a prefix of tad-dftd3's 7 slots);
* ``reference_cn`` (float64, ``(sum(n_references),)``): the coordination
  numbers of the reference systems, element after element;
* ``c6`` (float64): the reference C6 coefficients (hartree bohr^6) between all
  reference systems, a symmetric ``(n, n)`` matrix with ``n =
  sum(n_references)`` stored as its upper triangle (``numpy.triu_indices(n)``
  order);
* ``r4r2`` (float64, ``(n_elements,)``): ``sqrt(0.5 * <r^4>/<r^2> * sqrt(Z))``,
  so that ``C8 = 3 * C6 * r4r2[i] * r4r2[j]``;
* ``covalent_radii`` (float64, ``(n_elements,)``): D3 covalent radii in bohr,
  already scaled by 4/3 for the coordination number;
* ``functionals`` (str, ``(n_functionals,)``) and ``functional_parameters``
  (float64, ``(n_functionals, 4)``): the D3(BJ) parameters ``s6, s8, a1, a2``
  (``a2`` in bohr) of each functional, by normalized name (lower case, no
  hyphens);
* ``aliases`` (str, ``(n_aliases, 2)``): other names of these functionals.
"""

import argparse
import os

import numpy as np
import tad_dftd3
import torch
from tad_dftd3.param import get_functional_params
from tad_mctc.data.radii import COV_D3

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "src", "metatomic", "torch", "data", "dftd3.npz")
PARAMETERS = ("s6", "s8", "a1", "a2")


def reference_tables():
    """The reference CNs and C6 coefficients, in the compact layout"""
    reference = tad_dftd3.reference.Reference(dtype=torch.float64)
    cn = reference.cn.numpy()
    c6 = reference.c6.numpy()
    valid = cn >= 0
    n_references = valid.sum(axis=1)
    for element in range(len(cn)):
        if not np.all(valid[element, : n_references[element]]):
            raise ValueError(f"the references of element {element} are not a prefix")

    offsets = np.concatenate([[0], np.cumsum(n_references)])
    matrix = np.zeros((offsets[-1], offsets[-1]))
    for i in range(len(cn)):
        for j in range(len(cn)):
            block = c6[i, j, : n_references[i], : n_references[j]]
            matrix[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = block
    if not np.array_equal(matrix, matrix.T):
        raise ValueError("the reference C6 coefficients are not symmetric")

    reference_cn = np.concatenate([cn[e, : n_references[e]] for e in range(len(cn))])
    upper = matrix[np.triu_indices(len(matrix))]
    return n_references.astype(np.int32), reference_cn, upper


def functional_tables():
    """D3(BJ) parameters of every functional that has them, and the aliases"""
    folder = os.path.join(os.path.dirname(tad_dftd3.__file__), "param")
    with open(os.path.join(folder, "parameters.toml"), "rb") as file:
        names = sorted(tomllib.load(file)["parameter"])
    with open(os.path.join(folder, "aliases.toml"), "rb") as file:
        aliases = tomllib.load(file)["alias"]

    functionals, parameters = [], []
    for name in names:
        try:
            values = get_functional_params(name, damping="bj", dtype=torch.float64)
        except ValueError:  # no D3(BJ) parameters for this functional
            continue
        functionals.append(name)
        parameters.append([float(values[key]) for key in PARAMETERS])

    pairs = sorted(
        [alias, target] for alias, target in aliases.items() if target in functionals
    )
    return (
        np.array(functionals),
        np.array(parameters, dtype=np.float64),
        np.array(pairs).reshape(-1, 2),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=OUTPUT, help="the file to write")
    arguments = parser.parse_args()

    n_references, reference_cn, c6 = reference_tables()
    functionals, functional_parameters, aliases = functional_tables()
    # these two tables go further than the elements with reference C6
    n_elements = len(n_references)
    r4r2 = tad_dftd3.data.R4R2(dtype=torch.float64).numpy()[:n_elements]
    covalent_radii = COV_D3(dtype=torch.float64).numpy()[:n_elements]

    np.savez_compressed(
        arguments.output,
        source=np.array(f"tad-dftd3 {tad_dftd3.__version__}"),
        n_references=n_references,
        reference_cn=reference_cn,
        c6=c6,
        r4r2=r4r2,
        covalent_radii=covalent_radii,
        functionals=functionals,
        functional_parameters=functional_parameters,
        aliases=aliases,
    )
    size = os.path.getsize(arguments.output)
    print(f"wrote {arguments.output} ({size / 1024:.0f} kB)")  # noqa: T201


if __name__ == "__main__":
    main()
