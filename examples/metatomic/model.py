"""The machine-learning potential of the metatomic examples (``end_to_end.py``
and ``eval_cli.py``).

It lives in its own file because TorchScript compiles a model from the source
code of its classes: :py:meth:`metatomic.torch.AtomisticModel.save` needs to find
this source when it exports the model.

The model has two parts:

* :py:class:`RadialFeatures` describes the neighborhood of each atom by smooth
  radial densities of its neighbors of each type, computed from the pair vectors
  of a neighbor list (so that forces follow by automatic differentiation);
* :py:class:`AlloyPotential` applies one small neural network per central atom
  type to these features (with the modules of ``metatensor.torch.learn.nn``),
  and sums the atomic energies of each system. It implements the interface of
  :py:class:`metatomic.torch.ModelInterface`.
"""

import math
from typing import Dict, List, Optional

import torch

import metatensor.torch as mts
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatensor.torch.learn import nn
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)


class RadialFeatures(nn.Module):
    r"""Per-atom features: for the central atom :math:`i`, a neighbor type
    :math:`t` and a Gaussian :math:`k`,

    .. math::

        x_{i,tk} = \sum_{j \in t,\ r_{ij} < r_c}
            \exp\left(-\frac{(r_{ij} - \mu_k)^2}{2 \sigma^2}\right) f_c(r_{ij}),
        \qquad f_c(r) = \frac{1}{2}\left(\cos\frac{\pi r}{r_c} + 1\right)

    with the Gaussian centers :math:`\mu_k` spread between ``r_min`` and the
    cutoff :math:`r_c`. The smooth cutoff function :math:`f_c` makes the features
    (and the energy) go to zero with a zero derivative when a neighbor leaves the
    cutoff sphere, which keeps molecular dynamics energy-conserving. The
    features are then standardised with the ``mean`` and ``std`` buffers (set by
    :py:meth:`set_standardization` from training data).

    The output is a TensorMap with one block per central atom type (key
    ``center_type``), samples ``["system", "atom"]`` and properties
    ``["neighbor_type", "gaussian"]``.

    :param atomic_types: the atomic types (atomic numbers) the model handles
    :param cutoff: cutoff radius, in Å
    :param n_gaussians: number of Gaussians per neighbor type
    :param r_min: position of the first Gaussian, in Å
    """

    def __init__(
        self, atomic_types: List[int], cutoff: float, n_gaussians: int, r_min: float
    ):
        super().__init__()
        self.atomic_types = atomic_types
        self.cutoff = cutoff
        # a full list (each pair i-j also as j-i): every atom sees all its
        # neighbors; strict: only pairs within the cutoff
        self.neighbors = NeighborListOptions(cutoff=cutoff, full_list=True, strict=True)

        self.register_buffer(
            "centers", torch.linspace(r_min, cutoff, n_gaussians, dtype=torch.float64)
        )
        self.width = (cutoff - r_min) / (n_gaussians - 1)

        # index of each atomic type in `atomic_types` (-1 for the others)
        type_index = torch.full((max(atomic_types) + 1,), -1, dtype=torch.int64)
        for i, atomic_type in enumerate(atomic_types):
            type_index[atomic_type] = i
        self.register_buffer("type_index", type_index)

        # number of features per atom
        self.n_features = len(atomic_types) * n_gaussians
        self.register_buffer("mean", torch.zeros(self.n_features, dtype=torch.float64))
        self.register_buffer("std", torch.ones(self.n_features, dtype=torch.float64))

        # metadata of the output TensorMap, stored as metatensor buffers: they
        # follow the module to other devices and are saved with the model
        self.keys = nn.Buffer(
            Labels("center_type", torch.tensor(atomic_types).reshape(-1, 1))
        )
        self.properties = nn.Buffer(
            Labels(
                ["neighbor_type", "gaussian"],
                torch.tensor(
                    [[t, k] for t in atomic_types for k in range(n_gaussians)]
                ),
            )
        )

    @torch.jit.unused
    def set_standardization(self, features: TensorMap):
        """Standardise the features with the mean and standard deviation of
        ``features`` (computed with the current standardization), over all
        atoms of all types"""
        values = torch.cat([block.values for block in features.blocks()])
        raw = values * self.std + self.mean
        self.mean.copy_(raw.mean(dim=0))
        # features that are always zero (e.g. no neighbor at that distance) are
        # left unscaled
        std = raw.std(dim=0)
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def forward(
        self, systems: List[System], selected_atoms: Optional[Labels]
    ) -> TensorMap:
        device = self.centers.device
        n_types = len(self.atomic_types)
        n_gaussians = self.centers.shape[0]

        # gather the atoms and the pairs of all systems, with atom indices
        # running over all systems (the index of the first atom of each system is
        # in `offsets`)
        types: List[torch.Tensor] = []
        system_index: List[torch.Tensor] = []
        atom_index: List[torch.Tensor] = []
        first: List[torch.Tensor] = []
        second: List[torch.Tensor] = []
        vectors: List[torch.Tensor] = []
        offsets: List[int] = []
        n_atoms = 0
        for i, system in enumerate(systems):
            n = len(system)
            neighbors = system.get_neighbor_list(self.neighbors)
            pairs = neighbors.samples.values.to(torch.int64)
            first.append(pairs[:, 0] + n_atoms)
            second.append(pairs[:, 1] + n_atoms)
            # the values are the pair vectors r_j - r_i + S @ cell, connected to
            # the positions and cell in the autograd graph: forces and stress
            # come from differentiating through them
            vectors.append(neighbors.values.reshape(-1, 3))
            types.append(system.types.to(torch.int64))
            system_index.append(torch.full((n,), i, dtype=torch.int64, device=device))
            atom_index.append(torch.arange(n, dtype=torch.int64, device=device))
            offsets.append(n_atoms)
            n_atoms += n

        all_types = torch.cat(types)
        all_first = torch.cat(first)
        all_second = torch.cat(second)
        distances = torch.linalg.vector_norm(torch.cat(vectors), dim=1)

        # Gaussians times the cosine cutoff, one row per pair
        cutoff_function = 0.5 * (torch.cos(distances * (math.pi / self.cutoff)) + 1.0)
        cutoff_function = torch.where(
            distances < self.cutoff, cutoff_function, torch.zeros_like(distances)
        )
        gaussians = torch.exp(
            -0.5 * ((distances.reshape(-1, 1) - self.centers) / self.width) ** 2
        )
        expansion = gaussians * cutoff_function.reshape(-1, 1)

        # sum over the neighbors of each (central atom, neighbor type)
        center_type = self.type_index[all_types]
        rows = all_first * n_types + center_type[all_second]
        features = torch.zeros(
            (n_atoms * n_types, n_gaussians), dtype=expansion.dtype, device=device
        )
        features = features.index_add(0, rows, expansion)
        features = features.reshape(n_atoms, n_types * n_gaussians)
        features = (features - self.mean) / self.std

        # the atoms to compute: all of them, or those in `selected_atoms`
        keep = torch.ones(n_atoms, dtype=torch.bool, device=device)
        if selected_atoms is not None:
            offsets_tensor = torch.tensor(offsets, dtype=torch.int64, device=device)
            selected = offsets_tensor[
                selected_atoms.column("system").to(torch.int64)
            ] + selected_atoms.column("atom").to(torch.int64)
            keep = torch.zeros(n_atoms, dtype=torch.bool, device=device)
            keep[selected] = True

        all_systems = torch.cat(system_index)
        all_atoms = torch.cat(atom_index)
        blocks: List[TensorBlock] = []
        for t in range(n_types):
            mask = torch.logical_and(center_type == t, keep)
            samples = torch.stack([all_systems[mask], all_atoms[mask]], dim=1)
            blocks.append(
                TensorBlock(
                    values=features[mask],
                    samples=Labels(["system", "atom"], samples.to(torch.int32)),
                    components=[],
                    properties=self.properties,
                )
            )
        return TensorMap(self.keys, blocks)


