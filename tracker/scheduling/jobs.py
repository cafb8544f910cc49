"""What the scheduler runs. Each job takes plain values, calls services, and leaves one log line.

- tick: claim due sources in batches and check them (one job for all sources, however many).
- digests(cadence): prepare and send the digests of one cadence for the current period, once
  across all processes and restarts (a completed lease per period records that it ran).
- outbox: retry digests left prepared or failed (an SMTP server that was down).
- housekeeping: retention of heartbeats and finished run records.
- checkpoint: sign the tree head when the log grew (schedule.checkpoint_every seconds).

Jobs stop between batches when the service is stopping; what a job abandons is safe to abandon
(a claim runs out, a check is one transaction per source, a digest is prepared before it is sent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from tracker.app import App
from tracker.core.events import format_time
from tracker.errors import TrackerError
from tracker.scheduling.calendar import CADENCES, Schedule, period_key
from tracker.scheduling.logs import job_line
from tracker.services import checking, checkpoints, claims, digest_queue, digesting, heartbeat, personal
from tracker.services.heartbeat import ProcessIdentity
from tracker.services.subscribing import OWN_PROJECTIONS

ACTOR = "scheduler"
CHECKPOINT_LEASE = "checkpoint:sign"


class Jobs:
    """The jobs of one `tracker serve` process, bound to its app, identity and stop flag."""

    def __init__(self, app: App, schedule: Schedule, me: ProcessIdentity, stopping: threading.Event,
                 logger: logging.Logger) -> None:
        self.app = app
        self.schedule = schedule
        self.me = me
        self.stopping = stopping
        self.log = logger
        # Leases keep processes apart; these keep this process's own jobs apart (the cron digest and
        # the catch-up, or two senders, share one holder name and would each "renew" the lease).
        self._digest_lock = threading.Lock()
        self._send_lock = threading.Lock()

    @property
    def holder(self) -> str:
        return self.me.process_id

    def run(self, name: str, job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one job and log its line; a failure is logged, never raised into the scheduler."""
        started = time.monotonic()
        try:
            counts = job()
        except TrackerError as exc:
            job_line(self.log, name, started, {}, status="failed", error=str(exc))
            return {"failed": 1}
        except Exception as exc:  # the scheduler must outlive one bad run; the traceback is logged
            self.log.debug("job %s crashed", name, exc_info=True)
            job_line(self.log, name, started, {}, status="failed", error=f"{type(exc).__name__}: {exc}")
            return {"failed": 1}
        status = str(counts.pop("status", "ok"))
        job_line(self.log, name, started, counts, status=status)
        return counts

    # -- sources -------------------------------------------------------------------------------
    def tick(self) -> dict[str, Any]:
        """Claim due sources batch by batch and check them, until none is due or we are stopping."""
        app, db = self.app, self.app.db
        app.fresh("sources")  # sources registered since the last tick are due at once
        counts: Counter[str] = Counter()
        seen: set[str] = set()
        while not self.stopping.is_set():
            batch = claims.claim_due_batch(
                db, self.holder, app.clock(), self.schedule.lease_seconds, self.schedule.batch
            )
            claimed = batch.ids
            fresh = [source_id for source_id in claimed if source_id not in seen]
            again = [source_id for source_id in claimed if source_id in seen]
            if again:  # checked in this tick already and still due: leave it to the next tick
                claims.release_sources(db, self.holder, again)
            if not fresh:
                break
            seen.update(fresh)
            counts["claimed"] += len(fresh)
            # On an error the claims stay until they run out: a back-off for whatever failed.
            with self._keep_claimed(fresh):
                report = checking.check_sources(app, fresh, skip_removed=True)
            # Recording a source's check clears its claim; release only what was not recorded.
            unrecorded = set(fresh) - {outcome.source_id for outcome in report.outcomes}
            if unrecorded:
                claims.release_sources(db, self.holder, sorted(unrecorded))
            counts.update(_check_counts(report))
            if not batch.more:
                break  # the batch took every source claimable now: no need to ask again
        summary = dict(sorted(counts.items()))
        heartbeat.record_tick(db, self.me, app.clock(), summary)
        return summary

    @contextmanager
    def _keep_claimed(self, source_ids: list[str]) -> Iterator[None]:
        """While a batch is being checked, extend its claims every third of the lease, so a slow
        batch is never taken over by another process as if this one had died."""
        done = threading.Event()
        every = self.schedule.lease_seconds / 3

        def keep() -> None:
            while not done.wait(every):
                try:
                    claims.extend_sources(self.app.db, self.holder, source_ids, self.app.clock(),
                                          self.schedule.lease_seconds)
                except TrackerError as exc:  # the claim then simply runs out; say so
                    self.log.warning("could not extend claims", extra={"fields": {"error": str(exc)}})

        keeper = threading.Thread(target=keep, name="tracker-claims", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join(5)

    # -- digests -------------------------------------------------------------------------------
    def digests(self, cadence: str) -> dict[str, Any]:
        """The digests of `cadence` for the period now falls in, unless that period already ran."""
        with self._digest_lock:
            return self._digests(cadence)

    def _digests(self, cadence: str) -> dict[str, Any]:
        now = self.app.clock()
        start = self.schedule.period_start(cadence, now)
        name = period_key(cadence, start)
        if not claims.acquire(self.app.db, name, self.holder, now, self.schedule.lease_seconds):
            return {"status": "skipped", "cadence": cadence, "period": format_time(start), "reason": "done or held"}
        try:
            self.app.fresh(*OWN_PROJECTIONS)
            prepared = 0
            due, every = digest_queue.subscriptions_due(self.app.db, cadence, format_time(start))
            if due and due == every:   # the usual case: one pass over the log for all of them
                prepared = len(digesting.prepare_digests(self.app, cadence=cadence, now=now, actor=ACTOR))
            else:
                for subscription_id in due:
                    if self.stopping.is_set():
                        break
                    prepared += len(digesting.prepare_digests(
                        self.app, subscription_id=subscription_id, now=now, actor=ACTOR))
            if self.stopping.is_set():
                claims.release(self.app.db, name, self.holder)  # not finished: the next start redoes it
                return {"status": "abandoned", "cadence": cadence, "prepared": prepared}
            counts = {"cadence": cadence, "period": format_time(start), "subscriptions": len(due), "prepared": prepared}
            counts.update(self._send())
            claims.complete(self.app.db, name, self.holder, self.app.clock(), note=f"prepared {prepared}")
            return counts
        except BaseException:
            claims.release(self.app.db, name, self.holder)
            raise

    def catch_up_digests(self) -> dict[str, Any]:
        """Run each cadence's current period if it is owed and nobody ran or is running it.

        Runs at start and every few minutes: a digest missed while no process ran, or left
        unfinished by a killed one (its lease runs out, or its holder is seen dead on this host),
        runs once. A period that began before any `tracker serve` ran on this database is owed
        nothing: a new installation's first digests come at their next scheduled time.
        """
        since = heartbeat.served_since(self.app.db)
        now = self.app.clock()
        result: dict[str, Any] = {}
        for cadence in CADENCES:
            start = self.schedule.period_start(cadence, now)
            name = period_key(cadence, start)
            lease = claims.get(self.app.db, name)
            if since is None or format_time(start) < since:
                result[cadence] = "not owed"
            elif lease is not None and lease.completed_at is not None:
                result[cadence] = "done"
            elif lease is not None and lease.expires_at >= format_time(now) and lease.holder != self.holder:
                if heartbeat.is_dead_here(lease.holder) and claims.take_over(
                    self.app.db, name, lease.holder, self.holder, now, self.schedule.lease_seconds
                ):
                    result[cadence] = self.digests(cadence).get("status", "ok")
                else:
                    result[cadence] = "running elsewhere"
            else:
                result[cadence] = self.digests(cadence).get("status", "ok")
        if all(value in ("not owed", "done") for value in result.values()):
            result["status"] = "skipped"
        return result

    # -- outbox --------------------------------------------------------------------------------
    def outbox(self) -> dict[str, Any]:
        if not digest_queue.outbox_waiting(self.app.db):
            return {"status": "skipped", "waiting": 0}
        return self._send()

    def _send(self) -> dict[str, Any]:
        """Send what the outbox holds. Each message is claimed before it is sent (services/outbox.py),
        so this process, other `tracker serve` processes and `tracker digest --send` never send one twice."""
        with self._send_lock:
            report = digesting.send_pending(self.app, actor=ACTOR, holder=self.holder)
        return {"mail_transport": report.transport, "mail_sent": len(report.sent),
                "mail_failed": len(report.failed), "mail_given_up": len(report.given_up),
                "mail_cancelled": len(report.cancelled)}

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """Sign the tree head when the log grew since the last kept checkpoint (one process at a time)."""
        settings, db, now = self.app.settings, self.app.db, self.app.clock()
        if not checkpoints.key_path(settings).exists():
            return {"checkpoint": "no signing key", "key": str(checkpoints.key_path(settings))}
        key = checkpoints.signing_key(settings)
        if not claims.acquire(db, CHECKPOINT_LEASE, self.holder, now, self.schedule.lease_seconds):
            return {"checkpoint": "held elsewhere"}
        try:
            latest = checkpoints.latest_checkpoint(db)
            if latest is not None and latest.tree_size == self.app.store.head().position:
                return {"checkpoint": "unchanged", "tree_size": latest.tree_size}
            kept = checkpoints.make_checkpoint(db, key, settings.signing.origin, now)
        finally:
            claims.release(db, CHECKPOINT_LEASE, self.holder)
        return {"checkpoint": kept.id, "tree_size": kept.tree_size, "root_hash": kept.root_hash}

    # -- housekeeping --------------------------------------------------------------------------
    def housekeeping(self) -> dict[str, Any]:
        before = self.app.clock() - timedelta(days=self.schedule.retention_days)
        return {
            "heartbeats_pruned": heartbeat.prune(self.app.db, before),
            "leases_pruned": claims.prune(self.app.db, before),
            # What a `forget` could not purge at once (PostgreSQL: an older transaction was open).
            "erased_purged": self.app.db.purge_erased(personal.KEY_TABLES),
        }


def _check_counts(report: checking.CheckReport) -> dict[str, int]:
    """The outcomes of a check (baselined, changed, unchanged, failed, ...), without the zeros."""
    return {name: count for name, count in report.counts.items() if count}
