"""Which normaliser produced a text: our code's revision for the kind and the libraries it leans on.

A content hash is only comparable with one made by the same normaliser. An upgrade of lxml,
pypdf or feedparser, or a change to our HTML-to-text or listing code, may change the text of
pages that did not change; the version recorded with each hash lets the next check re-read the
last accepted body with the new code and compare with that, instead of reporting a change.

Bump ``REVISIONS[kind]`` whenever code here changes the text a kind produces.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

# Our code's revision per kind. Registers: 2 = the listing line carries type and deadlines;
# ema-medicines 3 = its type names a conditional or exceptional authorisation.
REVISIONS: dict[str, int] = {
    "html": 1, "pdf": 1, "json": 1, "text": 1,
    "ecfr": 2, "federal-register": 2, "feed": 2, "fda-guidance": 2, "ema-medicines": 3,
}
LIBRARIES: dict[str, tuple[str, ...]] = {
    "html": ("lxml", "cssselect", "charset-normalizer"),
    "pdf": ("pypdf",),
    "json": ("charset-normalizer",),
    "text": ("charset-normalizer",),
    "feed": ("feedparser",),
}


@cache
def _library(name: str) -> str:
    try:
        return f"{name}/{metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name}/-"


@cache
def normaliser_version(kind: str) -> str:
    """E.g. "html/1 lxml/5.2.2 cssselect/1.2.0 charset-normalizer/3.3.2"."""
    return " ".join([f"{kind}/{REVISIONS.get(kind, 0)}", *(_library(name) for name in LIBRARIES.get(kind, ()))])
