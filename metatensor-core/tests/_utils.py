"""Helpers shared by the core tests"""

import importlib.util

import pytest

has_torch = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not has_torch, reason="torch is not installed")
