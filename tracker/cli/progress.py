"""Progress of a check cycle: a bar on a terminal, plain lines (or nothing) otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

import click

from tracker.services.recording import SourceOutcome


class CheckProgress:
    """Feed ``on_start`` and ``progress`` to the checking service; use as a context manager."""

    def __init__(
        self, line: Callable[[SourceOutcome], str] | None = None, announce: Callable[[int], str] | None = None
    ) -> None:
        self.line = line          # one stderr line per source when there is no terminal
        self.announce = announce  # one stderr line when the cycle starts
        self.bar: Any = None

    def on_start(self, total: int) -> None:
        if self.announce is not None:
            click.echo(self.announce(total), err=True)
        if sys.stderr.isatty() and total:
            self.bar = click.progressbar(length=total, label="checking", file=sys.stderr)
            self.bar.__enter__()

    def progress(self, outcome: SourceOutcome) -> None:
        if self.bar is not None:
            self.bar.update(1)
        elif self.line is not None:
            click.echo(self.line(outcome), err=True)

    @property
    def had_bar(self) -> bool:
        return self.bar is not None

    def __enter__(self) -> CheckProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, error, tb)
