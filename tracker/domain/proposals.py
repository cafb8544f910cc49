"""Proposals and the analyst's decisions on them: typed payloads and rules, pure (no storage).

A proposal is a candidate regulatory event the tracker derived from what it saw (a page change,
a register entry): the fields filled as far as the evidence allows, the evidence itself, and the
item of the record it matched (or none). It is raised once: its key is derived from the evidence
(source, the document's identifier or link or title, the step and the date), so checking again or
re-deriving from the whole log finds the key stored and raises nothing.

The analyst's decisions are events on the proposal's stream; the analyst is the event's actor
(metadata). Free text an analyst types (a reason, a note) may hold personal data: it is kept
outside the hash chain (``triage_texts``) and the event carries only its opaque reference, as a
subscription carries an opaque subscriber id and never the address.

States: open -> accepted | rejected (final); open <-> deferred (a deferred proposal can be
accepted, rejected or deferred again). Assigning and assessing keep the state.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Container, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from tracker.core.canonical import canonical_json
from tracker.domain import vocabulary as v
from tracker.domain.dates import parse_partial, precision_of
from tracker.errors import ValidationError

STATES = ("open", "accepted", "rejected", "deferred")
FINAL_STATES = frozenset({"accepted", "rejected"})
IMPACTS = ("high", "medium", "low", "none")
# Steps a proposal may propose (the record's step types, less those only seeds use).
STEPS = ("drafted", "trial", "published", "effective", "amended", "superseded", "repealed", "renamed",
         "withdrawn", "established", "approved")
# The kinds an accepted proposal may create (structure kinds are the analyst's, in seeds).
KINDS = ("law", "regulation", "directive", "guidance", "program", "product")
STEP_KINDS: Mapping[str, frozenset[str]] = {
    "established": frozenset({"program"}),
    "approved": frozenset({"product"}),
}
DECISION_TYPES = frozenset({v.PROPOSAL_ACCEPTED, v.PROPOSAL_REJECTED, v.PROPOSAL_DEFERRED, v.PROPOSAL_ASSIGNED,
                            v.PROPOSAL_ASSESSED})
TYPES = DECISION_TYPES | {v.PROPOSAL_RAISED}

MAX_TEXT = 4000
MAX_NAME = 80
_NAME_RE = re.compile(r"^[\w][\w.@+ -]{0,79}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
PROPOSAL_ID_RE = re.compile(r"^p-[0-9a-f]{12}$")
ITEM_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,150}$")
_WORD_RE = re.compile(r"[a-z0-9]+")
_SLUG_STOP = frozenset({"the", "of", "for", "and", "on", "in", "to", "a", "an", "with", "draft", "guidance",
                        "industry", "final", "rule", "notice"})


class SourceInfo(NamedTuple):
    """What derivation (derivation.py) needs of the source the evidence came from."""

    id: str
    kind: str
    jurisdiction: str
    title: str = ""


class PageRow(NamedTuple):
    """A row of a list page (fetching/rows.py gives them): its link, title and whole text."""

    key: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a proposal rests on: the event (position, type), the snapshot or entry, the lines."""

    position: int
    type: str
    content_hash: str | None = None
    entry_id: str | None = None
    lines: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "type": self.type, "content_hash": self.content_hash,
                "entry_id": self.entry_id, "lines": list(self.lines)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(int(data.get("position") or 0), str(data.get("type") or ""), data.get("content_hash"),
                   data.get("entry_id"), tuple(str(line) for line in data.get("lines") or ()))


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item of the record a proposal may be about, with its score (0..1) and why."""

    item_id: str
    score: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "score": round(self.score, 3), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Match:
    """The item matched (None: a new item is proposed), why, and the other candidates."""

    item_id: str | None
    reason: str
    score: float = 0.0
    alternatives: tuple[Candidate, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "reason": self.reason, "score": round(self.score, 3),
                "alternatives": [c.as_json() for c in self.alternatives]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Match:
        data = data or {}
        alternatives = tuple(Candidate(str(c["item_id"]), float(c.get("score") or 0), str(c.get("reason") or ""))
                             for c in data.get("alternatives") or () if isinstance(c, Mapping) and c.get("item_id"))
        item = data.get("item_id")
        return cls(str(item) if item else None, str(data.get("reason") or ""), float(data.get("score") or 0),
                   alternatives)


NO_MATCH = Match(None, "not matched yet")


@dataclass(frozen=True, slots=True)
class Draft:
    """A candidate regulatory event as derived from one piece of evidence, before matching."""

    source_id: str
    origin: str                 # the register kind ("federal-register", ...) or "html-rows"
    jurisdiction: str
    step: str
    evidence: Evidence
    kind: str | None = None
    issuer: str = ""
    title_zh: str = ""
    title_en: str = ""
    titles: Mapping[str, str] = field(default_factory=dict)
    date: str = ""
    identifier: str = ""
    url: str | None = None
    deadlines: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    check: bool = False         # the evidence is weak (a row that disappeared): to be checked

    @property
    def title(self) -> str:
        return self.title_en or self.title_zh or next(iter(self.titles.values()), "")

    def key(self) -> str:
        """Derived from the evidence, never from the clock or the record: the same document, step
        and date seen again (a re-check, a revision that changes nothing of these, a re-derivation
        from the whole log) gives the same key."""
        subject = self.identifier or self.url or fold_title(self.title)
        basis = canonical_json({"source": self.source_id, "subject": subject, "step": self.step, "date": self.date})
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()

    def proposal_id(self) -> str:
        return "p-" + self.key()[:12]


@dataclass(frozen=True, slots=True)
class Proposal:
    """A raised proposal: the draft, its id and key, the match and a suggested id for a new item."""

    id: str
    key: str
    draft: Draft
    match: Match
    suggested_id: str

    def payload(self) -> dict[str, Any]:
        d = self.draft
        return {
            "id": self.id, "key": self.key, "source": d.source_id, "origin": d.origin,
            "jurisdiction": d.jurisdiction, "issuer": d.issuer, "kind": d.kind, "step": d.step,
            "title_zh": d.title_zh, "title_en": d.title_en, "titles": dict(d.titles), "date": d.date or None,
            "precision": precision_of(d.date), "identifier": d.identifier or None, "url": d.url,
            "deadlines": dict(d.deadlines), "note": d.note, "check": d.check, "suggested_id": self.suggested_id,
            "evidence": d.evidence.as_json(), "match": self.match.as_json(),
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Proposal:
        draft = Draft(
            source_id=str(p.get("source") or ""), origin=str(p.get("origin") or ""),
            jurisdiction=str(p.get("jurisdiction") or "INTL"), step=str(p.get("step") or ""),
            evidence=Evidence.from_json(p.get("evidence") or {}), kind=p.get("kind"),
            issuer=str(p.get("issuer") or ""), title_zh=str(p.get("title_zh") or ""),
            title_en=str(p.get("title_en") or ""), titles=dict(p.get("titles") or {}), date=str(p.get("date") or ""),
            identifier=str(p.get("identifier") or ""), url=p.get("url"), deadlines=dict(p.get("deadlines") or {}),
            note=str(p.get("note") or ""), check=bool(p.get("check")),
        )
        return cls(str(p["id"]), str(p.get("key") or ""), draft, Match.from_json(p.get("match")),
                   str(p.get("suggested_id") or ""))


def propose(draft: Draft, match: Match, taken: Container[str] = frozenset()) -> Proposal:
    return Proposal(draft.proposal_id(), draft.key(), draft, match, suggest_id(draft, taken))


def idempotency_key(proposal_key: str) -> str:
    return f"proposal:{proposal_key}"


def fold_title(text: str) -> str:
    """A title compared loosely: NFKC, lower case, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def suggest_id(draft: Draft, taken: Container[str] = frozenset()) -> str:
    """A readable id for a new item: jurisdiction, then the first words of the English title
    (or the identifier), made unique against ``taken`` with the proposal key."""
    words = [w for w in _WORD_RE.findall(fold_title(draft.title_en)) if w not in _SLUG_STOP][:6]
    if not words:
        words = _WORD_RE.findall(fold_title(draft.identifier))[:4] or [draft.key()[:8]]
    base = "-".join([draft.jurisdiction.lower(), *words])[:120].strip("-")
    return base if base not in taken else f"{base}-{draft.key()[:6]}"


