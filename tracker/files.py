"""The one way the tracker writes a file others read: through ``<name>.partial``, renamed over the
real name only once complete, so an interrupted write never leaves a truncated file under it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tracker.errors import ExportFileError


@contextmanager
def replacing(target: Path) -> Iterator[IO[str]]:
    """A UTF-8 text handle whose content becomes ``target`` when the block ends without error."""
    partial = _partial_of(target)
    with partial.open("w", encoding="utf-8") as handle:
        yield handle
    os.replace(partial, target)


def write_replacing(target: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``target`` through ``<name>.partial``."""
    partial = _partial_of(target)
    if isinstance(content, bytes):
        partial.write_bytes(content)
    else:
        partial.write_text(content, encoding="utf-8")
    os.replace(partial, target)


def _partial_of(target: Path) -> Path:
    """Where ``target`` is written first; a folder (``.``, ``out/``, an existing directory) is refused
    by name before anything is written."""
    if not target.name or target.name in {".", ".."} or target.is_dir():
        raise ExportFileError(f"{target}: is a folder; give a file name")
    return target.with_name(target.name + ".partial")
