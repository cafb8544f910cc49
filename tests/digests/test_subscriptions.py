"""Subscriptions are events; addresses are not, and `forget` erases them while the chain verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.digests.conftest import record_changes, register_record
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain.subscriptions import Filters, Target, validate_address
from tracker.errors import NotFoundError, ValidationError
from tracker.schema.operational import subscribers
from tracker.services import auditing, digesting, subscribing
from tracker.services.witness import verify_witness

INJECTIONS = [
    "victim@example.org\r\nBcc: everyone@example.org",
    "victim@example.org\nSubject: spam",
    "victim@example.org\r",
    "victim@example.org%0d%0aBcc:x@example.org",
    "a@example.org, b@example.org",
    "Name <a@example.org>",
    "a@example.org\x00",
    "a b@example.org",
    "@example.org",
    "a@",
    "a@localhost",
    "a@@example.org",
    "a@exa mple.org",
    '"quoted"@example.org',
    "",
]


@pytest.mark.parametrize("address", INJECTIONS)
def test_malformed_and_header_injection_addresses_are_refused_and_nothing_is_written(app: App, address: str) -> None:
    before = app.store.count()
    with pytest.raises(ValidationError, match="refused"):
        subscribing.subscribe(app, address)
    assert app.store.count() == before
    with app.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscribers)).scalar() == 0


def test_line_breaks_are_named_as_header_injection() -> None:
    with pytest.raises(ValidationError, match="header injection"):
        validate_address("a@example.org\r\nBcc: b@example.org")
    assert validate_address(" Ops.Team+cgt@Example.ORG ") == "Ops.Team+cgt@example.org"
    assert validate_address("qa@例え.jp") == "qa@xn--r8jz45g.jp"


def test_filters_and_across_dimensions_or_within() -> None:
    cn_guidance = Target("CN", frozenset({"guidance"}), frozenset({"cell-therapy"}), frozenset({"cn-a"}))
    assert Filters().matches(cn_guidance)
    assert Filters.build(["cn", "JP"]).matches(cn_guidance)
    assert not Filters.build(["US"]).matches(cn_guidance)
    assert not Filters.build(["CN"], ["law"]).matches(cn_guidance)
    assert Filters.build(tags=["car-t", "cell-therapy"]).matches(cn_guidance)
    assert not Filters.build(items=["cn-b"]).matches(cn_guidance)
    with pytest.raises(ValidationError, match="unknown jurisdiction"):
        Filters.build(["XX"])
    with pytest.raises(ValidationError, match="unknown kind"):
        Filters.build(kinds=["memo"])


def test_subscribe_list_unsubscribe_are_events_with_an_opaque_subscriber(app: App) -> None:
    register_record(app)  # a tag filter names a topic the record knows
    a = subscribing.subscribe(app, "qa@example.org", jurisdictions=["CN"], kinds=["guidance"], cadence="daily",
                              name="中国指南")
    b = subscribing.subscribe(app, "QA@EXAMPLE.org".replace("QA", "qa"), tags=["cell-therapy"])
    assert a.subscriber_id == b.subscriber_id and a.id != b.id
    events = [e for e in app.store.read() if e.type.startswith("Subscription")]
    assert [e.type for e in events] == ["SubscriptionCreated", "SubscriptionCreated"]
    # The name is personal data (an address may be typed into --name): kept sealed, not in the chain.
    assert events[0].payload == {"id": a.id, "subscriber": a.subscriber_id, "cadence": "daily",
                                 "filters": {"jurisdictions": ["CN"], "kinds": ["guidance"], "tags": [], "items": []}}
    logged = repr([e.as_dict() for e in app.store.read()])
    assert "qa@example.org" not in logged and "中国指南" not in logged
    assert [(s.id, s.name) for s in subscribing.list_subscriptions(app)][0] == (a.id, "中国指南")
    assert [s.id for s in subscribing.list_subscriptions(app)] == [a.id, b.id]

    assert subscribing.unsubscribe(app, a.id) == [a.id]
    assert subscribing.unsubscribe(app, a.id) == []  # already cancelled: nothing written
    assert [s.status for s in subscribing.list_subscriptions(app)] == ["cancelled", "active"]
    assert subscribing.unsubscribe(app, "qa@example.org") == [b.id]
    with pytest.raises(NotFoundError):
        subscribing.unsubscribe(app, "sub-000000000000")


def test_forget_erases_the_address_everywhere_and_the_chain_still_verifies(app: App) -> None:
    register_record(app)
    info = subscribing.subscribe(app, "forget-me@example.org")
    record_changes(app)
    run = digesting.run_digests(app)  # no SMTP configured: the digest goes to <home>/outbox as .eml
    (where,) = [w for _, _, w in run.report.sent]  # type: ignore[union-attr]
    eml = Path(where).read_bytes()
    assert b"forget-me@example.org" in eml
    witness_copy = app.settings.home / "kept-by-recipient.eml"
    witness_copy.write_bytes(eml)

    assert subscribing.forget(app, "forget-me@example.org").subscriber_id == info.subscriber_id
    forgotten = list(app.store.read(types=["SubscriberForgotten"]))
    assert [e.payload for e in forgotten] == [{"subscriber": info.subscriber_id}]
    with app.db.read() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()
            assert "forget-me@example.org" not in repr(rows), table
    assert not any(app.settings.home.joinpath("outbox").glob("*.eml"))
    assert [s.status for s in subscribing.list_subscriptions(app)] == ["cancelled"]
    assert auditing.verify_store(app.store).count == app.store.count()
    assert verify_witness(app.store, witness_copy).position == run.prepared[0].positions[1]
    with pytest.raises(NotFoundError):
        subscribing.forget(app, "forget-me@example.org")


def test_digest_projections_rebuilt_from_zero_equal_the_incremental_result(app: App) -> None:
    register_record(app)
    subscribing.subscribe(app, "qa@example.org", jurisdictions=["CN"])
    record_changes(app)
    app.store.append(
        [
            NewEvent(
                "source/src-cn-nmpa",
                "SourceUnreachable",
                {"id": "src-cn-nmpa", "error_class": "timeout", "error": "read timed out", "failures": 3},
            )
        ]
    )
    subscribing.unsubscribe(app, "qa@example.org")
    names = ["subscriptions", "digest_index"]
    app.projector.catch_up(only=names)

    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        with app.db.read() as conn:
            return {t: sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}")))
                    for t in ("subscriptions", "digest_index", "digest_effective")}

    before = snapshot()
    assert before["subscriptions"] and any("unreachable" in row for row in before["digest_index"])
    app.projector.rebuild(only=names)
    assert snapshot() == before


def test_changing_filters_keeps_the_token_and_goes_on_from_the_last_digest(app: App) -> None:
    """The subscriber page's filter change: digest links already sent keep working, no second welcome."""
    from tracker.services import digesting, subscriber_page

    register_record(app)
    old = subscribing.subscribe(app, "qa@example.org", jurisdictions=["CN"])
    digesting.run_digests(app, send=False)  # the welcome, sent
    digesting.send_pending(app)
    token = subscriber_page.token_of(app, old.id)
    new, new_token = subscriber_page.change_filters(app, token, jurisdictions=["CN", "JP"], kinds=[], cadence="weekly",
                                                    actor="web:subscriber")
    assert new.id != old.id and new_token == token
    assert subscriber_page.subscription_id_for(app, token) == new.id
    chosen = digesting.select(app)
    (candidate,) = [s for s in chosen.subs if s.id == new.id]
    assert not candidate.new  # its next digest goes on from the welcome; it is not a second welcome
