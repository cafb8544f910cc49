"""A subscriber's token page and RFC 8058 one-click unsubscribe.

``POST /unsubscribe/{token}`` with the body ``List-Unsubscribe=One-Click`` unsubscribes, without
cookie or login (a mail client sends it). ``GET`` on the same URL only shows the subscription and
the forms: mail scanners fetch links, so a GET never changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain import choices
from tracker.domain import vocabulary as v
from tracker.domain.subscriptions import CADENCES
from tracker.errors import ValidationError
from tracker.services import subscriber_page
from tracker.services.subscribing import SubscriptionInfo
from tracker.web.handling import Call, Page
from tracker.web.state import Web

ONE_CLICK = ("List-Unsubscribe", "One-Click")


def masked_address(address: str | None) -> str:
    if not address:
        return "(address erased)"
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    token: str
    info: SubscriptionInfo
    address: str
    jurisdictions: tuple[str, ...]
    kinds: tuple[str, ...]
    cadences: tuple[str, ...]
    done: str = ""  # what just happened: "unsubscribed", "already", "changed"


def _view(token: str, info: SubscriptionInfo, done: str = "") -> SubscriptionView:
    return SubscriptionView(token, info, masked_address(info.address), v.JURISDICTIONS, v.ITEM_KINDS,
                            tuple(CADENCES), done)


def _json(view: SubscriptionView) -> dict[str, object]:
    info = view.info
    return {"subscription": info.id, "name": info.name, "status": info.status, "cadence": info.cadence,
            "filters": info.filters.as_payload(), "address": view.address, "done": view.done or None}


def is_one_click(form: dict[str, str] | object) -> bool:
    return isinstance(form, dict) and form.get(ONE_CLICK[0]) == ONE_CLICK[1]


def show(web: Web, call: Call) -> Page:
    token = call.path["token"]
    done = "changed" if call.param("done") == "changed" else ""
    view = _view(token, subscriber_page.show(web.app, token), done)
    return Page("subscription.html", "Your subscription", view, _json(view))


def one_click(web: Web, call: Call) -> Page:
    token = call.path["token"]
    if call.form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
        raise ValidationError("an unsubscribe request carries List-Unsubscribe=One-Click (RFC 8058)")
    cancelled = subscriber_page.unsubscribe(web.app, token, actor="web:one-click")
    view = _view(token, subscriber_page.show(web.app, token), "unsubscribed" if cancelled else "already")
    return Page("subscription.html", "Unsubscribed", view, _json(view))


def change_filters(web: Web, call: Call) -> Page:
    token = call.path["token"]
    jurisdictions = [j for j in call.form.get("jurisdiction", "").split(",") if j]
    kinds = [k for k in call.form.get("kind", "").split(",") if k]
    cadence = call.form.get("cadence", "")
    if cadence not in CADENCES:
        raise ValidationError(f"cadence: {cadence!r} is not one of {', '.join(CADENCES)}")
    choices.jurisdictions(jurisdictions, "jurisdiction")
    choices.kinds(kinds, "kind")
    info, new_token = subscriber_page.change_filters(web.app, token, jurisdictions=jurisdictions, kinds=kinds,
                                                     cadence=cadence, actor="web:subscriber")
    view = _view(new_token, info, "changed")
    return Page(
        "subscription.html", "Your subscription", view, _json(view), redirect=f"/unsubscribe/{new_token}?done=changed"
    )
