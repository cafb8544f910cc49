"""What a command accepts: jurisdictions, kinds, event types and dates, checked before anything runs.

Each check raises ValidationError naming the value refused, where it came from and the valid values, so
a mistyped `--jurisdiction mars` is one line and exit 1, never an empty answer.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from datetime import date

from tracker.domain import vocabulary as v
from tracker.domain.dates import parse_partial
from tracker.errors import ValidationError

KIND_GROUPS = ("instrument",)  # laws, regulations, directives and guidances together


def _listed(values: Iterable[str], limit: int = 40) -> str:
    shown = sorted(values)
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f" and {more} more" if more > 0 else "")


def choose(
    values: Iterable[str], valid: Collection[str], what: str, option: str, *, limit: int = 40
) -> tuple[str, ...]:
    """The values, each one of `valid`; else ValidationError naming the unknown ones and the valid ones
    (the closest first when there are many)."""
    given = tuple(values)
    unknown = [value for value in given if value not in valid]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        close = [m for value in unknown for m in difflib.get_close_matches(value, list(valid), n=3, cutoff=0.6)]
        hint = f"did you mean {', '.join(close)}? " if close and len(valid) > limit else ""
        raise ValidationError(f"{option}: unknown {what}{plural} {', '.join(map(repr, unknown))} "
                         f"({hint}valid: {_listed(valid, limit)})")
    return given


def jurisdictions(values: Iterable[str], option: str = "--jurisdiction") -> tuple[str, ...]:
    """Upper-cased jurisdiction codes (US, EU, JP, CN, INTL)."""
    return choose((value.strip().upper() for value in values), v.JURISDICTIONS, "jurisdiction", option)


def kinds(values: Iterable[str], option: str = "--kind", *, groups: bool = False) -> tuple[str, ...]:
    """Lower-cased item kinds (and "instrument" where a command accepts it)."""
    valid = (*v.ITEM_KINDS, *KIND_GROUPS) if groups else v.ITEM_KINDS
    return choose((value.strip().lower() for value in values), valid, "kind", option)


def event_types() -> frozenset[str]:
    """Every event type name of the vocabulary."""
    return frozenset(
        value for name, value in vars(v).items()
        if name.isupper() and isinstance(value, str) and value[:1].isupper() and value.isidentifier()
    )


def day(text: str, option: str) -> date:
    """A calendar day YYYY-MM-DD; an impossible one (2026-02-30, 2026-13-45) is refused."""
    try:
        found = parse_partial(text.strip())
    except ValueError as exc:
        raise ValidationError(f"{option}: {exc}") from None
    if found.precision != "day":
        raise ValidationError(f"{option}: {text!r} is not a day (YYYY-MM-DD)")
    return found.start


def partial(text: str, option: str) -> str:
    """A date of year, month or day precision (YYYY, YYYY-MM or YYYY-MM-DD) that exists."""
    try:
        return parse_partial(text.strip()).text
    except ValueError as exc:
        raise ValidationError(f"{option}: {exc} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
