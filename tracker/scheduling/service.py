"""`tracker serve`: an APScheduler 3 BackgroundScheduler over a memory job store rebuilt at start.

Jobs (coalesced, never overlapping themselves):
  tick           every schedule.tick seconds: claim due sources and check them
  digest-daily   cron at schedule.daily_at (schedule.timezone)
  digest-weekly  cron on schedule.weekly_on at schedule.daily_at
  outbox         every few minutes: retry digests an SMTP outage left queued
  housekeeping   daily: retention
  checkpoint     every schedule.checkpoint_every seconds (and at start): sign the tree head if the log grew
  digest-catch-up  at start, then every five minutes: each cadence's current period runs if it
                 is owed and has not run (a restart after downtime runs a missed digest once, and a
                 digest a killed process left unfinished runs once; APScheduler remembers nothing)

The main thread renews this process's heartbeat (and on SQLite the single-instance lease) and
waits for SIGTERM or SIGINT. Then it stops taking work and gives running jobs a grace period; what
is still running after it is abandoned (a claim runs out by itself; a check writes one source per
transaction; a digest is prepared before it is sent) and the process exits 0 within 10 seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracker.app import App
from tracker.core.events import format_time
from tracker.errors import DatabaseError
from tracker.scheduling.calendar import Schedule
from tracker.scheduling.jobs import Jobs
from tracker.scheduling.logs import masked
from tracker.services import claims, heartbeat
from tracker.services.heartbeat import ProcessIdentity

GRACE_SECONDS = 5.0        # for running jobs after a stop signal; the rest of 10 s is for cleanup
CLEANUP_SECONDS = 1.5      # for releasing claims when abandoning (a busy SQLite file must not hold us)
OUTBOX_RETRY_SECONDS = 300.0
CATCH_UP_SECONDS = 300.0     # as long as a lease: an abandoned digest is picked up soon after it lapses


@dataclass(frozen=True)
class ServeOptions:
    once: bool = False
    standby: bool = False


class Service:
    def __init__(self, app: App, options: ServeOptions, logger: logging.Logger) -> None:
        self.app = app
        self.options = options
        self.log = logger
        self.schedule = Schedule.from_settings(app.settings)   # a bad schedule is refused before anything runs
        self.me = ProcessIdentity.current()
        self.stopping = threading.Event()
        self.jobs = Jobs(app, self.schedule, self.me, self.stopping, logger)
        self._in_flight = 0
        self._idle = threading.Condition()
        self._signals = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until a stop signal (or once with --once); returns the exit status."""
        self.app.require_ready()  # refuses an uninitialised or outdated database before anything else
        self._install_signals()
        role = "once" if self.options.once else "active"
        if not self._take_instance():
            self.log.info("stopped while waiting as a standby", extra={"fields": {"process": self.me.process_id}})
            return 0
        heartbeat.beat(self.app.db, self.me, self.app.clock(), role)
        if not self.app.db.is_sqlite:
            self._release_dead_neighbours()
        self.log.info("serving", extra={"fields": {
            "process": self.me.process_id, "database": self.app.db.display_url, "role": role,
            "tick_s": self.schedule.tick_seconds, "timezone": str(self.schedule.tz),
        }})
        try:
            if self.options.once:
                self._run_once()
            else:
                self._run_scheduler()
        finally:
            if self._in_flight == 0:
                self._leave()
        return 0

    def _run_once(self) -> None:
        """Run the due work once in a worker thread, so a stop signal is honoured in time here too."""
        def sequence() -> None:
            self._guarded("tick", self.jobs.tick)
            self._guarded("digest-catch-up", self.jobs.catch_up_digests)
            self._guarded("outbox", self.jobs.outbox)
            self._guarded("checkpoint", self.jobs.checkpoint)

        worker = threading.Thread(target=sequence, name="tracker-once", daemon=True)
        worker.start()
        renewed = time.monotonic()
        while worker.is_alive() and not self.stopping.is_set():
            worker.join(0.05)
            if time.monotonic() - renewed >= self._beat_every():
                self._renew()
                renewed = time.monotonic()
        if worker.is_alive() and not self._wait_idle(GRACE_SECONDS):
            self._abandon()
        worker.join(CLEANUP_SECONDS)

    def _beat_every(self) -> float:
        return max(0.5, min(5.0, self.schedule.instance_lease / 3))

    def _run_scheduler(self) -> None:
        scheduler = self._build_scheduler()
        scheduler.start()
        try:
            while not self.stopping.wait(self._beat_every()):
                self._renew()
        finally:
            self.log.info("stopping: no new work", extra={"fields": {"in_flight": self._in_flight}})
            scheduler.shutdown(wait=False)
        if not self._wait_idle(GRACE_SECONDS):
            self._abandon()

    def _build_scheduler(self) -> BackgroundScheduler:
        tz, at, tick = self.schedule.tz, self.schedule.daily_at, self.schedule.tick_seconds
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=tz,
        )
        now = self.app.clock()

        def add(job_id: str, trigger: Any, grace: int, fn: Callable[..., Any], *args: Any, **extra: Any) -> None:
            scheduler.add_job(self._guarded, trigger, args=(job_id, fn, *args), id=job_id, name=job_id,
                              misfire_grace_time=grace, replace_existing=True, **extra)

        tick_grace = max(1, int(tick * 3))   # a tick more than three ticks late is skipped: the next one does its work
        day = 6 * 3600                       # a digest up to six hours late still goes out today
        # The first tick runs now, not one interval from now.
        add("tick", IntervalTrigger(seconds=tick, timezone=tz), tick_grace, self.jobs.tick, next_run_time=now)
        # At start, then every few minutes: a missed or abandoned period runs once (see Jobs).
        add("digest-catch-up", IntervalTrigger(seconds=max(CATCH_UP_SECONDS, tick), timezone=tz), day,
            self.jobs.catch_up_digests, next_run_time=now)
        add("digest-daily", CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=tz), day,
            self.jobs.digests, "daily")
        add("digest-weekly", CronTrigger(day_of_week=self.schedule.weekly_on, hour=at.hour, minute=at.minute,
                                         second=at.second, timezone=tz), day, self.jobs.digests, "weekly")
        add("outbox", IntervalTrigger(seconds=max(OUTBOX_RETRY_SECONDS, tick), timezone=tz,
                                      start_date=now + timedelta(seconds=OUTBOX_RETRY_SECONDS)), day, self.jobs.outbox)
        add("housekeeping", IntervalTrigger(hours=24, timezone=tz, start_date=now + timedelta(minutes=10)), day,
            self.jobs.housekeeping)
        every = self.app.settings.schedule.checkpoint_every
        if every > 0:
            add("checkpoint", IntervalTrigger(seconds=every, timezone=tz), day, self.jobs.checkpoint, next_run_time=now)
        return scheduler

    def _guarded(self, name: str, fn: Callable[..., dict[str, Any]], *args: Any) -> None:
        if self.stopping.is_set():
            return
        with self._idle:
            self._in_flight += 1
        try:
            self.jobs.run(name, lambda: fn(*args))
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self._idle:
            while self._in_flight and not self._hurry():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.2))
        return self._in_flight == 0

    def _hurry(self) -> bool:
        return self._signals > 1

    # -- single instance (SQLite) and liveness -------------------------------------------------
    def _take_instance(self) -> bool:
        """On SQLite, hold the single-instance lease (or wait for it with --standby)."""
        if not self.app.db.is_sqlite:
            return True
        db, name, seconds = self.app.db, claims.INSTANCE_LEASE, self.schedule.instance_lease
        announced = False
        while not self.stopping.is_set():
            if claims.acquire(db, name, self.me.process_id, self.app.clock(), seconds):
                self._alone()
                return True
            holder = claims.get(db, name)
            if holder and heartbeat.is_dead_here(holder.holder):
                if claims.take_over(db, name, holder.holder, self.me.process_id, self.app.clock(), seconds):
                    self.log.info("took over from a dead process", extra={"fields": {"previous": holder.holder}})
                    self._alone()
                    return True
                continue
            if not self.options.standby:
                who = (
                    f"process {holder.holder} (since {holder.acquired_at}, lease until {holder.expires_at})"
                    if holder
                    else "another process"
                )
                raise DatabaseError(
                    f"another `tracker serve` is running on {db.display_url}: {who}; stop it, or start this one "
                    f"with --standby to take over when it stops"
                )
            heartbeat.beat(db, self.me, self.app.clock(), "standby")   # seen alive while waiting
            if not announced:
                self.log.info("standby: waiting for the active process", extra={"fields": {
                    "holder": holder.holder if holder else None}})
                announced = True
            self.stopping.wait(max(0.2, min(2.0, seconds / 5)))
        return False

    def _alone(self) -> None:
        """Alone on this SQLite file now: what a killed predecessor claimed is free at once."""
        claims.release_all_sources(self.app.db)
        claims.release_unfinished(self.app.db, keep=claims.INSTANCE_LEASE)

    def _release_dead_neighbours(self) -> None:
        """Free at once the source claims of processes that died on this host (say, a killed
        `tracker serve` restarted by systemd); those of other hosts run out with their lease."""
        for holder in claims.source_claim_holders(self.app.db):
            if heartbeat.is_dead_here(holder):
                freed = claims.release_sources(self.app.db, holder)
                self.log.info(
                    "freed the claims of a dead process", extra={"fields": {"previous": holder, "sources": freed}}
                )

    def _renew(self) -> None:
        """Renew the heartbeat (and the SQLite lease); a database that is briefly away is survived."""
        now = self.app.clock()
        try:
            if self.app.db.is_sqlite and not claims.renew(
                self.app.db, claims.INSTANCE_LEASE, self.me.process_id, now, self.schedule.instance_lease
            ):
                # Another process took the file over (we were stalled past the lease): two must never serve it.
                self.log.error(
                    "lost the single-instance lease; stopping", extra={"fields": {"process": self.me.process_id}}
                )
                self.stopping.set()
                return
            heartbeat.beat(self.app.db, self.me, now, "once" if self.options.once else "active")
        except DatabaseError as exc:
            self.log.warning("heartbeat failed; retrying", extra={"fields": {"error": masked(str(exc))}})

    def _leave(self) -> None:
        db = self.app.db
        claims.release_sources(db, self.me.process_id)
        heartbeat.mark_stopped(db, self.me, self.app.clock())
        if db.is_sqlite:
            claims.release(db, claims.INSTANCE_LEASE, self.me.process_id)
        self.log.info("stopped", extra={"fields": {"process": self.me.process_id}})

    def _abandon(self) -> None:
        """Running jobs did not finish in time: release what we can, briefly, and exit 0 now."""
        self.log.warning("abandoning running jobs", extra={"fields": {"in_flight": self._in_flight}})
        cleanup = threading.Thread(target=self._leave, daemon=True)
        cleanup.start()
        cleanup.join(CLEANUP_SECONDS)
        logging.shutdown()
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(0)  # worker threads cannot be interrupted; their work is safe to lose (see module doc)

    # -- signals -------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only flags here: a handler runs between two bytecodes of the main thread, so it takes no lock.
        self._signals += 1
        self.stopping.set()


def serve(app: App, options: ServeOptions, logger: logging.Logger) -> int:
    return Service(app, options, logger).run()


__all__ = ["ServeOptions", "Service", "serve", "format_time"]
