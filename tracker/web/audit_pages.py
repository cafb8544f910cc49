"""Upcoming dates (with the .ics calendar and the Atom feed) and the audit page (head, verification,
the hash-chain definition, a witness check)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from tracker.core import canonical
from tracker.core.events import format_time
from tracker.domain import choices
from tracker.errors import IntegrityError, TrackerError, ValidationError
from tracker.services import auditing, calendar_export, changelog, checkpoints, deadlines, witness
from tracker.services.deadlines import Deadline
from tracker.web.handling import Call, Page
from tracker.web.state import Verified, Web
from tracker.web.views import world

MAX_DAYS = 3650
MAX_WITNESS_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class UpcomingView:
    days: int
    jurisdiction: str
    deadlines: tuple[Deadline, ...]

    @staticmethod
    def world(deadline: Deadline) -> str:
        return world(deadline.date)


def _days(call: Call) -> int:
    text = call.param("days") or "90"
    if not text.isdigit() or not 0 <= int(text) <= MAX_DAYS:
        raise ValidationError(f"days: {text!r} is not a number of days from 0 to {MAX_DAYS}")
    return int(text)


def upcoming(web: Web, call: Call) -> Page:
    days = _days(call)
    wanted = (
        choices.jurisdictions([call.param("jurisdiction") or ""], "jurisdiction") if call.param("jurisdiction") else ()
    )
    web.app.fresh("record", "register_entries")
    found = deadlines.collect(web.app.store, days=days, jurisdictions=wanted)
    view = UpcomingView(days, wanted[0] if wanted else "", tuple(found))
    return Page("upcoming.html", "Upcoming 即将到期", view, {"days": days, "upcoming": [d.as_json() for d in found]})


def calendar(web: Web, call: Call) -> bytes:
    wanted = [call.param("jurisdiction") or ""] if call.param("jurisdiction") else []
    data, _ = calendar_export.render(web.app, jurisdictions=wanted)
    return data


def atom(web: Web, call: Call) -> bytes:
    wanted = [call.param("jurisdiction") or ""] if call.param("jurisdiction") else []
    return changelog.render(web.app, "atom", jurisdictions=wanted).encode()


@dataclass(frozen=True, slots=True)
class AuditView:
    head_position: int
    head_hash: str
    head_recorded_at: str
    checkpoint: str  # the latest signed checkpoint note ("" when none is kept)
    verified: Verified | None
    definition: str = ""
    witness_text: str = ""
    witness_ok: bool | None = None
    witness_message: str = ""


def verify_now(web: Web) -> Verified:
    store = web.app.store
    at = format_time(web.app.clock())
    try:
        report = auditing.verify_recorded(store, by="web", at=at)
        result = Verified(at, True, report.head_position, report.count)
    except IntegrityError as exc:
        result = Verified(at, False, store.head().position, 0, str(exc), exc.position)
    web.remember_verify(result)
    return result


def _view(web: Web, **witness_fields: object) -> AuditView:
    head = web.app.store.head()
    kept = checkpoints.latest_checkpoint(web.app.db)
    return AuditView(head.position, head.hash, head.recorded_at or "", kept.note if kept else "", web.verified,
                     inspect.cleandoc(canonical.__doc__ or ""), **witness_fields)  # type: ignore[arg-type]


def _json(view: AuditView) -> dict[str, object]:
    verified = view.verified
    return {
        "head": {"position": view.head_position, "hash": view.head_hash, "recorded_at": view.head_recorded_at},
        "checkpoint": view.checkpoint or None,
        "verified": None if verified is None else {
            "at": verified.at, "ok": verified.ok, "head_position": verified.head_position, "count": verified.count,
            "problem": verified.problem or None, "bad_position": verified.bad_position},
        "witness": None if view.witness_ok is None else {"ok": view.witness_ok, "message": view.witness_message},
    }


def audit(web: Web, call: Call) -> Page:
    """The head and the chain verified up to it (again only when the head moved since)."""
    with web.verifying:
        if web.verified is None or web.verified.head_position != web.app.store.head().position:
            verify_now(web)
    view = _view(web)
    return Page("audit.html", "Audit 审计", view, _json(view))


def check_witness(web: Web, call: Call) -> Page:
    text = call.form.get("witness", "")
    if not text.strip():
        raise ValidationError("paste the line \"Log head: position N, hash H\" of a digest, feed or changelog")
    if len(text) > MAX_WITNESS_CHARS:
        raise ValidationError(f"paste the witness line only (at most {MAX_WITNESS_CHARS} characters)")
    try:
        report = witness.verify_witness_text(web.app.store, text)
        ok, message = True, (f"position {report.position} still holds hash {report.hash}: the log has not been "
                             f"rewritten since (verified up to position {report.log_head_position})")
    except IntegrityError as exc:
        ok, message = False, str(exc)
    except TrackerError as exc:
        raise ValidationError(str(exc)) from None
    view = _view(web, witness_text=text, witness_ok=ok, witness_message=message)
    return Page("audit.html", "Audit 审计", view, _json(view), status=200 if ok else 409)
