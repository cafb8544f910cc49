"""Every command has help with an Example (STYLE.md, habit 12)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from tracker.cli.main import cli


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append((prefix + (name,), command))
        if isinstance(command, click.Group):
            found.extend(walk(command, prefix + (name,)))
    return found


COMMANDS = walk(cli)


def test_the_core_commands_exist() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "log", "export", "verify"} <= names


@pytest.mark.parametrize("path, command", COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_an_example(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help"
    if not isinstance(command, click.Group):
        assert "Example:" in result.output, f"{' '.join(path)} --help shows no Example"
