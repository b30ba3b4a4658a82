"""Check that every pin between the distributions of this repository admits the
version of the sibling in the repository.

    python scripts/check_pins.py

Exits with status 1 and lists the broken pins, if any.
"""

import pathlib
import sys

from distributions import ROOT, find_distributions
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def broken_pins(versions: dict, requirements: dict) -> list:
    """The pins that do not admit the in-repo version of their target.

    :param versions: distribution name => its version in the repository
    :param requirements: distribution name => list of its requirement strings
    :return: one message for each broken pin

    >>> broken_pins({"a": "0.2.0", "b": "1.0"}, {"b": ["a >=0.2,<0.3", "numpy"]})
    []
    >>> broken_pins({"a": "0.3.0", "b": "1.0"}, {"b": ["a >=0.2,<0.3"]})
    ['b requires a >=0.2,<0.3 but the repository has a 0.3.0']
    """
    names = {canonicalize_name(name): name for name in versions}
    messages = []
    for name, strings in requirements.items():
        for string in strings:
            requirement = Requirement(string)
            target = names.get(canonicalize_name(requirement.name))
            if target is None:
                continue
            version = versions[target]
            if not requirement.specifier.contains(version, prereleases=True):
                messages.append(
                    f"{name} requires {string} but the repository has {target} {version}"
                )
    return messages


def main(root: pathlib.Path = ROOT) -> int:
    """Check the pins between the distributions of the repository at ``root``
    (dependencies, extras and dependency groups); print the broken ones to
    stderr and return 1 if there are any, 0 otherwise"""
    distributions = find_distributions(root)
    versions = {name: d.version for name, d in distributions.items()}
    requirements = {name: d.requirements for name, d in distributions.items()}
    messages = broken_pins(versions, requirements)
    for message in messages:
        print(message, file=sys.stderr)
    if not messages:
        listed = ", ".join(f"{n} {v}" for n, v in sorted(versions.items()))
        print(f"all pins between {listed} are satisfied")
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main())
