"""Third-party code written for upstream: vesin's metatomic helpers compute and
register neighbor lists through the public API of metatomic.torch and
metatensor.torch, unchanged"""

import pytest
import torch
from _utils import (
    PairPotential,
    atomistic_model,
    evaluation_options,
    neighbors,
    pair_energy_reference,
    system,
)

vesin_metatomic = pytest.importorskip("vesin.metatomic")


def test_neighbor_list():
    reference = system(positions_requires_grad=True, cell_requires_grad=True)
    options = PairPotential(full_list=True).requested_neighbor_lists()[0]
    options.length_unit = "angstrom"
    calculator = vesin_metatomic.NeighborList(
        options, "angstrom", check_consistency=True
    )
    computed = calculator.compute(reference)

    expected = neighbors(reference, options)
    assert computed.values.requires_grad
    assert len(computed.samples) == len(expected.samples)
    # the same pairs, maybe in another order
    order = [expected.samples.position(entry) for entry in computed.samples]
    assert None not in order
    torch.testing.assert_close(
        computed.values.detach(), expected.values[torch.tensor(order)]
    )

    # gradients flow to the positions and the cell through the registered list
    distances = torch.linalg.vector_norm(computed.values, dim=1)
    distances.sum().backward()
    direct = system(positions_requires_grad=True, cell_requires_grad=True)
    samples = expected.samples.values.to(torch.int64)
    vectors = (
        direct.positions[samples[:, 1]]
        - direct.positions[samples[:, 0]]
        + samples[:, 2:].to(torch.float64) @ direct.cell
    )
    torch.linalg.vector_norm(vectors, dim=1).sum().backward()
    torch.testing.assert_close(reference.positions.grad, direct.positions.grad)
    torch.testing.assert_close(reference.cell.grad, direct.cell.grad)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_lists_for_a_model():
    model = atomistic_model()
    systems = [system(), system(pbc=(False, False, False))]
    calculators = vesin_metatomic.neighbor_lists_for_model(
        "angstrom", model, check_consistency=True
    )
    assert len(calculators) == 1
    for calculator in calculators:
        calculator.add_neighbor_list(systems)
    energies = model(systems, evaluation_options("system"), check_consistency=True)
    expected = [pair_energy_reference(s).sum() for s in systems]
    torch.testing.assert_close(
        energies["energy"].block().values.reshape(-1),
        torch.tensor(expected, dtype=torch.float64),
    )

    # a raw module needs its length unit, and gets the requestor paths
    calculators = vesin_metatomic.neighbor_lists_for_model(
        "nm", PairPotential(), model_length_unit="angstrom"
    )
    assert calculators[0].options.requestors() == ["PairPotential"]
    assert calculators[0].options.engine_cutoff("nm") == pytest.approx(0.3)
    with pytest.raises(ValueError, match="does not match the model capabilities"):
        vesin_metatomic.neighbor_lists_for_model("nm", model, model_length_unit="nm")
