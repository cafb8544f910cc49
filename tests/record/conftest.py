"""Fixtures of the regulatory record tests: a store with a clock the test moves, seed paths."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracker.core import Database, EventStore, Projector
from tracker.domain.upcasters import build_upcaster
from tracker.projections.record import RecordProjection

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "seeds" / "fixture"
BAD = ROOT / "tests" / "data" / "seeds" / "bad"
REAL_SEEDS = ROOT / "seeds"


@dataclass
class Clock:
    """A clock the test sets; the store stamps recorded_at with it."""

    now: datetime = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cstore(db: Database, clock: Clock) -> EventStore:
    return EventStore(db, clock=clock, upcaster=build_upcaster())


@pytest.fixture
def projector(cstore: EventStore) -> Projector:
    return Projector(cstore, [RecordProjection()])
