"""What the tracker reads from files at run time, found the same way in a checkout and in a wheel.

In the source tree these are links to the top-level folders (migrations/, seeds/, digests/ and
alembic.ini, the layout the design names); building a wheel copies what they point at into the
package, so an installed tracker runs from any folder.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ALEMBIC_INI = HERE / "alembic.ini"
MIGRATIONS = HERE / "migrations"
SEEDS = HERE / "seeds"
TEMPLATES = HERE / "digests"
