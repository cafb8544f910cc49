"""Typed payloads of the regulatory record: one definition per event type, read and written here.

The log stores plain JSON under a stable type name (vocabulary.py) and a schema version; these
definitions are what the code reads it as. ``from_payload`` checks a stored payload (after the
upcasters brought it to the current version) and raises ``PayloadError`` (a ValueError, so readers
that skip or quarantine an unreadable event keep doing so) naming the field; ``to_payload`` gives
the dict to store. Round trips are exact: ``X.from_payload(p).to_payload() == p`` for every payload
the tracker writes, so a typed writer stores the same bytes as before.

Steps are named tuples rather than dataclasses: a rebuild reads one per event, and a tuple is
built at a third of a frozen dataclass's cost (bench/bench_projections.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# The fields every step payload has (seeds and triage write all six; the id is the item's).
_STEP_CORE = ("id", "step", "date", "note", "by", "citation")
_TITLES = ("title_zh", "title_en")
_OPTIONAL_TEXT = frozenset({str, type(None)})
_PLAIN = frozenset(_STEP_CORE)


class PayloadError(ValueError):
    """A stored payload that does not have the shape of its event type."""


def _text(payload: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise PayloadError(f"payload field {name!r} is missing")
        return None
    if value.__class__ is not str:
        raise PayloadError(f"payload field {name!r} is {value!r:.40}, not text")
    return value


def _mapping(payload: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise PayloadError(f"payload field {name!r} is {value!r:.40}, not an object")
    return value


class Step(NamedTuple):
    """A lifecycle step: InstrumentDrafted ... RegimeSwitched, AgencyRenamed, and the ``new`` of a
    StepCorrected (the step folded into a registration has the same shape, without the id).

    ``extra`` keeps the provenance a step may carry (date_basis, external, source, triage), in the
    order written."""

    id: str
    step: str
    date: str | None
    note: str | None = None
    by: str | None = None
    citation: Any = None
    title_zh: str | None = None  # renamed steps: the new title
    title_en: str | None = None
    extra: Mapping[str, Any] | None = None

    @property
    def date_basis(self) -> str | None:
        basis = self.extra.get("date_basis") if self.extra else None
        return str(basis) if basis else None

    @property
    def external(self) -> bool:
        """From outside the review (a step triage accepted, or a seed step with a source)."""
        return bool(self.extra.get("external")) if self.extra else False

    @property
    def source(self) -> Any:
        """Where a step from outside the review comes from, as written (None when not named)."""
        return self.extra.get("source") if self.extra else None

    @property
    def triage(self) -> Mapping[str, Any] | None:
        """The citation of the proposal a step was accepted from (services/triage_accept.py)."""
        cited = self.extra.get("triage") if self.extra else None
        return cited if isinstance(cited, Mapping) else None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], item_id: str | None = None) -> Step:
        """A step event's payload, or (with the item's id) a step given without one."""
        get = payload.get
        ident = item_id if item_id is not None else get("id")
        step, date, note, by, title_zh, title_en = (get("step"), get("date"), get("note"), get("by"), get("title_zh"),
                                                    get("title_en"))
        # One check of the classes on the path every step takes (a rebuild reads a million).
        if not (ident.__class__ is str and step.__class__ is str and date.__class__ in _OPTIONAL_TEXT
                and note.__class__ in _OPTIONAL_TEXT and by.__class__ in _OPTIONAL_TEXT
                and title_zh.__class__ in _OPTIONAL_TEXT and title_en.__class__ in _OPTIONAL_TEXT):
            for name in ("step", "date", "note", "by", "title_zh", "title_en"):
                _text(payload, name, required=name == "step")
            raise PayloadError(f"payload field 'id' is {ident!r:.40}, not text")
        extra = None
        if not _PLAIN.issuperset(payload):  # a step with the six fields every step has only: no provenance
            extra = {k: val for k, val in payload.items() if k not in _PLAIN and k not in _TITLES} or None
        return tuple.__new__(cls, (ident, step, date, note, by, get("citation"), title_zh, title_en, extra))

    def to_payload(self, *, with_id: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": self.id} if with_id else {}
        payload.update(step=self.step, date=self.date, note=self.note, by=self.by, citation=self.citation)
        if self.title_zh is not None:
            payload["title_zh"] = self.title_zh
        if self.title_en is not None:
            payload["title_en"] = self.title_en
        if self.extra:
            payload.update(self.extra)
        return payload


@dataclass(frozen=True, slots=True)
class Registration:
    """The full attributes of an item (InstrumentRegistered, ProgramEstablished, ProductApproved,
    AgencyRegistered, FactReported, ClassificationRegistered, RegimeRegistered, PathwayRegistered,
    WatchItemRegistered). Programs, products, facts and agencies fold their first step in
    (``step_folded``, and its ``date``). ``record`` is the payload itself: the attributes an
    ItemCorrected corrects field by field."""

    id: str
    kind: str
    jurisdiction: str
    title_zh: str
    title_en: str
    folded: Step | None
    record: Mapping[str, Any]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Registration:
        ident = _text(payload, "id", required=True)
        kind = _text(payload, "kind", required=True)
        folded = _mapping(payload, "step_folded")
        step = Step.from_payload(folded, ident) if folded is not None and folded.get("date") else None
        for name in ("topics", "urls", "relations"):
            if not isinstance(payload.get(name) or [], list):
                raise PayloadError(f"payload field {name!r} is not a list")
        _mapping(payload, "attributes")
        return cls(ident, kind, _text(payload, "jurisdiction", required=True),  # type: ignore[arg-type]
                   _text(payload, "title_zh", required=True), _text(payload, "title_en", required=True),  # type: ignore[arg-type]
                   step, payload)

    @property
    def date(self) -> str | None:
        """The date of the step folded in (None for kinds without one, or when undated)."""
        return self.folded.date if self.folded is not None else None

    # The attributes readers use beyond the identity, each read from ``record`` in one place.

    @property
    def step_folded(self) -> Mapping[str, Any] | None:
        """The folded step as written (also when undated, unlike ``folded``)."""
        folded = self.record.get("step_folded")
        return folded if isinstance(folded, Mapping) else None

    @property
    def date_basis(self) -> str | None:
        """Where the date comes from: the registration's own basis, else its folded step's."""
        folded = self.step_folded
        basis = self.record.get("date_basis") or (folded.get("date_basis") if folded is not None else None)
        return str(basis) if basis else None

    @property
    def external(self) -> bool:
        return bool(self.record.get("external"))

    @property
    def source(self) -> Any:
        return self.record.get("source")

    @property
    def triage(self) -> Mapping[str, Any] | None:
        """The proposal citation: the registration's own, else its folded step's."""
        cited = self.record.get("triage")
        folded = self.step_folded
        if cited is None and folded is not None:
            cited = folded.get("triage")
        return cited if isinstance(cited, Mapping) else None

    @property
    def note(self) -> Any:
        return self.record.get("note")

    @property
    def urls(self) -> Any:
        return self.record.get("urls")

    @property
    def attributes(self) -> Any:
        """The seed's attributes (flags, external, source ...): an object, checked when read."""
        return self.record.get("attributes")

    @property
    def topics(self) -> Any:
        return self.record.get("topics")

    @property
    def fact(self) -> tuple[Any, Any, Any] | None:
        """A fact's (metric, value, unit), copied from its attributes at registration (None when
        the payload has no value)."""
        record = self.record
        return (record.get("metric", ""), record.get("value"), record.get("unit", "")) if "value" in record else None

    def to_payload(self) -> dict[str, Any]:
        return dict(self.record)


