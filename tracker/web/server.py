"""Serving the ASGI app with uvicorn: alone (`tracker web`), or in a thread beside the scheduler
(`tracker serve --http HOST:PORT`), stopped with it."""

from __future__ import annotations

import threading
import time

import uvicorn

from tracker.app import App
from tracker.errors import ConfigError
from tracker.web.app import create_app


def _config(app: App, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(create_app(app), host=host, port=port, log_level="warning", access_log=False,
                          server_header=False, proxy_headers=False, lifespan="off", timeout_graceful_shutdown=3)


def serve_forever(app: App, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn's own handlers in the main thread)."""
    app.require_ready()
    uvicorn.Server(_config(app, host, port)).run()


class WebServer:
    """uvicorn in a daemon thread: start() returns once it listens; stop() asks it to finish."""

    def __init__(self, app: App, host: str, port: int) -> None:
        self.server = uvicorn.Server(_config(app, host, port))
        self.thread = threading.Thread(target=self.server.run, name="tracker-web", daemon=True)

    def start(self, timeout: float = 10.0) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the web interface could not listen on {self.server.config.host}:"
                                  f"{self.server.config.port} (address in use?)")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT (a bare :PORT means 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return (host.strip("[]") or "127.0.0.1"), int(port)
