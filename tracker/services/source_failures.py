"""The sources failing now, as digests count them: kept beside source_state as checking writes it.

A digest lists the sources needing attention as one line per failure class (and state), with a
count and the hosts. Read from source_state, that was every failing row of a scan of all sources
(1,000 of 10,000 in bench_formats: 2.5 ms of a 14 ms digest, its largest part). `source_failures`
holds one row per failing source (state, failure class, host), written in the transaction that
writes its state row (services/recording.py), so a digest to everything reads it grouped: a few
dozen rows. A digest whose filters narrow reads its rows joined with the digest index.

`rebuild` writes it from source_state afresh (migration 0031, and whoever writes source_state by
hand, as benchmarks and tests do); it equals what checking kept (tests/digests/test_source_failures.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.schema.operational import source_failures, source_state
from tracker.schema.read_models import sources

FAILING_STATES = ("failing", "unreachable", "blocked")

Group = tuple[str, str, str, int]  # state, failure class, host, how many sources


@lru_cache(maxsize=4096)
def _hostname(prefix: str) -> str:
    return urlsplit(prefix).hostname or ""


def host_of(url: str) -> str:
    """urlsplit(url).hostname or "", asked once per scheme and host: a host is all of a URL up to the
    slash that ends its authority (a "?" or "#" before it is still cut off by urlsplit)."""
    return _hostname("/".join(url.split("/", 3)[:3]))


def failure_class(state: str, error_class: str | None) -> str:
    """The class a failure line counts a source under ("" when none was recorded)."""
    return error_class or ("blocked" if state == "blocked" else "")


def _row(source_id: str, state: str, error_class: str | None, url: str | None) -> dict[str, str]:
    return {"source_id": source_id, "state": state, "error_class": failure_class(state, error_class),
            "host": host_of(url or "")}


def track(
    conn: Connection, before: Mapping[str, Any], after: Sequence[Mapping[str, Any]], urls: Mapping[str, str],
) -> None:
    """Follow the state rows a check batch just wrote (``after``: key_id, state, last_error_class,
    in the order written) from what they were (``before``: source id -> a row with .state).

    Only sources failing before or after are touched: a batch of sources that stay well writes nothing."""
    final = {row["key_id"]: row for row in after}
    touched = [sid for sid, row in final.items()
               if row["state"] in FAILING_STATES or getattr(before.get(sid), "state", None) in FAILING_STATES]
    if not touched:
        return
    for start in range(0, len(touched), 500):
        conn.execute(source_failures.delete().where(source_failures.c.source_id.in_(touched[start:start + 500])))
    failing = [_row(sid, final[sid]["state"], final[sid]["last_error_class"], urls.get(sid))
               for sid in touched if final[sid]["state"] in FAILING_STATES]
    if failing:
        conn.execute(source_failures.insert(), failing)


def rebuild(conn: Connection) -> None:
    """source_failures from source_state as it is, each host from the source's URL now."""
    conn.execute(source_failures.delete())
    rows = [_row(*row) for row in conn.execute(
        sa.select(source_state.c.source_id, source_state.c.state, source_state.c.last_error_class, sources.c.url)
        .select_from(source_state.outerjoin(sources, sources.c.id == source_state.c.source_id))
        .where(source_state.c.state.in_(FAILING_STATES))
    )]
    if rows:
        conn.execute(source_failures.insert(), rows)


def _groups_query() -> sa.Select[Any]:
    f = source_failures.c
    return sa.select(f.state, f.error_class, f.host, sa.func.count()).group_by(f.state, f.error_class, f.host)


_GROUPS = _groups_query()  # built once: SQLAlchemy makes a statement's cache key once per statement object


def groups(conn: Connection) -> list[Group]:
    """The failing sources counted by (state, failure class, host)."""
    return [(state, error_class, host, int(n)) for state, error_class, host, n in conn.execute(_GROUPS)]


def count_groups(rows: Iterable[tuple[str, str, str]]) -> list[Group]:
    """(state, failure class, host) of each failing source, counted as ``groups`` counts them."""
    counted: dict[tuple[str, str, str], int] = {}
    for key in rows:
        counted[key] = counted.get(key, 0) + 1
    return [(*key, n) for key, n in counted.items()]


__all__ = ["FAILING_STATES", "count_groups", "failure_class", "groups", "host_of", "rebuild", "track"]
