"""Layers visible in the imports: dependencies point one way (STYLE.md, habit 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"

# package -> third-party or tracker packages it must never import
_TRACKER = {"tracker.domain", "tracker.projections", "tracker.services", "tracker.fetching", "tracker.rendering",
            "tracker.scheduling", "tracker.cli", "tracker.app", "tracker.mail", "tracker.core", "tracker.settings",
            "tracker.migrate"}
_ADAPTERS = {"httpx", "jinja2", "apscheduler", "click", "lxml", "alembic"}
FORBIDDEN = {
    # The schema catalogue is SQLAlchemy tables and nothing else: every layer may read it.
    "schema": _TRACKER | _ADAPTERS | {"tracker.errors"},
    "core": {
        "httpx",
        "jinja2",
        "apscheduler",
        "click",
        "alembic",
        "lxml",
        "cryptography",
        "tracker.domain",
        "tracker.projections",
        "tracker.services",
        "tracker.fetching",
        "tracker.rendering",
        "tracker.scheduling",
        "tracker.cli",
        "tracker.app",
        "tracker.mail",
    },
    "domain": {
        "httpx",
        "jinja2",
        "apscheduler",
        "click",
        "sqlalchemy",
        "tracker.schema",
        "tracker.projections",
        "tracker.services",
        "tracker.fetching",
        "tracker.rendering",
        "tracker.scheduling",
        "tracker.cli",
        "tracker.app",
        "tracker.mail",
    },
    # Signed notes and keys: the cryptography library and plain values, nothing else of the tracker.
    "signing": _TRACKER | _ADAPTERS | {"sqlalchemy", "tracker.schema"},
    "projections": {
        "httpx",
        "jinja2",
        "apscheduler",
        "click",
        "tracker.services",
        "tracker.fetching",
        "tracker.rendering",
        "tracker.scheduling",
        "tracker.cli",
        "tracker.app",
        "tracker.mail",
    },
    "services": {"jinja2", "apscheduler", "click", "httpx", "tracker.cli", "tracker.scheduling"},
    "fetching": {
        "sqlalchemy",
        "jinja2",
        "apscheduler",
        "click",
        "tracker.core",
        "tracker.projections",
        "tracker.services",
        "tracker.rendering",
        "tracker.scheduling",
        "tracker.cli",
        "tracker.schema",
        "tracker.mail",
    },
    "rendering": {
        "httpx",
        "apscheduler",
        "click",
        "sqlalchemy",
        "tracker.cli",
        "tracker.scheduling",
        "tracker.fetching",
        "tracker.schema",
        "tracker.mail",
    },
    # Mail builds and sends messages from plain values: no database, no other adapter.
    "mail": (_TRACKER - {"tracker.mail"}) | _ADAPTERS | {"sqlalchemy", "tracker.schema"},
    # The scheduler runs jobs that call services: it reads no table and fetches nothing itself.
    "scheduling": {
        "httpx",
        "jinja2",
        "click",
        "sqlalchemy",
        "lxml",
        "tracker.cli",
        "tracker.fetching",
        "tracker.rendering",
        "tracker.projections",
        "tracker.schema",
        "tracker.mail",
    },
    # The web interface reads and writes through services, renders through tracker.rendering.
    "web": {
        "httpx",
        "jinja2",
        "apscheduler",
        "click",
        "sqlalchemy",
        "lxml",
        "tracker.cli",
        "tracker.scheduling",
        "tracker.fetching",
        "tracker.projections",
        "tracker.schema",
        "tracker.mail",
    },
    # Commands are thin: they call services (or start the scheduler) and print.
    "cli": {
        "httpx",
        "jinja2",
        "apscheduler",
        "sqlalchemy",
        "lxml",
        "tracker.fetching",
        "tracker.rendering",
        "tracker.projections",
        "tracker.schema",
        "tracker.mail",
    },
}
# Each third-party adapter lives in exactly one package.
OWNERS = {"httpx": "fetching", "jinja2": "rendering", "apscheduler": "scheduling", "click": "cli",
          "cryptography": "signing", "icalendar": "rendering", "apprise": "mail", "starlette": "web", "uvicorn": "web"}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    layer = path.relative_to(PACKAGE).parts[0] if len(path.relative_to(PACKAGE).parts) > 1 else None
    names = imports_of(path)
    bad = sorted(n for n in names for f in FORBIDDEN.get(layer or "", set()) if matches(n, f))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"
    for library, owner in OWNERS.items():
        if layer != owner:
            assert not any(matches(n, library) for n in names), f"{path.relative_to(PACKAGE)} imports {library}"
