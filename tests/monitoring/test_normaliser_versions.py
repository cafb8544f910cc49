"""A new normaliser (a library upgrade, our own HTML-to-text change) is not a change of every page:
the next check re-reads the last accepted body with the new code and compares with that."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
import sqlalchemy as sa

from tests.fetching.localserver import LocalServer
from tests.monitoring.conftest import Clock, add, html, types_of
from tracker.app import App
from tracker.domain import vocabulary as v
from tracker.fetching import versions
from tracker.fetching.normalise import NORMALISERS
from tracker.schema.operational import source_state, source_versions
from tracker.services.checking import check_sources


@pytest.fixture
def new_normaliser(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Swap the html normaliser for one whose text differs for the same page (as an lxml upgrade might)."""
    original = NORMALISERS["html"]

    def upgraded(body: bytes, headers: Mapping[str, str], select: str | None) -> str:
        return original(body, headers, select).replace(" ", "  ") + "\n(read by the new normaliser)"

    def swap(bump: bool) -> None:
        monkeypatch.setitem(NORMALISERS, "html", upgraded)
        if bump:
            monkeypatch.setitem(versions.REVISIONS, "html", versions.REVISIONS["html"] + 1)
        versions.normaliser_version.cache_clear()

    yield swap  # type: ignore[misc]
    versions.normaliser_version.cache_clear()


def _state(app: App, source_id: str) -> sa.Row:  # type: ignore[type-arg]
    with app.db.read() as conn:
        return conn.execute(sa.select(source_state).where(source_state.c.source_id == source_id)).one()


@pytest.mark.parametrize("bump", [True, False])
def test_a_new_normaliser_rebaselines_quietly(  # type: ignore[no-untyped-def]
    app: App, server: LocalServer, clock: Clock, new_normaliser, bump: bool
) -> None:
    page = {"body": "<p>Regenerative medicine products: 19 approved.</p>"}
    server.route("/page", lambda _s: html(page["body"]))
    add(app, "pmda", server.url("/page"))
    assert check_sources(app, ["pmda"]).by_source()["pmda"].outcome == "baselined"
    before = _state(app, "pmda")
    assert before.normaliser_version == versions.normaliser_version("html")

    new_normaliser(bump)
    page["body"] += "<!-- served by another build -->"     # new bytes, the same text: normalised again
    clock.advance(days=1)
    second = check_sources(app, ["pmda"]).by_source()["pmda"]
    if not bump:
        # The control: the same code change without a new version is reported as a change.
        assert second.outcome == "changed"
        return
    assert second.outcome == "unchanged"
    assert types_of(app, "pmda") == [v.SOURCE_REGISTERED, v.SOURCE_BASELINED]
    after = _state(app, "pmda")
    assert after.last_snapshot != before.last_snapshot
    assert after.normaliser_version == versions.normaliser_version("html") != before.normaliser_version
    assert after.content_hash != before.content_hash       # the hash the new code gives the same page

    page["body"] = "<p>Regenerative medicine products: 20 approved.</p>"
    clock.advance(days=1)
    assert check_sources(app, ["pmda"]).by_source()["pmda"].outcome == "changed"
    diff = list(app.store.read(stream="source/pmda"))[-1].payload["diff"]
    lines = diff.splitlines()
    assert "-Regenerative  medicine  products:  19  approved." in lines      # the old body read by the new code
    assert "+Regenerative  medicine  products:  20  approved." in lines
    assert "-Regenerative medicine products: 19 approved." not in lines      # not the old code's text
    with app.db.read() as conn:
        recorded = [r.normaliser_version for r in conn.execute(
            sa.select(source_versions.c.normaliser_version).where(source_versions.c.source_id == "pmda")
            .order_by(source_versions.c.id))]
    assert recorded == [before.normaliser_version, after.normaliser_version, after.normaliser_version]
