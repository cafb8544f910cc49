"""Digests show open proposals as "awaiting triage" (with evidence and link, filtered like the rest),
and an accepted proposal as the regulatory change it is, among status changes and documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.digests.conftest import make_app
from tests.triage.conftest import add, add_record, record_entries
from tests.triage.test_decisions import FR, POTENCY, PRORULE
from tracker import migrate
from tracker.app import App
from tracker.core import Database
from tracker.services import digesting, proposing, subscribing, triage


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    application = make_app(db_url, tmp_path / "home")
    add_record(application)
    yield application
    application.close()


def test_awaiting_triage_then_accepted(app: App) -> None:
    us_id = subscribing.subscribe(app, "us@example.org", jurisdictions=["US"]).id
    cn_id = subscribing.subscribe(app, "cn@example.org", jurisdictions=["CN"]).id
    digesting.run_digests(app, send=False)          # the welcomes
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY, PRORULE)
    proposing.raise_proposals(app)
    [potency] = [p for p in triage.list_proposals(app) if p.match == "us-potency-guidance"]

    rendered, _ = digesting.render_digests(app)
    us = next(d for d in rendered if d.subscription_id == us_id)
    assert all("Awaiting triage" not in d.text for d in rendered if d.subscription_id == cn_id)
    waiting = us.text.split("== Awaiting triage")[1].split("\n== ")[0]
    assert "2023-12-28 drafted [US] Potency Assurance for Cellular and Gene Therapy Products" in waiting
    assert (
        f"a step of us-potency-guidance; seen on fr #{potency.evidence_position}; tracker triage show {potency.id}"
        in waiting
    )
    assert "https://www.federalregister.gov/d/2023-28295" in waiting
    assert "Awaiting triage" in us.html

    triage.accept(app, potency.id, actor="alice")
    rendered, _ = digesting.render_digests(app)
    us = next(d for d in rendered if d.subscription_id == us_id)
    actions = us.text.split("== Status changes and official documents ==")[1].split("\n== ")[0]
    assert "Potency Assurance for Cellular and Gene Therapy Products" in actions
    assert "draft for comment: 2023-12-28" in actions
    assert potency.id not in us.text.split("== Awaiting triage")[1].split("\n== ")[0]


def test_a_subscriber_can_ask_for_accepted_changes_only(app: App) -> None:
    only = subscribing.subscribe(app, "record@example.org", jurisdictions=["US"], accepted_only=True)
    assert "accepted changes only" in only.filters.describe()
    digesting.run_digests(app, send=False)
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY, PRORULE)
    proposing.raise_proposals(app)
    rendered, _ = digesting.render_digests(app)
    assert all("Awaiting triage" not in d.text and "2023-28295" not in d.text for d in rendered
               if d.subscription_id == only.id)
    [potency] = [p for p in triage.list_proposals(app) if p.match == "us-potency-guidance"]
    triage.accept(app, potency.id, actor="alice")
    rendered, _ = digesting.render_digests(app)
    [mine] = [d for d in rendered if d.subscription_id == only.id]
    assert "draft for comment: 2023-12-28" in mine.text and "Awaiting triage" not in mine.text
    assert "Current Good Tissue Practice" not in mine.text       # a register entry, not in the record


def test_accepted_changes_only_leaves_out_register_entries_when_no_filter_of_the_run_narrows(app: App) -> None:
    """No subscription narrows, so the period's events are matched without their targets built:
    accepted_only must still refuse what the tracker alone saw."""
    everything = subscribing.subscribe(app, "all@example.org")
    only = subscribing.subscribe(app, "record@example.org", accepted_only=True)
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY, PRORULE)
    texts = {d.subscription_id: d.text for d in digesting.render_digests(app)[0]}
    assert "2023-28295" in texts[everything.id] and "2023-28295" not in texts[only.id]


def test_changelogs_list_open_proposals_apart_from_the_record_until_accepted(app: App) -> None:
    from tracker.services import changelog

    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY, PRORULE)
    proposing.raise_proposals(app)
    [potency] = [p for p in triage.list_proposals(app) if p.match == "us-potency-guidance"]
    md = changelog.render(app, "md")
    waiting = md.split("## Awaiting triage")[1].split("\n## ")[0]
    assert "2023-12-28 drafted [US] Potency Assurance for Cellular and Gene Therapy Products" in waiting
    assert f"a step of `us-potency-guidance`; seen on fr #{potency.evidence_position}; `{potency.id}`" in waiting
    assert "## Awaiting triage" not in changelog.render(app, "md", jurisdictions=["CN"])
    assert 'id="awaiting"' in changelog.render(app, "html") and potency.id in changelog.render(app, "html")
    triage.accept(app, potency.id, actor="alice")
    after = changelog.render(app, "md")
    assert potency.id not in after.split("## [")[0]  # no longer awaiting ...
    accepted = after.split("## [2023-12-28]")[1].split("\n## ")[0]  # ... but in the record, on its official date
    assert "draft for comment" in accepted and "Potency Assurance" in accepted
