import pytest

# before torch-sim: this package silences a deprecation warning of its import
import metatomic_torchsim  # noqa: F401


@pytest.fixture(autouse=True)
def fail_test_with_output(capfd):
    """Library code never prints: fail any test that writes to stdout/stderr"""
    yield
    captured = capfd.readouterr()
    assert captured.out == "", f"the test printed to stdout: {captured.out!r}"
    assert captured.err == "", f"the test printed to stderr: {captured.err!r}"
