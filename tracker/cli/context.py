"""What every command gets: settings read once and the application, built on first use."""

from __future__ import annotations

import gc
from functools import cached_property
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tracker.app import App
    from tracker.settings import Settings


class AppContext:
    def __init__(self, db_url: str | None, config_path: str | None, debug: bool) -> None:
        self.db_url = db_url
        self.config_path = config_path
        self.debug = debug

    @cached_property
    def settings(self) -> Settings:
        from tracker.settings import load_settings

        settings = load_settings(self.config_path)
        if self.db_url:
            settings = settings.with_overrides(database__url=self.db_url)
        return settings

    @cached_property
    def app(self) -> App:
        from tracker.app import App

        if not gc.isenabled():  # held back during start-up by cli.main.run: what exists now lives on
            gc.freeze()
            gc.enable()
            _one_malloc_arena()
        return App(self.settings)

    def close(self) -> None:
        if "app" in self.__dict__:
            self.app.close()


pass_ctx = click.make_pass_decorator(AppContext)


def _one_malloc_arena() -> None:
    """The tracker's own process takes one malloc arena for all its threads (glibc; elsewhere a no-op).

    glibc gives each thread that allocates an arena of its own (up to 8 per core), and what one
    arena frees the others do not reuse: a check's normalising and recording threads grew theirs
    beside the main one (issue 18: a check of 10,000 sources, 500 changed, peaked at 104.4 MB,
    96.7 MB with one arena; CPU time unchanged). Set before any thread starts.
    """
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
