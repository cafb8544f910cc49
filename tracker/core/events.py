"""Event envelopes: what a caller appends (NewEvent) and what the store gives back (RecordedEvent).

Event types are stable names chosen by the domain ("InstrumentPublished"), never code paths.
Each event carries the schema version of its payload; an Upcaster turns old payload shapes into
the current one as events are read, so the log itself is never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, KeysView, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from tracker.errors import InvalidEventError

_TYPE_RE = re.compile(r"^[A-Z][A-Za-z0-9]{1,99}$")
_STREAM_RE = re.compile(r"^[a-z][a-z0-9_-]*/[^\s]{1,190}$")
# A date keeps the precision it was given: a year, a month, a day, or an instant.
_VALID_FROM_RE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """UTC instant as the store writes it: fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise InvalidEventError("timestamps must be timezone-aware")
    # TIME_FORMAT, through isoformat: a third of strftime's cost, and the year always 4 digits.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def normalise_valid_from(value: str | date | datetime | None) -> str | None:
    """Check a valid-from value and keep its precision ("2025", "2025-09", "2025-09-28", ...)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not _VALID_FROM_RE.match(value):
        raise InvalidEventError(f"valid_from {value!r} is not an ISO date (YYYY, YYYY-MM, YYYY-MM-DD or a datetime)")
    try:
        year, month, day = (value[:10].split("-") + ["01", "01"])[:3]
        date(int(year), int(month), int(day))
        if len(value) > 10:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidEventError(f"valid_from {value!r} is not a real date: {exc}") from None
    return value


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. recorded_at, position, version and hashes are the store's to set."""

    stream: str
    type: str
    payload: Mapping[str, Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    valid_from: str | None = None
    idempotency_key: str | None = None
    schema_version: int = 1

    def __post_init__(self) -> None:
        if not _STREAM_RE.match(self.stream):
            raise InvalidEventError(f"stream {self.stream!r} must look like 'category/id'")
        if not _TYPE_RE.match(self.type):
            raise InvalidEventError(f"event type {self.type!r} must be a CamelCase name")
        if self.idempotency_key is not None and not (0 < len(self.idempotency_key) <= 300):
            raise InvalidEventError("idempotency_key must be 1 to 300 characters")
        if self.schema_version < 1:
            raise InvalidEventError("schema_version starts at 1")
        object.__setattr__(self, "valid_from", normalise_valid_from(self.valid_from))


class RecordedEvent(NamedTuple):
    """An event as stored. Immutable; a tuple underneath because reads build millions of them."""

    position: int
    stream: str
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str
    valid_from: str | None
    idempotency_key: str | None
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


UpcastFn = Callable[[dict[str, Any]], dict[str, Any]]


class Upcaster:
    """Registry of payload upgrades: (type, from_version) -> function giving version + 1."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], UpcastFn] = {}
        self._current: dict[str, int] = {}

    def register(self, type: str, from_version: int, fn: UpcastFn) -> None:
        self._steps[(type, from_version)] = fn
        self._current[type] = max(self._current.get(type, 1), from_version + 1)

    @property
    def types(self) -> KeysView[str]:
        """The event types with upcasts registered (a live view)."""
        return self._current.keys()

    def current_version(self, type: str) -> int:
        return self._current.get(type, 1)

    def upcast(self, type: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if type not in self._current:
            return version, payload
        while (step := self._steps.get((type, version))) is not None:
            payload = step(payload)
            version += 1
        return version, payload
