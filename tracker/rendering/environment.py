"""The one Jinja2 environment: templates from the top-level digests/ folder, StrictUndefined.

Autoescaping is on for every HTML, XML and Atom template (and for templates built from strings).
Plain-text (.txt) and Markdown (.md) templates are not HTML: there the `md` filter escapes what
Markdown would read as markup or raw HTML, and the text part needs no escaping at all.
"""

from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tracker import resources
from tracker.domain.words import counted

TEMPLATES = resources.TEMPLATES

# Inline text only (never at the start of a line): these are the characters that can open markup
# there. Parentheses, "#", "+" and "!" cannot without an escaped "[" or a line start, so they stay as
# written ("(FDA)", not "\(FDA\)"); "&" is escaped only where it would start an entity.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md_escape(value: object) -> str:
    """Markdown-safe inline text, one line: markup and raw HTML inert, everything else as written."""
    text = " ".join(str(value).split())
    return _MD_ENTITY.sub("&amp;", _MD_SPECIAL.sub(r"\\\1", text))


def md_url(value: object) -> str:
    """A URL safe inside a Markdown autolink <...>: no spaces, angle brackets or quotes."""
    text = str(value)
    for char, code in ((" ", "%20"), ("<", "%3C"), (">", "%3E"), ('"', "%22"), ("`", "%60")):
        text = text.replace(char, code)
    return text


def one_line(value: object) -> str:
    return " ".join(str(value).split())


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml", "atom"), default_for_string=True, default=True,
            disabled_extensions=("txt", "md"),
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["one_line"] = one_line
    env.filters["counted"] = counted
    return env
