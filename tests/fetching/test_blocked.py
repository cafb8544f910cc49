"""challenge_reason against the plain scan it replaced: the same reason for every body."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.fetching.blocked import MARKERS, _visible_chars, challenge_reason


def _plain(status: int, body: bytes) -> str | None:
    """The marker search as first written (every marker scanned), for 200 and 403 HTML bodies."""
    lowered = body.lower()
    marker = next((m for m in MARKERS if m.encode() in lowered), None)
    if marker is not None and (status != 200 or _visible_chars(body) < 1000):
        return f"HTTP {status}: challenge page (marker {marker!r})"
    return None


PIECES = st.sampled_from([
    *MARKERS, *(m.upper() for m in MARKERS), *(m.replace("_", "-") for m in MARKERS),
    "$", "_", "$ts", "_ts", "word ", "<p>", "</p>", "<script>var a=1;</script>", "x" * 600,
])


@settings(max_examples=400)
@given(st.lists(PIECES, max_size=12), st.sampled_from([200, 403]))
def test_the_same_reason_as_scanning_every_marker(pieces: list[str], status: int) -> None:
    body = ("<html><body>" + "".join(pieces) + "</body></html>").encode()
    assert challenge_reason(status, {"content-type": "text/html"}, body) == _plain(status, body)


def test_a_marker_is_found_whatever_bytes_the_page_lacks() -> None:
    for marker in MARKERS:
        body = f"<html><body>{marker.upper()}</body></html>".encode()
        assert challenge_reason(403, {"content-type": "text/html"}, body) == _plain(403, body) is not None