# -- validation of what an analyst gives, before anything is appended ---------------------------


def check_actor(actor: str | None) -> str:
    if not actor or not actor.strip():
        raise ValidationError("no analyst named: set TRACKER_ACTOR or pass --actor NAME")
    return check_name(actor, "analyst")


def check_name(name: str, what: str) -> str:
    text = name.strip()
    if not _NAME_RE.match(text):
        raise ValidationError(f"{what} {name!r} refused: 1 to {MAX_NAME} letters, digits, spaces and . @ + - _")
    return text


def check_text(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    if _CONTROL_RE.search(text):
        raise ValidationError(f"{what} refused: it contains a control character")
    value = text.strip()
    if not value:
        raise ValidationError(f"{what} refused: it is empty")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{what} refused: longer than {MAX_TEXT} characters")
    return value


def check_date(text: str | None, what: str = "date") -> str | None:
    if text is None:
        return None
    try:
        return parse_partial(text.strip()).text
    except ValueError as exc:
        raise ValidationError(f"{what} refused: {exc}") from None


def check_step(step: str | None) -> str | None:
    if step is not None and step not in STEPS:
        raise ValidationError(f"step {step!r} refused: use one of {', '.join(STEPS)}")
    return step


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind {kind!r} refused: use one of {', '.join(KINDS)}")
    return kind


def check_impact(impact: str) -> str:
    if impact not in IMPACTS:
        raise ValidationError(f"impact {impact!r} refused: use one of {', '.join(IMPACTS)}")
    return impact


def check_item_id(item_id: str, what: str) -> str:
    if not ITEM_ID_RE.match(item_id):
        raise ValidationError(f"{what} {item_id!r} refused: lower-case letters, digits and hyphens")
    return item_id


def check_proposal_id(proposal_id: str) -> str:
    if not PROPOSAL_ID_RE.match(proposal_id):
        raise ValidationError(f"proposal id {proposal_id!r} refused: it looks like p-0123456789ab "
                              "(see `tracker triage list`)")
    return proposal_id


def check_step_fits(step: str, kind: str) -> None:
    allowed = STEP_KINDS.get(step)
    if allowed is not None and kind not in allowed:
        raise ValidationError(
            f"step {step!r} does not fit an item of kind {kind!r} (it is for {', '.join(sorted(allowed))})"
        )
    if step not in STEP_KINDS and kind in ("program", "product") and step not in ("amended", "withdrawn", "renamed"):
        raise ValidationError(f"step {step!r} does not fit an item of kind {kind!r}")


# Registers whose fields are official: the only sources an auto-accept rule may be adopted for.
AUTO_ACCEPT_KINDS = frozenset({"federal-register", "fda-guidance", "ema-medicines", "ecfr"})


@dataclass(frozen=True, slots=True)
class Rule:
    """An auto-accept rule of one source, as adopted (position: its event's)."""

    source_id: str
    steps: frozenset[str]
    new_items: bool
    position: int

    def applies(self, proposal: Proposal) -> bool:
        """Accept this proposal without an analyst? Its step is one the rule names (any when it names
        none), it has a date, and it matched an item unless the rule also creates new items."""
        d = proposal.draft
        return (d.source_id == self.source_id and (not self.steps or d.step in self.steps) and bool(d.date)
                and not d.check and (self.new_items or proposal.match.item_id is not None))


def rule_actor(source_id: str) -> str:
    return f"rule:{source_id}"


def check_transition(state: str, decision: str) -> None:
    """Refuse a decision the proposal's state does not allow (accepted and rejected are final)."""
    if decision in (v.PROPOSAL_ASSIGNED, v.PROPOSAL_ASSESSED):
        return
    if state in FINAL_STATES:
        raise ValidationError(f"the proposal is already {state}: a decision on it is final")


def with_match(proposal: Proposal, match: Match) -> Proposal:
    return replace(proposal, match=match)


__all__ = [
    "AUTO_ACCEPT_KINDS",
    "Rule",
    "rule_actor",
    "Candidate",
    "Draft",
    "Evidence",
    "IMPACTS",
    "KINDS",
    "Match",
    "NO_MATCH",
    "PageRow",
    "Proposal",
    "STATES",
    "STEPS",
    "SourceInfo",
    "check_actor",
    "check_date",
    "check_impact",
    "check_item_id",
    "check_kind",
    "check_name",
    "check_proposal_id",
    "check_step",
    "check_step_fits",
    "check_text",
    "check_transition",
    "fold_title",
    "idempotency_key",
    "propose",
    "suggest_id",
]
