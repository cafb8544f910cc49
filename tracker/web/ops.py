"""/healthz and /metrics: for load balancers and Prometheus, not for people."""

from __future__ import annotations

import json
from datetime import datetime

from tracker.errors import DatabaseError
from tracker.services import auditing, metrics
from tracker.web.state import Verified, Web


def health(web: Web) -> tuple[int, dict[str, object]]:
    """200 while the database answers (status "degraded" when no scheduler beats); 503 when it does not."""
    try:
        head = web.app.store.head()
        beat = metrics.heartbeat_age(web.app)
    except DatabaseError as exc:
        return 503, {"status": "down", "database": "unreachable", "error": str(exc).splitlines()[0]}
    return 200, {
        "status": "ok" if beat.alive else "degraded",
        "database": "ok", "head_position": head.position,
        "scheduler": {"alive": beat.alive, "last_seen_at": beat.seen_at, "heartbeat_age_seconds": beat.age_seconds},
        "read_only": web.read_only,
    }


def _line(name: str, value: float | int, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{key}={json.dumps(val)}' for key, val in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def exposition(web: Web) -> str:
    """The Prometheus text format (version 0.0.4)."""
    figures = metrics.gather(web.app)
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[str]) -> None:
        out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples])

    family("tracker_log_head_position", "gauge", "Position of the last event in the log.",
           [_line("tracker_log_head_position", figures.head_position)])
    family("tracker_checks_total", "counter", "Check outcomes recorded in the log, by outcome.",
           [_line("tracker_checks_total", n, {"outcome": k}) for k, n in figures.checks.items()])
    family("tracker_last_tick_checks", "gauge", "Counts of the last scheduler tick, by outcome.",
           [_line("tracker_last_tick_checks", n, {"outcome": k}) for k, n in figures.last_tick.items()])
    family("tracker_sources", "gauge", "Active sources by state.",
           [_line("tracker_sources", n, {"state": k}) for k, n in figures.sources.items()])
    family("tracker_digest_outbox", "gauge", "Digests in the outbox by status (prepared and failed are queued).",
           [_line("tracker_digest_outbox", n, {"status": k}) for k, n in figures.outbox.items()])
    family("tracker_digest_queue", "gauge", "Digests waiting to be sent (prepared or failed).",
           [_line("tracker_digest_queue", figures.outbox.get("prepared", 0) + figures.outbox.get("failed", 0))])
    if figures.heartbeat.age_seconds is not None:
        family("tracker_scheduler_heartbeat_age_seconds", "gauge", "Seconds since a running scheduler last beat.",
               [_line("tracker_scheduler_heartbeat_age_seconds", round(figures.heartbeat.age_seconds, 3))])
    if figures.checkpoint_size is not None:
        family("tracker_checkpoint_tree_size", "gauge", "Tree size of the latest signed checkpoint.",
               [_line("tracker_checkpoint_tree_size", figures.checkpoint_size)])
    # The last verification recorded by any process (tracker verify, the audit page), else this one's.
    verified: Verified | auditing.VerifyRun | None = auditing.last_run(web.app.db) or web.verified
    if verified is not None:
        family("tracker_last_verify_timestamp_seconds", "gauge", "When the hash chain was last verified.",
               [_line("tracker_last_verify_timestamp_seconds", _seconds(verified.at))])
        family("tracker_last_verify_ok", "gauge", "1 if the last verification of the chain passed, else 0.",
               [_line("tracker_last_verify_ok", int(verified.ok))])
        family("tracker_last_verify_head_position", "gauge", "Head position the last verification reached.",
               [_line("tracker_last_verify_head_position", verified.head_position)])
    return "\n".join(out) + "\n"
