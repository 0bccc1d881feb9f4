"""Shared test set-up: the live server and throwaway services (tests/support/)."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.support.server", "tests.support.services"]


@pytest.fixture(autouse=True)
def _isolated_haven_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never inherit the developer's HAVEN_* variables; they pass Settings explicitly."""
    for name in list(os.environ):
        if name.startswith("HAVEN_"):
            monkeypatch.delenv(name)
    yield
