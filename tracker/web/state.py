"""What every request shares: the application (composition root), the authenticator, the CSRF
secret, and the few facts the interface keeps in memory (the last verification of the log)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tracker.app import App
from tracker.settings import Settings
from tracker.web.auth import Authenticator
from tracker.web.csrf import Csrf

NAV = (
    ("/", "Record", "记录"), ("/replay", "Replay", "回放"), ("/sources", "Sources", "来源"),
    ("/upcoming", "Upcoming", "即将到期"), ("/triage", "Triage", "分拣"), ("/audit", "Audit", "审计"),
)


@dataclass(frozen=True, slots=True)
class Verified:
    """The last full verification of the hash chain this process ran."""

    at: str  # when (UTC)
    ok: bool
    head_position: int
    count: int
    problem: str = ""
    bad_position: int | None = None


class Web:
    def __init__(self, app: App, *, csrf: Csrf | None = None) -> None:
        self.app = app
        self.settings: Settings = app.settings
        self.auth = Authenticator(app.settings.web)
        self.csrf = csrf or Csrf()
        self.read_only = app.read_only
        self.nav = NAV
        self._lock = threading.Lock()
        self._verified: Verified | None = None
        # One verification of the whole chain at a time: readers arriving meanwhile wait for its result.
        self.verifying = threading.Lock()

    @property
    def verified(self) -> Verified | None:
        with self._lock:
            return self._verified

    def remember_verify(self, result: Verified) -> None:
        with self._lock:
            self._verified = result
