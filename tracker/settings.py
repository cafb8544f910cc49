"""Settings, declared once with their defaults and help; read once (TOML file, then environment) and passed down.

A TOML file may group keys in tables: ``[fetch] per_host = 2`` is the key ``fetch.per_host``.
The environment wins over the file; every setting names its variable below. Unknown keys and
malformed values are refused with the key's name, so a bad configuration never starts a service.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.domain.sources import parse_duration
from tracker.errors import ConfigError, ValidationError

DEFAULT_CONFIG_PATH = "tracker.toml"


_T = TypeVar("_T")

# -- parsers: each takes a raw value (TOML or environment text) and returns it typed, or raises
# ValueError with what is wrong; the loader adds the key's name and where the value came from.


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _non_negative_float(value: Any) -> float:
    number = _number(value)
    if not number >= 0:  # also refuses NaN
        raise ValueError(f"must not be negative, got {value!r}")
    return number


def _positive_float(value: Any) -> float:
    """Seconds of a timeout, lease or tick: 0 would mean "never wait" or "always expired"."""
    number = _number(value)
    if not number > 0:
        raise ValueError(f"must be above 0, got {value!r}")
    return number


def _whole_number(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        number = int(value)
        if number < minimum:
            raise ValueError(f"must be at least {minimum}, got {value!r}")
        return number
    return parse


_non_negative_int = _whole_number(0)
_positive_int = _whole_number(1)


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


def _timezone(value: Any) -> str:
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as UTC or Asia/Shanghai") from None
    return text


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _clock_time(value: Any) -> str:
    text = str(value).strip()
    if not _TIME_RE.match(text):
        raise ValueError(f"{value!r} is not a time HH:MM or HH:MM:SS")
    return text


def parse_clock_time(text: str) -> time:
    """The time of a value _clock_time accepted."""
    match = _TIME_RE.match(text)
    assert match is not None, text
    return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(value: Any) -> str:
    """mon..sun or monday..sunday, any case; kept as given (the schedule uses its first three letters)."""
    text = str(value).strip()
    if text.lower() not in WEEKDAYS + _FULL_DAYS:
        raise ValueError(f"{value!r} is not a day mon..sun")
    return text


def _duration(value: Any) -> str:
    text = str(value).strip()
    try:
        parse_duration(text)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    return text


def _one_of(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value)
        if text not in choices:
            raise ValueError(f"{value!r} ({' or '.join(choices)})")
        return text
    return parse


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    secret: bool = False


def setting(env: str, default: _T, help: str, parse: Callable[[Any], _T] = str,  # type: ignore[assignment]
            *, secret: bool = False, name: str | None = None) -> _T:
    """One setting, declared as a field of its section: its default, variable, help and parser."""
    spec = {"env": env, "help": help, "parse": parse, "secret": secret, "name": name}
    return field(default=default, metadata={"setting": spec})


# -- the declaration: one frozen dataclass per section. A TOML table [fetch] fills FetchSettings;
# the key of a field is "<section>.<field>" (the section "" has bare keys).


@dataclass(frozen=True)
class PathSettings:
    home: str = setting("TRACKER_HOME", "var", "Data folder: the SQLite file, outbox, changelogs and raw snapshots.")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "TRACKER_DATABASE_URL", "", "SQLAlchemy URL; empty means sqlite:///<home>/tracker.db.", secret=True)


@dataclass(frozen=True)
class SmtpSettings:
    url: str = setting(
        "TRACKER_SMTP_URL", "",
        "smtp://host:port (STARTTLS if offered) or smtps://host:port; empty writes .eml files to the outbox.",
        secret=True)
    username: str = setting("TRACKER_SMTP_USERNAME", "", "SMTP user name.")
    password: str = setting("TRACKER_SMTP_PASSWORD", "", "SMTP password (never logged).", secret=True)
    timeout: float = setting(
        "TRACKER_SMTP_TIMEOUT", 30.0, "Seconds before an SMTP connection is abandoned.", _positive_float)


@dataclass(frozen=True)
class MailSettings:
    sender: str = setting(
        "TRACKER_MAIL_FROM", "CGT Regulatory Tracker <tracker@localhost>", "From header of digests.", name="from")
    unsubscribe_base: str = setting(
        "TRACKER_UNSUBSCRIBE_BASE",
        "",
        "Base URL of the one-click unsubscribe endpoint (RFC 8058): https, or http on loopback; empty offers mailto: "
        "only.",
        _unsubscribe_base,
    )
    send_empty: bool = setting("TRACKER_SEND_EMPTY", False, "Send a digest even when nothing matched.", _bool)
    max_rejections: int = setting(
        "TRACKER_MAX_REJECTIONS", 3,
        "Permanent refusals (SMTP 5xx to RCPT or DATA) of one digest before it is marked failed for good.",
        _positive_int)


@dataclass(frozen=True)
class DigestSettings:
    due_days: int = setting(
        "TRACKER_DIGEST_DUE_DAYS", 30, "Days ahead a digest lists dates due (effective dates, comment deadlines).",
        _positive_int)


@dataclass(frozen=True)
class FetchSettings:
    contact: str = setting("TRACKER_CONTACT", "tracker-operator@localhost", "Contact address put in the User-Agent.")
    allow_hosts: str = setting(
        "TRACKER_ALLOW_HOSTS", "", "Comma-separated host names or CIDRs allowed although private/loopback.")
    concurrency: int = setting("TRACKER_FETCH_CONCURRENCY", 16, "Requests in flight overall.", _positive_int)
    per_host: int = setting("TRACKER_FETCH_PER_HOST", 2, "Requests in flight per host.", _positive_int)
    host_delay: float = setting(
        "TRACKER_FETCH_HOST_DELAY", 1.0, "Seconds between two requests to one host.", _non_negative_float)
    connect_timeout: float = setting(
        "TRACKER_FETCH_CONNECT_TIMEOUT", 10.0, "Connect timeout, seconds.", _positive_float)
    read_timeout: float = setting("TRACKER_FETCH_READ_TIMEOUT", 30.0, "Read timeout, seconds.", _positive_float)
    retries: int = setting("TRACKER_FETCH_RETRIES", 2, "Retries after a transient failure.", _non_negative_int)
    backoff_base: float = setting(
        "TRACKER_FETCH_BACKOFF_BASE", 1.0, "First retry delay, seconds (doubles each retry, with full jitter).",
        _non_negative_float)
    max_retry_after: float = setting(
        "TRACKER_FETCH_MAX_RETRY_AFTER", 120.0, "Longest Retry-After honoured, seconds.", _non_negative_float)
    attempt_timeout: float = setting(
        "TRACKER_FETCH_ATTEMPT_TIMEOUT", 120.0,
        "Deadline of one whole attempt, so a trickling server cannot hold a fetch.",
        _positive_float)
    max_bytes: int = setting(
        "TRACKER_FETCH_MAX_BYTES", 20 * 1024 * 1024, "Largest body accepted, bytes.", _positive_int)
    max_redirects: int = setting("TRACKER_FETCH_MAX_REDIRECTS", 5, "Redirects followed at most.", _non_negative_int)
    failure_threshold: int = setting(
        "TRACKER_FAILURE_THRESHOLD", 3, "Consecutive failures before SourceUnreachable.", _positive_int)
    default_every: str = setting(
        "TRACKER_CHECK_EVERY", "1d", "Default check interval of a source (e.g. 30m, 6h, 1d).", _duration)

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.allow_hosts.split(",") if h.strip())


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str = setting("TRACKER_TIMEZONE", "UTC", "Time zone of digest cron times.", _timezone)
    tick: float = setting(
        "TRACKER_TICK_SECONDS", 60.0, "Seconds between two scheduler ticks that pick due sources.", _positive_float)
    daily_at: str = setting("TRACKER_DAILY_AT", "07:00", "Local time of daily digests.", _clock_time)
    weekly_on: str = setting("TRACKER_WEEKLY_ON", "mon", "Day of weekly digests (mon..sun).", _weekday)
    lease_seconds: float = setting(
        "TRACKER_LEASE_SECONDS",
        300.0,
        "Seconds a claim on a due source, a digest run or an outbox message holds before another process may take it "
        "over.",
        _positive_float,
    )
    instance_lease: float = setting(
        "TRACKER_INSTANCE_LEASE_SECONDS", 30.0,
        "Seconds the SQLite single-instance lock and a heartbeat stay valid without renewal.",
        _positive_float)
    batch: int = setting(
        "TRACKER_CLAIM_BATCH", 50, "Due sources claimed and checked per batch within one tick.", _positive_int)
    retention_days: int = setting(
        "TRACKER_RETENTION_DAYS", 90, "Days housekeeping keeps heartbeats, finished run records and check-log rows.",
        _positive_int)
    checkpoint_every: float = setting(
        "TRACKER_CHECKPOINT_SECONDS", 3600.0,
        "Seconds between checkpoints made by tracker serve when the log grew (0: none).", _non_negative_float)


@dataclass(frozen=True)
class SigningSettings:
    key: str = setting(
        "TRACKER_SIGNING_KEY", "",
        "Ed25519 key (PEM) that signs checkpoints; empty means <home>/signing-key.pem. Keep it outside the database.",
        secret=True)
    origin: str = setting(
        "TRACKER_LOG_ORIGIN", "tracker.invalid/cgt-regulatory-log",
        "Origin line of checkpoints and the signing key's name: a schema-less URL naming this log.")


def _web_tokens(value: Any) -> str:
    """Comma-separated NAME:sha256:HEX entries (`tracker web-token NAME` prints one): hashes, never tokens."""
    text = str(value).strip()
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, digest = entry.partition(":sha256:")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", name) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"{entry.split(':', 1)[0]!r}...: each entry is NAME:sha256:<64 hex digits> "
                             "(`tracker web-token NAME` makes one)")
    return text


def _header_name(value: Any) -> str:
    text = str(value).strip()
    if text and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", text):
        raise ValueError(f"{text!r} is not an HTTP header name")
    return text


def _networks(value: Any) -> str:
    text = str(value).strip()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
    return text


@dataclass(frozen=True)
class WebSettings:
    tokens: str = setting(
        "TRACKER_WEB_TOKENS", "",
        "Named bearer tokens of the web interface, hashed: NAME:sha256:HEX,... (`tracker web-token NAME`).",
        _web_tokens, secret=True)
    trusted_user_header: str = setting(
        "TRACKER_WEB_TRUSTED_USER_HEADER", "",
        "Header naming the analyst signed in at a reverse proxy (single sign-on), e.g. X-Forwarded-User.",
        _header_name)
    trusted_proxies: str = setting(
        "TRACKER_WEB_TRUSTED_PROXIES", "",
        "Comma-separated addresses or CIDRs of the proxies whose user header is believed; empty believes none.",
        _networks)
    open_reading: bool = setting(
        "TRACKER_WEB_OPEN_READING", True,
        "Reading pages need no token (a trusted network); false asks every reader for a token or the proxy header.",
        _bool)
    read_only: bool = setting(
        "TRACKER_WEB_READ_ONLY", False,
        "The database role may only read: pages show the read models as `tracker serve` keeps them; forms are refused.",
        _bool)
    max_form_bytes: int = setting(
        "TRACKER_WEB_MAX_FORM_BYTES", 65536, "Largest request body accepted, bytes (413 above).", _positive_int)

    @property
    def token_hashes(self) -> dict[str, str]:
        """sha256 hex -> name."""
        found = {}
        for entry in filter(None, (part.strip() for part in self.tokens.split(","))):
            name, _, digest = entry.partition(":sha256:")
            found[digest] = name
        return found

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.trusted_proxies.split(",") if p.strip())


@dataclass(frozen=True)
class LogSettings:
    format: str = setting("TRACKER_LOG_FORMAT", "text", "text or json.", _one_of("text", "json"))


SECTIONS: dict[str, type[Any]] = {
    "": PathSettings,
    "database": DatabaseSettings,
    "smtp": SmtpSettings,
    "mail": MailSettings,
    "digest": DigestSettings,
    "fetch": FetchSettings,
    "schedule": ScheduleSettings,
    "log": LogSettings,
    "signing": SigningSettings,
    "web": WebSettings,
}


def _declared() -> tuple[tuple[Setting, str, str], ...]:
    """(setting, section, field name) for every field of every section, in declaration order."""
    found = []
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            spec = f.metadata["setting"]
            name = spec["name"] or f.name
            key = f"{section}.{name}" if section else name
            declared = Setting(key, spec["env"], f.default, spec["help"], spec["parse"], spec["secret"])
            found.append((declared, section, f.name))
    return tuple(found)


_DECLARED = _declared()
SETTINGS: tuple[Setting, ...] = tuple(s for s, _, _ in _DECLARED)
_BY_KEY = {s.key: s for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """The effective configuration, every value parsed and checked.

    Read it through the typed sections (``settings.fetch.per_host``: mypy knows the name and the
    type); the mapping by dotted key serves `config show` and overrides.
    """

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._sources = dict(sources)
        by_section: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
        for spec, section, attribute in _DECLARED:
            by_section[section][attribute] = self._values[spec.key]
        self.paths: PathSettings = PathSettings(**by_section[""])
        self.database: DatabaseSettings = DatabaseSettings(**by_section["database"])
        self.smtp: SmtpSettings = SmtpSettings(**by_section["smtp"])
        self.mail: MailSettings = MailSettings(**by_section["mail"])
        self.digest: DigestSettings = DigestSettings(**by_section["digest"])
        self.fetch: FetchSettings = FetchSettings(**by_section["fetch"])
        self.schedule: ScheduleSettings = ScheduleSettings(**by_section["schedule"])
        self.log: LogSettings = LogSettings(**by_section["log"])
        self.signing: SigningSettings = SigningSettings(**by_section["signing"])
        self.web: WebSettings = WebSettings(**by_section["web"])

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, key: str) -> str:
        return self._sources[key]

    @property
    def home(self) -> Path:
        return Path(self.paths.home)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.home / 'tracker.db'}"

    def with_overrides(self, **overrides: Any) -> Settings:
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
        for spec in SETTINGS:
            value = self._values[spec.key]
            if spec.secret and value:
                value = mask_url(str(value)) if "://" in str(value) else "****"
            shown[spec.key] = value
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
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}  # every default passes its own parser
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
    return Settings(values, sources)
