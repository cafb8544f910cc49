"""Typed payloads: every event type is registered by its stored name, every payload the seeds
write reads back exactly, and a payload of the wrong shape is refused naming the field."""

from __future__ import annotations

import pytest

from tests.record.conftest import REAL_SEEDS
from tracker.core import EventStore, NewEvent
from tracker.domain import payloads as p
from tracker.domain import vocabulary as v
from tracker.domain.payloads_registry import REGISTRY, decode, schema_version
from tracker.domain.upcasters import build_upcaster
from tracker.services.seeding import seed


def test_every_event_type_of_the_vocabulary_is_registered_by_its_stored_name() -> None:
    names = {
        value for name, value in vars(v).items() if name.isupper() and isinstance(value, str) and value[:1].isupper()
    }
    assert len(names) > 40 and names == set(REGISTRY)
    # The stored names are the vocabulary's strings, never a code path.
    assert all("." not in name and ":" not in name for name in REGISTRY)


def test_versions_follow_the_upcasts_and_the_store_applies_them() -> None:
    assert schema_version(v.SOURCE_REGISTERED) == 2 and schema_version(v.INSTRUMENT_EFFECTIVE) == 1
    upcaster = build_upcaster()
    assert set(upcaster.types) == {v.SOURCE_REGISTERED}
    assert upcaster.upcast(v.SOURCE_REGISTERED, 1, {"id": "s"}) == (2, {"kind": "html", "id": "s"})


def test_every_payload_the_seeds_write_reads_back_exactly(cstore: EventStore) -> None:
    seed(cstore, [REAL_SEEDS])
    events = list(cstore.read())
    assert {e.type for e in events} >= {
        v.INSTRUMENT_REGISTERED,
        v.AGENCY_RENAMED,
        v.SOURCE_REGISTERED,
        v.REFERENCE_REGISTERED,
    }
    for event in events:
        typed = decode(event.type, event.payload)
        if hasattr(typed, "to_payload"):
            assert typed.to_payload() == event.payload, event.idempotency_key


def test_typed_step_correction_reads_its_parts() -> None:
    payload = {"id": "x", "old": {"step": "renamed", "date": "2020"},
               "new": {"step": "renamed", "date": "2021", "note": None, "by": None, "citation": None,
                       "title_zh": "新", "title_en": "New", "date_basis": "stated"}, "reason": "r"}
    typed = p.StepCorrection.from_payload(payload)
    assert typed.old == ("renamed", "2020") and typed.new is not None
    assert (typed.new.id, typed.new.title_zh, typed.new.date_basis) == ("x", "新", "stated")
    assert typed.to_payload() == payload
    retraction = p.StepCorrection.from_payload(
        {"id": "x", "old": {"step": "drafted", "date": "2020"}, "new": None, "reason": None}
    )
    assert retraction.new is None


@pytest.mark.parametrize(("type_name", "payload", "field"), [
    (v.INSTRUMENT_EFFECTIVE, {"id": "x", "date": "2020"}, "'step'"),
    (v.INSTRUMENT_EFFECTIVE, {"id": "x", "step": "effective", "date": 2020}, "'date'"),
    (v.INSTRUMENT_REGISTERED, {"id": "x", "kind": "law", "jurisdiction": "CN", "title_zh": "法"}, "'title_en'"),
    (v.ITEM_CORRECTED, {"id": "x", "changes": {"title_en": "no old or new"}}, "'title_en'"),
    (v.SOURCE_REMOVED, {"reason": "gone"}, "id"),
])
def test_a_payload_of_the_wrong_shape_is_refused_naming_the_field(
    type_name: str, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(p.PayloadError, match=field):
        decode(type_name, payload)


def test_a_payload_written_through_its_type_is_stored_as_given(cstore: EventStore) -> None:
    step = p.Step("cn-x", "effective", "2026-05", note="施行", extra={"date_basis": "stated"})
    [recorded] = cstore.append(
        [NewEvent(stream="instrument/cn-x", type=v.INSTRUMENT_EFFECTIVE, payload=step.to_payload())]
    )
    assert p.Step.from_payload(recorded.payload) == step


@pytest.mark.parametrize("step", [
    {"step": "published", "date": "2015", "note": None, "by": None, "citation": None, "date_basis": "title"},
    {"step": "renamed", "date": "2015", "note": None, "by": None, "citation": None, "title_zh": "新", "title_en": "New",
     "external": True, "source": "x"},
    {"step": "effective", "date": "2016", "note": "施行", "by": None, "citation": None},
])
def test_a_step_keeps_its_provenance_however_many_fields_it_has(step: dict[str, object]) -> None:
    # Six fields with one provenance field, as the seeds write a step with a date_basis: it was
    # once taken for a plain step (id, step, date, note, by, citation) and lost its provenance.
    from tracker.domain import seed_events as se
    assert se.step_payload("cn-x", step) == {"id": "cn-x", **step}
    assert p.Step.from_payload(step, "cn-x").to_payload(with_id=False) == step
    assert (
        p.Step.from_payload({"step": "published", "date": "2015", "date_basis": "title"}, "cn-x").date_basis == "title"
    )
