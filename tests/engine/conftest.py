"""The engine tests are pure Python: they override the root conftest's chain isolation so that they run
without brownie's plugin or any chain (`pytest -p no:pytest-brownie tests/engine`, seconds)."""
import pytest


@pytest.fixture(autouse=True)
def isolation():
    yield
