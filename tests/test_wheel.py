"""The wheel carries what the tracker reads at run time: an installed tracker works from an empty folder.

Builds the wheel, installs it (without dependencies) into a fresh virtual environment that borrows
the dependencies of the running one, and runs `tracker init`, `tracker seed` and
`tracker digest --preview` in an empty folder, far from the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_an_installed_wheel_runs_from_an_empty_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "PYTHONPATH"}
    # Built from a clean copy: setuptools keeps a build/ folder in the tree it builds, whose stale files
    # (say, of a deleted module) would end up in the wheel.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("tracker", "migrations", "seeds", "digests"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("alembic.ini", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], tmp_path, env, 600)
    wheel = next(dist.glob("tracker-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path, env)
    # Dependencies come from the running environment: a plain path in a .pth file (its own .pth
    # files, among them the editable install of this checkout, are not read from there).
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env)
    Path(site.stdout.strip(), "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = _run([str(python), "-c", "import tracker; print(tracker.__file__)"], empty, env).stdout
    assert where.startswith(str(venv)), where
    env["TRACKER_HOME"] = str(empty / "var")
    tracker = str(venv / "bin" / "tracker")
    assert "upgraded from empty to migration" in _run([tracker, "init"], empty, env).stdout  # migrations shipped
    _run([tracker, "subscribe", "team@example.org"], empty, env)
    seeded = _run([tracker, "seed"], empty, env).stdout  # seeds shipped
    assert "us.toml:" in seeded and "cn.toml:" in seeded
    preview = _run([tracker, "digest", "--preview"], empty, env).stdout  # templates shipped
    assert "== Status changes and official documents ==" in preview and "RMAT" in preview
    # The web interface's templates and style sheet shipped (digests/web/).
    shipped = ("from tracker.rendering import environment; from tracker.rendering.web import web_asset; "
               "assert 'body' in web_asset('web.css'); "
               "[environment().get_template('web/' + n) for n in ('record.html', 'item.html', 'triage.html')]")
    _run([str(python), "-c", shipped], empty, env)
    assert sorted(p.name for p in empty.iterdir()) == ["var"]  # nothing read or written beside its home
