"""The canonical form's fast code agrees with its plain definition (README), for any input."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.canonical import ChainHasher, canonical_json, event_hash

# Text from every plane the record uses: ASCII, CJK, kana, and the odd astral character.
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
OPTIONAL = st.none() | st.text(min_size=1, max_size=12)
EVENT = st.tuples(
    st.sampled_from(["instrument/cn-biomed", "source/pmda-再生医療", "instrument/x"]),
    st.integers(1, 10**6),
    st.sampled_from(["InstrumentRegistered", "InstrumentAmended"]),
    st.integers(1, 3),
    st.sampled_from(["2026-11-24T21:28:28.123456Z", "2026-11-25T00:00:00.000000Z"]),
    OPTIONAL,
    OPTIONAL,
    st.dictionaries(TEXT, JSON, max_size=5),
    st.sampled_from([{}, {"actor": "seed"}, {"actor": "审计"}]),
)


def defined_hash(*fields: object) -> str:
    """The README's definition, written out with the standard library only."""
    def ns(value: object) -> bytes:
        data = ("" if value is None else str(value)).encode("utf-8")
        return str(len(data)).encode() + b":" + data + b","

    return hashlib.sha256(b"".join(ns(f) for f in ("tracker-event/1", *fields))).hexdigest()


@given(st.dictionaries(TEXT, JSON, max_size=6))
def test_canonical_json_is_sorted_compact_utf8_json(value: dict[str, object]) -> None:
    assert canonical_json(value) == json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=200)
@given(st.lists(EVENT, min_size=1, max_size=8), st.sampled_from(["0" * 64, "é" * 3]))
def test_chain_hasher_hashes_exactly_what_the_readme_defines(events: list[tuple], prev_hash: str) -> None:  # type: ignore[type-arg]
    hasher = ChainHasher()  # one hasher across the run, as an append or a verification uses it
    for position, (stream, version, type_, schema, recorded_at, valid_from, key, payload, metadata) in enumerate(
        events, 1
    ):
        fields = (prev_hash, position, stream, version, type_, schema, recorded_at, valid_from, key,
                  canonical_json(payload), canonical_json(metadata))
        digest = hasher.hash(*fields)
        assert digest == defined_hash(*fields) == event_hash(*fields)
        prev_hash = digest
