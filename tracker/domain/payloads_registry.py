"""Every event type by its stable name: its typed payload, its schema version and its upcasters.

A plain dict (no metaclass, no code path stored in the log): the stored type name maps to the
definition the code reads it as. A payload whose shape changes gets the next schema version and an
upcaster from the version before, here; the store applies them on read (core/events.Upcaster),
so the permanent log is never rewritten. ``decode(type, payload)`` is the typed payload of an
event as the store gives it back (upcast already).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tracker.core.events import UpcastFn
from tracker.domain import payloads as p
from tracker.domain import payloads_ops as o
from tracker.domain import vocabulary as v
from tracker.domain.record import REGISTRATION_TYPE

T = TypeVar("T")


@dataclass(frozen=True)
class PayloadType:
    """The definition of one event type's payload, the version it is written at, and the upcasts
    {from_version: function giving from_version + 1} that bring older payloads to it."""

    definition: type
    decode: Callable[[Mapping[str, Any]], Any]
    upcasts: Mapping[int, UpcastFn] = field(default_factory=dict)
    # ProgramEstablished, ProductApproved, FactReported: a Registration, or (a later step of an
    # item registered before, e.g. a triage acceptance) a Step; the shape tells which.
    by_shape: bool = False

    @property
    def version(self) -> int:
        return 1 + len(self.upcasts)


def _typed(definition: Any, upcasts: Mapping[int, UpcastFn] | None = None) -> PayloadType:
    return PayloadType(definition, o.decoder(definition), dict(upcasts or {}))


def _record(definition: Any) -> PayloadType:
    return PayloadType(definition, definition.from_payload)


def _registration_or_step(payload: Mapping[str, Any]) -> p.Registration | p.Step:
    """The record's own test (domain/record.is_registration): a step payload carries a "step"."""
    if "step" in payload or "kind" not in payload:
        return p.Step.from_payload(payload)
    return p.Registration.from_payload(payload)


# Types a registration and a step both use (domain/record.REGISTRATION_TYPE and vocabulary.STEP_EVENTS).
_SHAPED = frozenset(REGISTRATION_TYPE.values()) & frozenset(v.STEP_EVENTS.values())

RecordPayload = p.Registration | p.Step | p.ItemCorrection | p.StepCorrection | p.Reference


def _source_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 SourceRegistered payloads had no ``kind``: every source was a page."""
    return {"kind": "html", **payload}


REGISTRY: dict[str, PayloadType] = {
    # the regulatory record (payloads.py)
    **{name: _record(p.Registration) for name in sorted(set(REGISTRATION_TYPE.values()) - _SHAPED)},
    **{name: PayloadType(p.Registration, _registration_or_step, by_shape=True) for name in sorted(_SHAPED)},
    **{name: _record(p.Step) for name in sorted(set(v.STEP_EVENTS.values()) - set(REGISTRATION_TYPE.values()))},
    v.AGENCY_RENAMED: _record(p.Step),
    v.ITEM_CORRECTED: _record(p.ItemCorrection),
    v.STEP_CORRECTED: _record(p.StepCorrection),
    v.REFERENCE_REGISTERED: _record(p.Reference),
    # monitoring
    v.SOURCE_REGISTERED: _typed(o.SourceRegistered, {1: _source_v1_to_v2}),
    v.SOURCE_REMOVED: _typed(o.SourceRemoved),
    v.SOURCE_RULES_ADOPTED: _typed(o.SourceRulesAdopted),
    v.SOURCE_VOLATILE_IGNORED: _typed(o.SourceVolatileIgnored),
    v.SOURCE_VOLATILE_REVOKED: _typed(o.SourceVolatileRevoked),
    v.SOURCE_BASELINED: _typed(o.SourceBaselined),
    v.SOURCE_CHANGED: _typed(o.SourceChanged),
    v.SOURCE_UNREACHABLE: _typed(o.SourceUnreachable),
    v.SOURCE_RECOVERED: _typed(o.SourceRecovered),
    v.REGISTER_ENTRY_ADDED: _typed(o.RegisterEntry),
    v.REGISTER_ENTRY_REVISED: _typed(o.RegisterEntry),
    # subscriptions and digests
    v.SUBSCRIPTION_CREATED: _typed(o.SubscriptionCreated),
    v.SUBSCRIPTION_CANCELLED: _typed(o.SubscriptionCancelled),
    v.SUBSCRIBER_FORGOTTEN: _typed(o.SubscriberForgotten),
    v.DIGEST_PREPARED: _typed(o.DigestEvent),
    v.DIGEST_SENT: _typed(o.DigestEvent),
    v.DIGEST_NOTIFIED: _typed(o.DigestEvent),
    v.DIGEST_FAILED: _typed(o.DigestEvent),
    # triage
    v.PROPOSAL_RAISED: _typed(o.ProposalRaised),
    v.PROPOSAL_ACCEPTED: _typed(o.ProposalAccepted),
    v.PROPOSAL_REJECTED: _typed(o.ProposalRejected),
    v.PROPOSAL_DEFERRED: _typed(o.ProposalDeferred),
    v.PROPOSAL_ASSIGNED: _typed(o.ProposalAssigned),
    v.PROPOSAL_ASSESSED: _typed(o.ProposalAssessed),
    v.TRIAGE_RULE_ADOPTED: _typed(o.TriageRuleAdopted),
    v.TRIAGE_RULE_REVOKED: _typed(o.TriageRuleRevoked),
}


_REGISTRY_get = REGISTRY.get


def schema_version(type_name: str) -> int:
    """The version a payload of this type is written at."""
    return REGISTRY[type_name].version


def decode(type_name: str, payload: Mapping[str, Any]) -> Any:
    """The typed payload of an event (as read: upcast to the current version); PayloadError if
    it lacks the shape, KeyError for a type the tracker does not know."""
    return REGISTRY[type_name].decode(payload)


def decode_as(definition: type[T], type_name: str, payload: Mapping[str, Any]) -> T:
    """``decode`` typed as ``definition``, the definition REGISTRY gives ``type_name`` (a reader
    that names another one is a bug: TypeError). Readers call it once per event and read the
    keys of what it returns, so mypy sees a misspelt field.

        entry = decode_as(o.RegisterEntry, event.type, event.payload)
    """
    found = _REGISTRY_get(type_name)
    if found is None or found.definition is not definition or found.by_shape:
        raise TypeError(f"{type_name} payloads are not {definition.__name__} (payloads_registry.REGISTRY)")
    decoded: T = found.decode(payload)
    return decoded


def decode_record(type_name: str, payload: Mapping[str, Any]) -> RecordPayload:
    """The typed payload of an event of the regulatory record (readers dispatch with isinstance);
    TypeError for a type that is not the record's."""
    found = REGISTRY[type_name]
    if found.definition not in _RECORD_DEFINITIONS:
        raise TypeError(f"{type_name} is not an event of the record")
    decoded: RecordPayload = found.decode(payload)
    return decoded


_RECORD_DEFINITIONS = frozenset({p.Registration, p.Step, p.ItemCorrection, p.StepCorrection, p.Reference})
