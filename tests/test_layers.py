"""Layers visible in the imports: dependencies point one way (STYLE.md, habit 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"

# package -> third-party or tracker packages it must never import
FORBIDDEN = {
    "core": {"httpx", "jinja2", "apscheduler", "click", "alembic", "lxml", "tracker.domain", "tracker.projections",
             "tracker.services", "tracker.fetching", "tracker.rendering", "tracker.scheduling", "tracker.cli", "tracker.app"},
    "domain": {"httpx", "jinja2", "apscheduler", "click", "tracker.projections", "tracker.services",
               "tracker.fetching", "tracker.rendering", "tracker.scheduling", "tracker.cli", "tracker.app"},
    "projections": {"httpx", "jinja2", "apscheduler", "click", "tracker.services", "tracker.fetching",
                    "tracker.rendering", "tracker.scheduling", "tracker.cli", "tracker.app"},
    "services": {"jinja2", "apscheduler", "click", "httpx", "tracker.cli", "tracker.scheduling"},
    "fetching": {"sqlalchemy", "jinja2", "apscheduler", "click", "tracker.core", "tracker.projections",
                 "tracker.services", "tracker.rendering", "tracker.scheduling", "tracker.cli"},
    "rendering": {"httpx", "apscheduler", "click", "sqlalchemy", "tracker.cli", "tracker.scheduling", "tracker.fetching"},
}
# Each third-party adapter lives in exactly one package.
OWNERS = {"httpx": "fetching", "jinja2": "rendering", "apscheduler": "scheduling", "click": "cli"}


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