class AlloyPotential(nn.Module):
    """A machine-learning interatomic potential for the types ``atomic_types``:
    :py:class:`RadialFeatures`, then a multi-layer perceptron per central atom
    type giving atomic energies, summed per system.

    The atomic energy of an atom of type ``t`` is ``baseline[t] + scale *
    network(features)``: the baseline (a per-type reference energy) and the
    scale are set from the training data with :py:meth:`set_energy_baseline`, so
    that the networks only learn a standardised correction.

    It computes the ``energy`` output (in eV) per system or per atom, for all
    atoms or for ``selected_atoms``.
    """

    def __init__(
        self,
        atomic_types: List[int],
        cutoff: float = 5.0,
        n_gaussians: int = 16,
        r_min: float = 1.8,
        hidden: int = 32,
    ):
        super().__init__()
        self.features = RadialFeatures(atomic_types, cutoff, n_gaussians, r_min)

        in_keys = self.features.keys
        # one network per block (= per central atom type): ModuleMap-based
        # modules of metatensor-learn applied to the blocks of a TensorMap
        self.network = nn.Sequential(
            in_keys,
            nn.Linear(in_keys, self.features.n_features, hidden, dtype=torch.float64),
            nn.SiLU(in_keys),
            nn.Linear(in_keys, hidden, hidden, dtype=torch.float64),
            nn.SiLU(in_keys),
            nn.Linear(
                in_keys,
                hidden,
                out_properties=Labels("energy", torch.tensor([[0]])),
                dtype=torch.float64,
            ),
        )

        self.register_buffer(
            "baseline", torch.zeros(len(atomic_types), dtype=torch.float64)
        )
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

    @torch.jit.unused
    def set_energy_baseline(self, baseline: List[float], scale: float):
        """Set the per-type reference energies (in the order of
        ``atomic_types``) and the scale of the network outputs, in eV"""
        self.baseline.copy_(torch.tensor(baseline, dtype=torch.float64))
        self.scale.fill_(scale)

    @torch.jit.export
    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        """The neighbor list the engine must compute for this model"""
        return [self.features.neighbors]

    def atomic_energies(
        self, systems: List[System], selected_atoms: Optional[Labels]
    ) -> TensorMap:
        """Energy of each atom, as a TensorMap with one block per central atom
        type"""
        features = self.features(systems, selected_atoms)
        outputs = self.network(features)
        blocks: List[TensorBlock] = []
        for i, block in enumerate(outputs.blocks()):
            # the blocks are in the order of `atomic_types` (the keys of the
            # features)
            values = self.baseline[i] + self.scale * block.values
            blocks.append(
                TensorBlock(values, block.samples, block.components, block.properties)
            )
        return TensorMap(outputs.keys, blocks)

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        if "energy" not in outputs or len(systems) == 0:
            return {}

        # merge the blocks of all types into one, with samples ["system",
        # "atom", "center_type"] sorted by system and atom; then drop the
        # `center_type` dimension (each atom has a single type)
        per_atom = self.atomic_energies(systems, selected_atoms)
        per_atom = per_atom.keys_to_samples("center_type")
        per_atom = mts.remove_dimension(per_atom, "samples", "center_type")

        if outputs["energy"].sample_kind == "atom":
            return {"energy": per_atom}
        # one energy per system: sum the atomic energies of each system
        return {"energy": mts.sum_over_samples(per_atom, "atom")}


def export_untrained(path: str):
    """Export :py:class:`AlloyPotential` with random weights (seed 0) to ``path``,
    for the examples and benchmarks that only need a model file"""
    capabilities = ModelCapabilities(
        outputs={"energy": ModelOutput(unit="eV", sample_kind="atom")},
        atomic_types=[29, 79],
        interaction_range=5.0,
        length_unit="angstrom",
        supported_devices=["cpu"],
        dtype="float64",
    )
    metadata = ModelMetadata(
        name="untrained Cu/Au potential",
        description="the architecture of end_to_end.py, with random weights",
    )
    torch.manual_seed(0)
    model = AlloyPotential([29, 79], cutoff=5.0).eval()
    AtomisticModel(model, metadata, capabilities).save(str(path))
