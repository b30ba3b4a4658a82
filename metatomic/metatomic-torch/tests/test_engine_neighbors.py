"""vesin is optional for metatomic-torch: the neighbor-list builder of the
engines (tested through them in metatomic-ase and metatomic-torchsim) imports it
when needed"""

import subprocess
import sys

import pytest

from metatomic.torch import NeighborListOptions
from metatomic.torch._engine_neighbors import NeighborListBuilder


def test_missing_vesin(monkeypatch):
    # `import vesin` raises ImportError
    monkeypatch.setitem(sys.modules, "vesin", None)
    options = NeighborListOptions(cutoff=3.0, full_list=False, strict=True)
    with pytest.raises(ImportError, match="install it with `pip install vesin`"):
        NeighborListBuilder(options, skin=1.0, check_consistency=False)


def test_imports_without_vesin():
    """The engine modules do not import vesin themselves"""
    code = (
        "import sys\n"
        "sys.modules['vesin'] = None\n"
        "import metatomic.torch._engine_neighbors\n"
        "import metatomic.torch._engine_options\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
