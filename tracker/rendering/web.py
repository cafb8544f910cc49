"""Pages of the web interface: Jinja2 templates under digests/web/, sharing the digests' environment
(autoescape on for .html: every value a page shows, fetched text above all, is escaped)."""

from __future__ import annotations

from typing import Any

from tracker.rendering.environment import environment

WEB_TEMPLATES = "web/"


def render_page(template: str, **context: Any) -> str:
    """One page: ``template`` is a name under digests/web/ (e.g. ``record.html``)."""
    return environment().get_template(WEB_TEMPLATES + template).render(**context)


def web_asset(name: str) -> str:
    """A static file of the pages (the style sheet), read through the same loader as the templates."""
    env = environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, WEB_TEMPLATES + name)
    return source
