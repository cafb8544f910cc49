"""Fixtures of the fetching tests: a real local HTTP server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fetching.localserver import LocalServer


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer().start()
    try:
        yield local
    finally:
        local.stop()
