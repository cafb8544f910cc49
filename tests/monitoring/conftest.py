"""Fixtures of the monitoring tests: an App on each backend and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fetching.localserver import Reply
from tracker import migrate
from tracker.app import App
from tracker.core import NewEvent, RecordedEvent
from tracker.domain import vocabulary as v
from tracker.domain.sources import Source
from tracker.services import sources_admin
from tracker.settings import load_settings

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_settings(db_url: str, **overrides: Any) -> Any:
    base = dict(
        database__url=db_url, fetch__allow_hosts="127.0.0.1", fetch__host_delay=0.0, fetch__retries=0,
        fetch__connect_timeout=1.0, fetch__read_timeout=1.0, fetch__contact="tests@localhost",
    )
    base.update(overrides)
    return load_settings(environ={}).with_overrides(**base)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db_url: str, clock: Clock) -> Iterator[App]:
    application = App(make_settings(db_url), clock=clock)
    migrate.upgrade(application.db)
    yield application
    application.close()


def html(body: str, charset: str = "utf-8") -> Reply:
    return Reply(200, {"Content-Type": f"text/html; charset={charset}"},
                 f"<html><body><main>{body}</main></body></html>".encode(charset))


def add(app: App, source_id: str, url: str, **fields: Any) -> Source:
    return sources_admin.add_source(app, url, source_id=source_id, **fields)


def events_of(app: App, source_id: str) -> list[RecordedEvent]:
    return list(app.store.read(stream=v.source_stream(source_id)))


def types_of(app: App, source_id: str) -> list[str]:
    return [e.type for e in events_of(app, source_id)]


Route = Callable[..., Reply]

__all__ = ["Clock", "NewEvent", "add", "events_of", "html", "make_settings", "types_of"]
