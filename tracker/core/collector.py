"""Pausing Python's cyclic garbage collector around bulk work that creates no reference cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector while a bulk step builds many cycle-free objects.

    Rows, events and their payload dicts are containers the collector tracks though they hold no
    cycles; while tens of thousands of them pile up it walks them again and again (a quarter of a
    projection rebuild, a tenth of a large append, measured). Reference counting still frees
    everything as usual; only cycles wait until the step ends. A collector the application turned
    off stays off; the thread that turned it off turns it back on, so overlapping pauses in two
    threads never leave it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
