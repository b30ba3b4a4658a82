"""The ``metatomic`` command (also ``python -m metatomic.torch``):

* ``metatomic check MODEL`` shows what a model file contains (metadata,
  capabilities, requested neighbor lists and inputs, versions) and exits with a
  non-zero status when the file is not a loadable metatomic model;
* ``metatomic eval MODEL STRUCTURES -o OUTPUT.xyz`` computes energies and forces
  (and stress for periodic structures) of every structure in a file ASE can read
  and writes them as extended XYZ.
"""

import argparse
import json
import sys
import warnings

import torch

from ._export import _metatomic_records as metatomic_records
from ._export import load_atomistic_model, read_model_metadata
from ._version import __version__


def _capabilities_text(model) -> str:
    capabilities = model.capabilities()
    unit = capabilities.length_unit or "(no unit)"
    lines = [
        "Capabilities",
        "------------",
        "",
        f"length unit: {unit}",
        f"dtype: {capabilities.dtype}",
        f"supported devices: {', '.join(capabilities.supported_devices)}",
        f"atomic types: {', '.join(str(t) for t in capabilities.atomic_types)}",
        f"interaction range: {capabilities.interaction_range} {unit}",
        "outputs:",
    ]
    for name, output in capabilities.outputs.items():
        gradients = ", ".join(output.explicit_gradients) or "none"
        line = (
            f"  - {name}: unit '{output.unit}', per {output.sample_kind}, explicit "
            f"gradients: {gradients}"
        )
        if output.description:
            line += f" ({output.description})"
        lines.append(line)
    lines.append("requested neighbor lists:")
    for options in model.requested_neighbor_lists():
        kind = "full" if options.full_list else "half"
        strict = "strict" if options.strict else "not strict"
        requestors = ", ".join(options.requestors())
        lines.append(
            f"  - cutoff {options.cutoff} {unit}, {kind} list, {strict} (requested "
            f"by {requestors})"
        )
    if not model.requested_neighbor_lists():
        lines.append("  (none)")
    lines.append("requested inputs:")
    for name, request in model.requested_inputs(use_new_names=True).items():
        lines.append(f"  - {name}: unit '{request.unit}', per {request.sample_kind}")
    if not model.requested_inputs(use_new_names=True):
        lines.append("  (none)")
    return "\n".join(lines)


def _versions_text(records) -> str:
    export = json.loads(records.get("export-metadata", "{}"))
    extensions = json.loads(records.get("extensions", "[]"))
    names = ", ".join(e["name"] for e in extensions) or "none"
    return "\n".join(
        [
            "Versions",
            "--------",
            "",
            f"exported with metatomic-torch {records['metatomic-version']} and torch "
            f"{records.get('torch-version', '?')} on {export.get('date', '?')} "
            f"({export.get('platform', '?')})",
            f"running with metatomic-torch {__version__} and torch {torch.__version__}",
            f"TorchScript extensions: {names}",
        ]
    )


def check(arguments) -> int:
    """``metatomic check``"""
    records = metatomic_records(arguments.model)
    metadata = read_model_metadata(arguments.model)
    model = load_atomistic_model(arguments.model, arguments.extensions_directory)
    print(metadata)
    print()
    print(_capabilities_text(model))
    print()
    print(_versions_text(records))
    return 0


def evaluate(arguments) -> int:
    """``metatomic eval``"""
    try:
        import ase.io
        from ase.calculators.singlepoint import SinglePointCalculator
        from tqdm import tqdm

        from metatomic_ase import MetatomicCalculator
    except ImportError as error:
        raise ImportError(
            f"`metatomic eval` needs ASE, metatomic-ase and tqdm ({error}): run "
            '`pip install "metatomic-torch[ase]"`'
        ) from error

    frames = ase.io.read(arguments.structures, index=":")
    calculator = MetatomicCalculator(
        arguments.model,
        extensions_directory=arguments.extensions_directory,
        check_consistency=arguments.check_consistency,
        device=arguments.device,
    )
    results = []
    for atoms in tqdm(frames, desc="evaluating", unit="structure"):
        atoms.calc = calculator
        properties = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
        }
        if atoms.pbc.all():
            properties["stress"] = atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, **properties)
        results.append(atoms)
    ase.io.write(arguments.output, results, format="extxyz")
    print(
        f"wrote energies and forces of {len(results)} structures to {arguments.output}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metatomic",
        description="Inspect and run exported metatomic models",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    check_parser = commands.add_parser(
        "check", help="show the metadata, capabilities and versions of a model"
    )
    check_parser.add_argument("model", help="path to an exported model")
    check_parser.set_defaults(function=check)

    eval_parser = commands.add_parser(
        "eval",
        help="compute energies and forces of structures with a model",
    )
    eval_parser.add_argument("model", help="path to an exported model")
    eval_parser.add_argument("structures", help="structures, in any format ASE reads")
    eval_parser.add_argument(
        "-o", "--output", required=True, help="where to write the results (extxyz)"
    )
    eval_parser.add_argument("--device", default=None, help="device to run on")
    eval_parser.add_argument(
        "--check-consistency",
        action="store_true",
        help="check the inputs and outputs of the model (slower)",
    )
    eval_parser.set_defaults(function=evaluate)

    for sub in (check_parser, eval_parser):
        sub.add_argument(
            "--extensions-directory",
            default=None,
            help="where to look for the TorchScript extensions of the model",
        )
    return parser


def main(argv=None) -> int:
    """Entry point of the ``metatomic`` command"""
    arguments = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # TorchScript's own deprecation, not actionable for users of a model
            warnings.filterwarnings(
                "ignore", message="`torch.jit.[a-z]*` is deprecated"
            )
            return arguments.function(arguments)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"metatomic {arguments.command}: error: {error}", file=sys.stderr)
        return 1
