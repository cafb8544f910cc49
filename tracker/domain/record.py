"""The rules by which the events of the regulatory record give the state of an item: pure, no
storage. The fold that applies them, event by event, is record_fold.py (the one every reader uses).

Status of an item after a set of steps: the status-bearing step with the latest start date wins
(dates compare by the first day of their period, see dates.py; on equal start the step recorded
later wins). Instruments: drafted -> draft, trial -> published (a 试行 version is issued and
applies), published -> published, effective -> effective, superseded -> superseded,
repealed -> repealed, withdrawn -> withdrawn (its own status: a withdrawn draft was never repealed).
amended and renamed steps keep the status (renamed changes the title). Programs are
``established``, products ``approved``, facts ``reported``, agencies ``active`` until a renamed
step makes them ``renamed`` (the title becomes the new name). Classifications, regimes and
pathways follow the instruments' rules (a regime is ``effective`` from its start and
``superseded`` from its end; a ``switch`` step keeps the status); watch items are ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from tracker.core import RecordedEvent
from tracker.core.canonical import canonical_json
from tracker.domain import vocabulary as v

# The event that registers an item of each kind (its payload carries the full attributes).
REGISTRATION_TYPE: Mapping[str, str] = {
    **{kind: v.INSTRUMENT_REGISTERED for kind in v.INSTRUMENT_KINDS},
    "agency": v.AGENCY_REGISTERED,
    "program": v.PROGRAM_ESTABLISHED,
    "product": v.PRODUCT_APPROVED,
    "fact": v.FACT_REPORTED,
    "classification": v.CLASSIFICATION_REGISTERED,
    "regime": v.REGIME_REGISTERED,
    "pathway": v.PATHWAY_REGISTERED,
    "watch": v.WATCH_ITEM_REGISTERED,
}
# For these kinds the registration event also is the first step of this type (its valid_from).
FOLDED_STEP: Mapping[str, str] = {
    "agency": "established",
    "program": "established",
    "product": "approved",
    "fact": "reported",
}
REGISTRATION_STATUS: Mapping[str, str | None] = {
    **{kind: None for kind in v.LIFECYCLE_KINDS},
    "agency": "active", "program": "established", "product": "approved", "fact": "reported", "watch": "pending",
}
STEP_STATUS: Mapping[str, str] = {
    "drafted": "draft", "trial": "published", "published": "published", "effective": "effective",
    "superseded": "superseded", "repealed": "repealed", "withdrawn": "withdrawn",
    "established": "established", "approved": "approved", "reported": "reported",
}
STREAM_CATEGORIES = (
    "instrument",
    "agency",
    "program",
    "product",
    "fact",
    "classification",
    "regime",
    "pathway",
    "watch",
)

RECORD_TYPES: frozenset[str] = frozenset(
    set(REGISTRATION_TYPE.values())
    | set(v.STEP_EVENTS.values())
    | {v.AGENCY_RENAMED, v.ITEM_CORRECTED, v.STEP_CORRECTED}
)


def is_record_stream(stream: str) -> bool:
    return stream.partition("/")[0] in STREAM_CATEGORIES


def is_registration(event: RecordedEvent) -> bool:
    """Registration events carry the full attributes (a "kind"); step events carry a "step"."""
    return event.type in _REGISTRATION_TYPES and "kind" in event.payload and "step" not in event.payload


_REGISTRATION_TYPES = frozenset(REGISTRATION_TYPE.values())


def step_status(kind: str, step: str) -> str | None:
    """The status a step gives an item of this kind, or None if the step keeps the status."""
    if step == "renamed":
        return "renamed" if kind == "agency" else None
    if kind in v.LIFECYCLE_KINDS:
        return STEP_STATUS.get(step) if step not in {"established", "approved", "reported"} else None
    return STEP_STATUS.get(step) if step in {"established", "approved", "reported"} else None


def item_attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``attributes`` column: kind-specific fields, urls, citation and notes."""
    attributes = dict(record.get("attributes") or {})
    for name in ("urls", "citation", "notes", "seed_file"):
        attributes[name] = record.get(name)
    return attributes


def apply_correction(record: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The record after an ItemCorrected: plain fields take their new value (step:* changes are steps')."""
    updated = dict(record)
    for name, change in changes.items():
        if not name.startswith("step:"):
            updated[name] = change.get("new")
    return updated


# Provenance a step or relation may carry (seeds/README.md): kept in the read model's ``details``.
STEP_DETAILS = ("date_basis", "external", "source", "triage")
RELATION_DETAILS = ("date", "external", "source", "inferred", "basis")


def details(payload: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The provenance fields present, as canonical JSON; None when there are none."""
    found = {key: payload[key] for key in keys if key in payload}
    return canonical_json(found) if found else None


def exists_at(first_start: date | None, recorded_day: date, valid_at: date) -> bool:
    """Part of the world at valid_at? Dated items from their first step; undated ones (the review
    gives no date) from the day the tracker recorded them, the latest day they surely existed."""
    return (first_start or recorded_day) <= valid_at


def structure_lines(attributes: Mapping[str, Any]) -> list[str]:
    """Provenance, flags, classes, stages and time limits kept in an item's attributes, one line
    each, as `tracker show` and the web item page give them (seeds/README.md)."""
    lines = []
    if attributes.get("external"):
        lines.append(f"EXTERNAL (not in the review): {attributes.get('source')}")
    for flag in attributes.get("flags", []):
        against = f" (against {flag['against']})" if flag.get("against") else ""
        lines.append(f"FLAG {flag['type']}{against}: {flag['note']}")
    for fact in attributes.get("external_facts", []):
        lines.append(f"external fact: {fact['fact']} [source: {fact['source']}]")
    for entry in attributes.get("classified", []):
        lines.append(
            f"class: {entry['scheme']} / {entry['class']}"
            + (f" [inferred: {entry['basis']}]" if entry.get("inferred") else "")
        )
    for limit in attributes.get("time_limits", []):
        lines.append(f"time limit: {limit['what']}: {limit['value']} {limit['unit']} from {limit['starts']}")
    for c in attributes.get("classes", []):
        lines.append(
            f"class {c['id']}{' (excluded)' if c.get('excluded') else ''}"
            f"{' < ' + c['parent'] if c.get('parent') else ''}: "
            f"{c.get('title_zh') or ''} {c['title_en']}".rstrip()
        )
    for number, stage in enumerate(attributes.get("stages", []), 1):
        who = f" [{stage['gatekeeper']}]" if stage.get("gatekeeper") else ""
        under = f" (under {stage['instrument']})" if stage.get("instrument") else ""
        lines.append(f"stage {number}: {stage['name']}{who}{under}")
    for key in ("route", "scope", "regime", "concerns", "pending"):
        if attributes.get(key):
            lines.append(f"{key}: {attributes[key]}")
    return lines
