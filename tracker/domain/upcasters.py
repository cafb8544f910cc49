"""The store's Upcaster, built from the payload registry (payloads_registry.py), where each event
type's upcasts are declared beside its definition and version."""

from __future__ import annotations

from tracker.core.events import Upcaster
from tracker.domain.payloads_registry import REGISTRY


def build_upcaster() -> Upcaster:
    upcaster = Upcaster()
    # Only types with upcasts: the store looks every event's type up, and an unknown one costs least.
    for name, entry in REGISTRY.items():
        for from_version, fn in sorted(entry.upcasts.items()):
            upcaster.register(name, from_version, fn)
    return upcaster
