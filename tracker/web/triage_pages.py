"""The triage queue: proposals with their evidence and match, and the analyst's decisions as forms
calling the same services as `tracker triage` (the signed-in analyst is the event's actor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tracker.domain import choices
from tracker.domain import proposals as dp
from tracker.errors import ValidationError
from tracker.services import triage
from tracker.services.triage import DecisionResult, ProposalSummary, ProposalView
from tracker.web.handling import Call, Page
from tracker.web.state import Web
from tracker.web.views import world


@dataclass(frozen=True, slots=True)
class QueueView:
    rows: tuple[ProposalSummary, ...]
    state: str
    jurisdiction: str
    assignee: str
    states: tuple[str, ...] = dp.STATES

    @staticmethod
    def world(row: ProposalSummary) -> str:
        return world(row.date)


@dataclass(frozen=True, slots=True)
class ProposalPage:
    view: ProposalView
    world: str
    steps: tuple[str, ...] = dp.STEPS
    kinds: tuple[str, ...] = dp.KINDS
    impacts: tuple[str, ...] = dp.IMPACTS

    @property
    def open(self) -> bool:
        return self.view.summary.state not in dp.FINAL_STATES


def queue(web: Web, call: Call) -> Page:
    state = call.param("state")
    if state is not None and state not in dp.STATES:
        raise ValidationError(f"state: {state!r} is not one of {', '.join(dp.STATES)}")
    jurisdiction = choices.jurisdictions([call.param("jurisdiction") or ""], "jurisdiction")[0] \
        if call.param("jurisdiction") else None
    assignee = call.param("assignee")
    rows = triage.list_proposals(web.app, state=state, jurisdiction=jurisdiction, assignee=assignee)
    view = QueueView(tuple(rows), state or "", jurisdiction or "", assignee or "")
    return Page("triage.html", "Triage 分拣", view, {"proposals": [row.as_json() for row in rows]})


def proposal(web: Web, call: Call) -> Page:
    shown = triage.show_proposal(web.app, call.path["proposal_id"])
    return Page("proposal.html", f"Proposal {shown.summary.id}", ProposalPage(shown, world(shown.summary.date)),
                shown.as_json())


def _opt(call: Call, name: str) -> str | None:
    value = call.form.get(name, "").strip()
    return value or None


def _accept(web: Web, call: Call, actor: str, proposal_id: str) -> DecisionResult:
    return triage.accept(web.app, proposal_id, actor=actor, item=_opt(call, "item"), new=_opt(call, "new"),
                         step=_opt(call, "step"), date=_opt(call, "date"), title_zh=_opt(call, "title_zh"),
                         title_en=_opt(call, "title_en"), kind=_opt(call, "kind"), note=_opt(call, "note"))


def _reject(web: Web, call: Call, actor: str, proposal_id: str) -> DecisionResult:
    return triage.reject(web.app, proposal_id, actor=actor, reason=call.form.get("reason", ""))


def _defer(web: Web, call: Call, actor: str, proposal_id: str) -> DecisionResult:
    until = _opt(call, "until")
    if until is None:
        raise ValidationError("until: give the day to look at it again (YYYY-MM-DD)")
    return triage.defer(web.app, proposal_id, actor=actor, until=until)


def _assign(web: Web, call: Call, actor: str, proposal_id: str) -> DecisionResult:
    return triage.assign(web.app, proposal_id, actor=actor, to=call.form.get("to", ""))


def _assess(web: Web, call: Call, actor: str, proposal_id: str) -> DecisionResult:
    products = [p for p in call.form.get("products", "").replace(" ", ",").split(",") if p]
    return triage.assess(web.app, proposal_id, actor=actor, impact=call.form.get("impact", ""), products=products,
                         due=_opt(call, "due"), note=_opt(call, "note"))


ACTIONS: dict[str, Callable[[Web, Call, str, str], DecisionResult]] = {
    "accept": _accept, "reject": _reject, "defer": _defer, "assign": _assign, "assess": _assess,
}


def decide(web: Web, call: Call) -> Page:
    action = call.path["action"]
    if action not in ACTIONS:
        raise ValidationError(f"{action!r} is not a decision ({', '.join(ACTIONS)})")
    assert call.who.name is not None  # the route requires an identified analyst
    proposal_id = call.path["proposal_id"]
    result = ACTIONS[action](web, call, call.who.name, proposal_id)
    return Page("proposal.html", f"Proposal {proposal_id}", None, result.as_json(),
                redirect=f"/triage/{proposal_id}?done={action}")
