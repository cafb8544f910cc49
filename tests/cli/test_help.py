"""Every command has help with an Example (STYLE.md, habit 12), and the lazy group lists them all.

`tracker` imports a command's module only when the command runs, so COMMANDS in tracker/cli/main.py
must name every command, its module and its one-line help: checked here against what the modules
of tracker/cli really register.
"""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner
from click.utils import _make_default_short_help

import tracker.cli
from tracker.cli.main import COMMANDS as REGISTRY
from tracker.cli.main import cli, module_commands


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command under the group, loading lazily registered ones (click's own lookup)."""
    found: list[tuple[tuple[str, ...], click.Command]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{' '.join(prefix + (name,))} is listed but cannot be loaded"
        found.append((prefix + (name,), command))
        if isinstance(command, click.Group):
            found.extend(walk(command, prefix + (name,)))
    return found


def registered_commands() -> dict[str, tuple[str, click.Command]]:
    """Every command that a module of tracker/cli registers, by name: (module, command)."""
    found: dict[str, tuple[str, click.Command]] = {}
    for info in pkgutil.iter_modules(tracker.cli.__path__, "tracker.cli."):
        if not hasattr(importlib.import_module(info.name), "register"):
            continue
        for name, command in module_commands(info.name).items():
            assert name not in found, f"`{name}` is registered by both {found[name][0]} and {info.name}"
            found[name] = (info.name, command)
    return found


def first_sentence(command: click.Command) -> str:
    return _make_default_short_help(command.help or "", 10**6)


def test_every_registered_command_is_in_the_lazy_registry() -> None:
    missing = [
        f'    "{name}": ("{module}", {first_sentence(command)!r}),'
        for name, (module, command) in sorted(registered_commands().items()) if name not in REGISTRY
    ]
    assert not missing, (
        "commands registered by a module but missing from COMMANDS in tracker/cli/main.py "
        "(`tracker` would not know them); add these lines:\n" + "\n".join(missing)
    )


def test_the_lazy_registry_names_real_commands_with_their_help() -> None:
    registered = registered_commands()
    for name, (module, sentence) in REGISTRY.items():
        assert name in registered, f"COMMANDS in tracker/cli/main.py names `{name}`, which no module registers"
        where, command = registered[name]
        assert module == where, f"COMMANDS says `{name}` is in {module}, but {where} registers it"
        assert sentence == first_sentence(command), (
            f"the one-line help of `{name}` in COMMANDS is out of date; use {first_sentence(command)!r}"
        )


def test_help_lists_every_command_as_an_eager_group_would() -> None:
    eager = click.Group("tracker", params=cli.params, help=cli.help, context_settings=cli.context_settings)
    for _module, command in registered_commands().values():
        eager.add_command(command)
    lazy_help = cli.get_help(click.Context(cli, info_name="tracker", **cli.context_settings))
    assert lazy_help == eager.get_help(click.Context(eager, info_name="tracker", **cli.context_settings))


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
