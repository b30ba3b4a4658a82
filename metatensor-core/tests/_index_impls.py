"""Run a test module on both implementations of the label index (the compiled
extension and its pure-Python twin): ``from _index_impls import index_impl``
makes the autouse fixture apply to every test of the module."""

import pytest

import metatensor._index
import metatensor._labels_ext
import metatensor._labels_py

IMPLS = {
    "extension": metatensor._labels_ext,
    "python": metatensor._labels_py,
}


@pytest.fixture(autouse=True, params=list(IMPLS))
def index_impl(request, monkeypatch):
    monkeypatch.setattr(metatensor._index, "impl", IMPLS[request.param])
    return IMPLS[request.param]
