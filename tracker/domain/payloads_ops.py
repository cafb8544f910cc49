"""Typed payloads of monitoring, subscriptions, digests and triage: one TypedDict per event type.

These payloads are read by one projection or service each, as plain dicts; the TypedDict names
their fields once (the comments of vocabulary.py, checked), and ``decode`` checks the required
ones. The record's payloads, which several readers fold, are the classes of payloads.py.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict whose annotations are
# strings takes every NotRequired field for a required one (__required_keys__), and decode would
# refuse every payload that leaves one out (tests/record/test_payload_decode.py pins the keys).
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from tracker.domain.payloads import PayloadError


class SourceRegistered(TypedDict):
    """The tracker writes every field but the last three (domain/sources.Source.to_payload, seeds);
    its readers have always defaulted the rest (Source.from_payload), and payloads written by hand
    or by tests leave them out, so only the identity is required."""

    id: str
    url: str
    kind: str  # schema 2: schema 1 payloads had none ("html", payloads_registry.py)
    jurisdiction: NotRequired[str | None]
    title: NotRequired[str]
    items: NotRequired[list[str]]
    tags: NotRequired[list[str]]
    select: NotRequired[str | None]
    ignore: NotRequired[list[str]]
    every: NotRequired[Any]
    respect_robots: NotRequired[bool]
    origin: NotRequired[str]


class SourceRemoved(TypedDict):
    id: str
    reason: NotRequired[str | None]


class SourceRulesAdopted(TypedDict):
    id: str
    select: str | None
    ignore: list[str]
    reason: NotRequired[str | None]


class SourceVolatileIgnored(TypedDict):
    id: str
    ignore: list[str]
    lines: NotRequired[list[str]]
    reason: NotRequired[str | None]


class SourceVolatileRevoked(TypedDict):
    id: str
    ignore: list[str]
    reason: NotRequired[str | None]


class SourceBaselined(TypedDict):
    id: str
    content_hash: str
    url: NotRequired[str]
    entries: NotRequired[int]
    snapshot: NotRequired[Any]
    http: NotRequired[dict[str, Any]]
    capture: NotRequired[dict[str, str]]  # a version saved by `sources capture`: url, saved_at


class SourceChanged(TypedDict):
    id: str
    old_hash: str | None
    new_hash: str
    url: NotRequired[str]
    diff: NotRequired[str]
    diff_truncated: NotRequired[bool]
    snapshot: NotRequired[Any]
    http: NotRequired[dict[str, Any]]
    capture: NotRequired[dict[str, str]]


class SourceUnreachable(TypedDict):
    id: str
    error_class: NotRequired[str]
    error: NotRequired[str]
    failures: NotRequired[int]


class SourceRecovered(TypedDict):
    id: str
    after_failures: NotRequired[int]


class RegisterEntry(TypedDict):
    """RegisterEntryAdded, and RegisterEntryRevised (which adds ``changes``)."""

    id: str
    entry_id: str
    date: NotRequired[str | None]
    title: NotRequired[str]
    url: NotRequired[str | None]
    fields: NotRequired[dict[str, Any]]
    precision: NotRequired[str | None]
    type: NotRequired[str]
    titles: NotRequired[dict[str, str]]
    agency: NotRequired[str]
    links: NotRequired[dict[str, str]]
    dates: NotRequired[dict[str, str]]
    deadlines: NotRequired[dict[str, str]]
    changes: NotRequired[dict[str, Any]]
    baseline: NotRequired[bool]  # listed at the register's first check (domain/changes.py)
    # an eCFR section's text against its version before (services/ecfr_text.py)
    text_from: NotRequired[str]
    text_diff: NotRequired[str]
    text_diff_truncated: NotRequired[bool]


class SubscriptionFilters(TypedDict):
    """What a subscription matches (domain/subscriptions.Filters.as_payload); ``accepted_only``
    only when set, so the filters of earlier subscriptions keep their bytes."""

    jurisdictions: list[str]
    kinds: list[str]
    tags: list[str]
    items: list[str]
    accepted_only: NotRequired[bool]


class SubscriptionCreated(TypedDict):
    id: str
    subscriber: str
    filters: SubscriptionFilters
    cadence: str
    name: NotRequired[str]


class SubscriptionCancelled(TypedDict):
    id: str


class SubscriberForgotten(TypedDict):
    subscriber: str


class DigestEvent(TypedDict):
    """DigestPrepared (positions, count, head), DigestSent (positions, transport), DigestNotified
    (channel, positions) and DigestFailed (positions, rejections, code)."""

    subscription: str
    message_id: str
    positions: NotRequired[list[int]]
    count: NotRequired[int]
    head: NotRequired[dict[str, Any]]  # the log head the digest was prepared at: position, hash
    transport: NotRequired[str]
    channel: NotRequired[str]
    rejections: NotRequired[int]
    code: NotRequired[int]


class ProposalEvent(TypedDict):
    """What every event of a proposal's stream has: the proposal's id."""

    id: str


class ProposalRaised(ProposalEvent):
    """The candidate (domain/proposals.Proposal.payload, read back by Proposal.from_payload)."""

    key: NotRequired[str]
    source: NotRequired[str]
    origin: NotRequired[str]
    jurisdiction: NotRequired[str]
    issuer: NotRequired[str]
    kind: NotRequired[str | None]
    step: NotRequired[str]
    title_zh: NotRequired[str]
    title_en: NotRequired[str]
    titles: NotRequired[dict[str, str]]
    date: NotRequired[str | None]
    precision: NotRequired[str | None]
    identifier: NotRequired[str | None]
    url: NotRequired[str | None]
    deadlines: NotRequired[dict[str, str]]
    note: NotRequired[str]
    check: NotRequired[bool]
    suggested_id: NotRequired[str]
    evidence: NotRequired[dict[str, Any]]
    match: NotRequired[dict[str, Any]]


class ProposalAccepted(ProposalEvent):
    """The item written to and the events written (services/triage_accept.py)."""

    item_id: str
    new_item: bool
    step: str
    date: str
    kind: str
    title_zh: str
    title_en: str
    events: list[int]
    note_ref: str | None


class ProposalRejected(ProposalEvent):
    reason_ref: str | None


class ProposalDeferred(ProposalEvent):
    until: str | None


class ProposalAssigned(ProposalEvent):
    to: str


class ProposalAssessed(ProposalEvent):
    impact: str
    products: list[str]
    due: str | None
    note_ref: str | None


class TriageRuleAdopted(TypedDict):
    id: str
    steps: list[str]
    new_items: bool


class TriageRuleRevoked(TypedDict):
    id: str


def decoder(definition: Any) -> Any:
    """``decode`` for a TypedDict: the required fields present, the payload given back as is."""
    required = frozenset(definition.__required_keys__)

    def decode(payload: Mapping[str, Any]) -> Any:
        if payload.keys() >= required:  # no set built on the path every readable payload takes
            return payload
        missing = required - payload.keys()
        raise PayloadError(f"{definition.__name__} payload lacks {', '.join(sorted(missing))}")

    return decode
