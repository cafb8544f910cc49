"""Recognise bot challenges, so they are recorded as "blocked" and never taken for content.

NMPA and CDE answer automated clients with HTTP 412, or with a 202 whose body is a JavaScript
challenge; WAFs (Cloudflare, Incapsula, Akamai, Alibaba Cloud, Sucuri, ...) serve small HTML
pages that are little more than a script. We only recognise them; we never try to solve one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CHALLENGE_STATUSES = {412}
# Lower-case markers seen in challenge pages and their scripts.
MARKERS = (
    "$_ts",                          # Rivers Security (NMPA, CDE)
    "window['$_ts']",
    "cf-browser-verification",       # Cloudflare
    "cf_chl_opt",
    "challenge-platform",
    "just a moment...",
    "attention required! | cloudflare",
    "_incapsula_resource",           # Imperva Incapsula
    "incapsula incident id",
    "acw_sc__v2",                    # Alibaba Cloud WAF
    "aliyun_waf",
    "sucuri_cloudproxy_js",          # Sucuri
    "ddos-guard",                    # DDoS-Guard
    "_bmak",                         # Akamai bot manager
    "please enable javascript and cookies",
    "please turn javascript on and reload the page",
    "checking your browser before accessing",
)
SMALL_PAGE = 64 * 1024               # challenge pages are small; real pages mentioning a marker are not

_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_TAGS = re.compile(rb"<[^>]*>|&[a-z#0-9]+;", re.I)
_HAS_SCRIPT = re.compile(rb"<script\b", re.I)
# Bytes that 8 of the markers hold and many pages lack: one memchr() for each (about 1 us over
# 27 KB) rules those markers out before their substring scans (7-20 us each; issue 18: the 17
# scans of a bench_check page took 0.21 ms of the event loop's time, 0.11 ms with this; a page holding
# both bytes takes as long as before).
_RARE = (b"$", b"_")
_SCANS = tuple((m, m.encode(), tuple(r for r in _RARE if r in m.encode())) for m in MARKERS)


def _visible_chars(body: bytes) -> int:
    return len(re.sub(rb"\s+", b"", _TAGS.sub(b"", _SCRIPT.sub(b"", body))))


def _looks_html(headers: Mapping[str, str], body: bytes) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "html" in content_type or body.lstrip()[:200].lower().startswith(
        (b"<!doctype", b"<html", b"<head", b"<script", b"<meta")
    )


def challenge_reason(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why this response is a bot challenge, or None. ``headers`` have lower-case names."""
    if status in CHALLENGE_STATUSES:
        return f"HTTP {status}: the site answers automated clients with a challenge"
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return f"HTTP {status}: Cloudflare challenge (cf-mitigated)"
    if len(body) > SMALL_PAGE or not _looks_html(headers, body):
        return None
    lowered = body.lower()
    absent = {r for r in _RARE if r not in lowered}
    marker = next((m for m, scan, rare in _SCANS if absent.isdisjoint(rare) and scan in lowered), None)
    # On an error status a marker is enough; a 200 must also look like a challenge, with
    # almost no visible text, so a real page that mentions a marker is still content.
    # Visible text is counted only when it can decide something: most pages have no marker.
    if marker is not None and (status != 200 or _visible_chars(body) < 1000):
        return f"HTTP {status}: challenge page (marker {marker!r})"
    if status == 202 and _HAS_SCRIPT.search(body) and _visible_chars(body) < 200:
        return "HTTP 202 with a script-only page: a JavaScript challenge"
    return None
