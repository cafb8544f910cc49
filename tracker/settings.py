"""Settings, declared once with their defaults and help; read once (TOML file, then environment) and passed down.

A TOML file may group keys in tables: ``[fetch] per_host = 2`` is the key ``fetch.per_host``.
The environment wins over the file; every setting names its variable below. Unknown keys and
malformed values are refused with the key's name, so a bad configuration never starts a service.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.errors import ConfigError

DEFAULT_CONFIG_PATH = "tracker.toml"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _positive_float(value: Any) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return number


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    number = int(value)
    if number < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return number


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    number = int(value)
    if number < 1:
        raise ValueError(f"must be at least 1, got {value!r}")
    return number


def _unsubscribe_base(value: Any) -> str:
    """Empty (digests offer mailto: only), an https URL, or http on a loopback address for local use."""
    text = str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host and not host.endswith((".invalid", ".example")) and host != "invalid":
        return text.rstrip("/")
    if parts.scheme == "http" and (host == "localhost" or host == "::1" or host.startswith("127.")):
        return text.rstrip("/")
    raise ValueError(f"{text!r} must be an https URL (or http on a loopback address) where the tracker "
                     "answers one-click unsubscribes; leave it empty to offer mailto: only")


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "TRACKER_HOME", "var", "Data folder: the SQLite file, outbox, changelogs and raw snapshots."),
    Setting("database.url", "TRACKER_DATABASE_URL", "", "SQLAlchemy URL; empty means sqlite:///<home>/tracker.db.", secret=True),
    Setting("smtp.url", "TRACKER_SMTP_URL", "", "smtp://host:port (STARTTLS if offered) or smtps://host:port; empty writes .eml files to the outbox.", secret=True),
    Setting("smtp.username", "TRACKER_SMTP_USERNAME", "", "SMTP user name."),
    Setting("smtp.password", "TRACKER_SMTP_PASSWORD", "", "SMTP password (never logged).", secret=True),
    Setting("smtp.timeout", "TRACKER_SMTP_TIMEOUT", 30.0, "Seconds before an SMTP connection is abandoned.", _positive_float),
    Setting("mail.from", "TRACKER_MAIL_FROM", "CGT Regulatory Tracker <tracker@localhost>", "From header of digests."),
    Setting("mail.unsubscribe_base", "TRACKER_UNSUBSCRIBE_BASE", "", "Base URL of the one-click unsubscribe endpoint (RFC 8058): https, or http on loopback; empty offers mailto: only.", _unsubscribe_base),
    Setting("digest.due_days", "TRACKER_DIGEST_DUE_DAYS", 30, "Days ahead a digest lists dates due (effective dates, comment deadlines).", _positive_int),
    Setting("mail.send_empty", "TRACKER_SEND_EMPTY", False, "Send a digest even when nothing matched.", _bool),
    Setting("fetch.contact", "TRACKER_CONTACT", "tracker-operator@localhost", "Contact address put in the User-Agent."),
    Setting("fetch.allow_hosts", "TRACKER_ALLOW_HOSTS", "", "Comma-separated host names or CIDRs allowed although private/loopback."),
    Setting("fetch.concurrency", "TRACKER_FETCH_CONCURRENCY", 16, "Requests in flight overall.", _positive_int),
    Setting("fetch.per_host", "TRACKER_FETCH_PER_HOST", 2, "Requests in flight per host.", _positive_int),
    Setting("fetch.host_delay", "TRACKER_FETCH_HOST_DELAY", 1.0, "Seconds between two requests to one host.", _positive_float),
    Setting("fetch.connect_timeout", "TRACKER_FETCH_CONNECT_TIMEOUT", 10.0, "Connect timeout, seconds.", _positive_float),
    Setting("fetch.read_timeout", "TRACKER_FETCH_READ_TIMEOUT", 30.0, "Read timeout, seconds.", _positive_float),
    Setting("fetch.retries", "TRACKER_FETCH_RETRIES", 2, "Retries after a transient failure.", _non_negative_int),
    Setting("fetch.backoff_base", "TRACKER_FETCH_BACKOFF_BASE", 1.0, "First retry delay, seconds (doubles each retry, with full jitter).", _positive_float),
    Setting("fetch.max_retry_after", "TRACKER_FETCH_MAX_RETRY_AFTER", 120.0, "Longest Retry-After honoured, seconds.", _positive_float),
    Setting("fetch.attempt_timeout", "TRACKER_FETCH_ATTEMPT_TIMEOUT", 120.0, "Deadline of one whole attempt, so a trickling server cannot hold a fetch.", _positive_float),
    Setting("fetch.max_bytes", "TRACKER_FETCH_MAX_BYTES", 20 * 1024 * 1024, "Largest body accepted, bytes.", _positive_int),
    Setting("fetch.max_redirects", "TRACKER_FETCH_MAX_REDIRECTS", 5, "Redirects followed at most.", _non_negative_int),
    Setting("fetch.failure_threshold", "TRACKER_FAILURE_THRESHOLD", 3, "Consecutive failures before SourceUnreachable.", _positive_int),
    Setting("fetch.default_every", "TRACKER_CHECK_EVERY", "1d", "Default check interval of a source (e.g. 30m, 6h, 1d)."),
    Setting("schedule.timezone", "TRACKER_TIMEZONE", "UTC", "Time zone of digest cron times."),
    Setting("schedule.tick", "TRACKER_TICK_SECONDS", 60.0, "Seconds between two scheduler ticks that pick due sources.", _positive_float),
    Setting("schedule.daily_at", "TRACKER_DAILY_AT", "07:00", "Local time of daily digests."),
    Setting("schedule.weekly_on", "TRACKER_WEEKLY_ON", "mon", "Day of weekly digests (mon..sun)."),
    Setting("log.format", "TRACKER_LOG_FORMAT", "text", "text or json."),
    Setting("schedule.lease_seconds", "TRACKER_LEASE_SECONDS", 300.0, "Seconds a claim on a due source or a digest run holds before another process may take it over.", _positive_float),
    Setting("schedule.instance_lease", "TRACKER_INSTANCE_LEASE_SECONDS", 30.0, "Seconds the SQLite single-instance lock and a heartbeat stay valid without renewal.", _positive_float),
    Setting("schedule.batch", "TRACKER_CLAIM_BATCH", 50, "Due sources claimed and checked per batch within one tick.", _positive_int),
    Setting("schedule.retention_days", "TRACKER_RETENTION_DAYS", 90, "Days housekeeping keeps heartbeats, finished run records and check-log rows.", _positive_int),
    Setting("signing.key", "TRACKER_SIGNING_KEY", "", "Ed25519 key (PEM) that signs checkpoints; empty means <home>/signing-key.pem. Keep it outside the database.", secret=True),
    Setting("signing.origin", "TRACKER_LOG_ORIGIN", "tracker.invalid/cgt-regulatory-log", "Origin line of checkpoints and the signing key's name: a schema-less URL naming this log."),
    Setting("schedule.checkpoint_every", "TRACKER_CHECKPOINT_SECONDS", 3600.0, "Seconds between checkpoints made by tracker serve when the log grew (0: none).", _positive_float),
)

_BY_KEY = {s.key: s for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """The effective configuration: a read-only mapping from key to parsed value."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._sources = dict(sources)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, key: str) -> str:
        return self._sources[key]

    @property
    def home(self) -> Path:
        return Path(self._values["home"])

    @property
    def database_url(self) -> str:
        url: str = self._values["database.url"]
        return url or f"sqlite:///{self.home / 'tracker.db'}"

    def with_overrides(self, **overrides: Any) -> "Settings":
        values = dict(self._values)
        sources = dict(self._sources)
        for name, value in overrides.items():
            key = name.replace("__", ".")
            if key not in _BY_KEY:
                raise ConfigError(f"unknown setting {key!r}")
            values[key] = _parse(_BY_KEY[key], value, "override")
            sources[key] = "override"
        return Settings(values, sources)

    def masked(self) -> dict[str, Any]:
        """Values safe to print: secrets masked, passwords inside URLs too."""
        shown: dict[str, Any] = {}
        for setting in SETTINGS:
            value = self._values[setting.key]
            if setting.secret and value:
                value = mask_url(str(value)) if "://" in str(value) else "****"
            shown[setting.key] = value
        return shown


def mask_url(url: str) -> str:
    """Hide the password of scheme://user:password@host URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in userinfo else url


def _parse(setting: Setting, raw: Any, where: str) -> Any:
    try:
        return setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad value for {setting.key} (from {where}): {exc}") from None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then the TOML file (if any), then the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    sources = {s.key: "default" for s in SETTINGS}

    explicit = config_path is not None or "TRACKER_CONFIG" in environ
    path = Path(config_path or environ.get("TRACKER_CONFIG") or DEFAULT_CONFIG_PATH)
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc}") from None
        for key, raw in _flatten(data).items():
            if key not in _BY_KEY:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _parse(_BY_KEY[key], raw, str(path))
            sources[key] = str(path)
    elif explicit:
        raise ConfigError(f"configuration file {path} does not exist")

    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.key] = _parse(setting, environ[setting.env], setting.env)
            sources[setting.key] = setting.env
    if values["log.format"] not in {"text", "json"}:
        raise ConfigError(f"bad value for log.format: {values['log.format']!r} (text or json)")
    return Settings(values, sources)