class Change(NamedTuple):
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ItemCorrection:
    """ItemCorrected: fields of the item edited after it was recorded. A ``step:<type>:<date>``
    change carries a step's old and new payload (its note was edited)."""

    id: str
    changes: Mapping[str, Change]
    reason: str | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ItemCorrection:
        changes = _mapping(payload, "changes") or {}
        typed = {}
        for name, change in changes.items():
            if not isinstance(change, Mapping):
                raise PayloadError(f"change of {name!r} is not an object with old and new")
            typed[str(name)] = Change(change.get("old"), change.get("new"))
        return cls(_text(payload, "id", required=True), typed, _text(payload, "reason"))  # type: ignore[arg-type]

    def to_payload(self) -> dict[str, Any]:
        return {"id": self.id, "changes": {k: {"old": c.old, "new": c.new} for k, c in self.changes.items()},
                "reason": self.reason}


class StepRef(NamedTuple):
    step: str
    date: str


@dataclass(frozen=True, slots=True)
class StepCorrection:
    """StepCorrected: the recorded step ``old`` (every step of the item with that type and date
    recorded before) replaced by ``new``, or retracted (``new`` None)."""

    id: str
    old: StepRef | None
    new: Step | None
    reason: str | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> StepCorrection:
        ident = _text(payload, "id", required=True)
        old, new = _mapping(payload, "old"), _mapping(payload, "new")
        ref = StepRef(str(old["step"]), str(old["date"])) if old and old.get("step") and old.get("date") else None
        step = Step.from_payload(new, ident) if new is not None and new.get("step") else None
        return cls(ident, ref, step, _text(payload, "reason"))  # type: ignore[arg-type]

    def to_payload(self) -> dict[str, Any]:
        return {"id": self.id, "old": {"step": self.old.step, "date": self.old.date} if self.old else None,
                "new": self.new.to_payload(with_id=False) if self.new is not None else None, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Reference:
    """ReferenceRegistered: a numbered reference of the review (``url_printed`` only when given)."""

    id: str
    number: int
    text: str
    url: str | None
    url_printed: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Reference:
        number = payload.get("number")
        if not isinstance(number, int):
            raise PayloadError(f"payload field 'number' is {number!r:.40}, not a number")
        return cls(_text(payload, "id", required=True), number, _text(payload, "text") or "",  # type: ignore[arg-type]
                   _text(payload, "url"), _text(payload, "url_printed"))

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": self.id, "number": self.number, "text": self.text, "url": self.url}
        if self.url_printed is not None:
            payload["url_printed"] = self.url_printed
        return payload
