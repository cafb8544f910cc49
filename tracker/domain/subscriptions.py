"""Subscriptions, pure: address validation, filters, cadences and opaque ids.

An address is personal data: events never carry it, only the opaque subscriber id. It is
checked strictly here because it ends up in an SMTP envelope and a To header: anything that could
smuggle a second header or a second recipient (CR, LF, NUL, commas, angle brackets...) is refused.

Filters: each dimension given (jurisdictions, kinds, tags, items) must match, and within one
dimension any value matches (AND across, OR within). No filter at all matches everything.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.payloads_ops import SubscriptionFilters
from tracker.domain.vocabulary import ITEM_KINDS, JURISDICTIONS
from tracker.errors import ValidationError

CADENCES = ("daily", "weekly")
MAX_ADDRESS = 254
MAX_NAME = 120

_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_TAG_RE = re.compile(r"^[\w.+-]{1,60}$")


def validate_address(text: str) -> str:
    """The address in canonical form (domain lower-cased, IDN as ASCII), or ValidationError."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("e-mail address refused: it is empty")
    if _CONTROL_RE.search(text):
        raise ValidationError(
            f"e-mail address refused: {text!r} contains a line break or control character (header injection)"
        )
    address = text.strip()
    if len(address) > MAX_ADDRESS:
        raise ValidationError(f"e-mail address refused: longer than {MAX_ADDRESS} characters")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(f"e-mail address refused: {address!r} is not of the form name@example.org")
    if not _LOCAL_RE.match(local) or len(local) > 64:
        raise ValidationError(
            f"e-mail address refused: {address!r}: the part before @ may hold only letters, digits, dots and "
            "!#$%&'*+/=?^_`{|}~- (no spaces, quotes, commas, angle brackets or a second @)"
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValidationError(f"e-mail address refused: {address!r}: {domain!r} is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        raise ValidationError(f"e-mail address refused: {address!r}: {domain!r} is not a valid domain name")
    return f"{local}@{ascii_domain}"


def validate_name(name: str | None, default: str) -> str:
    value = (name if name is not None else default).strip()
    if _CONTROL_RE.search(value):
        raise ValidationError(f"subscription name refused: {value!r} contains a line break or control character")
    if not value or len(value) > MAX_NAME:
        raise ValidationError(f"subscription name refused: it must be 1 to {MAX_NAME} characters")
    return value


def validate_cadence(cadence: str) -> str:
    if cadence not in CADENCES:
        raise ValidationError(f"cadence {cadence!r} refused: use one of {', '.join(CADENCES)}")
    return cadence


@dataclass(frozen=True, slots=True)
class Target:
    """What a filter is matched against: one item, or one monitored source and its items."""

    jurisdiction: str | None
    kinds: frozenset[str]
    tags: frozenset[str]
    ids: frozenset[str]
    # Seen by the tracker, not (yet) in the record: a page change, a register entry, a proposal.
    machine: bool = False


@dataclass(frozen=True, slots=True)
class Filters:
    jurisdictions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()
    # Only the regulatory record's changes (seeded or accepted in triage): no page changes, register
    # entries or proposals awaiting triage.
    accepted_only: bool = False

    @classmethod
    def build(
        cls,
        jurisdictions: Iterable[str] = (),
        kinds: Iterable[str] = (),
        tags: Iterable[str] = (),
        items: Iterable[str] = (),
        accepted_only: bool = False,
    ) -> Filters:
        """Validated filters; an unknown jurisdiction or kind is refused with the known ones."""
        js = {j.strip().upper() for j in jurisdictions}
        bad = sorted(js - set(JURISDICTIONS))
        if bad:
            raise ValidationError(f"unknown jurisdiction(s) {', '.join(bad)} (known: {', '.join(JURISDICTIONS)})")
        ks = {k.strip().lower() for k in kinds}
        bad = sorted(ks - set(ITEM_KINDS))
        if bad:
            raise ValidationError(f"unknown kind(s) {', '.join(bad)} (known: {', '.join(ITEM_KINDS)})")
        ts = {t.strip().lower() for t in tags}
        bad = sorted(t for t in ts if not _TAG_RE.match(t))
        if bad:
            raise ValidationError(f"tag(s) refused: {', '.join(map(repr, bad))} (letters, digits, . _ + - only)")
        ids = {i.strip() for i in items}
        bad = sorted(i for i in ids if not _ID_RE.match(i))
        if bad:
            raise ValidationError(f"item id(s) refused: {', '.join(map(repr, bad))} (lower-case a-z 0-9 . _ -)")
        return cls(frozenset(js), frozenset(ks), frozenset(ts), frozenset(ids), accepted_only)

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Filters:
        return cls(
            frozenset(data.get("jurisdictions", ())), frozenset(data.get("kinds", ())),
            frozenset(data.get("tags", ())), frozenset(data.get("items", ())), bool(data.get("accepted_only")),
        )

    def as_payload(self) -> SubscriptionFilters:
        payload: SubscriptionFilters = {
            "jurisdictions": sorted(self.jurisdictions), "kinds": sorted(self.kinds),
            "tags": sorted(self.tags), "items": sorted(self.items),
        }
        if self.accepted_only:      # only when set: the filters of earlier subscriptions keep their bytes
            payload["accepted_only"] = True
        return payload

    @property
    def narrows(self) -> bool:
        """Whether matches() can refuse a target that is not seen by the tracker alone (machine)."""
        return bool(self.jurisdictions or self.kinds or self.tags or self.items)

    def matches(self, target: Target) -> bool:
        if self.accepted_only and target.machine:
            return False
        if self.jurisdictions and target.jurisdiction not in self.jurisdictions:
            return False
        if self.kinds and self.kinds.isdisjoint(target.kinds):
            return False
        if self.tags and self.tags.isdisjoint(target.tags):
            return False
        return not (self.items and self.items.isdisjoint(target.ids))

    def describe(self) -> str:
        parts = [
            f"{label}={','.join(sorted(values))}"
            for label, values in (("jurisdiction", self.jurisdictions), ("kind", self.kinds),
                                  ("tag", self.tags), ("item", self.items))
            if values
        ]
        if self.accepted_only:
            parts.append("accepted changes only")
        return " ".join(parts) or "everything"


def new_subscriber_id() -> str:
    """Random, so the id reveals nothing about the address it once stood for."""
    return "subr-" + secrets.token_hex(8)


def new_subscription_id() -> str:
    return "sub-" + secrets.token_hex(6)


def new_channel_id() -> str:
    """Random: events and outputs name a channel by it, never by its URL (which may be a secret)."""
    return "chn-" + secrets.token_hex(6)


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(24)
