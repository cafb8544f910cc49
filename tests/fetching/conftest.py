"""Fixtures of the fetching tests: a real local HTTP server per test."""

from __future__ import annotations



