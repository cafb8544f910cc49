"""Sources needing attention under each subscription's filters: the selection's narrow read (a few index
columns per failing source, targets built only when a filter narrows, item kinds only when one asks for
kinds) counts exactly what matching every failing source's full target against the whole index counts."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.digests.conftest import register_record
from tracker.app import App
from tracker.core import NewEvent
from tracker.domain.subscriptions import Filters
from tracker.projections.digest_index import load_index
from tracker.rendering import FailureGroup
from tracker.schema.operational import source_state
from tracker.services import digesting, source_failures, subscribing
from tracker.services.entries import source_target

Source = tuple[str, str | None, list[str], list[str], str, str | None]
SOURCES: tuple[Source, ...] = (  # id, jurisdiction, items, tags, host, failure class (None: not failing)
    ("src-a", "CN", ["cn-ct-guideline"], ["notices"], "a.example.cn", "dns"),
    ("src-b", "JP", ["jp-rm-guidance"], [], "b.example.jp", "timeout"),
    ("src-c", "US", ["us-cures-act"], ["expedited"], "c.example.gov", "dns"),
    ("src-d", "EU", [], ["notices"], "d.example.eu", "blocked"),
    ("src-e", None, ["cn-ct-guideline", "us-cures-act"], [], "e.example.org", "timeout"),
    ("src-f", "CN", ["cn-ct-guideline"], [], "f.example.cn", None),
)
FILTERS = (
    Filters(),
    Filters(accepted_only=True),
    Filters(jurisdictions=frozenset({"CN", "US"})),
    Filters(kinds=frozenset({"law"})),
    Filters(kinds=frozenset({"guidance"}), jurisdictions=frozenset({"JP"})),
    Filters(tags=frozenset({"notices"})),
    Filters(items=frozenset({"cn-ct-guideline"})),
    Filters(items=frozenset({"src-d"})),
)


def _register_sources(app: App) -> None:
    app.store.append([
        NewEvent(f"source/{sid}", "SourceRegistered", {
            "id": sid, "url": f"https://{host}/notices", "kind": "html", "title": f"{sid} page", "items": items,
            "tags": tags, **({"jurisdiction": jurisdiction} if jurisdiction else {}),
        })
        for sid, jurisdiction, items, tags, host, _ in SOURCES
    ])


def _expected(app: App, filters: Filters) -> tuple[int, tuple[FailureGroup, ...]]:
    """Every failing source's target built in full from the whole index, then matched."""
    with app.db.read() as conn:
        index = load_index(conn)
        failing = conn.execute(sa.select(source_state.c.source_id, source_state.c.state,
                                         source_state.c.last_error_class)
                               .where(source_state.c.state.in_(("failing", "unreachable", "blocked")))).all()
    groups: dict[tuple[str, str], list[str]] = {}
    for sid, state, error_class in failing:
        info = index[f"source:{sid}"]
        if filters.matches(source_target(sid, info.jurisdiction or "INTL", info, index, machine=False)):
            groups.setdefault((error_class, state), []).append(urlsplit(info.url or "").hostname or "")
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return sum(len(hosts) for hosts in groups.values()), tuple(
        FailureGroup(cls, state, len(hosts), tuple(sorted(set(hosts)))) for (cls, state), hosts in ordered)


@pytest.mark.parametrize("welcome", [False, True], ids=["digest", "welcome"])
def test_attention_under_filters_equals_full_targets(app: App, welcome: bool) -> None:
    register_record(app)
    _register_sources(app)
    subs = [subscribing.subscribe(app, f"f{n}@example.org", jurisdictions=f.jurisdictions, kinds=f.kinds, tags=f.tags,
                                  items=f.items, accepted_only=f.accepted_only) for n, f in enumerate(FILTERS)]
    if not welcome:  # welcomes read the whole index; later digests only what the period names
        digesting.run_digests(app, send=False)
        digesting.send_pending(app)
    app.projector.catch_up()
    with app.db.write() as conn:
        conn.execute(source_state.update().where(source_state.c.source_id == sa.bindparam("key")), [
            {"key": sid, "state": "unreachable", "last_error_class": error_class}
            for sid, _, _, _, _, error_class in SOURCES if error_class])
        source_failures.rebuild(conn)  # what checking keeps beside the state rows it writes
    app.store.append([NewEvent("instrument/cn-ct-guideline", "InstrumentPublished",
                               {"id": "cn-ct-guideline", "step": "published", "date": "2025-09-28"},
                               valid_from="2025-09-28")])

    chosen = digesting.select(app)
    assert [c.id for c in chosen.subs] == [s.id for s in subs] and all(c.new == welcome for c in chosen.subs)
    counts = []
    for candidate in chosen.subs:
        found = chosen.context.attention(candidate.filters)
        assert found == _expected(app, candidate.filters), candidate.filters
        counts.append(found[0])
    # Every facet narrows somewhere, so a target missing one would show here.
    assert counts == [5, 5, 2, 2, 1, 2, 2, 1]
