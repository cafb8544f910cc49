"""Payload upgrades for event types whose shape changed; registered here, applied on read."""

from __future__ import annotations

from tracker.core.events import Upcaster


def build_upcaster() -> Upcaster:
    upcaster = Upcaster()
    # Example shape change: v1 SourceChecked payloads had no "kind"; v2 defaults it to "html".
    upcaster.register("SourceRegistered", 1, lambda payload: {"kind": "html", **payload})
    return upcaster
