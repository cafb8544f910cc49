"""Jinja2 only here: digests and changelogs rendered from view dataclasses (tracker.rendering.views)."""

from __future__ import annotations

from tracker.rendering.calendar import render_calendar
from tracker.rendering.environment import TEMPLATES, environment
from tracker.rendering.views import (
    AwaitingRow,
    CalendarEntry,
    ChangelogView,
    ChangeRow,
    DateGroup,
    DigestView,
    FailureGroup,
    HeadView,
    ItemEntry,
    JurisdictionGroup,
    PageEntry,
    UpcomingRow,
    WelcomeView,
    YearGroup,
    clean,
)

__all__ = [
    "TEMPLATES",
    "AwaitingRow",
    "CalendarEntry",
    "ChangelogView",
    "ChangeRow",
    "DateGroup",
    "DigestView",
    "HeadView",
    "JurisdictionGroup",
    "UpcomingRow",
    "YearGroup",
    "clean",
    "environment",
    "FailureGroup",
    "ItemEntry",
    "PageEntry",
    "WelcomeView",
    "render_calendar",
    "render_digest",
    "render_changelog",
]

CHANGELOG_TEMPLATES = {"md": "changelog.md", "atom": "changelog.atom", "html": "timeline.html"}


def render_digest(view: DigestView) -> tuple[str, str]:
    """The HTML and plain-text parts of one digest."""
    env = environment()
    return env.get_template("digest.html").render(d=view), env.get_template("digest.txt").render(d=view)


def render_changelog(view: ChangelogView, fmt: str) -> str:
    """A changelog in one format: md, atom or html."""
    return environment().get_template(CHANGELOG_TEMPLATES[fmt]).render(c=view)
