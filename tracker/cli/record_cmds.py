"""Commands of this area arrive with their issue."""

import click


def register(group: click.Group) -> None:
    pass
