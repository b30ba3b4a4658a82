import pytest


@pytest.fixture(autouse=True)
def fail_test_with_output(capfd):
    """Library code never prints: fail any test that writes to stdout/stderr"""
    yield
    captured = capfd.readouterr()
    assert captured.out == "", f"the test printed to stdout: {captured.out!r}"
    assert captured.err == "", f"the test printed to stderr: {captured.err!r}"
