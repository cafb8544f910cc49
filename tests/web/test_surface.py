"""The web package's public surface, pinned: what the CLI, the scheduler's --http and tests use."""

from __future__ import annotations

import tracker.web


def test_public_surface() -> None:
    assert sorted(tracker.web.__all__) == ["WebServer", "create_app", "serve_forever"]
    for name in tracker.web.__all__:
        assert getattr(tracker.web, name).__doc__, name
