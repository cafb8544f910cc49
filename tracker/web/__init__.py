"""The web interface (Starlette only here): browse, replay and audit in a browser, an API for
scripts, one-click unsubscribe. Pages read through the same services as the CLI."""

from tracker.web.app import create_app
from tracker.web.server import WebServer, serve_forever

__all__ = ["WebServer", "create_app", "serve_forever"]
