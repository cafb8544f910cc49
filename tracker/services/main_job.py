"""The main job: everything once, in the order data flows.

init -> seed the review's record -> check every source once -> digests -> changelogs -> verify.
Each step's outcome is kept in a RunReport, so the CLI can say what happened and where it went.
A source that cannot be reached is a recorded failure, not a reason to stop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.core import VerifyReport
from tracker.domain.subscriptions import validate_address
from tracker.services import auditing, changelog, checking, digesting, seeding, subscribing
from tracker.services.checking import CheckReport
from tracker.services.digesting import DigestRun
from tracker.services.recording import SourceOutcome

if TYPE_CHECKING:
    from tracker.app import App


@dataclass
class RunReport:
    database: str
    migration: tuple[str | None, str] = (None, "")
    seeded: seeding.SeedReport | None = None
    subscribed: list[str] = field(default_factory=list)
    not_subscribed: list[str] = field(default_factory=list)
    check: CheckReport | None = None
    digests: DigestRun | None = None
    changelogs: list[Path] = field(default_factory=list)
    verified: VerifyReport | None = None

    def failures_by_class(self) -> Counter[str]:
        if self.check is None:
            return Counter()
        return Counter(o.error_class or "unknown" for o in self.check.outcomes if o.error_class)


def ensure_subscribed(app: App, addresses: Sequence[str], cadence: str) -> tuple[list[str], list[str]]:
    """Subscribe each address to everything, unless it has or had a subscription or was forgotten:
    run never re-subscribes someone who unsubscribed. Returns (subscriptions made, notes on the rest)."""
    created: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    app.fresh(*subscribing.OWN_PROJECTIONS)
    for address in addresses:
        # Compared in the canonical form the subscribers table keeps (validate_address).
        canonical = validate_address(address)
        if canonical in seen:
            continue
        seen.add(canonical)
        reason = subscribing.run_may_subscribe(app, canonical)
        if reason is None:
            created.append(subscribing.subscribe(app, canonical, cadence=cadence, actor="run").id)
        elif reason != "already subscribed":
            notes.append(f"not subscribed again: {address.strip()} ({reason}; `tracker subscribe` does it explicitly)")
    return created, notes


def run_once(
    app: App,
    *,
    seed_paths: Sequence[Path] | None = None,
    subscribe: Sequence[str] = (),
    cadence: str = "weekly",
    check: bool = True,
    progress: Callable[[SourceOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunReport:
    report = RunReport(database=app.db.display_url)
    report.migration = app.init()
    report.seeded = seeding.seed(app.store, list(seed_paths or [seeding.default_seed_dir()]), actor="run")
    # Subscribing after seeding: a new subscription's first digest is its welcome (what it covers,
    # what is due), not the whole seeded record replayed as news.
    report.subscribed, report.not_subscribed = ensure_subscribed(app, subscribe, cadence)
    app.fresh()
    if check:
        report.check = checking.check_sources(app, all=True, progress=progress, on_start=on_start)
    app.fresh()
    report.digests = digesting.run_digests(app, send=True)
    report.changelogs = changelog.write_changelogs(app)
    report.verified = auditing.verify_store(app.store)
    return report
