"""Log lines of the service: plain text for people, one JSON object per line for log shippers.

Every job run ends in exactly one line (`job_line`): the job, how it ended, its duration and its
counts. Fields go in ``extra={"fields": {...}}``. Nothing here prints a secret: URLs pass through
`tracker.settings.mask_url` before they are logged, and the database URL is the store's display
form (password hidden).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

from tracker.settings import mask_url

LOGGER_NAME = "tracker"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields = getattr(record, "fields", None) or {}
        text = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        line = f"{stamp} {record.levelname:<7} {record.getMessage()}" + (f" {text}" if text else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _text_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "-"
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def setup_logging(fmt: str, level: int = logging.INFO) -> logging.Logger:
    """Send the tracker's and APScheduler's logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler reports each job start and end at INFO; our own job line replaces that.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return logging.getLogger(LOGGER_NAME)


def job_line(logger: logging.Logger, job: str, started: float, counts: Mapping[str, Any], *,
             status: str = "ok", error: str | None = None) -> None:
    """The one line a job run leaves: job, status, duration in seconds and its counts."""
    fields: dict[str, Any] = {"job": job, "status": status, "duration_s": round(time.monotonic() - started, 3)}
    fields.update(counts)
    if error:
        fields["error"] = masked(error)
    level = logging.INFO if status in ("ok", "skipped") else logging.ERROR
    logger.log(level, f"job {job} {status}", extra={"fields": fields})


def masked(text: str) -> str:
    """Mask user:password@ in every URL inside a free text."""
    return " ".join(mask_url(word) if "://" in word else word for word in text.split(" "))
