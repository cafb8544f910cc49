"""Seed items as events: the payloads, valid-from dates and idempotency keys (pure; no store).

Keys: ``seed:<id>:registered`` for the registration, ``seed:<id>:step:<type>:<date>`` for each
further step, ``seed:<id>:corrected:<n>`` for the n-th correction; sources
``seed:source:<id>:<payload digest>``, references ``seed:reference:<n>:registered``. So a second
seed of the same files finds every key stored and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from tracker.core import NewEvent
from tracker.core.canonical import canonical_json
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.payloads import Reference, Step, StepCorrection, StepRef
from tracker.domain.payloads_registry import schema_version
from tracker.domain.record import FOLDED_STEP, REGISTRATION_TYPE
from tracker.domain.seeds import SeedItem, SeedReference, SeedSet

# Written at the current payload version, so no upcaster has to touch what seeds write.
_SOURCE_SCHEMA = schema_version(v.SOURCE_REGISTERED)

Metadata = Mapping[str, Any]


def registration_key(item_id: str) -> str:
    return f"seed:{item_id}:registered"


def step_key(item_id: str, step: Mapping[str, Any]) -> str:
    return f"seed:{item_id}:step:{step['step']}:{step['date']}"


def correction_key(item_id: str, number: int) -> str:
    return f"seed:{item_id}:corrected:{number}"


def step_correction_key(item_id: str, number: int) -> str:
    return f"seed:{item_id}:step-corrected:{number}"


def split_steps(item: SeedItem) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the step folded into the registration event, the steps that get their own events)."""
    folded_type = FOLDED_STEP.get(item.kind)
    for index, step in enumerate(item.steps):
        if step["step"] == folded_type:
            return step, item.steps[:index] + item.steps[index + 1:]
    return None, list(item.steps)


def registration_payload(item: SeedItem) -> dict[str, Any]:
    """Full attributes; programs, products, facts and agencies add their folded step and date."""
    payload = dict(item.record)
    folded, _ = split_steps(item)
    if item.kind in FOLDED_STEP:
        payload["step_folded"] = folded
        payload["date"] = folded["date"] if folded else None
    if item.kind == "fact":
        payload.update({name: item.record["attributes"][name] for name in ("metric", "value", "unit")})
    return payload


def registration_event(item: SeedItem, metadata: Metadata) -> NewEvent:
    payload = registration_payload(item)
    return NewEvent(
        stream=v.item_stream(item.kind, item.id),
        type=REGISTRATION_TYPE[item.kind],
        payload=payload,
        metadata=metadata,
        valid_from=payload.get("date"),
        idempotency_key=registration_key(item.id),
    )


def step_type(kind: str, step: str) -> str:
    if kind == "agency" and step == "renamed":
        return v.AGENCY_RENAMED
    return v.STEP_EVENTS[step]


def step_payload(item_id: str, step: Mapping[str, Any]) -> dict[str, Any]:
    return Step.from_payload(step, item_id).to_payload()


def step_event(item: SeedItem, step: Mapping[str, Any], metadata: Metadata) -> NewEvent:
    return NewEvent(
        stream=v.item_stream(item.kind, item.id),
        type=step_type(item.kind, step["step"]),
        payload=step_payload(item.id, step),
        metadata=metadata,
        valid_from=step["date"],
        idempotency_key=step_key(item.id, step),
    )


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields whose value differs: {field: {"old": .., "new": ..}} (JSON equality)."""
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(old) | set(new)):
        if canonical_json(old.get(name)) != canonical_json(new.get(name)):
            changes[name] = {"old": old.get(name), "new": new.get(name)}
    return changes


def correction_event(item: SeedItem, number: int, changes: Mapping[str, Any], metadata: Metadata) -> NewEvent:
    reason = f"seed file {item.file} edited: {', '.join(sorted(changes))} changed"
    return NewEvent(
        stream=v.item_stream(item.kind, item.id),
        type=v.ITEM_CORRECTED,
        payload={"id": item.id, "changes": dict(changes), "reason": reason},
        metadata=metadata,
        idempotency_key=correction_key(item.id, number),
    )


def step_correction_event(item: SeedItem, number: int, old: tuple[str, str], new: Mapping[str, Any] | None,
                          reason: str, metadata: Metadata) -> NewEvent:
    """StepCorrected: the recorded step (type, date) replaced by ``new`` (None: retracted)."""
    return NewEvent(
        stream=v.item_stream(item.kind, item.id),
        type=v.STEP_CORRECTED,
        payload=StepCorrection(item.id, StepRef(*old), Step.from_payload(new, item.id) if new is not None else None,
                               reason).to_payload(),
        metadata=metadata,
        valid_from=new["date"] if new is not None else None,
        idempotency_key=step_correction_key(item.id, number),
    )


def reference_event(reference: SeedReference, metadata: Metadata) -> NewEvent:
    return NewEvent(
        stream=f"reference/{reference.number}",
        type=v.REFERENCE_REGISTERED,
        payload=reference_payload(reference),
        metadata=metadata,
        idempotency_key=f"seed:reference:{reference.number}:registered",
    )


def reference_payload(reference: SeedReference) -> dict[str, Any]:
    # url_printed only when given (Reference.to_payload): unchanged references stay unchanged.
    return Reference(
        str(reference.number), reference.number, reference.text, reference.url, reference.url_printed
    ).to_payload()


def derived_source_id(url: str) -> str:
    return "src-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def _source_kind(url: str) -> str:
    return "pdf" if url.lower().split("?")[0].endswith(".pdf") else "html"


def source_payloads(seeds: SeedSet) -> list[tuple[str, o.SourceRegistered]]:
    """One SourceRegistered payload per distinct URL, with the file it comes from.

    A sources.toml entry keeps its id; an item URL not listed there gets ``src-`` + the first 12
    hex digits of sha256(url). ``items`` lists every item documented by the page, sorted.
    """
    by_url: dict[str, tuple[str, o.SourceRegistered]] = {}
    for seed_file in seeds.files:
        for source in seed_file.sources:
            if source.url in by_url:
                by_url[source.url][1]["items"].extend(source.items)
                continue
            by_url[source.url] = (seed_file.name, {
                "id": source.id, "url": source.url, "kind": source.kind, "jurisdiction": source.jurisdiction,
                "title": source.title, "items": list(source.items), "tags": list(source.tags),
                "select": source.select, "ignore": list(source.ignore), "every": None,
                "respect_robots": True, "origin": "seed",
            })
    for item in seeds.items():
        for url in item.record["urls"]:
            if url in by_url:
                by_url[url][1]["items"].append(item.id)
                continue
            by_url[url] = (item.file, {
                "id": derived_source_id(url), "url": url, "kind": _source_kind(url),
                "jurisdiction": item.record["jurisdiction"], "title": item.record["title_en"],
                "items": [item.id], "tags": [], "select": None, "ignore": [], "every": None,
                "respect_robots": True, "origin": "seed",
            })
    result = []
    for file, payload in by_url.values():
        payload["items"] = sorted(set(payload["items"]))
        result.append((file, payload))
    return result


def source_event(payload: o.SourceRegistered, metadata: Metadata) -> NewEvent:
    """Keyed by the payload's digest: an edited source is registered again, an unchanged one not."""
    digest = hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:12]
    return NewEvent(
        stream=v.source_stream(payload["id"]),
        type=v.SOURCE_REGISTERED,
        payload=payload,
        metadata=metadata,
        idempotency_key=f"seed:source:{payload['id']}:{digest}",
        schema_version=_SOURCE_SCHEMA,
    )
