import pytest

from metatomic.torch import _warnings


@pytest.fixture(autouse=True)
def fail_test_with_output(capfd):
    """Library code never prints: fail any test that writes to stdout/stderr"""
    yield
    captured = capfd.readouterr()
    assert captured.out == "", f"the test printed to stdout: {captured.out!r}"
    assert captured.err == "", f"the test printed to stderr: {captured.err!r}"


@pytest.fixture(autouse=True)
def reset_warn_once():
    """Forget the "warn once" warnings already shown, so that every test sees them"""
    _warnings._SHOWN.clear()
    yield
    _warnings._SHOWN.clear()
