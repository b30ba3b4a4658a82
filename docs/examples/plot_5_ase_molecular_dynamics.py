"""
Molecular dynamics in ASE with a trained model
==============================================

This runs the end-to-end demo of the repository
(``examples/metatomic/end_to_end.py``, also run by ``nox -s demo``) with fewer
training epochs and molecular dynamics steps, so that this page builds in
about a minute: reference energies and forces of Cu/Au alloys from ASE's EMT,
a model of smooth radial features in a TensorMap with one network per atomic
type (metatensor-learn), trained on energies and forces, exported with
metatomic, and run in ASE with :py:class:`metatomic_ase.MetatomicCalculator`
for NVE molecular dynamics. The figure is the demo's: the training losses,
the accuracy of the forces, the energies along the trajectory and the
conservation of the total energy.

Read the demo's source for each step: it is written as a tutorial.
"""

# %%
#
# Run the demo with 15 training epochs and 300 steps of molecular dynamics (the
# demo's defaults are 50 and 500), without its progress bars.

import contextlib
import io
import os
import runpy
import sys
import tempfile

# the demo is in examples/metatomic/ at the root of the repository; this file is
# in docs/examples/, where sphinx-gallery runs it (without setting __file__)
HERE = os.path.dirname(os.path.abspath(globals().get("__file__", "./_")))
DEMO = os.path.join(HERE, "..", "..", "examples", "metatomic", "end_to_end.py")

arguments = ["--epochs", "15", "--md-steps", "300", "--output-dir", tempfile.mkdtemp()]
saved_argv = sys.argv
sys.argv = [DEMO, *arguments]
try:
    # the progress bars go to stderr
    with contextlib.redirect_stderr(io.StringIO()):
        runpy.run_path(DEMO, run_name="__main__")
finally:
    sys.argv = saved_argv
